"""Salla webhooks: one verified receiver for app and store events, a durable inbox written
before the 200, handlers run once by a worker, replay, and subscription management.

``webhooks`` imports neither ``auth`` nor ``mirror``: they register handlers on it.
"""

from __future__ import annotations

from sallakit.webhooks._core import TOKEN_EVENTS, Envelope, RetryPolicy, dedupe_key, parse_envelope
from sallakit.webhooks._dispatch import DEFAULT_LEASE_SECONDS, Event, Handler, Handlers, Worker
from sallakit.webhooks._events import (
    APP_EVENTS,
    DEFAULT_MAX_BODY_SIZE,
    WebhookEvent,
    body_digest,
    event_time,
    model_for,
    parse_event,
    typed_data,
)
from sallakit.webhooks._inbox import (
    STATUSES,
    Accepted,
    BodyCipher,
    DeliveryFilter,
    DeliveryStatus,
    Inbox,
    MemoryInbox,
    NewDelivery,
    Outcome,
    SQLInbox,
    StoredDelivery,
)
from sallakit.webhooks._receiver import WebhookReceiver
from sallakit.webhooks._signature import Strategy, compute_signature, verify_request
from sallakit.webhooks._subscriptions import (
    SubscriptionChange,
    SubscriptionPlan,
    WantedWebhooks,
    apply_subscriptions,
    ensure_subscriptions,
    plan_subscriptions,
)

__all__ = [
    "APP_EVENTS",
    "Accepted",
    "BodyCipher",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_BODY_SIZE",
    "DeliveryFilter",
    "DeliveryStatus",
    "Envelope",
    "Event",
    "Handler",
    "Handlers",
    "Inbox",
    "MemoryInbox",
    "NewDelivery",
    "Outcome",
    "RetryPolicy",
    "SQLInbox",
    "STATUSES",
    "StoredDelivery",
    "Strategy",
    "SubscriptionChange",
    "SubscriptionPlan",
    "TOKEN_EVENTS",
    "WantedWebhooks",
    "WebhookEvent",
    "WebhookReceiver",
    "Worker",
    "apply_subscriptions",
    "body_digest",
    "compute_signature",
    "dedupe_key",
    "ensure_subscriptions",
    "event_time",
    "model_for",
    "parse_envelope",
    "parse_event",
    "plan_subscriptions",
    "typed_data",
    "verify_request",
]
