"""The blocking client bound to a store: an expired token is refreshed once, even under threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sallakit.auth import OAuthClient, StoreStatus, TokenSet, TokenVault, generate_key
from sallakit.emulator import Emulator

API = "http://emulator.test/admin/v2"
FIFTEEN_DAYS = 15 * 86_400


@dataclass
class SyncWorld:
    emulator: Emulator
    vault: TokenVault
    store_id: int
    issued: dict[str, Any]


@pytest.fixture
def sync_world(tmp_path: Path) -> Iterator[SyncWorld]:
    emulator = Emulator(stores=1, products=2, orders=1, customers=1)
    store_id = emulator.stores[0].id
    issued = emulator.issue_tokens(store_id)
    oauth = OAuthClient(
        emulator.default_app.client_id,
        emulator.default_app.client_secret,
        accounts_url="http://emulator.test",
        transport=emulator.sync_transport(),
        clock=emulator.clock.time,
    )
    vault = TokenVault.from_url(
        f"sqlite:///{tmp_path / 'vault.db'}",
        [generate_key()],
        oauth=oauth,
        clock=emulator.clock.time,
    )
    vault.save_tokens(
        store_id,
        TokenSet(
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            expires_at=emulator.clock.time() + float(issued["expires_in"]),
            scopes=tuple(issued["scope"].split()),
        ),
    )
    # Fifteen days later the access token is dead, both in the vault and at the emulator.
    emulator.advance(FIFTEEN_DAYS)
    try:
        yield SyncWorld(emulator, vault, store_id, issued)
    finally:
        oauth.close()
        vault.close()


def _assert_one_refresh(world: SyncWorld) -> None:
    counters = world.emulator.counters()
    assert counters["token_refreshes"] == {world.store_id: 1}
    assert not any(counters["invalid_grant"].values())
    record = world.vault.get(world.store_id)
    assert record.status is StoreStatus.ACTIVE
    assert record.generation == 2  # saved once, refreshed once
    assert record.expires_at is not None and record.expires_at > world.vault.now() + 13 * 86_400
    tokens = world.vault.tokens(world.store_id)
    assert tokens.access_token != world.issued["access_token"]
    assert tokens.refresh_token != world.issued["refresh_token"]


def test_sync_client_refreshes_an_expired_token_once(sync_world: SyncWorld) -> None:
    with sync_world.vault.client(
        sync_world.store_id, transport=sync_world.emulator.sync_transport(), base_url=API
    ) as salla:
        first = salla.request("GET", "/store/info")
        second = salla.request("GET", "/store/info")
    assert first is not None and second is not None
    _assert_one_refresh(sync_world)


def test_sync_client_eight_threads_one_refresh(sync_world: SyncWorld) -> None:
    threads = 8
    barrier = threading.Barrier(threads)
    with sync_world.vault.client(
        sync_world.store_id, transport=sync_world.emulator.sync_transport(), base_url=API
    ) as salla:

        def call(_: int) -> Any:
            barrier.wait(timeout=10)  # every thread finds the expired token at once
            return salla.request("GET", "/store/info")

        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(call, range(threads)))
    assert len(results) == threads and all(r is not None for r in results)
    _assert_one_refresh(sync_world)
