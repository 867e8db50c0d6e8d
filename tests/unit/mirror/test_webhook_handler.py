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
