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

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from dbos import DBOS, DBOSClient, DBOSConfiguredInstance, SetEnqueueOptions, SetWorkflowID

from sallakit._exceptions import ConfigurationError
from sallakit.mirror._mirror import Mirror
from sallakit.mirror._steps import Job, run_job
from sallakit.mirror._store import RunRecord

__all__ = ["DEFAULT_QUEUE", "DEFAULT_TICK", "MirrorQueueClient", "MirrorWorker", "StepGate"]

logger = logging.getLogger("sallakit.mirror")

#: The queue of mirror runs (partitioned by store id).
DEFAULT_QUEUE = "sallakit_mirror"
#: Cron (with seconds) of the scheduler's tick: every minute, due resources are reconciled and
#: pending webhook marks drained.
DEFAULT_TICK = "0 * * * * *"

# DBOS finds a configured instance by name when it recovers a workflow, so the instance must
# outlive any one worker: one per name per process, rebound to the worker that starts.
_INSTANCES: dict[str, _MirrorWorkflows] = {}


#: The registered names of the run workflow, its class and schedule: what a
#: :class:`MirrorQueueClient` in a process without DBOS names to enqueue a run.
_RUN_WORKFLOW = "sallakit.mirror.run"
_WORKFLOWS_CLASS = "sallakit.mirror.MirrorWorkflows"


