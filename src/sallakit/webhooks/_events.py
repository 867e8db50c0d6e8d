"""The webhook envelope and the app events (pure: no I/O).

Salla's envelope is ``{"event", "merchant", "created_at", "data"}``: ``merchant`` is the numeric
store id at top level and there is no event id, so the digest of the raw body identifies a
delivery.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sallakit._exceptions import PayloadTooLargeError, WebhookError

if TYPE_CHECKING:
    from sallakit.models import SallaModel

__all__ = [
    "APP_EVENTS",
    "DEFAULT_MAX_BODY_SIZE",
    "WebhookEvent",
    "body_digest",
    "event_time",
    "model_for",
    "parse_event",
    "typed_data",
]

logger = logging.getLogger(__name__)

#: Bodies above this size are refused before parsing. Salla's largest payloads (orders with many
#: items) are tens of kilobytes.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024

APP_EVENTS = frozenset(
    {
        "app.store.authorize",
        "app.installed",
        "app.updated",
        "app.uninstalled",
        "app.trial.started",
        "app.trial.expired",
        "app.trial.canceled",
        "app.subscription.started",
        "app.subscription.expired",
        "app.subscription.canceled",
        "app.subscription.renewed",
        "app.feedback.created",
        "app.settings.updated",
    }
)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One parsed delivery."""

    event: str
    merchant: int
    created_at: str | None
    data: dict[str, Any] = field(repr=False)
    digest: str

    @property
    def is_app_event(self) -> bool:
        """Whether this is one of the app lifecycle events (sent without a subscription)."""
        return self.event in APP_EVENTS


def event_time(created_at: str | None) -> float | None:
    """An envelope's ``created_at`` (``"2022-12-31 12:31:25"``, or ISO 8601) as epoch seconds.

    Only for ordering deliveries of one store against each other: a value without a zone is
    read as UTC, which keeps the order whatever zone Salla uses. ``None`` when absent or
    unparseable.
    """
    if not created_at:
        return None
    try:
        parsed = datetime.fromisoformat(created_at.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def body_digest(raw_body: bytes) -> str:
    """SHA-256 hex of the raw body: the identity of a delivery (Salla sends no event id)."""
    return hashlib.sha256(raw_body).hexdigest()


def parse_event(raw_body: bytes, *, max_size: int = DEFAULT_MAX_BODY_SIZE) -> WebhookEvent:
    """Parse a webhook body.

    Raises:
        PayloadTooLargeError: the body exceeds ``max_size`` bytes.
        WebhookError: not JSON, or not Salla's envelope.
    """
    if len(raw_body) > max_size:
        raise PayloadTooLargeError(f"webhook body of {len(raw_body)} bytes exceeds {max_size}")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError("the webhook body is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise WebhookError("the webhook body has no event name")
    try:
        merchant = int(payload.get("merchant"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise WebhookError("the webhook body has no numeric merchant id") from exc
    data = payload.get("data")
    created_at = payload.get("created_at")
    return WebhookEvent(
        event=payload["event"],
        merchant=merchant,
        created_at=str(created_at) if created_at is not None else None,
        data=data if isinstance(data, dict) else {},
        digest=body_digest(raw_body),
    )


def _event_models() -> list[tuple[str, type[SallaModel]]]:
    from sallakit.models import Brand, Category, Customer, Order, Product, Shipment

    # First match wins: the order shipment events carry a shipment, not the order.
    return [
        ("order.shipment.", Shipment),
        ("order.", Order),
        ("shipment.", Shipment),
        ("product.", Product),
        ("customer.created", Customer),
        ("customer.updated", Customer),
        ("customer.login", Customer),
        ("category.", Category),
        ("brand.", Brand),
    ]


def model_for(event: str) -> type[SallaModel] | None:
    """The :mod:`sallakit.models` class of an event's ``data``, or ``None`` (kept as a dict)."""
    for prefix, model in _event_models():
        if event == prefix or (prefix.endswith(".") and event.startswith(prefix)):
            return model
    return None


def typed_data(event: str, data: Any) -> Any:
    """``data`` as the event's model (Order, Product, Customer, Shipment, Category, Brand).

    Unknown events, and data the model refuses (Salla drifts), keep the plain dict, so a
    handler is never denied an event because of a model.
    """
    model = model_for(event)
    if model is None or not isinstance(data, dict):
        return data
    try:
        return model.model_validate(data)
    except ValidationError:
        logger.warning(
            "%s data does not fit %s; handlers get the dict",
            event,
            model.__name__,
            extra={"action": "webhook_untyped", "event": event},
        )
        return data
