"""The mirror's webhook handler, registered on the webhook receiver's ``Handlers``: an event
marks its entity dirty (once, whatever the redeliveries) and asks for a targeted fetch."""

from __future__ import annotations

import pytest

from sallakit.mirror import InMemoryMirrorStore, Mirror
from sallakit.webhooks import Event, Handlers

pytestmark = pytest.mark.anyio


def _clients(*args, **kwargs):
    raise AssertionError("marking needs no client")


def _event(name: str, data: dict, store_id: int = 7) -> Event:
    return Event(
        name=name,
        store_id=store_id,
        created_at=None,
        data=data,
        payload={"event": name, "merchant": store_id, "data": data},
        delivery_id=1,
        idempotency_key="k",
        attempt=1,
        handler="h",
    )


async def test_registered_handler_marks_and_asks_for_a_fetch():
    mirror = Mirror(InMemoryMirrorStore(), _clients)
    handlers = Handlers()
    asked: list[int] = []
    mirror.register(handlers, on_marked=asked.append)
    (spec,) = handlers.for_event("order.status.updated")
    assert spec.name == "sallakit.mirror:order.*"
    await spec.func(_event("order.status.updated", {"id": 55}))
    await spec.func(_event("order.status.updated", {"id": 55}))  # a redelivery
    (product,) = handlers.for_event("product.deleted")
    await product.func(_event("product.deleted", {"id": 9}))
    assert sorted(mirror.store.dirty(7)) == [("orders", 55), ("products", 9)]
    assert asked == [7, 7, 7]
    assert handlers.for_event("abandoned.cart") == []


async def test_events_outside_the_mirrored_resources_are_ignored():
    from sallakit.mirror import MirrorSettings

    mirror = Mirror(InMemoryMirrorStore(), _clients, settings=MirrorSettings(resources=("orders",)))
    assert mirror.mark_event(_event("product.created", {"id": 1})) is None
    assert mirror.mark_event(_event("order.created", {"id": 2})) == ("orders", 2)
    assert mirror.store.dirty(7) == [("orders", 2)]


async def test_an_installed_store_starts_its_backfill_once():
    from sallakit.mirror import MirrorSettings

    mirror = Mirror(InMemoryMirrorStore(), _clients)
    handlers = Handlers()
    started: list[int] = []
    mirror.register(handlers, on_install=started.append)
    (spec,) = handlers.for_event("app.store.authorize")
    await spec.func(_event("app.store.authorize", {"access_token": "x"}, store_id=11))
    assert started == [11]
    state = mirror.store.resource_state(11, "orders")
    state.backfilled = True
    mirror.store.save_resource_state(state)
    await spec.func(_event("app.store.authorize", {"access_token": "y"}, store_id=11))
    assert started == [11]
    mirror.set_store_settings(12, auto_backfill_on_install=False)
    assert not mirror.wants_backfill(12)
    assert MirrorSettings().auto_backfill_on_install


def test_watchdog_reports_a_stalled_run_and_unblock_cancels_it():
    from sallakit.mirror import MirrorSettings, RunRecord

    now = [1000.0]
    mirror = Mirror(
        InMemoryMirrorStore(),
        _clients,
        settings=MirrorSettings(stall_after=60),
        clock=lambda: now[0],
    )
    mirror.store.save_run(
        RunRecord(
            run_id="r",
            store_id=3,
            kind="sync",
            resources=[],
            status="running",
            created_at=900.0,
            started_at=900.0,
            progress_at=990.0,
        )
    )
    assert mirror.stalled() == []
    now[0] = 1100.0
    assert [r.run_id for r in mirror.stalled()] == ["r"]
    assert [r["run_id"] for r in mirror.status(3)["stalled"]] == ["r"]
    assert mirror.unblock(3) == ["r"]
    assert mirror.store.get_run("r").status == "cancelled"
    assert mirror.stalled() == []
