"""Retry decisions, backoff bounds and Retry-After parsing (pure)."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sallakit.api._core._retry import (
    RetryPolicy,
    backoff_delay,
    decide_retry,
    parse_retry_after,
)

NOW = 1_700_000_000.0
POLICY = RetryPolicy(max_retries=3)


@given(
    retry=st.integers(min_value=1, max_value=200),
    rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base=st.floats(min_value=0.01, max_value=5.0),
    cap=st.floats(min_value=0.1, max_value=60.0),
)
def test_backoff_is_bounded(retry: int, rand: float, base: float, cap: float) -> None:
    delay = backoff_delay(retry, base=base, cap=cap, rand=rand)
    assert 0.0 <= delay <= min(cap, base * 2 ** min(retry - 1, 62))


def test_backoff_grows_then_caps() -> None:
    ceilings = [backoff_delay(n, base=0.5, cap=30.0, rand=0.999999) for n in range(1, 10)]
    assert ceilings[0] == pytest.approx(0.5, rel=1e-5)
    assert ceilings[1] == pytest.approx(1.0, rel=1e-5)
    assert ceilings[-1] == pytest.approx(30.0, rel=1e-5)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3", NOW) == 3.0
    assert parse_retry_after(" 1.5 ", NOW) == 1.5
    assert parse_retry_after(email.utils.formatdate(NOW + 10, usegmt=True), NOW) == 10.0
    assert parse_retry_after(email.utils.formatdate(NOW - 10, usegmt=True), NOW) == 0.0
    assert parse_retry_after("-4", NOW) == 0.0
    for junk in (None, "", "soon", "nan"):
        assert parse_retry_after(junk, NOW) is None


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        ("GET", 429, True),
        ("GET", 500, True),
        ("HEAD", 502, True),
        ("PUT", 503, True),
        ("DELETE", 504, True),
        ("GET", 501, False),
        ("POST", 429, True),
        ("PATCH", 429, True),
        ("POST", 500, False),
        ("POST", 503, False),
        ("PATCH", 502, False),
        *[(m, s, False) for m in ("GET", "POST") for s in (400, 401, 403, 404, 409, 422)],
    ],
)
def test_status_decisions(method: str, status: int, expected: bool) -> None:
    assert decide_retry(POLICY, method, 0, status=status).retry is expected


@pytest.mark.parametrize(
    ("method", "sent", "expected"),
    [
        ("GET", True, True),
        ("GET", False, True),
        ("POST", False, True),
        ("POST", True, False),
        ("PATCH", True, False),
        ("PUT", True, True),
    ],
)
def test_connection_error_decisions(method: str, sent: bool, expected: bool) -> None:
    decision = decide_retry(POLICY, method, 0, connection_error=True, request_sent=sent)
    assert decision.retry is expected


def test_retry_after_wins_over_backoff_and_is_bounded() -> None:
    assert decide_retry(POLICY, "GET", 0, status=429, retry_after=4.0).delay == 4.0
    long_wait = decide_retry(POLICY, "GET", 0, status=429, retry_after=10_000.0)
    assert long_wait.retry is False


@given(retries=st.integers(min_value=0, max_value=10))
def test_never_more_than_max_retries(retries: int) -> None:
    decision = decide_retry(POLICY, "GET", retries, status=503)
    assert decision.retry is (retries < POLICY.max_retries)
