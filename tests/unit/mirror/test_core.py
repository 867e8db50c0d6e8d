"""The mirror's pure decisions: watermarks, deletions, windows, audit, event targets, streams."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sallakit._exceptions import ConfigurationError
from sallakit.mirror import MirrorSettings
from sallakit.mirror._core import (
    audit_verdict,
    event_target,
    is_capped,
    next_watermark,
    pages_to_fetch,
    plan_deletions,
    reached_watermark,
    split_window,
    walk_watermark,
)
from sallakit.mirror._streams import data_hash, make_row, stream


def test_watermark_never_passes_the_previous_run_start():
    assert walk_watermark(None, 300) is None
    assert walk_watermark(1000.0, 300) == 700.0
    # Entities updated after the run started may have been passed over: cap at the start.
    assert next_watermark(1000.0, 5000.0) == 1000.0
    assert next_watermark(1000.0, 900.0) == 900.0
    assert next_watermark(1000.0, None) == 1000.0


def test_reached_watermark():
    assert not reached_watermark(10.0, None)
    assert not reached_watermark(None, 5.0)  # no usable date: keep walking
    assert reached_watermark(4.0, 5.0)
    assert not reached_watermark(5.0, 5.0)


def test_pages_to_fetch_skips_stored_pages():
    assert pages_to_fetch(5, [1, 3]) == [2, 4, 5]
    assert pages_to_fetch(0, []) == []
    assert pages_to_fetch(4, [], start=2) == [2, 3, 4]


def test_capped_and_windows():
    assert is_capped(100, 150)
    assert not is_capped(150, 150)
    assert not is_capped(3, None)
    assert split_window(date(2024, 1, 1), date(2024, 1, 1)) is None
    left, right = split_window(date(2024, 1, 1), date(2024, 1, 10))  # type: ignore[misc]
    assert left == (date(2024, 1, 1), date(2024, 1, 5))
    assert right == (date(2024, 1, 6), date(2024, 1, 10))


def test_deletions_are_confirmed_deferred_or_direct():
    plan = plan_deletions(
        [1, 2, 3], [1], walk_complete=True, walk_consistent=False, confirm_budget=5
    )
    assert plan.confirm == (2, 3) and not plan.delete and not plan.deferred
    # An incomplete walk (a cap, a failed page) proves nothing about what it did not see.
    plan = plan_deletions([1, 2], [], walk_complete=False, walk_consistent=True, confirm_budget=5)
    assert plan.deferred == (1, 2) and not plan.confirm
    # Too many to confirm: a consistent walk is trusted, an inconsistent one confirms a budget.
    plan = plan_deletions(range(10), [], walk_complete=True, walk_consistent=True, confirm_budget=3)
    assert plan.delete == tuple(range(10))
    plan = plan_deletions(
        range(10), [], walk_complete=True, walk_consistent=False, confirm_budget=3
    )
    assert plan.confirm == (0, 1, 2) and plan.deferred == tuple(range(3, 10))
    assert plan_deletions([1], [1], walk_complete=True, walk_consistent=True, confirm_budget=1) == (
        plan_deletions([], [], walk_complete=True, walk_consistent=True, confirm_budget=1)
    )


def test_audit_verdict():
    ok = audit_verdict({"products": 3, "orders": None}, {"products": 3, "orders": 9})
    assert ok.ok and ok.checks["orders"] == {"remote": None, "mirror": 9}
    bad = audit_verdict({"products": 3}, {"products": 2}, {"products": (150, 100)})
    assert not bad.ok
    assert bad.mismatches == {"products": {"remote": 3, "mirror": 2}}
    assert bad.capped == {"products": {"remote": 150, "reachable": 100}}
    assert "remote 3 != mirror 2" in bad.summary() and "capped" in bad.summary()


@pytest.mark.parametrize(
    ("event", "data", "target"),
    [
        ("order.created", {"id": 5}, ("orders", 5)),
        ("order.shipment.created", {"id": 77, "order_id": 5}, ("orders", 5)),
        ("product.price.updated", {"id": "12"}, ("products", 12)),
        ("customer.updated", {"id": 3}, ("customers", 3)),
        ("brand.deleted", {"id": 4}, ("brands", 4)),
        ("category.created", {"id": 9}, ("categories", 9)),
        ("shipment.updated", {"id": 8}, ("shipments", 8)),
        ("app.store.authorize", {"id": 1}, None),
        ("abandoned.cart", {"id": 1}, None),
        ("order.created", {"id": "x"}, None),
        ("order.created", {}, None),
    ],
)
def test_event_target(event, data, target):
    assert event_target(event, data) == target


def test_normalizers_absorb_type_drift():
    product = make_row(
        stream("products").normalize,
        {
            "id": "42",
            "sku": "",
            "name": "قميص",
            "price": {"amount": "100.50", "currency": "SAR"},
            "quantity": "7",
            "status": "sale",
            "brand": {"id": 3, "name": "x"},
            "updated_at": "2024-03-06 13:50:32",
        },
    )
    assert product is not None and product.id == 42
    columns = product.columns
    assert columns["price_amount"] == Decimal("100.50") and columns["price_currency"] == "SAR"
    assert columns["quantity"] == 7 and columns["brand_id"] == 3 and columns["sku"] is None
    # Riyadh is UTC+3: 13:50:32 there is 10:50:32 UTC.
    assert columns["updated_at"] == 1709722232.0
    order = make_row(
        stream("orders").normalize,
        {
            "id": 1,
            "status": {"id": 566146469, "slug": "under_review"},
            "amounts": {"total": {"amount": 302.5, "currency": "SAR"}},
            "customer": {"id": 9},
            "date": {"date": "2024-02-15 08:23:05.000000", "timezone": "Asia/Riyadh"},
        },
    )
    assert order is not None
    assert order.columns["status_slug"] == "under_review"
    assert order.columns["total_amount"] == Decimal("302.5")
    assert order.columns["customer_id"] == 9
    assert make_row(stream("brands").normalize, {"name": "no id"}) is None


def test_data_hash_is_order_independent():
    assert data_hash({"a": 1, "b": [1, 2]}) == data_hash({"b": [1, 2], "a": 1})
    assert data_hash({"a": 1}) != data_hash({"a": 2})


def test_settings_are_validated_and_merged():
    with pytest.raises(ConfigurationError):
        MirrorSettings(resources=("products", "nope"))
    with pytest.raises(ConfigurationError):
        MirrorSettings(max_in_flight=0)
    with pytest.raises(ConfigurationError):
        MirrorSettings().merged({"unknown": 1})
    merged = MirrorSettings().merged({"order_backfill_days": 30, "intervals": {"orders": 60}})
    assert merged.order_backfill_days == 30
    assert merged.interval("orders") == 60 and merged.interval("products") == 3600
