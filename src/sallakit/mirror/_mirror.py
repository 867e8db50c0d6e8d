"""The :class:`Mirror`: the public face of the store mirror (no DBOS here).

It runs jobs in-process (:meth:`Mirror.sync`), reports status and job history, serves the
change feed and drives change hooks from it, turns webhook events into dirty marks, and finds
stalled runs. Durable, queued execution is :class:`~sallakit.mirror.MirrorWorker`'s job; both
run the same steps.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from sallakit._exceptions import ConfigurationError
from sallakit.mirror import _core
from sallakit.mirror._settings import MirrorSettings
from sallakit.mirror._steps import (
    JOB_KINDS,
    ClientFactory,
    Job,
    Progress,
    ProgressCallback,
    StepRunner,
    SyncEnv,
    open_env,
    run_directly,
    run_job,
)
from sallakit.mirror._store import Change, MirrorStore, RunRecord, SQLMirrorStore
from sallakit.mirror._streams import RESOURCES, TABLES

if TYPE_CHECKING:
    from sallakit.auth import TokenVault
    from sallakit.webhooks import WebhookEvent

__all__ = ["ChangeHook", "Mirror"]

logger = logging.getLogger("sallakit.mirror")

ChangeHook = Callable[[Change], Any]
"""A change hook: called with each :class:`Change` (sync or async)."""

#: Run statuses that mean "not finished".
ACTIVE_STATUSES = ("queued", "running")


@dataclass(frozen=True, slots=True)
class _Hook:
    name: str
    resources: frozenset[str]
    fn: ChangeHook


class Mirror:
    """A local mirror of Salla stores: catalogue, orders and customers, with a change feed.

    Args:
        store: Where the mirror keeps its data (:class:`SQLMirrorStore` or the in-memory twin).
        clients: ``clients(store_id, transport, on_wait)`` returns the store-bound
            :class:`~sallakit.api.AsyncSalla` of a run; ``transport`` (it counts the run's
            requests) and ``on_wait`` (rate-limit waits become progress) must be passed to it.
            :meth:`from_vault` builds it from a token vault.
        settings: Defaults for every store (overridden per store with
            :meth:`set_store_settings`).
        progress: Called with each :class:`~sallakit.mirror.Progress` report.
        clock: Epoch seconds (injectable for tests).
    """

    def __init__(
        self,
        store: MirrorStore,
        clients: ClientFactory,
        *,
        settings: MirrorSettings | None = None,
        progress: ProgressCallback | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clients = clients
        self.settings = settings or MirrorSettings()
        self.progress = progress
        self.clock = clock
        self._hooks: dict[str, _Hook] = {}
        self._observers: list[ProgressCallback] = []

    @classmethod
    def from_vault(
        cls,
        vault: TokenVault,
        *,
        store: MirrorStore | None = None,
        settings: MirrorSettings | None = None,
        progress: ProgressCallback | None = None,
        migrate: bool = True,
        **client_kwargs: Any,
    ) -> Mirror:
        """A mirror reaching Salla only through ``vault``'s store-bound clients (so every sync
        shares the store's rate-limit governor and coordinated token refresh).

        Args:
            vault: The token vault; its database also holds the mirror by default.
            store: Another mirror store (default: SQL on the vault's engine).
            settings: Defaults for every store.
            progress: Progress callback.
            migrate: Run the sallakit migrations on the vault's database first.
            client_kwargs: Passed to ``vault.async_client`` (``base_url``, ``transport``...).
        """
        if store is None:
            if migrate:
                from sallakit.db import migrate as run_migrations

                run_migrations(vault.engine)
            store = SQLMirrorStore(vault.engine)
        inner = client_kwargs.pop("transport", None)

        def clients(store_id: int, transport: httpx2.AsyncBaseTransport, on_wait: Any) -> Any:
            return vault.async_client(
                store_id, transport=transport, on_wait=on_wait, **client_kwargs
            )

        mirror = cls(store, clients, settings=settings, progress=progress)
        mirror._inner_transport = inner
        return mirror

    _inner_transport: httpx2.AsyncBaseTransport | None = None

    # ------------------------------------------------------------------------- settings

    def settings_for(self, store_id: int) -> MirrorSettings:
        """The settings of one store: the defaults with its stored overrides."""
        return self.settings.merged(self.store.store_settings(store_id))

    def set_store_settings(self, store_id: int, **overrides: Any) -> MirrorSettings:
        """Store per-store overrides (``order_backfill_days=90``, ``intervals={...}``...).

        Raises:
            ConfigurationError: an unknown setting or an invalid value.
        """
        current = self.store.store_settings(store_id)
        merged = {**current, **overrides}
        settings = self.settings.merged(merged)  # validates
        self.store.save_store_settings(store_id, _jsonable(merged))
        return settings

    # ----------------------------------------------------------------------------- runs

    def env(
        self, store_id: int, run_id: str, *, progress: ProgressCallback | None = None
    ) -> AbstractAsyncContextManager[SyncEnv]:
        """The environment of one run (a store-bound client, this mirror's store)."""
        return open_env(
            store_id,
            run_id,
            clients=self.clients,
            store=self.store,
            settings=self.settings_for(store_id),
            clock=self.clock,
            progress=self._reporter(progress or self.progress),
            transport=self._inner_transport,
        )

    def on_progress(self, callback: ProgressCallback) -> Callable[[], None]:
        """Also call ``callback`` with every :class:`~sallakit.mirror.Progress` report of every
        run (besides the run's own ``progress``), e.g. metrics counting the ``done`` reports;
        returns an unregister function."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def _reporter(self, progress: ProgressCallback | None) -> ProgressCallback | None:
        if not self._observers:
            return progress
        observers = self._observers

        def report(event: Progress) -> None:
            if progress is not None:
                progress(event)
            for observer in list(observers):
                observer(event)

        return report

    @staticmethod
    def new_run_id(store_id: int, kind: str) -> str:
        return f"mirror:{store_id}:{kind}:{uuid.uuid4().hex[:12]}"

    def job(
        self,
        store_id: int,
        *,
        kind: str = "sync",
        resources: Iterable[str] | None = None,
        run_id: str | None = None,
    ) -> Job:
        """Describe a run (checked: known kind and resources)."""
        if kind not in JOB_KINDS:
            raise ConfigurationError(f"unknown sync kind {kind!r}; one of {', '.join(JOB_KINDS)}")
        wanted = tuple(resources or ())
        unknown = [r for r in wanted if r not in RESOURCES]
        if unknown:
            raise ConfigurationError(
                f"unknown resource(s) {', '.join(unknown)}; known: {', '.join(RESOURCES)}"
            )
        return Job(
            run_id=run_id or self.new_run_id(store_id, kind),
            store_id=int(store_id),
            kind=kind,
            resources=wanted,
        )

    def record_queued(self, job: Job) -> None:
        """Put a queued job in the job history (before a worker picks it up)."""
        if self.store.get_run(job.run_id) is None:
            self.store.save_run(
                RunRecord(
                    run_id=job.run_id,
                    store_id=job.store_id,
                    kind=job.kind,
                    resources=list(job.resources),
                    status="queued",
                    created_at=self.clock(),
                )
            )

    async def run(
        self,
        job: Job,
        *,
        step: StepRunner = run_directly,
        progress: ProgressCallback | None = None,
    ) -> RunRecord:
        """Run a job through ``step`` (in-process by default), then drive the change hooks."""
        async with self.env(job.store_id, job.run_id, progress=progress) as env:
            await run_job(env, job, step)
        await self.dispatch_changes(job.store_id)
        run = self.store.get_run(job.run_id)
        assert run is not None
        return run

    async def sync(
        self,
        store_id: int,
        *,
        resources: Iterable[str] | None = None,
        full: bool = False,
        kind: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> RunRecord:
        """Sync a store now, in this process: backfill what never was, reconcile the rest
        (every requested resource, whatever its schedule); ``full`` re-fetches everything.

        Returns the job-history row; its ``status`` is ``failed`` (with ``audit`` numbers or
        ``error``) when the run could not prove the mirror complete.
        """
        job = self.job(store_id, kind=kind or ("full" if full else "sync"), resources=resources)
        self.record_queued(job)
        return await self.run(job, progress=progress)

    async def drain(self, store_id: int, *, progress: ProgressCallback | None = None) -> RunRecord:
        """Fetch every entity webhooks marked dirty for a store, now."""
        return await self.sync(store_id, kind="dirty", progress=progress)

    # --------------------------------------------------------------------------- status

    def runs(self, store_id: int | None = None, limit: int = 50) -> list[RunRecord]:
        """Job history, newest first."""
        return self.store.list_runs(store_id, limit)

    def status(self, store_id: int) -> dict[str, Any]:
        """Per-resource sync status of a store, for dashboards and ``sallakit sync status``.

        Each resource shows its last successful run, its interval, its lag (seconds since the
        last success beyond the interval; 0 when on time, None before the first success) and
        live row count; the store shows its active run, its last run (with the audit) and how
        many webhook marks wait.
        """
        settings = self.settings_for(store_id)
        now = self.clock()
        resources: dict[str, Any] = {}
        for resource in settings.resources:
            state = self.store.resource_state(store_id, resource)
            interval = settings.interval(resource)
            lag = None
            if state.last_success_at is not None:
                lag = max(0.0, now - state.last_success_at - interval)
            resources[resource] = {
                "backfilled": state.backfilled,
                "last_success_at": state.last_success_at,
                "last_run_id": state.last_run_id,
                "interval": interval,
                "lag": lag,
                "due": state.last_success_at is None or now - state.last_success_at >= interval,
                "rows": self.store.count(store_id, resource),
            }
        runs = self.store.list_runs(store_id, 20)
        active = [r.as_dict() for r in runs if r.status in ACTIVE_STATUSES]
        finished = [r for r in runs if r.status not in ACTIVE_STATUSES]
        return {
            "store_id": store_id,
            "resources": resources,
            "active_runs": active,
            "last_run": finished[0].as_dict() if finished else None,
            "dirty": len(self.store.dirty(store_id, 10_000)),
            "stalled": [r.as_dict() for r in self.stalled(store_id=store_id)],
        }

    def stalled(self, *, store_id: int | None = None, now: float | None = None) -> list[RunRecord]:
        """The watchdog: active runs whose last progress is older than their store's
        ``stall_after`` (one stuck run per store freezes that store's queue)."""
        moment = self.clock() if now is None else now
        out: list[RunRecord] = []
        for run in self.store.list_runs(store_id, 500):
            if run.status not in ACTIVE_STATUSES:
                continue
            limit = self.settings_for(run.store_id).stall_after
            last = run.progress_at or run.started_at or run.created_at
            if moment - last > limit:
                out.append(run)
        return out

    def unblock(self, store_id: int, *, reason: str = "unblocked by an operator") -> list[str]:
        """Mark a store's active runs cancelled in the job history (the worker also cancels
        their workflows). Returns the run ids."""
        cancelled: list[str] = []
        for run in self.store.list_runs(store_id, 500):
            if run.status in ACTIVE_STATUSES:
                run.status = "cancelled"
                run.finished_at = self.clock()
                run.error = reason
                self.store.save_run(run)
                cancelled.append(run.run_id)
        return cancelled

    # ---------------------------------------------------------------------- change feed

    def changes(
        self, store_id: int | None = None, *, since: int = 0, limit: int = 1000
    ) -> list[Change]:
        """Change records after cursor ``since`` (a :attr:`Change.seq`), oldest first."""
        if since < 0:
            raise ConfigurationError("since must be >= 0")
        return self.store.changes(store_id, since, limit)

    def iter_changes(self, store_id: int | None = None, *, since: int = 0) -> Iterator[Change]:
        """Every change record after ``since``, page by page."""
        cursor = since
        while True:
            page = self.store.changes(store_id, cursor, 1000)
            if not page:
                return
            yield from page
            cursor = page[-1].seq

    def on_change(
        self, *resources: str, name: str | None = None
    ) -> Callable[[ChangeHook], ChangeHook]:
        """Register a hook run for each change of ``resources`` (tables; all when none).

        Hooks are driven by the durable feed with a stored cursor per hook and store, so they
        survive restarts and see every change at least once (a hook that raises sees the same
        change again on the next dispatch). ``name`` identifies the cursor (default: the
        function's qualified name); keep it stable across deployments.
        """
        unknown = [r for r in resources if r not in TABLES]
        if unknown:
            raise ConfigurationError(
                f"unknown mirror table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}"
            )

        def register(fn: ChangeHook) -> ChangeHook:
            hook_name = name or f"{fn.__module__}.{fn.__qualname__}"
            if hook_name in self._hooks and self._hooks[hook_name].fn is not fn:
                raise ConfigurationError(f"a change hook named {hook_name!r} is already registered")
            self._hooks[hook_name] = _Hook(hook_name, frozenset(resources), fn)
            return fn

        return register

    async def dispatch_changes(self, store_id: int | None = None) -> int:
        """Run every hook over the changes it has not seen yet; returns calls made.

        A hook that raises stops at that change (logged); its cursor stays before it.
        """
        calls = 0
        stores = [store_id] if store_id is not None else self.store.store_ids()
        for hook in list(self._hooks.values()):
            for sid in stores:
                calls += await self._dispatch_one(hook, sid)
        return calls

    async def _dispatch_one(self, hook: _Hook, store_id: int) -> int:
        cursor = self.store.hook_cursor(hook.name, store_id)
        calls = 0
        while True:
            page = self.store.changes(store_id, cursor, 500)
            if not page:
                return calls
            for change in page:
                if not hook.resources or change.resource in hook.resources:
                    try:
                        result = (
                            await hook.fn(change)
                            if inspect.iscoroutinefunction(hook.fn)
                            else await anyio.to_thread.run_sync(hook.fn, change)
                        )
                        if inspect.isawaitable(result):
                            await result
                    except Exception:
                        logger.exception(
                            "mirror change hook failed; it will see this change again",
                            extra={
                                "action": "mirror_hook_failed",
                                "hook": hook.name,
                                "seq": change.seq,
                            },
                        )
                        self.store.set_hook_cursor(hook.name, store_id, cursor)
                        return calls
                    calls += 1
                cursor = change.seq
            self.store.set_hook_cursor(hook.name, store_id, cursor)

    # -------------------------------------------------------------------------- webhooks

    def mark_event(self, event: WebhookEvent | Any) -> tuple[str, int] | None:
        """Mark the entity a store event points at as dirty; returns it (None: not mirrored).

        Takes a parsed :class:`~sallakit.webhooks.WebhookEvent` or the event a webhook
        handler receives (``name``, ``store_id``, ``payload``). Webhooks are hints: nothing of
        the event's payload is stored; a targeted fetch (the worker's ``dirty`` job, or
        :meth:`drain`) reads the entity from the API. Marking is idempotent, so a redelivered
        event costs nothing.
        """
        name, store_id, data = _event_parts(event)
        target = _core.event_target(name, data)
        if target is None or target[0] not in self.settings_for(store_id).resources:
            return None
        self.store.mark_dirty(store_id, [target], name)
        return target

    def webhook_handler(
        self, on_marked: Callable[[int], Awaitable[Any] | Any] | None = None
    ) -> Callable[[Any], Awaitable[None]]:
        """A webhook handler (for ``receiver.on("order.*")`` and friends) that marks the
        event's entity dirty, then calls ``on_marked(store_id)`` (e.g. the worker's
        ``enqueue_dirty``) so a targeted fetch follows."""

        async def handle(event: Any) -> None:
            target = await anyio.to_thread.run_sync(self.mark_event, event)
            if target is not None and on_marked is not None:
                result = on_marked(_event_parts(event)[1])
                if inspect.isawaitable(result):
                    await result

        return handle

    def register(
        self,
        handlers: Any,
        on_marked: Callable[[int], Awaitable[Any] | Any] | None = None,
        on_install: Callable[[int], Awaitable[Any] | Any] | None = None,
    ) -> None:
        """Register the mirror's handler on a webhook receiver (or its ``Handlers``) for every
        event of :attr:`EVENTS`, under stable names (``sallakit.mirror:order.*``...).

        With ``on_install`` (e.g. the worker's ``enqueue_backfill``), an
        ``app.store.authorize`` of a store the mirror never backfilled starts its backfill,
        unless the store's ``auto_backfill_on_install`` setting is off.
        """
        handler = self.webhook_handler(on_marked)
        for pattern in self.EVENTS:
            handlers.on(pattern, name=f"sallakit.mirror:{pattern}")(handler)
        if on_install is None:
            return

        async def installed(event: Any) -> None:
            store_id = _event_parts(event)[1]
            if await anyio.to_thread.run_sync(self.wants_backfill, store_id):
                result = on_install(store_id)
                if inspect.isawaitable(result):
                    await result

        handlers.on("app.store.authorize", name="sallakit.mirror:install")(installed)

    def wants_backfill(self, store_id: int) -> bool:
        """Whether a newly authorized store should start its backfill on its own: the setting
        is on and no resource of it was ever backfilled."""
        if store_id <= 0:
            return False
        settings = self.settings_for(store_id)
        if not settings.auto_backfill_on_install:
            return False
        return not any(
            self.store.resource_state(store_id, r).backfilled for r in settings.resources
        )

    #: The store events the mirror listens to (register its handler for these).
    EVENTS: tuple[str, ...] = (
        "order.*",
        "product.*",
        "customer.*",
        "category.*",
        "brand.*",
        "shipment.*",
    )

    # ---------------------------------------------------------------------------- export

    def export_rows(self, store_id: int, resource: str) -> Iterator[dict[str, Any]]:
        """Every live row of a table for a store (columns and ``data``), by id."""
        if resource not in TABLES:
            raise ConfigurationError(
                f"unknown mirror table {resource!r}; known: {', '.join(TABLES)}"
            )
        return self.store.rows(store_id, resource)


def _event_parts(event: Any) -> tuple[str, int, Mapping[str, Any]]:
    """(event name, store id, data dict) of a parsed event or a handler's event."""
    name = getattr(event, "event", None) or getattr(event, "name", "")
    store_id = getattr(event, "merchant", None)
    if store_id is None:
        store_id = getattr(event, "store_id", 0)
    payload = getattr(event, "payload", None)
    data: Any = payload.get("data") if isinstance(payload, Mapping) else getattr(event, "data", {})
    return str(name), int(store_id or 0), data if isinstance(data, Mapping) else {}


def _jsonable(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, tuple):
            item = list(item)
        elif isinstance(item, Mapping):
            item = dict(item)
        out[key] = item
    return out
