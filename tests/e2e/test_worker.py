"""``sallakit serve`` with ``SALLAKIT_WORKER=external`` next to a ``sallakit worker`` process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ._stack import running_stack

pytestmark = pytest.mark.e2e


def assert_run_succeeds(database_url: str, run_id: str, timeout: float = 90.0) -> None:
    """Wait for a mirror run in the job history (read from the database, not the service)."""
    from sallakit.db import create_engine
    from sallakit.mirror import SQLMirrorStore

    store = SQLMirrorStore(create_engine(database_url))
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        run = store.get_run(run_id)
        status = None if run is None else run.status
        if status in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.3)
    assert status == "succeeded", f"run {run_id} ended {status}"


def test_a_separate_worker_applies_tokens_and_backfills_the_store(tmp_path: Path) -> None:
    with running_stack(tmp_path, products=20, orders=6, external_worker=True) as stack:
        # The web process only stores app.store.authorize; the worker applies it.
        stack.install()
        with stack.api() as api:
            deadline = time.monotonic() + 90
            resources: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                resources = api.get(f"/api/stores/{stack.store_id}").json()["resources"]
                if resources and all(r["audit"] == "passed" for r in resources):
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"the install's backfill never passed its audit: {resources}")
            by_name = {r["resource"]: r for r in resources}
            assert by_name["products"]["mirrored"] == 20
            assert by_name["orders"]["mirrored"] == 6
            # No workflow runs in the web process: "sync now" queues the run onto the
            # workers' DBOS queue, and the worker process runs it.
            queued = api.post(f"/api/stores/{stack.store_id}/sync")
            assert queued.status_code == 202, queued.text
            assert_run_succeeds(stack.database_url, queued.json()["job"])
            deliveries = api.get("/api/deliveries").json()
            assert {d["status"] for d in deliveries} == {"done"}
