"""Change hooks are driven by the durable feed: every change at least once, a failing hook sees
the same change again, and the cursor survives a new process (a new Mirror on the same data)."""

from __future__ import annotations

import pytest

from sallakit.mirror import Mirror
from tests.integration.mirror.conftest import make_mirror, new_emulator, sqlite_store

pytestmark = pytest.mark.anyio


async def test_hooks_see_every_change_at_least_once_across_restarts(tmp_path):
    emulator = new_emulator(products=12, orders=4, customers=5)
    store_id = emulator.stores[0].id
    store = sqlite_store(tmp_path)
    mirror = make_mirror(emulator, store, resources=("products", "orders"))
    seen: list[tuple[str, int, str]] = []
    failures = {"left": 1}

    @mirror.on_change("orders", name="orders-hook")
    async def on_order(change):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the hook's own outage")
        seen.append((change.resource, change.id, change.kind))

    products: list[int] = []
    mirror.on_change("products", name="products-hook")(lambda change: products.append(change.id))

    run = await mirror.sync(store_id)  # dispatches the hooks after the run
    assert run.status == "succeeded"
    orders = mirror.store.live_ids(store_id, "orders")
    # The first call failed: the hook stops there (in feed order), nothing is lost; the next
    # dispatch delivers from that change on.
    assert seen == []
    await mirror.dispatch_changes(store_id)
    assert {i for _, i, _ in seen} == orders and all(k == "added" for *_, k in seen)
    assert sorted(products) == sorted(mirror.store.live_ids(store_id, "products"))

    # A new process: the cursors are in the database, so only new changes are delivered.
    emulator.advance(60)
    order_id = next(iter(orders))
    emulator.change_order_status(store_id, order_id, "completed")
    restarted = make_mirror(emulator, store, resources=("products", "orders"))
    again: list[tuple[int, str]] = []
    restarted.on_change("orders", name="orders-hook")(lambda c: again.append((c.id, c.kind)))
    assert (await restarted.sync(store_id)).status == "succeeded"
    assert again == [(order_id, "updated")]


def test_hooks_refuse_unknown_tables():
    from sallakit._exceptions import ConfigurationError
    from sallakit.mirror import InMemoryMirrorStore

    mirror = Mirror(InMemoryMirrorStore(), lambda *a: None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        mirror.on_change("nope")


async def test_order_backfill_horizon(tmp_path):
    from datetime import datetime

    from sallakit.models import SALLA_TIMEZONE

    emulator = new_emulator(products=5, orders=40, customers=10)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path), resources=("orders",))
    mirror.set_store_settings(store_id, order_backfill_days=10)
    run = await mirror.sync(store_id)
    assert run.status == "succeeded", (run.error, run.audit)
    today = datetime.fromtimestamp(emulator.clock.time(), SALLA_TIMEZONE).date()
    cutoff = today.toordinal() - 10
    data = emulator.store(store_id).data
    recent = {
        o.id
        for o in data.orders.values()
        if datetime.fromtimestamp(o.created, SALLA_TIMEZONE).date().toordinal() >= cutoff
    }
    assert 0 < len(recent) < len(data.orders)
    assert mirror.store.live_ids(store_id, "orders") == recent
