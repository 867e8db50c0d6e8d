"""Decisions of the receiver and the worker (pure: no I/O).

* The strict envelope check that decides between 400 and "store it": bounded JSON (nesting,
  number sizes), a ``merchant`` that is a positive 64-bit integer, an event name, and tokens in
  an ``app.store.authorize``.
* The dedupe key of a delivery: store + event + SHA-256 of the raw body (Salla sends no event
  id, and a retry carries the same bytes).
* The headers kept with a delivery (never a secret), handler patterns, and the retry policy:
  exponential backoff to a cap, then dead.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sallakit._exceptions import ConfigurationError, WebhookError
from sallakit.webhooks._events import body_digest

__all__ = [
    "MAX_JSON_DEPTH",
    "TOKEN_EVENTS",
    "Envelope",
    "RetryPolicy",
    "dedupe_key",
    "kept_headers",
    "matches",
    "parse_envelope",
    "validate_pattern",
]

#: Deepest JSON nesting accepted. Salla's richest payloads (an order with items, options and
#: shipments) stay under ten levels; anything far deeper is an attack on the parser.
MAX_JSON_DEPTH = 64

#: Most digits of an accepted integer (a 64-bit id has 20).
MAX_INT_DIGITS = 40

#: App events whose body carries OAuth tokens: stored sealed, never in clear.
TOKEN_EVENTS = frozenset({"app.store.authorize"})

_EVENT_NAME = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
_MAX_EVENT_LENGTH = 128
_MAX_STORE_ID = 2**63 - 1

#: Request headers that never reach the inbox: credentials (the token strategy's
#: ``Authorization``), the signature (useless without the body and a hint for forgers) and
#: anything a proxy may add that identifies a session.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-salla-signature",
        "cookie",
        "proxy-authorization",
        "x-api-key",
    }
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A delivery's envelope, checked: what the inbox stores next to the raw body."""

    event: str
    store_id: int
    created_at: str | None
    data: Any
    digest: str


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: Built once: ``json.loads`` with any hook builds a new decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_INT_LIMIT = 10**MAX_INT_DIGITS


def _bounds_problem(value: Any, limit: int) -> str | None:
    # Iterative: a recursive walk would itself hit Python's recursion limit.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        elif isinstance(node, float):
            if not math.isfinite(node):
                return "the webhook body holds a number too large"
            continue
        elif isinstance(node, int):
            if not -_INT_LIMIT < node < _INT_LIMIT:
                return "the webhook body holds a number too large"
            continue
        else:
            continue
        if depth > limit:
            return f"the webhook body is nested deeper than {limit} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def parse_json(raw_body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a body as bounded JSON.

    Integer literals longer than Python's ``int_max_str_digits`` (4300) are refused by the
    parser before any quadratic conversion; shorter ones above :data:`MAX_INT_DIGITS` digits
    are refused after it.

    Raises:
        WebhookError: not UTF-8 JSON, nested deeper than ``max_depth``, a number too large,
            ``NaN``/``Infinity``.
    """
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookError("the webhook body is not UTF-8") from exc
    try:
        value = _DECODER.decode(text)
    except RecursionError as exc:
        raise WebhookError("the webhook body is nested too deeply") from exc
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            raise WebhookError("the webhook body holds a number too large") from exc
        raise WebhookError("the webhook body is not JSON") from exc
    problem = _bounds_problem(value, max_depth)
    if problem is not None:
        raise WebhookError(problem)
    return value


def _store_id(raw: Any) -> int:
    # Salla sends a JSON number; a numeric string is tolerated (type drift), nothing else.
    if isinstance(raw, bool):
        raise WebhookError("the webhook's merchant must be a positive integer")
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= 20:
        raw = int(raw)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int) or not 0 < raw <= _MAX_STORE_ID:
        raise WebhookError("the webhook's merchant must be a positive 64-bit integer")
    return raw


def _check_tokens(data: Any) -> None:
    if not isinstance(data, dict):
        raise WebhookError("app.store.authorize carries no data object")
    for name in ("access_token", "refresh_token"):
        token = data.get(name)
        if not isinstance(token, str) or not token.strip():
            raise WebhookError(f"app.store.authorize carries no {name}")


def parse_envelope(raw_body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Envelope:
    """Check a verified body: the 400 decision of the receiver.

    Raises:
        WebhookError: bad JSON, deep nesting, huge numbers, no event name, a ``merchant`` that
            is not a positive 64-bit integer, ``data`` that is neither an object nor a list, or
            an ``app.store.authorize`` without both tokens.
    """
    payload = parse_json(raw_body, max_depth=max_depth)
    if not isinstance(payload, dict):
        raise WebhookError("the webhook body is not a JSON object")
    event = payload.get("event")
    if not isinstance(event, str) or not event:
        raise WebhookError("the webhook body has no event name")
    if len(event) > _MAX_EVENT_LENGTH or not _EVENT_NAME.match(event):
        raise WebhookError("the webhook's event name is malformed")
    store_id = _store_id(payload.get("merchant"))
    data = payload.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict | list):
        raise WebhookError("the webhook's data is neither an object nor a list")
    if event in TOKEN_EVENTS:
        _check_tokens(data)
    created_at = payload.get("created_at")
    return Envelope(
        event=event,
        store_id=store_id,
        created_at=None if created_at is None else str(created_at),
        data=data,
        digest=body_digest(raw_body),
    )


def dedupe_key(store_id: int, event: str, digest: str) -> str:
    """The identity of a delivery: store, event and the SHA-256 of its raw body.

    A retry of Salla carries the same bytes, so it has the same key; two different changes of
    one order differ in their body (``data`` and ``created_at``). The key doubles as the
    idempotency key handlers pass to outside systems.
    """
    return f"{store_id}:{event}:{digest}"


def kept_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request headers stored with a delivery: lower-cased, secrets removed."""
    kept: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in SECRET_HEADERS:
            continue
        kept[lowered] = value
    return kept


def validate_pattern(pattern: str) -> str:
    """Check a handler pattern: an event name, ``"prefix.*"`` or ``"*"``.

    Raises:
        ConfigurationError: any other shape.
    """
    if pattern == "*":
        return pattern
    name = pattern[:-2] if pattern.endswith(".*") else pattern
    if not isinstance(pattern, str) or not _EVENT_NAME.match(name):
        raise ConfigurationError(
            f"handler pattern {pattern!r} must be an event name, 'prefix.*' or '*'"
        )
    return pattern


def matches(pattern: str, event: str) -> bool:
    """Whether a handler pattern covers an event (``order.*`` covers ``order.status.updated``)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event.startswith(pattern[:-1])
    return pattern == event


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when it is given up (dead).

    Attempt ``n`` (1-based) that fails is retried after ``base_delay * factor**(n-1)`` seconds,
    capped at ``max_delay``, with up to ``jitter`` of that delay added at random so that a burst
    of failures does not come back as one burst. After ``max_attempts`` attempts the delivery is
    dead: it stays in the inbox until replayed.
    """

    max_attempts: int = 8
    base_delay: float = 5.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.factor < 1 or self.jitter < 0:
            raise ConfigurationError("retry delays must be non-negative and factor at least 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        exponent = max(0, attempt - 1)
        # Cap the exponent before the power: factor**1000 overflows a float.
        base = self.max_delay if exponent > 64 else self.base_delay * self.factor**exponent
        base = min(base, self.max_delay)
        spread = (rng or random).random() * self.jitter * base
        return base + spread

    def is_dead(self, attempts: int) -> bool:
        """Whether a delivery that failed its ``attempts``-th attempt is given up."""
        return attempts >= self.max_attempts
