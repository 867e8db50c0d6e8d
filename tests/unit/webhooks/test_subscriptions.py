"""Planning subscriptions (pure): create, update, keep, delete, and idempotence."""

from __future__ import annotations

import pytest

from sallakit._exceptions import ConfigurationError
from sallakit.models import Webhook
from sallakit.webhooks import WantedWebhooks, plan_subscriptions

URL = "https://app.example.com/webhooks/salla"


def hook(id: int, event: str, url: str = URL, **extra: object) -> Webhook:
    return Webhook.model_validate({"id": id, "event": event, "url": url, **extra})


def actions(plan: object) -> list[tuple[str, str, int | None]]:
    return [(c.action, c.event, c.webhook_id) for c in plan.changes]  # type: ignore[attr-defined]


def test_plan_creates_updates_keeps_and_prunes() -> None:
    wanted = WantedWebhooks(URL, ("order.created", "order.updated", "product.created"))
    registered = [
        hook(1, "order.created"),
        hook(2, "order.updated", url="https://old.example.com/hook"),
        hook(3, "order.updated"),  # a second webhook for one event
        hook(4, "customer.created"),
    ]
    plan = plan_subscriptions(wanted, registered)
    assert actions(plan) == [
        ("keep", "order.created", 1),
        ("update", "order.updated", 2),
        ("delete", "order.updated", 3),
        ("create", "product.created", None),
        ("delete", "customer.created", 4),
    ]
    kept = plan_subscriptions(wanted, registered, prune=False)
    assert ("keep", "customer.created", 4) in actions(kept)


def test_applied_plan_is_empty_the_second_time() -> None:
    wanted = WantedWebhooks(URL, ("order.created",), headers={"X-App": "1"})
    after = [hook(9, "order.created", headers=[{"key": "X-App", "value": "1"}])]
    assert plan_subscriptions(wanted, after).is_empty


def test_strategy_is_compared_only_when_reported() -> None:
    wanted = WantedWebhooks(URL, ("order.created",), strategy="token")
    unreported = [hook(1, "order.created")]
    assert plan_subscriptions(wanted, unreported).is_empty
    reported = [hook(1, "order.created", security={"strategy": "signature"})]
    (change,) = plan_subscriptions(wanted, reported).actions
    assert change.action == "update" and "strategy is signature" in change.reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "ftp://x", "events": ("order.created",)},
        {"url": URL, "events": ()},
        {"url": URL, "events": ("order.*",)},
        {"url": URL, "events": ("order.created", "order.created")},
        {"url": URL, "events": ("order.created",), "strategy": "none"},
    ],
)
def test_wanted_set_is_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        WantedWebhooks(**kwargs)  # type: ignore[arg-type]
