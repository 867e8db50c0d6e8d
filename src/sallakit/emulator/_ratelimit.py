"""Salla's per-store rate limits as a pure leaky bucket.

Salla's docs: "Each plan provides a maximum number of API calls per 1 minute. If you exceed this,
you can still send 1 request per second until the minute resets. The leaky bucket algorithm is
used." (plus 120, pro 360, special 720), and a separate cap of 500 requests per 10 minutes on the
customers endpoints.

A bucket here holds a *level* that every admitted request raises by one and that leaks
continuously at ``capacity / window`` per second, so a full plan bucket is empty again within one
minute (the customers bucket within ten). A request that fits is admitted. While the bucket is
full, a plan bucket still admits one request per second (``overflow_per_second``; "Leak Limit:
1 request per second" in Salla's table), counted from the request that filled it; the customers
bucket has no such allowance. Headers: ``X-RateLimit-Remaining`` is the free capacity,
``X-RateLimit-Reset`` the epoch at which the bucket will be empty, ``Retry-After`` (on a refusal)
the seconds until the next request would be admitted.

Nothing here reads a clock: callers pass ``now`` (the emulator clock), which is what lets tests
drain a bucket by advancing time instead of sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "CUSTOMERS_SPEC",
    "PLAN_LIMITS",
    "PLAN_WINDOW",
    "BucketSpec",
    "BucketState",
    "RateDecision",
    "plan_spec",
    "take",
]

PLAN_LIMITS: dict[str, int] = {"basic": 120, "plus": 120, "pro": 360, "special": 720}
"""Requests per minute per plan; ``basic`` is not documented and gets the smallest limit."""

PLAN_WINDOW = 60.0
"""Seconds in which a full plan bucket leaks empty (the documented minute)."""

DEFAULT_OVERFLOW_PER_SECOND = 1.0
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """The shape of one bucket.

    Attributes:
        capacity: Requests it holds (the plan limit).
        window: Seconds in which a full bucket leaks empty (leak = capacity / window per second).
        overflow_per_second: Requests still admitted per second while the bucket is full
            (0: none).
    """

    capacity: int
    window: float = PLAN_WINDOW
    overflow_per_second: float = DEFAULT_OVERFLOW_PER_SECOND

    def __post_init__(self) -> None:
        if self.capacity < 1 or not self.window > 0 or not math.isfinite(self.window):
            raise ValueError("a rate-limit bucket needs a positive capacity and window")
        if not 0 <= self.overflow_per_second < math.inf:
            raise ValueError("the overflow allowance must be a finite rate >= 0")

    @property
    def leak_per_second(self) -> float:
        return self.capacity / self.window


CUSTOMERS_SPEC = BucketSpec(capacity=500, window=600.0, overflow_per_second=0.0)
"""The customers endpoints: 500 requests per 10 minutes."""


def plan_spec(plan: str, *, overflow_per_second: float = DEFAULT_OVERFLOW_PER_SECOND) -> BucketSpec:
    """The bucket of a store plan: a named plan or a number (custom limits for benchmarks).

    Raises:
        ValueError: for an unknown plan name.
    """
    if plan in PLAN_LIMITS:
        return BucketSpec(PLAN_LIMITS[plan], PLAN_WINDOW, overflow_per_second)
    try:
        capacity = int(plan)
    except ValueError:
        raise ValueError(
            f"unknown plan {plan!r}: use one of {', '.join(PLAN_LIMITS)} or a number"
        ) from None
    return BucketSpec(capacity, PLAN_WINDOW, overflow_per_second)


@dataclass(slots=True)
class BucketState:
    """How full a bucket was at ``updated`` (a Unix epoch).

    ``full_since`` is when the last request that left the bucket full was admitted (None: not
    full); the overflow allowance counts from it.
    """

    level: float = 0.0
    updated: float = 0.0
    full_since: float | None = None


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The verdict on one request and the values of the ``X-RateLimit-*`` headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Unix epoch (seconds) at which the bucket will be empty again."""
    retry_after: int | None
    """Whole seconds until the next request would be admitted; only when refused."""

    def headers(self) -> dict[str, str]:
        """The rate-limit headers Salla sends (plus ``Retry-After`` on a refusal)."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if self.retry_after is not None:
            out["Retry-After"] = str(self.retry_after)
        return out


def _drain(spec: BucketSpec, state: BucketState, now: float) -> float:
    elapsed = max(0.0, now - state.updated)
    return max(0.0, state.level - elapsed * spec.leak_per_second)


def take(spec: BucketSpec, state: BucketState, now: float) -> tuple[BucketState, RateDecision]:
    """Try to admit one request at ``now``.

    Returns:
        The bucket's new state (unchanged when refused) and the decision.
    """
    level = _drain(spec, state, now)
    # Snapshots written before ``full_since`` existed lack it.
    full_since = getattr(state, "full_since", None)
    fits = level + 1 <= spec.capacity + _EPSILON
    overflow_gap = 1 / spec.overflow_per_second if spec.overflow_per_second else math.inf
    overflow_ok = (
        not fits
        and spec.overflow_per_second > 0
        and (full_since is None or now - full_since >= overflow_gap - _EPSILON)
    )
    allowed = fits or overflow_ok
    if allowed:
        level = min(float(spec.capacity), level + 1)
        full = level + 1 > spec.capacity + _EPSILON
        full_since = now if full else None
        new_state = BucketState(level, now, full_since)
    else:
        new_state = state
    remaining = max(0, math.floor(spec.capacity - level + _EPSILON))
    reset = math.ceil(now + level / spec.leak_per_second - _EPSILON)
    retry_after = None
    if not allowed:
        until_fits = (level + 1 - spec.capacity) / spec.leak_per_second
        wait = until_fits
        if spec.overflow_per_second > 0 and full_since is not None:
            wait = min(wait, full_since + overflow_gap - now)
        retry_after = max(1, math.ceil(wait - _EPSILON))
    return new_state, RateDecision(allowed, spec.capacity, remaining, reset, retry_after)
