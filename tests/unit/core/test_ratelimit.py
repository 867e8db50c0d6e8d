"""Rate-limit arithmetic (pure)."""

from __future__ import annotations

import pytest

from sallakit.api._core._ratelimit import (
    RESET_SAFETY_MARGIN,
    Bucket,
    RateLimitHeaders,
    RateLimitState,
    SlidingWindow,
    is_customers_path,
    parse_rate_limit_headers,
)

NOW = 1_700_000_000.0


def test_parse_headers() -> None:
    parsed = parse_rate_limit_headers(
        {
            "x-ratelimit-limit": "120",
            "x-ratelimit-remaining": "7",
            "x-ratelimit-reset": "1700000030",
        },
        NOW,
    )
    # No Date header: the reset is taken as is, plus the safety margin.
    assert parsed == RateLimitHeaders(
        limit=120, remaining=7, reset_at=1_700_000_030.0 + RESET_SAFETY_MARGIN
    )
    relative = parse_rate_limit_headers({"x-ratelimit-reset": "30"}, NOW)
    assert relative is not None and relative.reset_at == NOW + 30 + RESET_SAFETY_MARGIN
    assert parse_rate_limit_headers({}, NOW) is None


def test_bursts_while_plenty_remains() -> None:
    bucket = Bucket()
    bucket.on_headers(RateLimitHeaders(120, 100, NOW + 60), others_in_flight=0)
    bucket.on_send(NOW)
    assert bucket.delay(NOW) == 0.0
    assert bucket.remaining == 99


def test_paces_when_low_and_waits_for_reset_when_empty() -> None:
    bucket = Bucket(shared_seen_at=NOW)  # another client of the store: the reserve is kept
    bucket.on_headers(RateLimitHeaders(100, 5, NOW + 50), others_in_flight=0)
    bucket.on_send(NOW)  # remaining 4, low: spread 4 calls over 50 s
    assert bucket.delay(NOW) == pytest.approx(12.5)
    bucket.on_headers(RateLimitHeaders(100, 0, NOW + 50), others_in_flight=0)
    assert bucket.delay(NOW + 10) == pytest.approx(40.0)
    assert bucket.delay(NOW + 50) == 0.0


def test_the_reserve_is_kept_while_another_client_spends_and_released_when_alone() -> None:
    bucket = Bucket()
    bucket.on_headers(RateLimitHeaders(100, 30, NOW + 60), others_in_flight=0, now=NOW)
    bucket.on_send(NOW)  # we expect 29; alone, 29 of 100 is no reason to pace
    bucket.on_send(NOW)
    assert bucket.reserve_fraction(NOW) == pytest.approx(0.02)
    bucket.remaining = 15
    assert bucket.delay(NOW) == 0.0
    # The server counts 5 fewer than we sent: someone else spends this store's budget.
    bucket.on_headers(RateLimitHeaders(100, 10, NOW + 60), others_in_flight=0, now=NOW)
    assert bucket.shared_seen_at == NOW
    assert bucket.reserve_fraction(NOW) == pytest.approx(0.2)
    assert bucket.delay(NOW) > 0  # 10 left of 100, under the 20 % reserve: paced
    # Nobody else for a while: the reserve is released again.
    assert bucket.reserve_fraction(NOW + 600) == pytest.approx(0.02)


def test_in_flight_requests_are_subtracted_and_old_responses_cannot_raise_the_estimate() -> None:
    bucket = Bucket()
    bucket.on_headers(RateLimitHeaders(10, 5, NOW + 60), others_in_flight=2)
    assert bucket.remaining == 3
    bucket.on_headers(RateLimitHeaders(10, 8, NOW + 60), others_in_flight=0)
    assert bucket.remaining == 3
    bucket.on_headers(RateLimitHeaders(10, 9, NOW + 120), others_in_flight=0)  # new window
    assert bucket.remaining == 9


def test_429_empties_the_bucket_until_retry_after() -> None:
    bucket = Bucket()
    bucket.on_rate_limited(5.0, NOW)
    assert bucket.delay(NOW) == pytest.approx(5.0)


def test_customers_have_their_own_500_per_10_minutes() -> None:
    state = RateLimitState()
    for i in range(500):
        assert state.delay(NOW + i * 0.01, customers=True) == 0.0
        state.on_send(NOW + i * 0.01, customers=True)
    assert state.delay(NOW + 5, customers=True) == pytest.approx(595.0)
    assert state.delay(NOW + 5, customers=False) == 0.0
    assert state.delay(NOW + 600.01, customers=True) == 0.0


def test_sliding_window() -> None:
    window = SlidingWindow(2, 10.0)
    window.on_send(NOW)
    window.on_send(NOW + 1)
    assert window.delay(NOW + 2) == pytest.approx(8.0)
    assert window.delay(NOW + 10) == 0.0


def test_customers_paths() -> None:
    assert is_customers_path("/customers")
    assert is_customers_path("customers/12/wallets")
    assert not is_customers_path("/orders/customers")


def test_reset_is_read_against_the_servers_date_not_the_local_clock() -> None:
    from email.utils import formatdate

    # The server's clock is 2 s ahead of ours: its reset (server time + 10 s) is 10 s away.
    server_now = NOW + 2.0
    headers = {
        "x-ratelimit-limit": "120",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(server_now + 10)),
        "date": formatdate(server_now, usegmt=True),
    }
    parsed = parse_rate_limit_headers(headers, NOW)
    assert parsed is not None and parsed.reset_at is not None
    assert parsed.reset_at == pytest.approx(NOW + 10 + RESET_SAFETY_MARGIN)

    # Server behind by 2 s: a naive comparison would resume 2 s too early and draw a 429.
    server_now = NOW - 2.0
    headers["x-ratelimit-reset"] = str(int(server_now + 10))
    headers["date"] = formatdate(server_now, usegmt=True)
    parsed = parse_rate_limit_headers(headers, NOW)
    assert parsed is not None and parsed.reset_at is not None
    assert parsed.reset_at >= NOW + 10
