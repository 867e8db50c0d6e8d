"""PostgreSQL: two app.store.authorize deliveries for a store with no row yet."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from sallakit.auth import SqlTokenStore, TokenSet, TokenStoreTransaction, TokenVault, generate_key


class HoldingStore:
    """A token store whose write transactions stay open ``hold.seconds`` before committing."""

    def __init__(self, inner: SqlTokenStore) -> None:
        self.inner = inner
        self.hold = threading.local()

    @contextmanager
    def write(self, lock_timeout: float | None = None) -> Iterator[TokenStoreTransaction]:
        with self.inner.write(lock_timeout) as tx:
            yield tx
            time.sleep(getattr(self.hold, "seconds", 0.0))  # the rest of the transaction

    def read(self) -> AbstractContextManager[TokenStoreTransaction]:
        return self.inner.read()

    def ensure_schema(self) -> None:
        self.inner.ensure_schema()

    def close(self) -> None:
        self.inner.close()


@pytest.mark.postgres
def test_older_authorize_for_a_new_store_never_wins(postgres_url: str) -> None:
    store = HoldingStore(SqlTokenStore(postgres_url))
    vault = TokenVault(store, [generate_key()])
    newer = TokenSet("at_NEW", "rt_NEW", time.time() + 1e6)
    older = TokenSet("at_OLD", "rt_OLD", time.time() + 1e6)
    results: dict[str, bool] = {}

    def apply(name: str, tokens: TokenSet, created: float, hold: float) -> None:
        store.hold.seconds = hold
        results[name] = vault.installs.authorize(
            None, 999, tokens, created_at=created, expires=None
        )

    first = threading.Thread(target=apply, args=("new", newer, 2000.0, 1.0))
    second = threading.Thread(target=apply, args=("old", older, 1000.0, 0.0))
    first.start()
    time.sleep(0.2)
    second.start()
    first.join()
    second.join()
    try:
        assert results == {"new": True, "old": False}
        assert vault.tokens(999).access_token == "at_NEW"
    finally:
        vault.close()
