"""Rate-limit arithmetic: from what Salla announced and what we sent, how long to wait.

Salla meters each store with a leaky bucket (120/360/720 requests per minute by plan) and
announces it on every response: ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (Unix seconds). The customers endpoints have a second budget of 500
requests per 10 minutes. A well-behaved client never empties the bucket: while plenty remains it
sends freely; when little remains it spreads what is left over the time until the reset; when
nothing remains it waits for the reset.

Everything here is pure and single-threaded; :mod:`sallakit.api._governor` adds the lock and the
in-flight cap, and the clients do the sleeping.
"""

from __future__ import annotations

import email.utils
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CUSTOMERS_BUDGET",
    "MAX_DATE_SKEW",
    "MAX_RESET_WAIT",
    "MIN_RATE_LIMITED_WAIT",
    "RESET_SAFETY_MARGIN",
    "Bucket",
    "RateLimitHeaders",
    "RateLimitState",
    "SlidingWindow",
    "is_customers_path",
    "parse_rate_limit_headers",
    "server_time",
]

CUSTOMERS_BUDGET = (500, 600.0)
"""Salla's separate budget for ``/customers*``: 500 requests per 10 minutes."""

# Below this fraction of the limit we stop bursting and pace the remaining calls: the reserve left
# for the store's other clients (other processes, other hosts) while they are around.
LOW_WATERMARK_FRACTION = 0.2
# Alone on a store (no other client seen for SHARED_MEMORY_SECONDS), the reserve shrinks to this
# fraction: pacing starts only near the end of the bucket.
SOLE_CLIENT_WATERMARK_FRACTION = 0.02
SHARED_MEMORY_SECONDS = 120.0
# A reset at or above this is a Unix time; below it, seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000
# Added to every announced reset: the server's ``Date`` has one-second resolution and the response
# took time to arrive, so the window may close a little later than the arithmetic says.
RESET_SAFETY_MARGIN = 0.5
# A reset at or above this is in milliseconds (1e11 s is the year 5138).
_MILLISECONDS_THRESHOLD = 100_000_000_000
MAX_RESET_WAIT = 600.0
"""Longest wait any announced reset or ``Retry-After`` can impose: Salla's windows are one minute
(the plan bucket) and ten minutes (the customers budget), so a longer figure is a bogus header
(milliseconds, a broken ``Date``) and must not park the store for hours."""
MAX_DATE_SKEW = 86_400.0
"""A ``Date`` header further than this from the local clock is treated as absent."""
MIN_RATE_LIMITED_WAIT = 1.0
"""Floor of the wait after a 429: a full bucket still admits one request per second."""


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """The rate-limit headers of one response."""

    limit: int | None
    remaining: int | None
    reset_at: float | None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    # "inf" and "nan" parse as floats but are no counts (int(inf) raises OverflowError).
    return int(number) if math.isfinite(number) else None


