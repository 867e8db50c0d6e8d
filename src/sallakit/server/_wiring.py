"""Everything the service runs besides the webhook receiver, wired from the settings.

:func:`wire_service` is called by :func:`~sallakit.server.create_app` once the receiver exists:
it checks the settings (one line per problem), opens the token vault and migrates the database,
makes Easy mode and the mirror consumers of the receiver's app and store events, builds the
dashboard's parts and mounts the dashboard, the JSON API, the health checks, the metrics and the
OAuth routes. :meth:`Service.running` runs the background work for the life of the app: the
mirror's workflow worker (when ``SALLAKIT_WORKER=in-process``), the daily token refresh and the
metrics' hooks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy.engine import make_url

from sallakit._config import Purpose, engine_options, require_valid
from sallakit._exceptions import SallaError
from sallakit.auth import StoreStatus
from sallakit.server._build import build_parts
from sallakit.server._inbox_source import WebhookInboxSource
from sallakit.server._metrics import StateSource
from sallakit.server._parts import ServiceParts
from sallakit.server._refresher import run_refresher
from sallakit.server._routes import install_service
from sallakit.webhooks import Event, Handlers, WebhookEvent

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sallakit.auth import AsyncOAuthClient, EasyMode, TokenVault
    from sallakit.mirror import Mirror, MirrorQueueClient, MirrorWorker
    from sallakit.settings import Settings
    from sallakit.webhooks import WebhookReceiver, Worker

__all__ = [
    "Core",
    "Service",
    "build_core",
    "dbos_database_url",
    "queue_options",
    "register_consumers",
    "to_webhook_event",
    "wire_service",
]

logger = logging.getLogger(__name__)


def to_webhook_event(event: Event) -> WebhookEvent:
    """The parsed delivery a handler got, as the :class:`WebhookEvent` of the library's
    consumers (Easy mode, the mirror); the digest is the raw body's, from the dedupe key."""
    data = event.payload.get("data")
    return WebhookEvent(
        event=event.name,
        merchant=event.store_id,
        created_at=event.created_at,
        data=data if isinstance(data, dict) else {},
        digest=event.idempotency_key.rsplit(":", 1)[-1],
    )


def dbos_database_url(database_url: str) -> str:
    """Where DBOS keeps its workflow state: a sibling SQLite file, or the same PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        return f"sqlite:///{path.with_name(path.stem + '-workflows' + (path.suffix or '.db'))}"
    return database_url


def queue_options(settings: Settings) -> dict[str, Any]:
    """Where the mirror's queue lives, as every process must name it (workers, and web
    processes that enqueue onto the workers' queue)."""
    return {
        "system_database_url": dbos_database_url(settings.database_url),
        "system_schema": settings.workflow_schema,
    }


def worker_options(settings: Settings) -> dict[str, Any]:
    """The :class:`~sallakit.mirror.MirrorWorker` keywords of a process from the settings."""
    return {
        **queue_options(settings),
        "executor_id": settings.worker_id,
        "application_version": settings.app_version,
        "pool_size": settings.database_pool_size + settings.database_max_overflow,
    }


@dataclass
class Service:
    """The service's long-lived parts."""

    settings: Settings
    vault: TokenVault
    oauth: AsyncOAuthClient | None
    easy: EasyMode
    mirror: Mirror
    worker: MirrorWorker | None
    parts: ServiceParts
    webhook_worker: Worker | None = None
    refresh_period: float = 86_400.0
    _started: anyio.Event = field(default_factory=anyio.Event)

    queue_client: MirrorQueueClient | None = None

    async def enqueue_sync(self, store_id: int) -> str:
        """Queue a sync of every resource of a store (the dashboard's "Sync now"): on this
        process's worker, or, with external workers, on their queue through a DBOS client."""
        if self.worker is not None:
            return await self.worker.enqueue(store_id, kind="sync")
        if self.queue_client is None:
            from sallakit.mirror import MirrorQueueClient

            self.queue_client = MirrorQueueClient(self.mirror, **queue_options(self.settings))
        return await self.queue_client.enqueue(store_id, kind="sync")

    def _close_queue_client(self) -> None:
        if self.queue_client is not None:
            self.queue_client.close()
            self.queue_client = None

    async def _worker_ready(self) -> str | None:
        if self.worker is None:
            return None  # external workers: their own readiness
        return None if self._started.is_set() else "the mirror worker has not started"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Service]:
        """Run the background work until the block ends."""
        async with AsyncExitStack() as stack:
            stack.callback(
                self.parts.metrics.instrument(
                    vault=self.vault, worker=self.webhook_worker, mirror=self.mirror
                )
            )
            stack.callback(self._close_queue_client)
            if self.oauth is not None:
                await stack.enter_async_context(self.oauth)
            if self.worker is not None:
                worker = self.worker
                await worker.start()
                stack.push_async_callback(worker.shutdown)
                # Runs first on the way out (uvicorn's SIGTERM ends the lifespan): the steps in
                # flight finish and are checkpointed before DBOS stops.
                stack.push_async_callback(
                    lambda: worker.drain(self.settings.shutdown_grace_seconds)
                )
            self._started.set()
            async with anyio.create_task_group() as tg:
                if self.settings.worker == "in-process":
                    tg.start_soon(lambda: run_refresher(self.vault, period=self.refresh_period))
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()


