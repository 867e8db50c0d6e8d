"""Fixtures for the webhook tests: an inbox on SQLite, PostgreSQL or in memory, and helpers
that post signed deliveries to a receiver in-process.

PostgreSQL uses ``SALLAKIT_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) with a schema private to the test; unreachable, it
skips with the reason, except under ``CI`` where it fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sallakit.webhooks import MemoryInbox, SQLInbox, compute_signature

SECRET = "wh-test-secret"
STORE = 1305146709


class TestCipher:
    """A reversible, visibly different seal (the real one is Fernet, tested on its own)."""

    def seal(self, plaintext: bytes) -> bytes:
        return b"sealed:" + bytes(b ^ 0x5A for b in plaintext)

    def open(self, sealed: bytes) -> bytes:
        assert sealed.startswith(b"sealed:")
        return bytes(b ^ 0x5A for b in sealed[len(b"sealed:") :])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'inbox.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The same inbox contract on SQLite, PostgreSQL and the in-memory twin."""
    if request.param == "memory":
        yield MemoryInbox(cipher=TestCipher())
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inbox.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    sql = SQLInbox.from_url(url, cipher=TestCipher())
    try:
        yield sql
    finally:
        sql.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLInbox]:
    """An SQL inbox (for transactional handlers), on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inbox.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    sql = SQLInbox.from_url(url, cipher=TestCipher())
    try:
        yield sql
    finally:
        sql.engine.dispose()


def body(event: str, data: Any, *, merchant: Any = STORE, created_at: str = "x") -> bytes:
    return json.dumps(
        {"event": event, "merchant": merchant, "created_at": created_at, "data": data}
    ).encode()


def signed(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Salla-Security-Strategy": "Signature",
        "X-Salla-Signature": compute_signature(raw, secret),
    }
