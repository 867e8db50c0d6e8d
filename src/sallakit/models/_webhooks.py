"""Webhook subscriptions and the list of subscribable events."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from sallakit.models._base import SallaModel
from sallakit.models._types import Intish, Maybe, SallaId, Text

__all__ = ["Webhook", "WebhookEvent", "WebhookSecurity"]


class WebhookSecurity(SallaModel):
    """How deliveries are authenticated (``signature``, ``token`` or ``none``)."""

    strategy: Text = None
    # Left out of repr (and so out of logs and tracebacks): it authenticates deliveries.
    secret: Text = Field(default=None, repr=False)


class Webhook(SallaModel):
    """A webhook subscription.

    ``headers`` is a name-to-value map as in responses; the request form, a list
    of ``{"key", "value"}`` pairs, is accepted too and converted.
    """

    id: SallaId
    name: Text = None
    event: Text = None
    url: Text = None
    version: Maybe[Intish] = None
    type: Text = None
    rule: Text = None
    # Custom headers often carry credentials (``Authorization``): left out of repr.
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    security: Maybe[WebhookSecurity] = None

    @field_validator("headers", mode="before")
    @classmethod
    def _headers_as_map(cls, value: Any) -> Any:
        if value is None or value == "" or value == []:
            return {}
        if isinstance(value, list):
            pairs: dict[str, Any] = {}
            for entry in value:
                if not isinstance(entry, dict) or "key" not in entry:
                    raise ValueError(f"header entry without a key: {entry!r}")
                pairs[str(entry["key"])] = entry.get("value")
            value = pairs
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    def headers_as_list(self) -> list[dict[str, str]]:
        """The headers in the request form Salla's subscribe/update endpoints take."""
        return [{"key": key, "value": value} for key, value in self.headers.items()]


class WebhookEvent(SallaModel):
    """A subscribable event from ``GET /webhooks/events``; ``label`` is localized."""

    id: Maybe[Intish] = None
    label: Text = None
    event: Text = None
