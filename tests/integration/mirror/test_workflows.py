"""Durable runs on DBOS: queued per store, recorded in the job history, equal to a direct run."""

from __future__ import annotations

import pytest

from sallakit.mirror import MirrorWorker
from tests.integration.mirror.conftest import (
    assert_mirror_equals,
    make_mirror,
    new_emulator,
    sqlite_store,
)

pytestmark = pytest.mark.anyio


async def test_worker_runs_queued_jobs_per_store(tmp_path):
    emulator = new_emulator(products=70, orders=20, customers=20)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    worker = MirrorWorker(
        mirror, system_database_url=f"sqlite:///{tmp_path}/dbos.sqlite", name=f"t{tmp_path.name}"
    )
    async with worker:
        first = await worker.enqueue(store_id)
        second = await worker.enqueue(store_id, resources=["products"])
        again = await worker.enqueue(store_id, resources=["products"], run_id=second)
        assert again == second
        run1 = await worker.wait(first)
        run2 = await worker.wait(second)
    assert run1.status == "succeeded", (run1.error, run1.audit)
    assert run2.status == "succeeded"
    # One run at a time per store: the second started after the first finished.
    assert run2.started_at is not None and run1.finished_at is not None
    assert run2.started_at >= run1.finished_at
    assert_mirror_equals(mirror, emulator, store_id)
    kinds = [r.kind for r in mirror.runs(store_id)]
    assert kinds == ["sync", "sync"]


async def test_scheduler_queues_due_resources_and_webhook_marks(tmp_path):
    from sallakit.testing import webhook_body
    from sallakit.webhooks import parse_event

    emulator = new_emulator(products=20, orders=6, customers=10)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    worker = MirrorWorker(
        mirror,
        system_database_url=f"sqlite:///{tmp_path}/dbos.sqlite",
        name=f"s{tmp_path.name}",
        tick=None,
    )
    async with worker:
        first = await worker.wait(await worker.enqueue(store_id))
        assert first.status == "succeeded"
        assert await worker.enqueue_due() == []  # nothing due right after a sync
        # Past the orders' interval (15 min) but not the products' (1 h).
        emulator.advance(20 * 60)
        (scheduled,) = await worker.enqueue_due()
        run = await worker.wait(scheduled)
        assert run.kind == "scheduled" and run.status == "succeeded"
        assert run.resources == ["orders"]
        # A store's own interval overrides the default: products every 10 minutes.
        mirror.set_store_settings(store_id, intervals={"products": 600})
        emulator.advance(20 * 60)
        (scheduled,) = await worker.enqueue_due()
        run = await worker.wait(scheduled)
        assert run.status == "succeeded" and run.resources == ["products", "orders"]
        # A webhook mark queues a dirty run, once.
        order_id = next(iter(emulator.store(store_id).data.orders))
        emulator.change_order_status(store_id, order_id, "completed")
        body = webhook_body("order.status.updated", {"id": order_id}, merchant=store_id)
        mirror.mark_event(parse_event(body))
        queued = await worker.enqueue_due()
        assert len(queued) == 1 and ":dirty:" in queued[0]
        drained = await worker.wait(queued[0])
        assert drained.status == "succeeded" and not mirror.store.dirty(store_id)
    assert_mirror_equals(mirror, emulator, store_id)


async def test_the_schedule_tick_queues_due_runs_from_its_workflow(tmp_path):
    # DBOS refuses to enqueue from inside a step: the tick used to queue its runs from one, so
    # every tick that found work failed after recording the runs as queued (found by
    # bench/fleet.py: the store's job history then showed a run queued forever).
    from datetime import datetime

    from dbos import DBOS

    from sallakit.mirror._workflows import _tick_workflow

    emulator = new_emulator(products=20, orders=6, customers=10)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    worker = MirrorWorker(
        mirror,
        system_database_url=f"sqlite:///{tmp_path}/dbos.sqlite",
        name=f"k{tmp_path.name}",
        tick=None,
    )
    async with worker:
        assert (await worker.wait(await worker.enqueue(store_id))).status == "succeeded"
        emulator.advance(20 * 60)  # the orders are due
        tick = await DBOS.start_workflow_async(
            _tick_workflow, datetime.fromtimestamp(emulator.clock.time()), {"instance": worker.name}
        )
        await tick.get_result()
        (scheduled,) = [r for r in mirror.runs(store_id) if r.kind == "scheduled"]
        run = await worker.wait(scheduled.run_id)
    assert run.status == "succeeded" and run.resources == ["orders"]


async def test_a_drain_queued_long_ago_does_not_stop_the_next(tmp_path):
    # Found by bench/fleet.py: a drain recorded as queued whose enqueue then failed (PostgreSQL
    # restarting) stopped every later drain of the store: its webhook marks waited for ever.
    from sallakit.mirror._store import RunRecord
    from sallakit.mirror._workflows import STALE_QUEUED_SECONDS

    emulator = new_emulator(products=3, orders=0, customers=1)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    worker = MirrorWorker(
        mirror,
        system_database_url=f"sqlite:///{tmp_path}/dbos.sqlite",
        name=f"q{tmp_path.name}",
        tick=None,
    )
    lost = RunRecord(
        run_id=f"mirror:{store_id}:dirty:lost",
        store_id=store_id,
        kind="dirty",
        resources=[],
        status="queued",
        created_at=emulator.clock.time(),
    )
    mirror.store.save_run(lost)
    async with worker:
        assert await worker.enqueue_dirty(store_id) is None  # a fresh one still counts
        emulator.advance(STALE_QUEUED_SECONDS + 1)
        queued = await worker.enqueue_dirty(store_id)
        assert queued is not None and queued != lost.run_id
        assert (await worker.wait(queued)).status == "succeeded"


async def test_a_run_dbos_never_got_is_failed_in_the_job_history(tmp_path, monkeypatch):
    # A run recorded as queued whose enqueue failed would count as the store's active run for
    # good (no scheduled reconciliation of the store again).
    from dbos import DBOS

    emulator = new_emulator(products=3, orders=0, customers=1)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    worker = MirrorWorker(
        mirror,
        system_database_url=f"sqlite:///{tmp_path}/dbos.sqlite",
        name=f"f{tmp_path.name}",
        tick=None,
    )

    async def refuse(*args, **kwargs):
        raise RuntimeError("the workflow database is away")

    async with worker:
        monkeypatch.setattr(DBOS, "enqueue_workflow_async", refuse)
        with pytest.raises(RuntimeError):
            await worker.enqueue(store_id, run_id=f"mirror:{store_id}:lost")
        monkeypatch.undo()
        (run,) = mirror.runs(store_id)
        assert run.status == "failed" and run.error == "never queued: RuntimeError"
        assert not mirror.status(store_id)["active_runs"]
