"""Production mode with real processes on PostgreSQL: ``sallakit worker`` processes with
executor ids, graceful SIGTERM and restart, recovery of a dead worker's runs, per-store
serialization across workers, and "sync now" from a web process with external workers."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa

from ._fleet import Fleet, running_fleet
from ._stack import _cli

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]


def wait_until_running(fleet: Fleet, store_id: int, *, pages: int = 2, timeout: float = 90.0):
    """The store's first run, once it has mirrored at least ``pages`` pages of products."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = fleet.runs(store_id)
        if runs and runs[-1].status == "running" and mirrored(fleet, store_id) >= 60 * pages:
            return runs[-1]
        time.sleep(0.1)
    raise TimeoutError(f"no run got going: {[(r.run_id, r.status) for r in fleet.runs(store_id)]}")


def mirrored(fleet: Fleet, store_id: int, table: str = "mirror_products") -> int:
    with fleet.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE store_id = :s"), {"s": store_id}
            ).scalar_one()
        )


def duplicate_inserts(fleet: Fleet, store_id: int) -> list[tuple[str, int, int]]:
    """Entities the change feed reports as inserted more than once (a step that ran twice and
    wrote twice would show here)."""
    with fleet.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT resource, entity_id, count(*) FROM mirror_changes "
                "WHERE store_id = :s AND kind = 'insert' GROUP BY resource, entity_id "
                "HAVING count(*) > 1"
            ),
            {"s": store_id},
        )
        return [tuple(row) for row in rows]


def assert_complete(fleet: Fleet, store_id: int, *, products: int, orders: int) -> None:
    (run,) = fleet.wait_runs(store_id, timeout=240)
    assert run.status == "succeeded", (run.error, run.audit)
    assert run.audit is not None and run.audit["ok"], run.audit
    assert mirrored(fleet, store_id) == products
    assert mirrored(fleet, store_id, "mirror_orders") == orders
    assert duplicate_inserts(fleet, store_id) == []


def test_sigterm_mid_run_then_restart_loses_and_duplicates_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    products, orders = 1500, 40
    with running_fleet(postgres_url, tmp_path, products=products, orders=orders) as fleet:
        (store_id,) = fleet.store_ids
        worker = fleet.start_worker("worker-0")
        fleet.install(store_id)  # the worker applies the tokens and queues the first sync
        run = wait_until_running(fleet, store_id)
        code, log = fleet.stop_gracefully(worker)
        assert code == 0, log
        assert "Traceback" not in log
        assert "the running steps finished and were checkpointed" in log
        held = next(r for r in fleet.runs(store_id) if r.run_id == run.run_id)
        assert held.status == "running"  # checkpointed, not failed: it resumes
        # The step in flight was finished, not cut: with 32 list pages per step the products
        # may all be in by now, but the run itself is unfinished and resumes below.
        before = mirrored(fleet, store_id)
        assert 0 < before <= products
        fleet.start_worker("worker-0")  # the same executor id resumes its run
        assert_complete(fleet, store_id, products=products, orders=orders)
        assert fleet.executors() == {"worker-0"}


