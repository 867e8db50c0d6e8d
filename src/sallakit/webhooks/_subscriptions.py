"""Making a store's registered webhooks equal a wanted set.

Salla keeps one webhook per event per store and app. :func:`plan_subscriptions` (pure) compares
what is wanted (events, one URL, a security strategy, custom headers) with what is registered
and returns the changes; :func:`ensure_subscriptions` reads the registered webhooks with a
client, plans, and applies the plan unless asked for a dry run. Applying the plan twice changes
nothing the second time.

What is compared: the URL and the custom headers always; the strategy only when Salla's
listing reports one (its documented listing does not), so an unreported strategy never causes an
update on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sallakit._exceptions import ConfigurationError
from sallakit.webhooks._core import validate_pattern

if TYPE_CHECKING:
    from sallakit.api import AsyncSalla
    from sallakit.models import Webhook

__all__ = [
    "SubscriptionChange",
    "SubscriptionPlan",
    "WantedWebhooks",
    "apply_subscriptions",
    "ensure_subscriptions",
    "plan_subscriptions",
]

SecurityStrategy = Literal["signature", "token"]
ChangeAction = Literal["create", "update", "delete", "keep"]


@dataclass(frozen=True, slots=True)
class WantedWebhooks:
    """The webhooks a store should have: one per event, all to ``url``.

    Args:
        url: where Salla delivers (``https://<your host>/webhooks/salla``).
        events: event names (no wildcards: Salla subscribes exact events).
        strategy: the security strategy to register, or ``None`` to leave Salla's default.
        headers: custom headers sent with every delivery.
        name: the webhook's display name prefix (default: the event).
    """

    url: str
    events: tuple[str, ...]
    strategy: SecurityStrategy | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ConfigurationError(f"webhook URL {self.url!r} must be an http(s) URL")
        if not self.events:
            raise ConfigurationError("no webhook event wanted")
        for event in self.events:
            if "*" in event:
                raise ConfigurationError(f"{event!r}: subscribe exact events, not patterns")
            validate_pattern(event)
        if len(set(self.events)) != len(self.events):
            raise ConfigurationError("an event is listed twice")
        if self.strategy not in (None, "signature", "token"):
            raise ConfigurationError("strategy must be 'signature' or 'token'")


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """One step of a plan."""

    action: ChangeAction
    event: str
    webhook_id: int | None
    reason: str

    def line(self) -> str:
        """A human-readable line: ``create order.created (not registered)``."""
        target = f" #{self.webhook_id}" if self.webhook_id is not None else ""
        return f"{self.action:<6} {self.event}{target} ({self.reason})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "event": self.event,
            "webhook_id": self.webhook_id,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    """The changes that make the registered webhooks equal the wanted set."""

    wanted: WantedWebhooks
    changes: tuple[SubscriptionChange, ...]

    @property
    def actions(self) -> list[SubscriptionChange]:
        """The changes that do something (not ``keep``)."""
        return [c for c in self.changes if c.action != "keep"]

    @property
    def is_empty(self) -> bool:
        """Whether the store already matches."""
        return not self.actions


def _differences(wanted: WantedWebhooks, hook: Webhook) -> list[str]:
    found = []
    if hook.url != wanted.url:
        found.append("URL differs")
    if dict(hook.headers) != dict(wanted.headers):
        found.append("headers differ")
    reported = hook.security.strategy if hook.security is not None else None
    if wanted.strategy is not None and reported and reported.lower() != wanted.strategy:
        found.append(f"strategy is {reported}")
    return found


def plan_subscriptions(
    wanted: WantedWebhooks, registered: Iterable[Webhook], *, prune: bool = True
) -> SubscriptionPlan:
    """Compare wanted and registered webhooks (pure).

    Args:
        wanted: the target.
        registered: the store's webhooks (``GET /webhooks``).
        prune: delete registered webhooks of events not wanted (``False`` leaves them).
    """
    by_event: dict[str, list[Webhook]] = {}
    for hook in registered:
        by_event.setdefault(hook.event or "", []).append(hook)
    changes: list[SubscriptionChange] = []
    for event in wanted.events:
        hooks = sorted(by_event.pop(event, []), key=lambda h: h.id)
        if not hooks:
            changes.append(SubscriptionChange("create", event, None, "not registered"))
            continue
        first, *extra = hooks
        differences = _differences(wanted, first)
        if differences:
            changes.append(SubscriptionChange("update", event, first.id, ", ".join(differences)))
        else:
            changes.append(SubscriptionChange("keep", event, first.id, "as wanted"))
        for hook in extra:
            changes.append(SubscriptionChange("delete", event, hook.id, "second webhook"))
    for event, hooks in sorted(by_event.items()):
        for hook in hooks:
            if prune:
                changes.append(SubscriptionChange("delete", event, hook.id, "event not wanted"))
            else:
                changes.append(SubscriptionChange("keep", event, hook.id, "not wanted, kept"))
    return SubscriptionPlan(wanted, tuple(changes))


def _header_list(headers: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in headers.items()]


async def apply_subscriptions(
    client: AsyncSalla, plan: SubscriptionPlan, *, secret: str | None = None
) -> list[SubscriptionChange]:
    """Apply a plan: updates and creations first, deletions last (no gap in delivery).

    Args:
        client: the store's client (scope ``webhooks.read_write``).
        plan: from :func:`plan_subscriptions`.
        secret: sent with the strategy where Salla takes it (it may ignore it: the Partner
            Portal holds the app's webhook secret).

    Returns:
        The changes applied.
    """
    wanted = plan.wanted
    applied: list[SubscriptionChange] = []
    order = {"update": 0, "create": 1, "delete": 2}
    for change in sorted(plan.actions, key=lambda c: order[c.action]):
        if change.action == "create":
            await client.webhooks.subscribe(
                event=change.event,
                url=wanted.url,
                name=f"{wanted.name} {change.event}" if wanted.name else change.event,
                version=2,
                headers=_header_list(wanted.headers),
                security_strategy=wanted.strategy,
                secret=secret,
            )
        elif change.action == "update":
            assert change.webhook_id is not None
            await client.webhooks.update(
                change.webhook_id,
                url=wanted.url,
                headers=_header_list(wanted.headers),
                security_strategy=wanted.strategy,
                secret=secret,
            )
        else:
            assert change.webhook_id is not None
            await client.webhooks.unsubscribe(id=change.webhook_id)
        applied.append(change)
    return applied


async def ensure_subscriptions(
    client: AsyncSalla,
    wanted: WantedWebhooks,
    *,
    prune: bool = True,
    dry_run: bool = False,
    secret: str | None = None,
) -> SubscriptionPlan:
    """Read the store's webhooks, plan, and apply the plan (unless ``dry_run``).

    Returns:
        The plan (what was, or with ``dry_run`` would be, changed).
    """
    registered = [hook async for hook in client.webhooks.list()]
    plan = plan_subscriptions(wanted, registered, prune=prune)
    if not dry_run:
        await apply_subscriptions(client, plan, secret=secret)
    return plan


def parse_header_options(values: Sequence[str]) -> dict[str, str]:
    """``["Key=Value", ...]`` as a header map.

    Raises:
        ConfigurationError: an entry without ``=`` or with an empty key.
    """
    headers: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"header {value!r} must be KEY=VALUE")
        headers[key.strip()] = rest
    return headers
