"""Pure pieces of the service: the demo's plan and settings, sync rows, the refresh schedule."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sallakit.mirror import RunRecord
from sallakit.server._demo import demo_settings_file, mutation_plan
from sallakit.server._mirror_source import orders_by_day, resource_rows
from sallakit.server._wiring import dbos_database_url, to_webhook_event
from sallakit.webhooks import Event


def test_the_plan_places_orders_changes_stock_and_deletes_one_product() -> None:
    plan = mutation_plan(6, product_ids=[1, 2, 3], rng=random.Random(1))
    kinds = [k for k, _ in plan]
    assert kinds.count("delete") == 1 and kinds.count("order") == 3 and kinds.count("stock") == 2
    deleted = next(p for k, p in plan if k == "delete")
    later = plan[kinds.index("delete") + 1 :]
    assert all(p != deleted for k, p in later if k == "stock")
    assert mutation_plan(0, product_ids=[], rng=random.Random(1)) == []
    assert mutation_plan(1, product_ids=[], rng=random.Random(1)) == [("order", None)]
    with pytest.raises(ValueError):
        mutation_plan(3, product_ids=[], rng=random.Random(1))
    with pytest.raises(ValueError):
        mutation_plan(-1, product_ids=[1], rng=random.Random(1))


def test_demo_settings_keep_their_secrets_across_runs(tmp_path: Path) -> None:
    first = demo_settings_file(tmp_path / "d", service_url="http://a", emulator_url="http://e")
    again = demo_settings_file(tmp_path / "d", service_url="http://b", emulator_url="http://e")
    for name in ("SALLAKIT_TOKEN_KEYS", "SALLAKIT_SESSION_SECRET", "SALLAKIT_ADMIN_PASSWORD"):
        assert first[name] == again[name]
    assert again["SALLAKIT_PUBLIC_URL"] == "http://b"
    assert (tmp_path / "d" / "sallakit-demo.env").stat().st_mode & 0o077 == 0
    other = demo_settings_file(tmp_path / "e", service_url="http://a", emulator_url="http://e")
    assert other["SALLAKIT_TOKEN_KEYS"] != first["SALLAKIT_TOKEN_KEYS"]


def test_orders_by_day_counts_each_utc_day() -> None:
    day = 86_400.0
    now = 20_000 * day + 3600  # 1h into a day
    rows = orders_by_day([now, now - 10, now - day, now - 40 * day], days=3, now=now)
    assert [n for _, n in rows] == [0, 1, 2]
    assert rows[-1][0] == "2024-10-04"


def _run(**changes: object) -> RunRecord:
    values: dict[str, object] = {
        "run_id": "r",
        "store_id": 1,
        "kind": "sync",
        "resources": [],
        "status": "succeeded",
        "created_at": 0.0,
        "started_at": 10.0,
        "finished_at": 14.0,
        "audit": {
            "ok": True,
            "checks": {"products": {"remote": 5, "mirror": 5}},
            "mismatches": {},
            "capped": {},
        },
    }
    values.update(changes)
    return RunRecord(**values)  # type: ignore[arg-type]


def test_resource_rows_from_status_and_history() -> None:
    status = {
        "resources": {
            "products": {"rows": 5, "last_success_at": 14.0, "interval": 600, "lag": 0.0},
            "orders": {"rows": 0, "last_success_at": None, "interval": 600, "lag": None},
        },
        "active_runs": [],
    }
    products, orders = resource_rows(status, [_run()])
    assert (products.state, products.audit, products.remote_total) == ("idle", "passed", 5)
    assert products.duration_seconds == 4.0 and products.mirrored == 5
    assert products.audited == 5
    assert orders.audit is None  # the run did not check it
    failed = _run(
        status="failed",
        audit={
            "ok": False,
            "checks": {},
            "mismatches": {"products": {"remote": 6, "mirror": 5}},
            "capped": {},
        },
    )
    (row, _) = resource_rows(status, [failed])
    assert row.state == "failed" and row.audit == "failed: remote 6 != mirror 5"
    running = {**status, "active_runs": [{"resources": ["orders"]}]}
    assert [r.state for r in resource_rows(running, [])] == ["idle", "running"]
    # A category tree: every node is mirrored, the audit compares the top-level ones.
    tree = {"resources": {"categories": {"rows": 30, "last_success_at": 14.0}}, "active_runs": []}
    audited = _run(audit={"ok": True, "checks": {"categories": {"remote": 10, "mirror": 10}}})
    (categories,) = resource_rows(tree, [audited])
    assert (categories.mirrored, categories.remote_total, categories.audited) == (30, 10, 10)
    never = {"resources": {"orders": status["resources"]["orders"]}, "active_runs": []}
    assert [r.state for r in resource_rows(never, [])] == ["never"]


def test_handler_events_become_library_events() -> None:
    event = Event(
        name="order.created",
        store_id=7,
        created_at="2026-01-01 00:00:00",
        data=None,
        payload={"event": "order.created", "merchant": 7, "data": {"id": 9}},
        delivery_id=1,
        idempotency_key="7:order.created:abc123",
        attempt=1,
        handler="h",
    )
    converted = to_webhook_event(event)
    assert (converted.event, converted.merchant, converted.digest) == ("order.created", 7, "abc123")
    assert converted.data == {"id": 9}


def test_dbos_keeps_its_state_next_to_the_database() -> None:
    assert (
        dbos_database_url("sqlite:////srv/app/sallakit.db")
        == "sqlite:////srv/app/sallakit-workflows.db"
    )
    assert dbos_database_url("postgresql://u@h/db") == "postgresql://u@h/db"