def server_time(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's clock as its ``Date`` header tells it (Unix seconds), or None.

    With ``now``, a ``Date`` more than :data:`MAX_DATE_SKEW` away from it is ignored (None): a
    broken header must not shift every wait by days.
    """
    value = headers.get("date")
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return None
    try:
        stamp = parsed.timestamp()
    except (ValueError, OverflowError, OSError):  # pragma: no cover - platform-dependent range
        return None
    if now is not None and abs(stamp - now) > MAX_DATE_SKEW:
        return None
    return stamp


def parse_rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitHeaders | None:
    """Read ``X-RateLimit-*``; None when the response carries none.

    ``X-RateLimit-Reset`` is documented as Unix seconds *of the server's clock*. Comparing it with
    the local clock would turn a few seconds of skew into 429s, so when the response has a
    ``Date`` header the reset is taken relative to it (``reset - Date`` seconds from ``now``).
    A small value is taken as "seconds from now" so that a server using the other common
    convention is still understood. Either way :data:`RESET_SAFETY_MARGIN` is added.

    Defences against bogus figures: a reset above 1e11 is taken as milliseconds; a ``Date`` more
    than a day off is ignored; without a usable ``Date``, a Unix reset already in the past on
    arrival says nothing reliable (our clock is ahead) and counts as unknown; and no reset lies
    more than :data:`MAX_RESET_WAIT` ahead.
    """
    limit = _header_int(headers, "x-ratelimit-limit")
    remaining = _header_int(headers, "x-ratelimit-remaining")
    reset = _header_int(headers, "x-ratelimit-reset")
    if limit is None and remaining is None and reset is None:
        return None
    reset_at: float | None = None
    if reset is not None:
        seconds = reset / 1000 if reset >= _MILLISECONDS_THRESHOLD else float(reset)
        if seconds >= _EPOCH_THRESHOLD:
            server_now = server_time(headers, now)
            if server_now is not None:
                # Date is truncated to the second, so reset - Date may overstate the wait by up
                # to one second: the safe direction.
                reset_at = seconds - (server_now - now)
            elif seconds > now:
                reset_at = seconds
            # else: in the past by our clock and no Date to compare with: unknown.
        else:
            reset_at = now + max(0.0, seconds)
        if reset_at is not None:
            reset_at = min(reset_at + RESET_SAFETY_MARGIN, now + MAX_RESET_WAIT)
    return RateLimitHeaders(limit=limit, remaining=remaining, reset_at=reset_at)


def is_customers_path(path: str) -> bool:
    """True for the endpoints metered by the customers budget."""
    return path.lstrip("/").split("?", 1)[0].split("/", 1)[0] == "customers"


@dataclass(slots=True)
class Bucket:
    """What we believe about one server-side bucket.

    ``remaining`` is an estimate: the server's last figure minus what we sent since.
    """

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    last_sent: float | None = None
    # When a response last showed requests this process did not send (another client of the
    # store); None when never seen.
    shared_seen_at: float | None = None

    def reserve_fraction(self, now: float) -> float:
        """The share of the bucket kept back for other clients (paced instead of burst)."""
        if self.shared_seen_at is not None and now - self.shared_seen_at < SHARED_MEMORY_SECONDS:
            return LOW_WATERMARK_FRACTION
        return SOLE_CLIENT_WATERMARK_FRACTION

    def delay(self, now: float) -> float:
        """Seconds to wait before the next request may go out (0 = now)."""
        if self.remaining is None:
            return 0.0
        if self.reset_at is not None and now >= self.reset_at:
            return 0.0  # the window has reset; the next response tells us the new state
        if self.remaining <= 0:
            if self.reset_at is None:
                return 1.0  # Salla still leaks one request per second when the bucket is full
            return self.reset_at - now
        low = max(1, int((self.limit or 0) * self.reserve_fraction(now)))
        if self.remaining > low or self.last_sent is None:
            return 0.0
        if self.reset_at is None:
            if not self.limit:
                return 0.0
            # The reset is unknown (absent, or unusable because of clock skew): pace at the
            # plan's own rate, limit calls per minute.
            interval = 60.0 / self.limit
        else:
            # Spread the calls that remain evenly over the time left in the window.
            interval = (self.reset_at - now) / self.remaining
        return max(0.0, self.last_sent + interval - now)

    def on_send(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at:
            # New window: the server's own figure will come back with the response.
            self.remaining = None if self.limit is None else self.limit
            self.reset_at = None
        if self.remaining is not None:
            self.remaining -= 1
        self.last_sent = now

    def on_headers(
        self, headers: RateLimitHeaders, *, others_in_flight: int, now: float | None = None
    ) -> None:
        """Take the server's figures, minus requests still in flight that it has not counted.

        A figure below what our own sends explain (by more than one, for rounding) means another
        client spends this store's budget: the reserve is kept for a while (see
        :meth:`reserve_fraction`).
        """
        if headers.limit is not None:
            self.limit = headers.limit
        if headers.remaining is None:
            return
        estimate = max(0, headers.remaining - others_in_flight)
        if self.remaining is not None and now is not None and estimate < self.remaining - 1:
            self.shared_seen_at = now
        new_window = headers.reset_at is not None and (
            self.reset_at is None or headers.reset_at > self.reset_at
        )
        if new_window or self.remaining is None:
            self.remaining = estimate
        else:
            # Responses overtake each other: an older response must not raise the estimate.
            self.remaining = min(self.remaining, estimate)
        if headers.reset_at is not None:
            self.reset_at = headers.reset_at

    def on_rate_limited(self, retry_after: float | None, now: float) -> None:
        """A 429 arrived: the bucket is empty until ``Retry-After`` (or the known reset)."""
        self.remaining = 0
        if retry_after is not None:
            self.reset_at = now + min(max(retry_after, 0.0), MAX_RESET_WAIT)
        elif self.reset_at is None:
            self.reset_at = now
        # Never less than a second: a full bucket admits one request per second, and a
        # "Retry-After: 0" answered immediately would only earn another 429.
        self.reset_at = max(self.reset_at, now + MIN_RATE_LIMITED_WAIT)


@dataclass(slots=True)
class SlidingWindow:
    """A local budget of ``max_calls`` per ``period`` seconds."""

    max_calls: int
    period: float
    sent: deque[float] = field(default_factory=deque)

    def _expire(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()

    def delay(self, now: float) -> float:
        self._expire(now)
        if len(self.sent) < self.max_calls:
            return 0.0
        return self.sent[0] + self.period - now

    def on_send(self, now: float) -> None:
        self._expire(now)
        self.sent.append(now)


@dataclass(slots=True)
class RateLimitState:
    """All rate-limit knowledge about one store."""

    general: Bucket = field(default_factory=Bucket)
    customers: Bucket = field(default_factory=Bucket)
    customers_window: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(CUSTOMERS_BUDGET[0], CUSTOMERS_BUDGET[1])
    )

    def delay(self, now: float, *, customers: bool) -> float:
        """Seconds to wait before sending a request (to ``/customers*`` if ``customers``)."""
        wait = self.general.delay(now)
        if customers:
            wait = max(wait, self.customers.delay(now), self.customers_window.delay(now))
        return max(0.0, wait)

    def on_send(self, now: float, *, customers: bool) -> None:
        self.general.on_send(now)
        if customers:
            self.customers.on_send(now)
            self.customers_window.on_send(now)

    def on_response(
        self,
        headers: Mapping[str, str],
        now: float,
        *,
        customers: bool,
        status: int | None,
        retry_after: float | None,
        others_in_flight: int,
    ) -> None:
        """Learn from a response (its headers, and whether it was a 429)."""
        parsed = parse_rate_limit_headers(headers, now)
        # Whether the customers endpoints report their own budget in the headers is not
        # documented; their figures feed the customers bucket only, so that a 500/10 min figure
        # can never be mistaken for the per-minute one. Customers calls still count locally
        # against the general bucket (on_send).
        bucket = self.customers if customers else self.general
        if parsed is not None:
            bucket.on_headers(parsed, others_in_flight=others_in_flight, now=now)
        if status == 429:
            bucket.on_rate_limited(retry_after, now)
