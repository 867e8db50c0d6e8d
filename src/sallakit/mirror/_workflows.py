"""Durable runs on DBOS Transact: the only module of sallakit that imports ``dbos``.

A run is one DBOS workflow whose steps are the mirror's steps (``_steps.py``), each checkpointed
in DBOS's system database; a process killed mid-run resumes at launch from the last completed
step (the step in flight runs again: steps are idempotent). Workflows go through one queue
partitioned by store id with ``partition_concurrency=1``: one run at a time per store, any
number of stores in parallel. DBOS step retries stay off: the client's retry policy is the
only retry layer. Deduplication is not supported on partitioned queues, so runs are
deduplicated by workflow id (a scheduled tick's id is derived from the tick, a dirty drain is
not enqueued while one is still queued).

DBOS is a process-wide singleton; so is the worker: one :class:`MirrorWorker` per process at a
time (another component may have constructed DBOS already; the worker then uses it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import anyio
from dbos import DBOS, DBOSConfiguredInstance, SetEnqueueOptions, SetWorkflowID

from sallakit._exceptions import ConfigurationError
from sallakit.mirror._mirror import Mirror
from sallakit.mirror._steps import Job, run_job
from sallakit.mirror._store import RunRecord, is_database_outage

__all__ = ["DEFAULT_QUEUE", "DEFAULT_TICK", "MirrorWorker"]

logger = logging.getLogger("sallakit.mirror")

#: The queue of mirror runs (partitioned by store id).
DEFAULT_QUEUE = "sallakit_mirror"
#: Cron (with seconds) of the scheduler's tick: every minute, due resources are reconciled and
#: pending webhook marks drained.
DEFAULT_TICK = "0 * * * * *"
#: Seconds a run's step waits for an unreachable database (a restart, a failover) to return.
DATABASE_OUTAGE_BUDGET = 600.0

# DBOS finds a configured instance by name when it recovers a workflow, so the instance must
# outlive any one worker: one per name per process, rebound to the worker that starts.
_INSTANCES: dict[str, _MirrorWorkflows] = {}


@DBOS.dbos_class()
class _MirrorWorkflows(DBOSConfiguredInstance):
    def __init__(self, name: str) -> None:
        self.worker: MirrorWorker | None = None
        super().__init__(name)

    def _mirror(self) -> Mirror:
        if self.worker is None:
            raise ConfigurationError("no MirrorWorker is running in this process")
        return self.worker.mirror

    @DBOS.workflow(name="sallakit.mirror.run")
    async def run(self, job: dict[str, Any]) -> dict[str, Any]:
        spec = Job(
            run_id=job["run_id"],
            store_id=int(job["store_id"]),
            kind=job["kind"],
            resources=tuple(job["resources"]),
        )
        mirror = self._mirror()

        async with mirror.env(spec.store_id, spec.run_id) as env:
            result = await run_job(env, spec, _durable_step)
        await _durable_step("hooks", lambda: mirror.dispatch_changes(spec.store_id))
        return result


async def _durable_step(name: str, fn: Callable[[], Awaitable[Any]]) -> Any:
    """The :data:`~sallakit.mirror._steps.StepRunner` of durable runs: a DBOS step (its
    retries off: the client's retry policy is the one retry layer for API calls; a database
    outage is waited out, see :func:`outlast_database_outages`)."""

    async def call() -> Any:
        return await outlast_database_outages(name, fn)

    return await DBOS.run_step_async({"name": name, "retries_allowed": False}, call)


async def outlast_database_outages(
    name: str,
    fn: Callable[[], Awaitable[Any]],
    *,
    budget: float = DATABASE_OUTAGE_BUDGET,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Run a step; while the mirror's database is unreachable, run it again (with backoff, for
    up to ``budget`` seconds). Steps are idempotent, and a step that raised out of its workflow
    would end the run in DBOS while its job history stayed ``running`` for good, so the store
    would never be reconciled again (found by ``bench/fleet.py`` restarting PostgreSQL)."""
    delay, deadline = 0.5, clock() + budget
    while True:
        try:
            return await fn()
        except Exception as exc:
            if not is_database_outage(exc) or clock() + delay > deadline:
                raise
            logger.warning(
                "mirror step %s: the database is unreachable, again in %.1f s",
                name,
                delay,
                extra={"action": "mirror_step_outage", "step": name},
            )
        await sleep(delay)
        delay = min(delay * 2, 15.0)


