"""``sallakit worker``: the service's background work without the web server.

Several worker processes may run next to the web processes (``SALLAKIT_WORKER=external`` on
those), on the same database: the webhook worker claims deliveries under leases, the mirror's
durable workflows take one run per store at a time from their partitioned queue, and the
refresh coordinator makes concurrent token refreshes of one store impossible.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from sallakit.server._refresher import run_refresher
from sallakit.server._wiring import build_core, register_consumers

if TYPE_CHECKING:
    from sallakit.settings import Settings
    from sallakit.webhooks import Handlers

__all__ = ["run_worker"]

logger = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    *,
    handlers: Handlers | None = None,
    ready: anyio.Event | None = None,
) -> None:
    """Process webhook deliveries, run the mirror's workflows and schedule, refresh tokens daily;
    until cancelled.

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
    finally:
        if core.oauth is not None:
            await core.oauth.aclose()