class StepGate:
    """Counts the durable steps in flight and, once :meth:`drain` is called, holds every step
    that has not started yet: a graceful shutdown waits for the running steps to finish (and be
    checkpointed) while no new one begins; the held runs stay PENDING and resume from that
    checkpoint when a worker with the same executor id starts (or after ``recover``).

    Steps run on DBOS's own event loop thread, so the counter is guarded by a thread lock.
    """

    #: How often a held step looks again (it never goes on: the process is about to stop).
    HOLD_POLL = 0.2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._draining = threading.Event()

    @property
    def in_flight(self) -> int:
        """Steps running right now."""
        return self._in_flight

    @property
    def draining(self) -> bool:
        """Whether new steps are held."""
        return self._draining.is_set()

    async def enter(self) -> None:
        """Wait until a step may start (forever once draining), then count it."""
        while True:
            with self._lock:
                if not self._draining.is_set():
                    self._in_flight += 1
                    return
            await asyncio.sleep(self.HOLD_POLL)

    def exit(self) -> None:
        """A step finished (or failed)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    async def drain(self, timeout: float) -> bool:
        """Hold new steps and wait up to ``timeout`` seconds for the running ones; True when
        none is left running."""
        self._draining.set()
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self._in_flight == 0


@DBOS.dbos_class(_WORKFLOWS_CLASS)
class _MirrorWorkflows(DBOSConfiguredInstance):
    def __init__(self, name: str) -> None:
        self.worker: MirrorWorker | None = None
        super().__init__(name)

    def _mirror(self) -> Mirror:
        if self.worker is None:
            raise ConfigurationError("no MirrorWorker is running in this process")
        return self.worker.mirror

    def _gate(self) -> StepGate | None:
        return None if self.worker is None else self.worker.gate

    @DBOS.workflow(name=_RUN_WORKFLOW)
    async def run(self, job: dict[str, Any]) -> dict[str, Any]:
        spec = Job(
            run_id=job["run_id"],
            store_id=int(job["store_id"]),
            kind=job["kind"],
            resources=tuple(job["resources"]),
        )
        mirror = self._mirror()
        step = functools.partial(_durable_step, gate=self._gate())

        async with mirror.env(spec.store_id, spec.run_id) as env:
            result = await run_job(env, spec, step)
        await step("hooks", lambda: mirror.dispatch_changes(spec.store_id))
        return result


async def _durable_step(
    name: str, fn: Callable[[], Awaitable[Any]], *, gate: StepGate | None = None
) -> Any:
    """The :data:`~sallakit.mirror._steps.StepRunner` of durable runs: a DBOS step (its
    retries off: the client's retry policy is the one retry layer), counted by the worker's
    :class:`StepGate` so that a graceful shutdown lets it finish."""

    async def call() -> Any:
        return await fn()

    if gate is None:
        return await DBOS.run_step_async({"name": name, "retries_allowed": False}, call)
    await gate.enter()
    try:
        return await DBOS.run_step_async({"name": name, "retries_allowed": False}, call)
    finally:
        gate.exit()


async def _tick(scheduled_at: datetime, context: Any) -> None:
    """The schedule's workflow: enqueue the due work of every known store."""
    name = context.get("instance") if isinstance(context, dict) else None
    instance = _INSTANCES.get(str(name))
    if instance is None or instance.worker is None:
        logger.warning("mirror tick without a worker", extra={"action": "mirror_tick_orphan"})
        return
    worker = instance.worker
    await _durable_step(
        "enqueue due work", lambda: worker.enqueue_due(scheduled_at), gate=worker.gate
    )


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
        executor_id: DBOS executor id of this process (default DBOS's ``local``). Keep it
            stable per worker: at start a worker resumes the workflows its id left PENDING.
        application_version: DBOS application version (default: a hash of the workflow
            code); a worker resumes only workflows of its own version.
        system_schema: PostgreSQL schema of DBOS's tables (default ``dbos``).
        pool_size: PostgreSQL connections of DBOS's system database pool (default DBOS's).
        listen: Whether this process takes runs from the queue (False: a process that only
            enqueues, recovers or cancels, such as ``sallakit worker recover``).
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
        executor_id: str | None = None,
        application_version: str | None = None,
        system_schema: str | None = None,
        pool_size: int | None = None,
        listen: bool = True,
    ) -> None:
        self.mirror = mirror
        self.system_database_url = system_database_url
        self.name = name
        self.queue = queue
        self.tick = tick
        self.app_name = app_name
        self.executor_id = executor_id
        self.application_version = application_version
        self.system_schema = system_schema
        self.pool_size = pool_size
        self.listen = listen
        self.gate = StepGate()
        self._owns_dbos = False
        self._started = False

    def _dbos_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "name": self.app_name,
            "system_database_url": self.system_database_url,
            "log_level": "WARNING",
        }
        optional = {
            "executor_id": self.executor_id,
            "application_version": self.application_version,
            "dbos_system_schema": self.system_schema,
            "system_database_pool_size": self.pool_size,
        }
        config.update({key: value for key, value in optional.items() if value is not None})
        return config

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
        if self.gate.draining:
            self.gate = StepGate()  # started again after a graceful stop
        from dbos._dbos import _dbos_global_instance

        if _dbos_global_instance is None:
            if not self.system_database_url:
                raise ConfigurationError("MirrorWorker needs system_database_url to start DBOS")
            DBOS(config=self._dbos_config())  # type: ignore[arg-type]
            self._owns_dbos = True
            if not self.listen:
                # Only DBOS's internal queue: this process must never start a run it would
                # abandon when it exits.
                DBOS.listen_queues([])
        DBOS.launch()
        await DBOS.register_queue_async(self.queue, partition_concurrency=1)
        if self.tick is not None and self.listen:
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

    async def drain(self, timeout: float) -> bool:
        """Graceful shutdown's first half: start no new step and wait up to ``timeout`` seconds
        for the steps in flight to finish and be checkpointed. True when none is left running
        (a step still running after the timeout runs again when its run resumes)."""
        drained = await self.gate.drain(timeout)
        logger.info(
            "mirror worker drained" if drained else "mirror worker stopped with steps running",
            extra={"action": "mirror_drain", "steps_in_flight": self.gate.in_flight},
        )
        return drained

    async def recover(self, executor_ids: Iterable[str]) -> list[str]:
        """Put back on their queue the PENDING runs of workers that are gone (by executor id),
        so that any live worker resumes them from their last checkpoint. Returns their ids.

        Only runs of this process's application version are found (DBOS's rule: a version
        resumes its own workflows). A worker that restarts with its old id recovers its own
        runs at start; this is for a worker that will not come back.
        """
        if not self._started:
            raise ConfigurationError("start the MirrorWorker before recovering runs")
        ids = [executor_id for executor_id in executor_ids if executor_id]
        if not ids:
            return []
        # DBOS 3.4's own recovery (what a launch does for its own id): it puts each PENDING
        # run back as ENQUEUED on its own queue and partition. ``resume_workflow`` would not do:
        # it moves a run to DBOS's internal queue, outside the one-run-per-store partition.
        handles = await asyncio.to_thread(DBOS._recover_pending_workflows, ids)
        recovered = [handle.get_workflow_id() for handle in handles]
        logger.info(
            "recovered %d run(s) of executor(s) %s",
            len(recovered),
            ", ".join(ids),
            extra={"action": "mirror_recover", "executors": ids, "runs": recovered},
        )
        return recovered

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
        for run in self.mirror.store.list_runs(store_id, 50):
            if run.kind == "dirty" and run.status == "queued":
                return None
        return await self.enqueue(store_id, kind="dirty")

    async def enqueue_backfill(self, store_id: int) -> str:
        """Queue a newly installed store's first sync (one per store: the run id is fixed, so
        a redelivered install event queues nothing more)."""
        return await self.enqueue(store_id, run_id=f"mirror:{store_id}:install")

    async def enqueue_due(self, at: datetime | None = None) -> list[str]:
        """The scheduler's work: a ``scheduled`` run for every store with a resource due, and a
        ``dirty`` run for every store with webhook marks waiting."""
        queued: list[str] = []
        stamp = (at or datetime.fromtimestamp(self.mirror.clock())).strftime("%Y%m%dT%H%M%S")
        for store_id in self.mirror.store.store_ids():
            status = self.mirror.status(store_id)
            if status["active_runs"]:
                continue
            if any(r["due"] for r in status["resources"].values()):
                queued.append(
                    await self.enqueue(
                        store_id, kind="scheduled", run_id=f"mirror:{store_id}:scheduled:{stamp}"
                    )
                )
        for store_id in self.mirror.store.dirty_stores():
            run_id = await self.enqueue_dirty(store_id)
            if run_id is not None:
                queued.append(run_id)
        return queued

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


