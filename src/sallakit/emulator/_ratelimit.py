"""Salla's per-store rate limits as a pure leaky bucket.

Salla publishes a per-plan burst (plus 120, pro 360, special 720 requests) with a leak of one
request per second, and a separate cap of 500 requests per 10 minutes on the customers
endpoints. A bucket here holds a *level* that every admitted request raises by one and that
drains continuously at ``leak_per_second``; a request is refused when it would overflow the
capacity. So a store can burst up to its plan's limit and is then held to the leak rate until the
bucket drains. Nothing here reads a clock: callers pass ``now`` (the emulator clock), which is
what lets tests drain a bucket by advancing time instead of sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "CUSTOMERS_SPEC",
    "PLAN_LIMITS",
    "BucketSpec",
    "BucketState",
    "RateDecision",
    "plan_spec",
    "take",
]

PLAN_LIMITS: dict[str, int] = {"basic": 120, "plus": 120, "pro": 360, "special": 720}
"""Burst size per plan; ``basic`` is not documented and gets the smallest published limit."""

DEFAULT_LEAK_PER_SECOND = 1.0


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """The shape of one bucket: how many requests it holds and how fast it drains."""

    capacity: int
    leak_per_second: float = DEFAULT_LEAK_PER_SECOND

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.leak_per_second <= 0:
            raise ValueError("a rate-limit bucket needs a positive capacity and leak rate")


CUSTOMERS_SPEC = BucketSpec(capacity=500, leak_per_second=500 / 600)
"""The customers endpoints: 500 requests per 10 minutes."""


def plan_spec(plan: str, *, leak_per_second: float = DEFAULT_LEAK_PER_SECOND) -> BucketSpec:
    """The bucket of a store plan: a named plan or a number (custom limits for benchmarks).

    Raises:
        ValueError: for an unknown plan name.
    """
    if plan in PLAN_LIMITS:
        return BucketSpec(PLAN_LIMITS[plan], leak_per_second)
    try:
        return BucketSpec(int(plan), leak_per_second)
    except ValueError:
        raise ValueError(
            f"unknown plan {plan!r}: use one of {', '.join(PLAN_LIMITS)} or a number"
        ) from None


@dataclass(slots=True)
class BucketState:
    """How full a bucket was at ``updated`` (a Unix epoch)."""

    level: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The verdict on one request and the values of the ``X-RateLimit-*`` headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Unix epoch (seconds) at which the bucket will be empty again."""
    retry_after: int | None
    """Whole seconds until one more request fits; only when refused."""

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
        The bucket's new state (unchanged level when refused) and the decision.
    """
    level = _drain(spec, state, now)
    # A tiny epsilon so that float drift never refuses a request that exactly fits.
    allowed = level + 1 <= spec.capacity + 1e-9
    if allowed:
        level += 1
    remaining = max(0, math.floor(spec.capacity - level + 1e-9))
    reset = math.ceil(now + level / spec.leak_per_second)
    retry_after = None
    if not allowed:
        retry_after = max(1, math.ceil((level + 1 - spec.capacity) / spec.leak_per_second))
    return BucketState(level, now), RateDecision(
        allowed, spec.capacity, remaining, reset, retry_after
    )
