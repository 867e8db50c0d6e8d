"""Salla webhooks: signature verification for both security strategies and event parsing."""

from __future__ import annotations

from sallakit.webhooks._events import (
    APP_EVENTS,
    DEFAULT_MAX_BODY_SIZE,
    WebhookEvent,
    body_digest,
    event_time,
    parse_event,
)
from sallakit.webhooks._signature import Strategy, compute_signature, verify_request

__all__ = [
    "APP_EVENTS",
    "DEFAULT_MAX_BODY_SIZE",
    "Strategy",
    "WebhookEvent",
    "body_digest",
    "compute_signature",
    "event_time",
    "parse_event",
    "verify_request",
]