@dataclass
class Core:
    """What both the web process and a worker process build from the settings."""

    vault: TokenVault
    oauth: AsyncOAuthClient | None
    easy: EasyMode
    mirror: Mirror
    mirror_worker: MirrorWorker | None


def build_core(settings: Settings, *, purpose: Purpose, mirror_worker: bool) -> Core:
    """Check the settings, migrate the database, open the vault, build Easy mode and the mirror.

    Raises:
        ConfigurationError: the settings have problems (all listed, one per line), or the
            database cannot be migrated.
    """
    from sallakit.auth import AsyncOAuthClient, EasyMode, SqlTokenStore, TokenVault
    from sallakit.db import create_engine, migrate
    from sallakit.mirror import Mirror

    require_valid(settings, purpose=purpose)
    engine = create_engine(settings.database_url, **engine_options(settings))
    migrate(engine)
    oauth = None
    if settings.client_id and settings.client_secret:
        # Without the app's credentials tokens still arrive (Easy mode) but cannot be
        # refreshed; the settings check warns about it.
        oauth = AsyncOAuthClient(
            settings.client_id,
            settings.client_secret.get_secret_value(),
            accounts_url=settings.accounts_url,
        )
    vault = TokenVault(
        SqlTokenStore(engine),
        settings.token_key_list(),
        async_oauth=oauth,
        refresh_margin=float(settings.refresh_margin_seconds),
    )
    # A worker process applies app events already verified by the web process: any non-empty
    # secret will do when it has none of its own.
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else "-"
    easy = EasyMode(vault, secret, uninstall_retention=settings.uninstall_retention, oauth=oauth)
    client_options: dict[str, Any] = {"base_url": settings.api_base_url}
    if settings.governor == "database":
        # Every process shares each store's rate-limit budget and in-flight cap.
        from sallakit.api import SharedGovernorRegistry, SQLGovernorBackend

        client_options["governor"] = SharedGovernorRegistry(
            SQLGovernorBackend(engine), lease_seconds=settings.governor_lease_seconds
        )
    mirror = Mirror.from_vault(vault, migrate=False, **client_options)
    worker = None
    if mirror_worker:
        from sallakit.mirror import MirrorWorker

        worker = MirrorWorker(mirror, **worker_options(settings))
    return Core(vault, oauth, easy, mirror, worker)


def register_consumers(handlers: Handlers, core: Core) -> None:
    """Make Easy mode (app events) and the mirror (store events) handlers of the receiver."""

    async def on_app_event(event: Event) -> None:
        parsed = to_webhook_event(event)
        await core.easy.handle(parsed)
        if event.name == "app.store.authorize" and core.mirror_worker is not None:
            settings = core.mirror.settings_for(event.store_id)
            if settings.auto_backfill_on_install:
                # One backfill per authorize event: a replay of the event queues nothing new.
                await core.mirror_worker.enqueue(
                    event.store_id,
                    kind="sync",
                    run_id=f"mirror:{event.store_id}:install:{parsed.digest[:16]}",
                )

    async def on_marked(store_id: int) -> None:
        if core.mirror_worker is not None:
            await core.mirror_worker.enqueue_dirty(store_id)

    mark = core.mirror.webhook_handler(on_marked=on_marked)

    def connected(store_id: int) -> bool:
        try:
            record = core.vault.get(store_id)
        except SallaError:
            return False
        return record.status == StoreStatus.ACTIVE and record.has_tokens

    async def on_store_event(event: Event) -> None:
        # Only stores the vault can call are mirrored: for another store a targeted fetch
        # could only fail (its events stay in the inbox, done, for the record).
        if await anyio.to_thread.run_sync(connected, event.store_id):
            await mark(to_webhook_event(event))

    handlers.add("app.*", on_app_event, name="sallakit.easy_mode")
    for pattern in type(core.mirror).EVENTS:
        handlers.add(pattern, on_store_event, name=f"sallakit.mirror[{pattern}]")


def wire_service(app: FastAPI, settings: Settings, receiver: WebhookReceiver) -> Service:
    """Build the service around ``receiver`` and mount its routes on ``app``.

    Raises:
        ConfigurationError: the settings have problems (all listed, one per line), or the
            database cannot be migrated.
    """
    from sallakit.server._mirror_source import MirrorDashboardSource

    core = build_core(settings, purpose="serve", mirror_worker=settings.worker == "in-process")
    register_consumers(receiver.handlers, core)
    service: Service

    async def enqueue(store_id: int) -> str:
        return await service.enqueue_sync(store_id)

    inbox_source = WebhookInboxSource(receiver.inbox, wake=receiver.worker.wake)
    mirror_source = MirrorDashboardSource(core.mirror, core.vault.engine, enqueue)
    parts = build_parts(
        settings,
        core.vault,
        inbox=inbox_source,
        mirror=mirror_source,
        source=StateSource(inbox_counts=receiver.inbox.counts, sync_stats=mirror_source.sync_stats),
        oauth=core.oauth,
    )
    service = Service(
        settings,
        core.vault,
        core.oauth,
        core.easy,
        core.mirror,
        core.mirror_worker,
        parts,
        webhook_worker=receiver.worker,
    )
    parts.readiness["worker"] = service._worker_ready
    install_service(app, parts)
    return service