async def _tick(scheduled_at: datetime, context: Any) -> None:
    """The schedule's workflow: enqueue the due work of every known store."""
    name = context.get("instance") if isinstance(context, dict) else None
    instance = _INSTANCES.get(str(name))
    if instance is None or instance.worker is None:
        logger.warning("mirror tick without a worker", extra={"action": "mirror_tick_orphan"})
        return
    worker = instance.worker
    # DBOS refuses to enqueue from inside a step: the step decides (its result is checkpointed,
    # so a recovered tick queues the same runs, under the same ids), the workflow enqueues.
    due = await _durable_step("plan due work", lambda: worker.due_work(scheduled_at))
    for work in due:
        await worker.enqueue(work["store_id"], kind=work["kind"], run_id=work["run_id"])


_tick_workflow = DBOS.workflow(name="sallakit.mirror.tick")(_tick)


class MirrorWorker:
    """Runs a :class:`Mirror`'s jobs durably on DBOS Transact.

    Args:
        mirror: The mirror whose jobs run here.
        system_database_url: DBOS's system database (``sqlite:///path`` or PostgreSQL); ignored
            when DBOS was already constructed by another component of the process.
        name: The instance name recorded with each workflow (keep it stable: a restarted
            process recovers runs by it).
        queue: The queue name.
        tick: Cron (6 fields, with seconds) of the scheduler; None: no schedule.
        app_name: DBOS application name.
    """

    def __init__(
        self,
        mirror: Mirror,
        *,
        system_database_url: str | None = None,
        name: str = "mirror",
        queue: str = DEFAULT_QUEUE,
        tick: str | None = DEFAULT_TICK,
        app_name: str = "sallakit",
    ) -> None:
        self.mirror = mirror
        self.system_database_url = system_database_url
        self.name = name
        self.queue = queue
        self.tick = tick
        self.app_name = app_name
        self._owns_dbos = False
        self._started = False

    # ------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Construct and launch DBOS if needed, register the queue and the schedule; runs left
        unfinished by a killed process resume now."""
        instance = _INSTANCES.get(self.name)
        if instance is None:
            instance = _INSTANCES[self.name] = _MirrorWorkflows(self.name)
        if instance.worker is not None and instance.worker is not self:
            raise ConfigurationError(f"a MirrorWorker named {self.name!r} is already running")
        instance.worker = self
        from dbos._dbos import _dbos_global_instance

        if _dbos_global_instance is None:
            if not self.system_database_url:
                raise ConfigurationError("MirrorWorker needs system_database_url to start DBOS")
            DBOS(
                config={
                    "name": self.app_name,
                    "system_database_url": self.system_database_url,
                    "log_level": "WARNING",
                }
            )
            self._owns_dbos = True
        DBOS.launch()
        await DBOS.register_queue_async(self.queue, partition_concurrency=1)
        if self.tick is not None:
            await DBOS.apply_schedules_async(
                [
                    {
                        "schedule_name": f"sallakit-mirror-{self.name}",
                        "workflow_fn": _tick_workflow,
                        "schedule": self.tick,
                        "context": {"instance": self.name},
                    }
                ]
            )
        self._started = True

    async def shutdown(self) -> None:
        """Stop DBOS (when this worker started it) and release the instance name."""
        instance = _INSTANCES.get(self.name)
        if instance is not None and instance.worker is self:
            instance.worker = None
        if self._owns_dbos:
            DBOS.destroy()
            self._owns_dbos = False
        self._started = False

    async def __aenter__(self) -> MirrorWorker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    # --------------------------------------------------------------------------- enqueue

    async def enqueue(
        self,
        store_id: int,
        *,
        kind: str = "sync",
        resources: Iterable[str] | None = None,
        run_id: str | None = None,
    ) -> str:
        """Queue a run for a store (after any run of that store already queued or running).

        An explicit ``run_id`` makes the call idempotent: a second call with the same id does
        not queue a second run. Returns the run id.
        """
        if not self._started:
            raise ConfigurationError("start the MirrorWorker before enqueueing runs")
        job = self.mirror.job(store_id, kind=kind, resources=resources, run_id=run_id)
        self.mirror.record_queued(job)
        instance = _INSTANCES[self.name]
        with SetWorkflowID(job.run_id), SetEnqueueOptions(queue_partition_key=str(job.store_id)):
            await DBOS.enqueue_workflow_async(self.queue, instance.run, job.as_dict())
        return job.run_id

    async def wait(self, run_id: str) -> RunRecord:
        """Wait for a run to finish; returns its job-history row."""
        handle: Any = await DBOS.retrieve_workflow_async(run_id)
        await handle.get_result()
        run = self.mirror.store.get_run(run_id)
        assert run is not None
        return run

    async def enqueue_dirty(self, store_id: int) -> str | None:
        """Queue a targeted-fetch run for a store's webhook marks, unless one is still queued
        (it will see the new marks when it starts)."""
        if self._dirty_queued(store_id):
            return None
        return await self.enqueue(store_id, kind="dirty")

    def _dirty_queued(self, store_id: int) -> bool:
        return any(
            run.kind == "dirty" and run.status == "queued"
            for run in self.mirror.store.list_runs(store_id, 50)
        )

    async def enqueue_backfill(self, store_id: int) -> str:
        """Queue a newly installed store's first sync (one per store: the run id is fixed, so
        a redelivered install event queues nothing more)."""
        return await self.enqueue(store_id, run_id=f"mirror:{store_id}:install")

    async def enqueue_due(self, at: datetime | None = None) -> list[str]:
        """The scheduler's work: a ``scheduled`` run for every store with a resource due, and a
        ``dirty`` run for every store with webhook marks waiting."""
        return [
            await self.enqueue(work["store_id"], kind=work["kind"], run_id=work["run_id"])
            for work in await self.due_work(at)
        ]

    async def due_work(self, at: datetime | None = None) -> list[dict[str, Any]]:
        """The runs :meth:`enqueue_due` would queue now, as plain data (``store_id``, ``kind``,
        ``run_id``), without queuing them."""
        work: list[dict[str, Any]] = []
        stamp = (at or datetime.fromtimestamp(self.mirror.clock())).strftime("%Y%m%dT%H%M%S")
        for store_id in self.mirror.store.store_ids():
            status = self.mirror.status(store_id)
            if status["active_runs"]:
                continue
            if any(r["due"] for r in status["resources"].values()):
                run_id = f"mirror:{store_id}:scheduled:{stamp}"
                work.append({"store_id": store_id, "kind": "scheduled", "run_id": run_id})
        for store_id in self.mirror.store.dirty_stores():
            if not self._dirty_queued(store_id):
                run_id = self.mirror.new_run_id(store_id, "dirty")
                work.append({"store_id": store_id, "kind": "dirty", "run_id": run_id})
        return work

    async def unblock(self, store_id: int) -> list[str]:
        """Cancel a store's queued and running runs (workflows and job history) so its queue
        moves again; returns the run ids."""
        cancelled = self.mirror.unblock(store_id)
        for run_id in cancelled:
            try:
                await DBOS.cancel_workflow_async(run_id)
            except Exception as exc:  # an id DBOS never saw (queued then lost): history only
                logger.warning(
                    "could not cancel workflow %s (%s)",
                    run_id,
                    type(exc).__name__,
                    extra={"action": "mirror_unblock", "run_id": run_id},
                )
        return cancelled
