"""The store mirror behind the dashboard's :class:`MirrorSource` (blocking calls in threads)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sallakit.mirror import Mirror, RunRecord
from sallakit.server._metrics import SyncStat
from sallakit.server.dashboard._sources import ResourceSync

__all__ = ["MirrorDashboardSource", "orders_by_day", "resource_rows"]

Enqueue = Callable[[int], Awaitable[str]]


def orders_by_day(created: Iterable[float], *, days: int, now: float) -> list[tuple[str, int]]:
    """``(YYYY-MM-DD, count)`` for the ``days`` days up to ``now`` (UTC), oldest first (pure)."""
    today = datetime.fromtimestamp(now, UTC).date()
    keys = [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]
    counts = dict.fromkeys(keys, 0)
    for stamp in created:
        key = datetime.fromtimestamp(stamp, UTC).date().isoformat()
        if key in counts:
            counts[key] += 1
    return list(counts.items())


def _last_run_of(resource: str, runs: list[RunRecord]) -> RunRecord | None:
    for run in runs:
        if run.finished_at is not None and (not run.resources or resource in run.resources):
            return run
    return None


def resource_rows(status: dict[str, Any], runs: list[RunRecord]) -> list[ResourceSync]:
    """The dashboard's rows from :meth:`Mirror.status` and the job history (pure)."""
    active = {r for run in status.get("active_runs", []) for r in (run.get("resources") or [])}
    any_active_all = any(not run.get("resources") for run in status.get("active_runs", []))
    rows = []
    for resource, info in status.get("resources", {}).items():
        last = _last_run_of(resource, runs)
        audit = None
        remote = None
        audited = None
        if last is not None and last.audit is not None:
            mismatch = last.audit.get("mismatches", {}).get(resource)
            capped = last.audit.get("capped", {}).get(resource)
            check = last.audit.get("checks", {}).get(resource) or {}
            remote = check.get("remote")
            audited = check.get("mirror")
            if mismatch:
                audit = (
                    f"failed: remote {mismatch.get('remote')} != mirror {mismatch.get('mirror')}"
                )
            elif capped:
                audit = f"failed: {capped.get('reachable')} of {capped.get('remote')} reachable"
            else:
                audit = "passed" if resource in last.audit.get("checks", {}) else None
        if resource in active or any_active_all:
            state = "running"
        elif last is None and info.get("last_success_at") is None:
            state = "never"
        elif last is not None and last.status == "failed":
            state = "failed"
        else:
            state = "idle"
        duration = None
        if last is not None and last.started_at is not None and last.finished_at is not None:
            duration = last.finished_at - last.started_at
        rows.append(
            ResourceSync(
                resource=resource,
                state=state,
                last_run_at=last.finished_at if last else None,
                last_success_at=info.get("last_success_at"),
                duration_seconds=duration,
                mirrored=info.get("rows"),
                remote_total=remote,
                audit=audit,
                interval_seconds=info.get("interval"),
                lag_seconds=info.get("lag"),
                audited=audited,
            )
        )
    return rows


class MirrorDashboardSource:
    """Adapts a :class:`sallakit.mirror.Mirror` to the dashboard and the metrics.

    Args:
        mirror: the service's mirror.
        enqueue: queues a sync of a store and returns the run id (the worker's ``enqueue``).
        clock: epoch seconds.
    """

    def __init__(
        self,
        mirror: Mirror,
        engine: Engine,
        enqueue: Enqueue,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.mirror = mirror
        self._engine = engine
        self._enqueue = enqueue
        self._clock = clock

    def _rows(self, store_id: int) -> list[ResourceSync]:
        return resource_rows(self.mirror.status(store_id), self.mirror.runs(store_id, 50))

    async def resources(self, store_id: int) -> list[ResourceSync]:
        return await anyio.to_thread.run_sync(self._rows, store_id)

    def _created(self, store_id: int, since: float) -> list[float]:
        query = sa.text(
            "SELECT created_at FROM mirror_orders WHERE store_id = :store AND deleted_at IS NULL "
            "AND created_at >= :since"
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query, {"store": store_id, "since": since}).scalars().all()
        return [float(r) for r in rows if r is not None]

    async def orders_per_day(self, store_id: int, *, days: int) -> list[tuple[str, int]]:
        now = self._clock()
        created = await anyio.to_thread.run_sync(self._created, store_id, now - days * 86_400)
        return orders_by_day(created, days=days, now=now)

    async def request_sync(self, store_id: int) -> str:
        return await self._enqueue(store_id)

    def sync_stats(self) -> list[SyncStat]:
        """Lag and last duration per store and resource, for ``/metrics`` (blocking)."""
        stats = []
        for store_id in self.mirror.store.store_ids():
            for row in self._rows(store_id):
                stats.append(
                    SyncStat(
                        store_id,
                        row.resource,
                        row.lag_seconds,
                        row.duration_seconds,
                        row.last_success_at,
                    )
                )
        return stats
