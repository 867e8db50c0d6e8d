"""``sallakit worker``: the service's background work without the web server.

Several worker processes may run next to the web processes (``SALLAKIT_WORKER=external`` on
those), on the same database: the webhook worker claims deliveries under leases, the mirror's
durable workflows take one run per store at a time from their partitioned queue, and the
refresh coordinator makes concurrent token refreshes of one store impossible.

Shutdown is graceful on SIGTERM and SIGINT: the mirror worker starts no new step, the steps in
flight get ``SALLAKIT_SHUTDOWN_GRACE_SECONDS`` to finish (each is checkpointed as it ends), the
webhook worker hands its unfinished deliveries back, then DBOS stops. The held runs stay PENDING
under this worker's executor id and resume from their checkpoint when it starts again.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio

from sallakit.server._refresher import run_refresher
from sallakit.server._wiring import build_core, register_consumers

if TYPE_CHECKING:
    from sallakit.settings import Settings
    from sallakit.webhooks import Handlers

__all__ = ["recover_runs", "run_worker", "run_worker_until_signalled"]

logger = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    *,
    handlers: Handlers | None = None,
    ready: anyio.Event | None = None,
    stop: anyio.Event | None = None,
) -> bool:
    """Process webhook deliveries, run the mirror's workflows and schedule, refresh tokens daily;
    until cancelled, or until ``stop`` is set (then gracefully: see the module docstring).

    Returns whether every step in flight finished before the process stopped (True when no
    graceful stop was asked for).

    Raises:
        ConfigurationError: the settings have problems (all listed), the database cannot be
            migrated, or the handlers cannot be loaded.
    """
    from sallakit.server._app import _inbox, load_handlers
    from sallakit.webhooks import RetryPolicy, Worker

    core = build_core(settings, purpose="worker", mirror_worker=True)
    all_handlers = load_handlers(settings.webhook_handlers)
    if handlers is not None:
        all_handlers.include(handlers)
    register_consumers(all_handlers, core)
    webhook_worker = Worker(
        _inbox(settings),
        all_handlers,
        retry=RetryPolicy(max_attempts=settings.webhook_max_attempts),
        lease_seconds=settings.webhook_lease_seconds,
    )
    assert core.mirror_worker is not None
    drained = True
    if core.oauth is not None:
        await core.oauth.__aenter__()
    try:
        async with core.mirror_worker:
            logger.info("sallakit worker started", extra={"action": "worker_started"})
            async with anyio.create_task_group() as tg:
                tg.start_soon(webhook_worker.run)
                tg.start_soon(lambda: run_refresher(core.vault))
                if ready is not None:
                    ready.set()
                if stop is not None:
                    await stop.wait()
                    logger.info("sallakit worker stopping", extra={"action": "worker_stopping"})
                    drained = await core.mirror_worker.drain(settings.shutdown_grace_seconds)
                    tg.cancel_scope.cancel()
    finally:
        if core.oauth is not None:
            await core.oauth.aclose()
    return drained


async def run_worker_until_signalled(
    settings: Settings, on_ready: Callable[[], None] | None = None
) -> bool:
    """:func:`run_worker` until SIGTERM or SIGINT, then stop gracefully; returns whether the
    steps in flight all finished. ``on_ready`` is called once the worker takes work."""
    stop = anyio.Event()

    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for received in signals:
                logger.info(
                    "received %s",
                    signal.Signals(received).name,
                    extra={"action": "worker_signal"},
                )
                stop.set()
                return

    ready = anyio.Event()

    async def announce() -> None:
        await ready.wait()
        if on_ready is not None:
            on_ready()

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_signals)
        tg.start_soon(announce)
        drained = await run_worker(settings, ready=ready, stop=stop)
        tg.cancel_scope.cancel()
    return drained


async def recover_runs(settings: Settings, executor_ids: Sequence[str]) -> list[str]:
    """Put the PENDING runs of dead workers back on the mirror's queue (see
    :meth:`~sallakit.mirror.MirrorWorker.recover`); returns their ids.

    Runs in a DBOS process that takes nothing from the queue, so it can never start (and then
    abandon) a run itself.
    """
    import uuid

    core = build_core(settings, purpose="worker", mirror_worker=True)
    assert core.mirror_worker is not None
    worker = core.mirror_worker
    worker.listen = False
    worker.tick = None
    # An id of its own, never a live worker's (DBOS recovers the runs of its id at launch).
    worker.executor_id = f"sallakit-recover-{uuid.uuid4().hex[:12]}"
    async with worker:
        return await worker.recover(executor_ids)
