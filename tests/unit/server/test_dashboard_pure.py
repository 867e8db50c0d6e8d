"""Charts, token health and the metrics (pure parts of the dashboard)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from sallakit.api import RequestAttempt
from sallakit.auth import InterruptedRefresh, RefreshOutcome, StoredStore, StoreStatus
from sallakit.mirror import Progress
from sallakit.server._metrics import ServiceMetrics, StateSource, SyncStat
from sallakit.server.dashboard._charts import bar_chart
from sallakit.server.dashboard._health import token_health
from sallakit.server.dashboard._i18n import direction, translate
from sallakit.webhooks import Outcome, StoredDelivery


def test_bar_chart_is_valid_svg_with_escaped_text() -> None:
    svg = bar_chart(["<a>", "b&c"], [3, 7], title="x < y", highlight=[1, 0])
    root = ET.fromstring(svg)  # well-formed XML: nothing unescaped
    assert root.get("direction") == "ltr"
    bars = [e for e in root.iter() if e.tag.endswith("rect")]
    assert len(bars) == 3  # two bars and one highlighted part
    heights = [float(b.get("height", 0)) for b in bars if b.get("class") == "bar"]
    assert heights[1] == pytest.approx(heights[0] * 7 / 3)
    with pytest.raises(ValueError):
        bar_chart(["a"], [1, 2], title="t")
    assert "<rect" not in bar_chart([], [], title="empty")


def store(**changes: object) -> StoredStore:
    values: dict[str, object] = {
        "store_id": 7,
        "status": StoreStatus.ACTIVE,
        "status_detail": None,
        "expires_at": 10_000.0,
        "scopes": (),
        "merchant": None,
        "user": None,
        "app": None,
        "generation": 1,
        "connected_via": "easy",
        "has_tokens": True,
        "created_at": 0.0,
        "updated_at": 0.0,
        "refreshed_at": None,
        "uninstalled_at": None,
    }
    values.update(changes)
    return StoredStore(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("record", "now", "label", "level"),
    [
        (store(), 0.0, "active", "ok"),
        (store(), 9_500.0, "refresh_due", "ok"),
        (store(), 20_000.0, "expired", "warn"),
        (store(status=StoreStatus.REINSTALL_REQUIRED), 0.0, "reinstall_required", "bad"),
        (store(status=StoreStatus.UNINSTALLED, has_tokens=False), 0.0, "uninstalled", "warn"),
        (store(status=StoreStatus.PENDING, has_tokens=False), 0.0, "pending", "warn"),
        (
            store(status=StoreStatus.REFRESH_INTERRUPTED, status_detail="do X"),
            0.0,
            "refresh_interrupted",
            "bad",
        ),
    ],
)
def test_token_health(record: StoredStore, now: float, label: str, level: str) -> None:
    health = token_health(record, now=now, refresh_margin=1_000)
    assert (health.label, health.level) == (label, level)
    if level != "ok":
        assert health.advice


def test_an_abandoned_refresh_says_what_to_do() -> None:
    found = InterruptedRefresh(7, 1, 1, 0.0, 123, "host", "run sallakit stores refresh 7")
    health = token_health(store(), now=0.0, refresh_margin=0, interrupted=found)
    assert health.label == "refresh_interrupted"
    assert health.advice == "run sallakit stores refresh 7"


def test_arabic_is_right_to_left() -> None:
    assert direction("ar") == "rtl" and direction("en") == "ltr"
    assert translate("Stores", "ar") == "المتاجر"
    assert translate("Stores", "en") == "Stores"


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.MULTILINE)
    assert match, f"{name} not in metrics"
    return float(match.group(1))


def test_metrics_follow_the_library_hooks() -> None:
    metrics = ServiceMetrics(
        StateSource(
            inbox_counts=lambda: {"pending": 2, "failed": 1, "dead": 4, "done": 9},
            sync_stats=lambda: [SyncStat(7, "orders", 12.5, 3.0, 500.0)],
        ),
        clock=lambda: 600.0,
    )
    for status, attempt, remaining in ((200, 1, 100), (429, 1, 0), (200, 2, 99), (None, 1, None)):
        metrics.observe_attempt(
            RequestAttempt("7", "GET", "/orders", status, attempt, 0.1, remaining)
        )
    metrics.observe_refresh(RefreshOutcome(7, "refreshed", 600.0))
    metrics.observe_refresh(RefreshOutcome(7, "reinstall_required", 601.0))
    delivery = StoredDelivery(
        1, 7, "order.created", "d", 600.0, "processing", 1, 600.0, None, 600.0, 0, {}, False
    )
    metrics.observe_delivery(delivery, Outcome(1, "done", 600.0))
    metrics.observe_delivery(delivery, Outcome(1, "dead", 600.0, "boom"))
    metrics.observe_progress(Progress(7, "", "done", detail="succeeded"))
    metrics.observe_progress(Progress(7, "orders", "pages"))
    text = metrics.render().decode()
    assert _value(text, 'sallakit_salla_requests_total{status="200",store="7"}') == 2
    assert _value(text, 'sallakit_salla_requests_total{status="429",store="7"}') == 1
    assert _value(text, 'sallakit_salla_requests_total{status="connection_error",store="7"}') == 1
    assert _value(text, 'sallakit_salla_retries_total{store="7"}') == 1
    assert _value(text, 'sallakit_salla_rate_limited_total{store="7"}') == 1
    assert _value(text, 'sallakit_salla_rate_limit_remaining{store="7"}') == 99
    assert _value(text, 'sallakit_token_refreshes_total{outcome="refreshed",store="7"}') == 1
    assert (
        _value(text, 'sallakit_token_refreshes_total{outcome="reinstall_required",store="7"}') == 1
    )
    assert _value(text, 'sallakit_webhook_deliveries_processed_total{outcome="done"}') == 1
    assert _value(text, 'sallakit_webhook_deliveries_processed_total{outcome="dead"}') == 1
    assert _value(text, 'sallakit_sync_runs_total{status="succeeded",store="7"}') == 1
    assert _value(text, "sallakit_webhook_inbox_depth") == 3
    assert _value(text, "sallakit_webhook_dead_letters") == 4
    assert _value(text, 'sallakit_sync_lag_seconds{resource="orders",store="7"}') == 12.5
    assert _value(text, 'sallakit_sync_duration_seconds{resource="orders",store="7"}') == 3.0
    assert (
        _value(text, 'sallakit_sync_last_success_timestamp_seconds{resource="orders",store="7"}')
        == 500.0
    )
    (bucket,) = metrics.rate_history.series("7", minutes=1)
    assert (bucket.requests, bucket.rate_limited, bucket.min_remaining) == (4, 1, 0)


def test_a_failing_source_does_not_fail_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> dict[str, int]:
        raise RuntimeError("database down")

    metrics = ServiceMetrics(StateSource(inbox_counts=broken))
    text = metrics.render().decode()
    assert "sallakit_webhook_inbox_depth" not in text
    assert "sallakit_salla_requests" in text
