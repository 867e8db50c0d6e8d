"""The pure leaky bucket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sallakit.emulator._ratelimit import CUSTOMERS_SPEC, BucketSpec, BucketState, plan_spec, take


def _burst(spec: BucketSpec, n: int, now: float = 1000.0) -> tuple[BucketState, list[bool]]:
    state, out = BucketState(updated=now), []
    for _ in range(n):
        state, decision = take(spec, state, now)
        out.append(decision.allowed)
    return state, out


@pytest.mark.parametrize(
    ("plan", "limit"), [("basic", 120), ("plus", 120), ("pro", 360), ("special", 720), ("5", 5)]
)
def test_plans(plan, limit):
    assert plan_spec(plan).capacity == limit


def test_unknown_plan():
    with pytest.raises(ValueError, match="unknown plan"):
        plan_spec("gold")


def test_burst_then_one_per_second():
    spec = plan_spec("plus")
    state, allowed = _burst(spec, 121)
    assert allowed == [True] * 120 + [False]
    state, refused = take(spec, state, 1000.5)
    assert not refused.allowed and refused.retry_after == 1 and refused.remaining == 0
    state, ok = take(spec, state, 1001.0)
    assert ok.allowed
    state, again = take(spec, state, 1001.0)
    assert not again.allowed


def test_headers_and_reset():
    spec = BucketSpec(10)
    state, _ = _burst(spec, 4)
    state, decision = take(spec, state, 1000.0)
    assert decision.headers() == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "5",
        "X-RateLimit-Reset": "1005",
    }
    # Fully drained after `level` seconds.
    _, later = take(spec, state, 1005.0)
    assert later.remaining == 9


def test_customers_bucket_leaks_500_per_ten_minutes():
    state, allowed = _burst(CUSTOMERS_SPEC, 501)
    assert allowed.count(True) == 500
    _, refused = take(CUSTOMERS_SPEC, state, 1000.0)
    assert refused.retry_after == 2  # 1 / (500/600) = 1.2 s, rounded up
    _, ok = take(CUSTOMERS_SPEC, state, 1001.2)
    assert ok.allowed


def test_refusal_leaves_the_level_unchanged():
    spec = BucketSpec(1)
    state, _ = take(spec, BucketState(updated=0.0), 0.0)
    after, decision = take(spec, state, 0.0)
    assert not decision.allowed and after.level == state.level


@given(
    capacity=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=200),
)
def test_never_admits_more_than_burst_plus_leak(capacity, gaps):
    spec = BucketSpec(capacity)
    state, now, admitted = BucketState(), 0.0, []
    for gap in gaps:
        now += gap
        state, decision = take(spec, state, now)
        if decision.allowed:
            admitted.append(now)
        assert 0 <= decision.remaining <= capacity
    # In any window [t0, t1], at most capacity + leak * (t1 - t0) requests get through.
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= capacity + (admitted[j] - start) * spec.leak_per_second + 1e-6
