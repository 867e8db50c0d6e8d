"""Shared test configuration: anyio on asyncio, a clean environment, PostgreSQL discovery."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
