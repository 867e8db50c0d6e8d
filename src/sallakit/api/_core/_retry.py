"""Retry decisions: which failures are worth another attempt, and how long to wait first.

The rules follow one principle: replay a request only when replaying cannot do something twice.
Reads and idempotent writes (GET, HEAD, PUT, DELETE, unless the endpoint registry marks one
as an action) are retried on 429, 5xx gateway-style
statuses and connection failures. POST and PATCH are retried only when Salla certainly did not
act: a 429 (rejected before processing) or a connection that failed before the request was sent.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

__all__ = [
    "IDEMPOTENT_METHODS",
    "RETRYABLE_STATUSES",
    "RetryDecision",
    "RetryPolicy",
    "backoff_delay",
    "decide_retry",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 30.0
# A Retry-After longer than this is not slept through inside a call: the caller gets the
# RateLimitError (with .retry_after) and can reschedule the work instead of blocking a worker.
DEFAULT_MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how patiently to retry.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        backoff_base: First backoff ceiling in seconds; it doubles per retry.
        backoff_cap: Upper bound of any computed backoff.
        max_retry_after: Longest ``Retry-After`` honoured by sleeping; longer ones are raised.
    """

    max_retries: int = 3
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """The outcome of :func:`decide_retry`."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


def backoff_delay(retry_number: int, *, base: float, cap: float, rand: float) -> float:
    """Exponential backoff with full jitter.

    Args:
        retry_number: 1 for the first retry, 2 for the second, ...
        base: Ceiling of the first retry's delay.
        cap: Ceiling of any delay.
        rand: A uniform random number in ``[0, 1)``; injected so the function stays pure.

    Returns:
        A delay in ``[0, min(cap, base * 2 ** (retry_number - 1))]``.
    """
    # Full jitter (AWS architecture blog): spreads the retries of many workers that failed
    # together, which matters because they all share one store's rate-limit bucket.
    exponent = min(max(retry_number - 1, 0), 62)
    ceiling = min(cap, base * (2.0**exponent))
    return max(0.0, min(ceiling, rand * ceiling))


def parse_retry_after(
    value: str | None, now: float, *, server_now: float | None = None
) -> float | None:
    """Parse a ``Retry-After`` header given as seconds or as an HTTP date.

    Args:
        value: The raw header value, or None.
        now: The current time as a Unix timestamp (for the HTTP-date form).
        server_now: The server's clock (its ``Date`` header), when known. An HTTP-date
            ``Retry-After`` is a time on the server's clock, so it is measured against this
            rather than ``now``: a local clock a minute behind would otherwise wait a minute
            too long, and one a minute ahead would not wait at all.

    Returns:
        Seconds to wait (never negative), or None when absent or unparseable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    if when.tzinfo is None:
        return None
    reference = server_now if server_now is not None else now
    return max(0.0, when.timestamp() - reference)


def decide_retry(
    policy: RetryPolicy,
    method: str,
    retries_done: int,
    *,
    status: int | None = None,
    connection_error: bool = False,
    request_sent: bool = True,
    retry_after: float | None = None,
    rand: float = 0.5,
    idempotent: bool | None = None,
    bad_body: bool = False,
) -> RetryDecision:
    """Decide whether a failed attempt is retried and after how long.

    Args:
        policy: The retry policy.
        method: The HTTP method of the request.
        retries_done: Retries already made for this call (0 after the first attempt).
        status: The HTTP status of the failed attempt, if a response arrived.
        connection_error: True when no response arrived (connection or timeout error).
        request_sent: For connection errors, whether the request may have reached Salla.
        retry_after: Parsed ``Retry-After`` in seconds, if the response carried one.
        rand: Uniform random number in ``[0, 1)`` for the jitter.
        idempotent: Whether replaying the request is harmless; None decides by the method. The
            registry sets it per endpoint: some PUTs perform an action (a refund, a quantity
            increment) and must be treated like a POST.
        bad_body: A success status whose body is truncated or not JSON: a broken answer like a
            gateway's 502, retried the same way (idempotent requests only).

    Returns:
        The decision, with the delay to sleep before the next attempt.
    """
    method = method.upper()
    if retries_done >= policy.max_retries:
        return RetryDecision(False, reason="retries exhausted")
    if idempotent is None:
        idempotent = method in IDEMPOTENT_METHODS
    if bad_body:
        if not idempotent:
            return RetryDecision(False, reason="write answered with a broken body")
    elif connection_error:
        # A write whose request may have reached Salla might have been applied: replaying it
        # could create a second order or webhook. Only a failure to connect is safe.
        if not idempotent and request_sent:
            return RetryDecision(False, reason="write may have been sent")
    elif status is None or status not in RETRYABLE_STATUSES:
        return RetryDecision(False, reason="status not retryable")
    elif not idempotent and status != 429:
        # A 5xx on a write may come after Salla committed it; 429 is rejected up front.
        return RetryDecision(False, reason="write not retried on server error")
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return RetryDecision(False, reason="retry-after too long")
        return RetryDecision(True, retry_after, reason="retry-after")
    delay = backoff_delay(
        retries_done + 1, base=policy.backoff_base, cap=policy.backoff_cap, rand=rand
    )
    return RetryDecision(True, delay, reason="backoff")
