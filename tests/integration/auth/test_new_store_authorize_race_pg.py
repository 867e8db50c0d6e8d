"""PostgreSQL: two app.store.authorize deliveries for a store with no row yet."""

from __future__ import annotations

import threading
import time

from sallakit.auth import TokenSet, TokenVault, generate_key
from sallakit.db import create_engine


def test_older_authorize_for_a_new_store_never_wins(postgres_url: str) -> None:
    vault = TokenVault(create_engine(postgres_url), [generate_key()])
    newer = TokenSet("at_NEW", "rt_NEW", time.time() + 1e6)
    older = TokenSet("at_OLD", "rt_OLD", time.time() + 1e6)
    results: dict[str, bool] = {}

    def apply(name: str, tokens: TokenSet, created: float, hold: float) -> None:
        def run(conn: object) -> bool:
            ok = vault.save_authorize_in(conn, 999, tokens, created_at=created, expires=None)  # type: ignore[arg-type]
            time.sleep(hold)  # the rest of the transaction
            return ok

        results[name] = vault.apply_app_event(None, 999, "app.store.authorize", run)

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
        vault.engine.dispose()