def test_a_dead_workers_run_resumes_elsewhere_after_recover(
    postgres_url: str, tmp_path: Path
) -> None:
    products, orders = 1500, 40
    with running_fleet(postgres_url, tmp_path, products=products, orders=orders) as fleet:
        (store_id,) = fleet.store_ids
        dead = fleet.start_worker("worker-a")
        fleet.install(store_id)
        run = wait_until_running(fleet, store_id)
        dead.kill()  # SIGKILL: no checkpoint of the step in flight, no goodbye
        dead.wait(timeout=30)
        fleet.start_worker("worker-b")
        # worker-b does not take worker-a's run by itself: it stays where worker-a left it.
        time.sleep(6)
        stalled = mirrored(fleet, store_id)
        time.sleep(3)
        assert mirrored(fleet, store_id) == stalled < products
        recovered = subprocess.run(
            _cli("worker", "recover", "--executor-id", "worker-a"),
            env=fleet.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert recovered.returncode == 0, recovered.stderr
        assert recovered.stdout.split() == [run.run_id]
        assert_complete(fleet, store_id, products=products, orders=orders)


def test_runs_of_a_store_never_overlap_across_worker_processes(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {"SALLAKIT_GOVERNOR": "database"}
    with running_fleet(postgres_url, tmp_path, stores=3, products=120, orders=10, env=env) as fleet:
        for executor_id in ("worker-0", "worker-1", "worker-2"):
            fleet.start_worker(executor_id)
        for store_id in fleet.store_ids:
            fleet.install(store_id)  # each queues its first sync
        # "Sync now" from the web process, which runs no workflow: three more runs per store,
        # queued on the workers' queue behind the first.
        with fleet.api() as api:
            for _ in range(3):
                for store_id in fleet.store_ids:
                    queued = api.post(f"/api/stores/{store_id}/sync")
                    assert queued.status_code == 202, queued.text
        for store_id in fleet.store_ids:
            runs = fleet.wait_runs(store_id, count=4, timeout=240)
            assert [r.status for r in runs] == ["succeeded"] * 4, [r.error for r in runs]
            spans = sorted((r.started_at or 0.0, r.finished_at or 0.0) for r in runs)
            for (_, finished), (started, _) in itertools.pairwise(spans):
                assert started >= finished, f"store {store_id}: two runs at once: {spans}"
        # More than one process did the work, and the store-wide limits held for all of them.
        assert len(fleet.executors()) >= 2
        counters = fleet.counters()
        for store_id in fleet.store_ids:
            assert counters["peak_in_flight"].get(str(store_id), 0) <= 4
            assert counters["rate_limited"].get(str(store_id), 0) == 0


def hammer(fleet: Fleet, store_id: int, governor: str, *, processes: int, requests: int) -> None:
    token = httpx2.post(
        f"{fleet.emulator_url}/_emulator/stores/{store_id}/tokens", json={}, timeout=30
    ).json()["access_token"]
    # Every answer takes 50 ms, so requests overlap at the emulator as they do at Salla.
    httpx2.post(
        f"{fleet.emulator_url}/_emulator/faults",
        json={"kind": "latency", "seconds": 0.05, "store_id": store_id},
        timeout=30,
    ).raise_for_status()
    start = time.time() + 8  # every process is up and hammering at once
    script = str(Path(__file__).with_name("_hammer.py"))
    args = [
        f"{fleet.emulator_url}/admin/v2",
        token,
        str(store_id),
        fleet.database_url,
        governor,
        str(requests),
        "8",
        str(start),
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, script, *args], stdout=subprocess.PIPE, text=True, env=fleet.env
        )
        for _ in range(processes)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0
        assert json.loads(out)["failures"] == 0


def test_the_in_flight_cap_and_the_budget_are_shared_by_every_process(
    postgres_url: str, tmp_path: Path
) -> None:
    # Plan basic: 120 requests a minute. Three processes send 150 between them, 8 at a time each.
    with running_fleet(postgres_url, tmp_path, stores=2, plan="basic", products=10) as fleet:
        shared, alone = fleet.store_ids
        hammer(fleet, shared, "database", processes=3, requests=50)
        # The same load with each process keeping its own governor: the control.
        hammer(fleet, alone, "process", processes=3, requests=50)
        counters = fleet.counters()
    for store_id, mode in ((shared, "database"), (alone, "process")):
        key = str(store_id)
        print(  # the figures, shown with -s
            f"governor={mode}: requests={counters['requests'][key]['total']} "
            f"peak_in_flight={counters['peak_in_flight'].get(key)} "
            f"rate_limited={counters['rate_limited'].get(key, 0)}"
        )
    assert counters["requests"][str(shared)]["total"] >= 150
    assert counters["peak_in_flight"][str(shared)] <= 4
    assert counters["rate_limited"].get(str(shared), 0) == 0
    # Without the shared backend each process holds its own four slots.
    assert counters["peak_in_flight"][str(alone)] > 4
