"""The webhook inbox behind the dashboard's :class:`InboxSource` (blocking calls in threads)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import anyio

from sallakit.server.dashboard._sources import DeliveryDetail, DeliveryRow
from sallakit.webhooks import DeliveryFilter, Inbox, StoredDelivery

__all__ = ["WebhookInboxSource"]

#: Headers never shown, even though the inbox already stores them without secrets.
_HIDDEN_HEADERS = frozenset({"authorization", "x-salla-signature", "cookie"})


def _row(delivery: StoredDelivery) -> DeliveryRow:
    return DeliveryRow(
        id=delivery.id,
        store_id=delivery.store_id,
        event=delivery.event,
        status=delivery.status,
        attempts=delivery.attempts,
        received_at=delivery.received_at,
        last_error=delivery.last_error,
    )


class WebhookInboxSource:
    """Adapts a :class:`sallakit.webhooks.Inbox` to the dashboard.

    Args:
        inbox: the service's inbox.
        wake: called after a replay so the worker picks the deliveries up at once.
        clock: epoch seconds.
    """

    def __init__(
        self,
        inbox: Inbox,
        *,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inbox = inbox
        self._wake = wake
        self._clock = clock

    async def paused(self) -> bool:
        return await anyio.to_thread.run_sync(self.inbox.is_paused)

    async def counts(self) -> dict[str, int]:
        return await anyio.to_thread.run_sync(self.inbox.counts)

    async def deliveries(
        self,
        *,
        status: str | None = None,
        event: str | None = None,
        store_id: int | None = None,
        limit: int = 100,
    ) -> list[DeliveryRow]:
        where = DeliveryFilter(
            status=status,  # type: ignore[arg-type]
            event=event,
            store_id=store_id,
            limit=limit,
        )
        found = await anyio.to_thread.run_sync(self.inbox.search, where)
        return [_row(d) for d in found]

    async def delivery(self, delivery_id: int) -> DeliveryDetail | None:
        found = await anyio.to_thread.run_sync(self.inbox.get, delivery_id)
        if found is None:
            return None
        body = (found.body or b"").decode("utf-8", errors="replace")
        headers = {
            k: v for k, v in sorted(found.headers.items()) if k.lower() not in _HIDDEN_HEADERS
        }
        return DeliveryDetail(
            row=_row(found),
            body=body,
            headers=headers,
            handlers=dict.fromkeys(sorted(found.handlers_done), "done"),
        )

    async def replay(self, delivery_ids: Sequence[int]) -> int:
        ids = list(delivery_ids)
        if not ids:
            return 0
        chosen = await anyio.to_thread.run_sync(
            lambda: self.inbox.replay(ids=ids, now=self._clock())
        )
        if chosen and self._wake is not None:
            self._wake()
        return len(chosen)
