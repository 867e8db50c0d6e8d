"""Shared test configuration: anyio on asyncio, a clean environment, PostgreSQL discovery."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

#: Where the PostgreSQL tests connect unless SALLAKIT_TEST_POSTGRES_URL says otherwise.
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_sallakit_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's own SALLAKIT_* settings."""
    for name in list(os.environ):
        if name.startswith("SALLAKIT_") and name != "SALLAKIT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema private to this test.

    Skips with the reason when PostgreSQL is unreachable, except under ``CI``, where it fails:
    CI must run the PostgreSQL tests. The schema is dropped afterwards, so concurrent runs never
    collide.
    """
    import psycopg

    base = os.environ.get("SALLAKIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL unreachable at SALLAKIT_TEST_POSTGRES_URL ({exc.__class__.__name__})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the postgres tests")
        pytest.skip(message)
    schema = f"sallakit_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in base else "?"
        try:
            yield f"{base}{sep}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
