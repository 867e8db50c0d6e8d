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


def test_plan_bucket_leaks_its_limit_per_minute():
    # plus: 120 per minute, so the bucket leaks 2 requests per second.
    spec = plan_spec("plus")
    assert spec.leak_per_second == 2.0
    state, allowed = _burst(spec, 121)
    assert allowed == [True] * 120 + [False]
    state, refused = take(spec, state, 1000.0)
    assert not refused.allowed and refused.retry_after == 1 and refused.remaining == 0
    assert refused.reset == 1060  # empty again within the minute, not 120 s later
    state, ok = take(spec, state, 1000.5)
    assert ok.allowed


@pytest.mark.parametrize("plan", ["plus", "pro", "special"])
def test_full_bucket_is_empty_after_one_minute(plan):
    spec = plan_spec(plan)
    state, _ = _burst(spec, spec.capacity)
    _, first = take(spec, state, 1000.0)
    assert first.reset <= 1000 + 60
    _, later = take(spec, state, 1060.0)
    assert later.allowed and later.remaining == spec.capacity - 1


def test_one_request_per_second_while_full():
    # A small plan leaks slower than 1 rps, so the documented allowance is what admits.
    spec = BucketSpec(10)
    state, allowed = _burst(spec, 11)
    assert allowed == [True] * 10 + [False]
    state, refused = take(spec, state, 1000.5)
    assert not refused.allowed and refused.retry_after == 1
    state, ok = take(spec, state, 1001.0)
    assert ok.allowed and ok.remaining == 0
    state, again = take(spec, state, 1001.0)
    assert not again.allowed and again.retry_after == 1
    state, ok2 = take(spec, state, 1002.0)
    assert ok2.allowed


def test_headers_and_reset():
    spec = BucketSpec(10, window=10.0)  # leaks 1 per second
    state, _ = _burst(spec, 4)
    state, decision = take(spec, state, 1000.0)
    assert decision.headers() == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "5",
        "X-RateLimit-Reset": "1005",
    }
    # Fully drained after `level / leak` seconds.
    _, later = take(spec, state, 1005.0)
    assert later.remaining == 9


def test_customers_bucket_leaks_500_per_ten_minutes():
    state, allowed = _burst(CUSTOMERS_SPEC, 501)
    assert allowed.count(True) == 500
    _, refused = take(CUSTOMERS_SPEC, state, 1000.0)
    assert refused.retry_after == 2  # 1 / (500/600) = 1.2 s, rounded up
    assert refused.reset == 1600
    _, still = take(CUSTOMERS_SPEC, state, 1001.0)
    assert not still.allowed  # no 1-rps allowance on the customers cap
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
        assert decision.reset <= now + spec.window + 1
    # In any window [t0, t1], at most capacity + max(leak, 1 rps) * (t1 - t0) + 1 requests get
    # through (the bucket's leak, or the one-per-second allowance while it is full).
    rate = max(spec.leak_per_second, spec.overflow_per_second)
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= capacity + 1 + (admitted[j] - start) * rate + 1e-6
