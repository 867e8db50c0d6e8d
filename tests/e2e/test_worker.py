"""``sallakit serve`` with ``SALLAKIT_WORKER=external`` next to a ``sallakit worker`` process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ._stack import running_stack

pytestmark = pytest.mark.e2e


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
            # No workflow runs in the web process: "sync now" says where to look.
            refused = api.post(f"/api/stores/{stack.store_id}/sync")
            assert refused.status_code == 409 and "sallakit worker" in refused.json()["detail"]
            deliveries = api.get("/api/deliveries").json()
            assert {d["status"] for d in deliveries} == {"done"}