class MirrorQueueClient:
    """Enqueues mirror runs from a process that runs none (a web process next to
    ``sallakit worker`` processes): a DBOS client on the workers' system database, so the run
    lands on the same partitioned queue and a worker picks it up.

    Args:
        mirror: The mirror whose job history records the queued run.
        system_database_url: The workers' DBOS system database.
        name: The workers' :class:`MirrorWorker` name (the workflow instance).
        queue: The workers' queue.
        app_name: The workers' DBOS application name.
        system_schema: PostgreSQL schema of DBOS's tables (default ``dbos``).
    """

    def __init__(
        self,
        mirror: Mirror,
        *,
        system_database_url: str,
        name: str = "mirror",
        queue: str = DEFAULT_QUEUE,
        app_name: str = "sallakit",
        system_schema: str | None = None,
    ) -> None:
        self.mirror = mirror
        self.name = name
        self.queue = queue
        self._client = DBOSClient(
            system_database_url=system_database_url,
            application_name=app_name,
            dbos_system_schema=system_schema or "dbos",
            lazy=True,
            # A web request must fail, not hang, while the database is away.
            retry_connection_errors=False,
        )

    async def enqueue(
        self,
        store_id: int,
        *,
        kind: str = "sync",
        resources: Iterable[str] | None = None,
        run_id: str | None = None,
    ) -> str:
        """Queue a run for a store, as :meth:`MirrorWorker.enqueue` does. Returns the run id.

        Raises:
            ConfigurationError: the workflow database cannot be reached.
        """
        job = self.mirror.job(store_id, kind=kind, resources=resources, run_id=run_id)
        self.mirror.record_queued(job)
        try:
            await self._client.enqueue_async(
                {
                    "queue_name": self.queue,
                    "workflow_name": _RUN_WORKFLOW,
                    "class_name": _WORKFLOWS_CLASS,
                    "instance_name": self.name,
                    "workflow_id": job.run_id,
                    "queue_partition_key": str(job.store_id),
                },
                job.as_dict(),
            )
        except Exception as exc:  # DBOS's and the driver's errors: one of ours at the boundary
            raise ConfigurationError(
                f"could not queue the run on the workflow database ({type(exc).__name__})"
            ) from exc
        return job.run_id

    def close(self) -> None:
        """Release the client's connections."""
        self._client.destroy()
