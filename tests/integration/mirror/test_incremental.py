"""After a backfill: random mutations converge by webhooks (targeted fetches), and by
reconciliation alone; the change feed holds exactly those changes."""

from __future__ import annotations

import pytest

from tests.integration.mirror.conftest import (
    Mutator,
    assert_mirror_equals,
    expected_state,
    make_mirror,
    net_changes,
    new_emulator,
    sqlite_store,
    state_diff,
    subscribe_mirror,
)

pytestmark = pytest.mark.anyio


def last_seq(mirror, store_id: int) -> int:
    """The feed's newest cursor (``changes()`` pages from the oldest, 1,000 at a time: a
    full-size backfill records more than that)."""
    return list(mirror.iter_changes(store_id))[-1].seq


async def _webhooks_converge(store, mutations: int, **sizes):
    emulator = new_emulator(**sizes)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, store)
    first = await mirror.sync(store_id)
    assert first.status == "succeeded", (first.error, first.audit)
    cursor = last_seq(mirror, store_id)
    before = expected_state(emulator, store_id)
    subscribe_mirror(emulator, store_id, mirror)
    mutator = Mutator(emulator, store_id, seed=7, announced_only=True)
    for _ in range(mutations):
        mutator.step()
    await emulator.deliver_due()
    assert mirror.store.dirty(store_id)
    run = await mirror.drain(store_id)
    assert run.status == "succeeded", run.error
    assert not mirror.store.dirty(store_id)
    assert_mirror_equals(mirror, emulator, store_id)
    after = expected_state(emulator, store_id)
    assert net_changes(list(mirror.iter_changes(store_id, since=cursor))) == state_diff(
        before, after
    )


async def test_webhook_mutations_converge(sql_store):
    await _webhooks_converge(sql_store, 40)


async def _reconciliation_converges(store, mutations: int, **sizes):
    emulator = new_emulator(**sizes)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, store)
    first = await mirror.sync(store_id)
    assert first.status == "succeeded", (first.error, first.audit)
    cursor = last_seq(mirror, store_id)
    before = expected_state(emulator, store_id)
    emulator.advance(60)
    mutator = Mutator(emulator, store_id, seed=11, announced_only=False)
    for _ in range(mutations):
        mutator.step()
    run = await mirror.sync(store_id)
    assert run.status == "succeeded", (run.error, run.audit)
    assert_mirror_equals(mirror, emulator, store_id)
    after = expected_state(emulator, store_id)
    assert net_changes(list(mirror.iter_changes(store_id, since=cursor))) == state_diff(
        before, after
    )
    # Nothing changed since: another reconciliation records nothing.
    last = last_seq(mirror, store_id)
    assert (await mirror.sync(store_id)).status == "succeeded"
    assert mirror.changes(store_id, since=last) == []


async def test_reconciliation_alone_converges(sql_store):
    await _reconciliation_converges(sql_store, 30)


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", ["webhooks", "reconciliation"])
async def test_on_postgres(postgres_url, scenario):
    from sallakit.db import create_engine, migrate
    from sallakit.mirror import SQLMirrorStore

    engine = create_engine(postgres_url)
    migrate(engine)
    try:
        if scenario == "webhooks":
            await _webhooks_converge(SQLMirrorStore(engine), 30)
        else:
            await _reconciliation_converges(SQLMirrorStore(engine), 30)
    finally:
        engine.dispose()


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("scenario", ["webhooks", "reconciliation"])
async def test_full_scale_sync_and_200_mutations(tmp_path, scenario):
    """The issue's scale: 5,000 products, 3,000 customers, 2,000 orders; 200 mutations."""
    sizes = {"products": 5000, "customers": 3000, "orders": 2000}
    converge = _webhooks_converge if scenario == "webhooks" else _reconciliation_converges
    await converge(sqlite_store(tmp_path), 200, **sizes)
