"""What the dashboard reads and does, as two narrow async protocols with in-memory twins.

The service wires the webhook inbox and the store mirror behind :class:`InboxSource` and
:class:`MirrorSource`; the dashboard and the JSON API know nothing else about them, and the
tests drive the views with :class:`MemoryInbox` and :class:`MemoryMirror`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

__all__ = [
    "DELIVERY_STATUSES",
    "DeliveryDetail",
    "DeliveryRow",
    "InboxSource",
    "MemoryInbox",
    "MemoryMirror",
    "MirrorSource",
    "ResourceSync",
]

DELIVERY_STATUSES = ("pending", "processing", "done", "failed", "dead")


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One webhook delivery in the inbox."""

    id: int
    store_id: int | None
    event: str
    status: str
    attempts: int
    received_at: float
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    """A delivery with its raw body and (secret-free) headers."""

    row: DeliveryRow
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    handlers: dict[str, str] = field(default_factory=dict)
    """Handler name -> outcome (``done``, ``failed: ...``)."""


@dataclass(frozen=True, slots=True)
class ResourceSync:
    """The mirror's state of one resource of one store."""

    resource: str
    state: str
    """``idle``, ``running``, ``failed`` or ``never``."""
    last_run_at: float | None = None
    last_success_at: float | None = None
    duration_seconds: float | None = None
    mirrored: int | None = None
    remote_total: int | None = None
    audit: str | None = None
    """``passed``, ``failed: <numbers>`` or None before the first audit."""
    interval_seconds: float | None = None
    lag_seconds: float | None = None
    """How far the resource is behind its schedule: seconds since the last successful run
    beyond its interval (0 when on time, None before the first success)."""
    audited: int | None = None
    """The mirror's side of the last audit: the rows it compared with ``remote_total`` (for a
    category tree, the top-level categories, while ``mirrored`` counts every node)."""


class InboxSource(Protocol):
    """The webhook inbox as the dashboard uses it."""

    async def counts(self) -> dict[str, int]:
        """Deliveries by status."""
        ...

    async def deliveries(
        self,
        *,
        status: str | None = None,
        event: str | None = None,
        store_id: int | None = None,
        limit: int = 100,
    ) -> list[DeliveryRow]:
        """The newest deliveries matching the filters."""
        ...

    async def delivery(self, delivery_id: int) -> DeliveryDetail | None:
        """One delivery, or None."""
        ...

    async def replay(self, delivery_ids: Sequence[int]) -> int:
        """Queue the deliveries for processing again; returns how many were queued."""
        ...

    async def paused(self) -> bool:
        """Whether processing is paused (deliveries are still stored)."""
        ...


class MirrorSource(Protocol):
    """The store mirror as the dashboard uses it."""

    async def resources(self, store_id: int) -> list[ResourceSync]:
        """Sync state per resource of a store."""
        ...

    async def orders_per_day(self, store_id: int, *, days: int) -> list[tuple[str, int]]:
        """``(YYYY-MM-DD, orders created that day)`` for the last ``days`` days, oldest first."""
        ...

    async def request_sync(self, store_id: int) -> str:
        """Start a sync of every resource of the store now; returns the job's id."""
        ...


class MemoryInbox:
    """An in-memory :class:`InboxSource`."""

    def __init__(self, deliveries: Sequence[DeliveryDetail] = ()) -> None:
        self.items: dict[int, DeliveryDetail] = {d.row.id: d for d in deliveries}
        self.replayed: list[int] = []
        self.is_paused = False

    async def paused(self) -> bool:
        return self.is_paused

    async def counts(self) -> dict[str, int]:
        out = dict.fromkeys(DELIVERY_STATUSES, 0)
        for item in self.items.values():
            out[item.row.status] = out.get(item.row.status, 0) + 1
        return out

    async def deliveries(
        self,
        *,
        status: str | None = None,
        event: str | None = None,
        store_id: int | None = None,
        limit: int = 100,
    ) -> list[DeliveryRow]:
        rows = [
            d.row
            for d in self.items.values()
            if (status is None or d.row.status == status)
            and (event is None or d.row.event == event)
            and (store_id is None or d.row.store_id == store_id)
        ]
        return sorted(rows, key=lambda r: (-r.received_at, -r.id))[:limit]

    async def delivery(self, delivery_id: int) -> DeliveryDetail | None:
        return self.items.get(delivery_id)

    async def replay(self, delivery_ids: Sequence[int]) -> int:
        queued = 0
        for delivery_id in delivery_ids:
            item = self.items.get(delivery_id)
            if item is None:
                continue
            self.items[delivery_id] = replace(
                item, row=replace(item.row, status="pending", last_error=None)
            )
            self.replayed.append(delivery_id)
            queued += 1
        return queued


class MemoryMirror:
    """An in-memory :class:`MirrorSource`."""

    def __init__(
        self,
        resources: dict[int, list[ResourceSync]] | None = None,
        orders: dict[int, list[tuple[str, int]]] | None = None,
    ) -> None:
        self.by_store = resources or {}
        self.orders = orders or {}
        self.requested: list[int] = []

    async def resources(self, store_id: int) -> list[ResourceSync]:
        return list(self.by_store.get(store_id, []))

    async def orders_per_day(self, store_id: int, *, days: int) -> list[tuple[str, int]]:
        return list(self.orders.get(store_id, []))[-days:]

    async def request_sync(self, store_id: int) -> str:
        self.requested.append(store_id)
        return f"sync-{store_id}-{len(self.requested)}"
