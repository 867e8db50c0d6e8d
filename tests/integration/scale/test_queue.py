"""The mirror's queue at scale, on the real DBOS queue: fair between stores, reachable from a
process that runs no workflow (the web process next to external workers)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sallakit.db import create_engine
from sallakit.mirror import MirrorQueueClient, MirrorWorker
from tests.integration.mirror.conftest import make_mirror, new_emulator, sqlite_store

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workflow_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """DBOS's system database: a SQLite file, or PostgreSQL with a schema of its own."""
    if request.param == "sqlite":
        yield {"system_database_url": f"sqlite:///{tmp_path}/dbos.sqlite"}
        return
    url = str(request.getfixturevalue("postgres_url"))
    schema = f"dbos_{uuid.uuid4().hex[:12]}"
    try:
        yield {"system_database_url": url, "system_schema": schema}
    finally:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.slow
async def test_a_store_with_a_huge_backlog_does_not_starve_the_others(
    tmp_path: Path, workflow_database: dict[str, str]
) -> None:
    emulator = new_emulator(stores=5, products=20, orders=6, customers=6)
    huge, *small = [store.id for store in emulator.stores]
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    worker = MirrorWorker(mirror, name=f"fair{tmp_path.name}", tick=None, **workflow_database)
    async with worker:
        # The big store's backlog is queued first: six full syncs, one after the other.
        backlog = [await worker.enqueue(huge, run_id=f"huge-{n}") for n in range(6)]
        others = [await worker.enqueue(store_id) for store_id in small]
        small_runs = [await worker.wait(run_id) for run_id in others]
        huge_runs = [await worker.wait(run_id) for run_id in backlog]
    assert {run.status for run in small_runs + huge_runs} == {"succeeded"}
    # One run at a time for the big store (its runs never overlap)...
    for before, after in itertools.pairwise(huge_runs):
        assert before.finished_at is not None and after.started_at is not None
        assert after.started_at >= before.finished_at
    # ...while every small store ran next to it instead of behind it: each small run finished
    # before the big store's backlog was a third done.
    third = huge_runs[len(huge_runs) // 3]
    assert third.finished_at is not None
    late = [
        r.store_id for r in small_runs if r.finished_at is None or r.finished_at > third.finished_at
    ]
    assert late == [], f"stores that waited for the big store's backlog: {late}"


async def test_a_process_without_a_worker_queues_runs_the_worker_picks_up(tmp_path: Path) -> None:
    emulator = new_emulator(products=20, orders=6, customers=10)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, sqlite_store(tmp_path))
    system = f"sqlite:///{tmp_path}/dbos.sqlite"
    name = f"qc{tmp_path.name}"
    worker = MirrorWorker(mirror, system_database_url=system, name=name, tick=None)
    async with worker:
        client = MirrorQueueClient(mirror, system_database_url=system, name=name)
        try:
            run_id = await client.enqueue(store_id, kind="sync")
            again = await client.enqueue(store_id, kind="sync", run_id=run_id)
        finally:
            client.close()
        assert again == run_id
        run = await worker.wait(run_id)
    assert run.status == "succeeded", (run.error, run.audit)
    assert [r.run_id for r in mirror.runs(store_id)] == [run_id]
