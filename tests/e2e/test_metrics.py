"""``/metrics`` of a real ``sallakit serve`` after real work against a real emulator process.

The emulator injects two 429s and one 503 into the install's backfill, then its clock moves past
the access token's expiry so that the next sync needs a refresh. Every figure the service exports
comes from the library's explicit hooks (the client's ``on_attempt``, the vault's ``on_refresh``,
the webhook worker's ``on_outcome``, the mirror's progress) or from the database at scrape time;
the request counts are checked against the emulator's own counters, which sallakit did not write.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ._stack import Stack, running_stack

pytestmark = pytest.mark.e2e


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(stack: Stack) -> Samples:
    with stack.api() as api:
        response = api.get("/metrics")
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for(stack: Stack, runs: int, timeout: float = 300.0) -> Samples:
    """The metrics once ``runs`` sync runs of the store have succeeded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = scrape(stack)
        store = str(stack.store_id)
        if value(samples, "sallakit_sync_runs_total", store=store, status="succeeded") >= runs:
            return samples
        time.sleep(0.5)
    pytest.fail(f"/metrics never counted {runs} succeeded sync runs")


def test_metrics_after_a_backfill_with_faults_and_a_refresh(tmp_path: Path) -> None:
    with (
        running_stack(tmp_path, products=20, orders=6) as stack,
        httpx2.Client(base_url=f"{stack.emulator_url}/_emulator", timeout=30) as emulator,
    ):
        for fault in (
            {"kind": "error", "status": 429, "remaining": 2, "store_id": stack.store_id},
            {"kind": "error", "status": 503, "remaining": 1, "store_id": stack.store_id},
        ):
            emulator.post("/faults", json=fault).raise_for_status()
        stack.install()  # Easy mode; the install's backfill runs in the service's worker
        store = str(stack.store_id)
        first = wait_for(stack, runs=1)
        limited = value(first, "sallakit_salla_requests_total", store=store, status="429")
        failed = value(first, "sallakit_salla_requests_total", store=store, status="503")
        assert limited >= 1 and failed == 1
        assert value(first, "sallakit_salla_rate_limited_total", store=store) == limited
        # Each refused attempt was retried (the audit passed).
        assert value(first, "sallakit_salla_retries_total", store=store) >= limited + failed

        # Past the access token's expiry for Salla: the next call is refused, refreshed, replayed.
        emulator.post("/clock/advance", json={"seconds": 15 * 86_400}).raise_for_status()
        with stack.api() as api:
            assert api.post(f"/api/stores/{stack.store_id}/sync").status_code == 202
        samples = wait_for(stack, runs=2)
        assert (
            value(samples, "sallakit_token_refreshes_total", store=store, outcome="refreshed") == 1
        )

        # Every attempt the service counted is one the emulator answered, status by status.
        counted = {
            dict(labels)["status"]: n
            for (name, labels), n in samples.items()
            if name == "sallakit_salla_requests_total" and dict(labels).get("store") == store
        }
        answered = emulator.get("/counters").json()["statuses"][store]
        # (The emulator counts per store only the requests whose token it accepted: the 401 of
        # the expired token is not among them.)
        assert counted.pop("401") == 1
        assert counted == {status: float(n) for status, n in answered.items()}
        assert value(samples, "sallakit_salla_rate_limit_remaining", store=store) > 0

        # The inbox (state read at scrape time) and the worker's outcomes (hook).
        assert value(samples, "sallakit_webhook_inbox_deliveries", status="done") >= 2
        assert value(samples, "sallakit_webhook_inbox_depth") == 0
        assert value(samples, "sallakit_webhook_dead_letters") == 0
        assert value(samples, "sallakit_webhook_deliveries_processed_total", outcome="done") >= 2
        # Sync lag and duration per store and resource, from the mirror's state.
        for resource in ("products", "orders", "customers"):
            assert (
                value(samples, "sallakit_sync_duration_seconds", store=store, resource=resource) > 0
            )
            lag = samples.get(
                (
                    "sallakit_sync_lag_seconds",
                    frozenset({"store": store, "resource": resource}.items()),
                )
            )
            assert lag is not None and lag >= 0
            synced = value(
                samples,
                "sallakit_sync_last_success_timestamp_seconds",
                store=store,
                resource=resource,
            )
            assert abs(time.time() - synced) < 300
