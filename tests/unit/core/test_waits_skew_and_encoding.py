"""Pure-core decisions: bounded rate-limit waits, clock skew, path segments,
header values, enums, page walking and error messages."""

from __future__ import annotations

import email.utils
import enum

import pytest

from sallakit import ConfigurationError
from sallakit.api._core._errors import map_status_error
from sallakit.api._core._pagination import PageInfo, PageWalker
from sallakit.api._core._ratelimit import (
    MAX_RESET_WAIT,
    Bucket,
    parse_rate_limit_headers,
)
from sallakit.api._core._request import (
    build_headers,
    build_path,
    encode_json,
    encode_params,
)
from sallakit.api._core._retry import parse_retry_after

NOW = 1_700_000_000.0


def http_date(when: float) -> str:
    return email.utils.formatdate(when, usegmt=True)


# ---------------------------------------------------------------------- 1. bounded waits


def test_retry_after_of_an_hour_is_capped_in_the_bucket() -> None:
    bucket = Bucket(limit=120, remaining=5)
    bucket.on_rate_limited(3600.0, NOW)
    assert bucket.delay(NOW) == MAX_RESET_WAIT == 600.0


def test_huge_retry_after_does_not_overflow() -> None:
    bucket = Bucket()
    bucket.on_rate_limited(1e308, NOW)
    assert bucket.delay(NOW) == MAX_RESET_WAIT


def test_reset_in_milliseconds_is_understood() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int((NOW + 30) * 1000))}
    parsed = parse_rate_limit_headers(headers, NOW)
    assert parsed is not None and parsed.reset_at is not None
    assert NOW + 30 <= parsed.reset_at <= NOW + 31


def test_reset_far_in_the_future_is_capped() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 86_400 * 30))}
    parsed = parse_rate_limit_headers(headers, NOW)
    assert parsed is not None and parsed.reset_at == NOW + MAX_RESET_WAIT


def test_bogus_date_is_ignored() -> None:
    # A Date ten years behind would otherwise add ten years to the reset.
    headers = {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW + 30)),
        "date": http_date(NOW - 86_400 * 3650),
    }
    parsed = parse_rate_limit_headers(headers, NOW)
    assert parsed is not None and parsed.reset_at is not None
    assert parsed.reset_at <= NOW + 31


# ---------------------------------------------------------------------- 5. clock skew


def test_http_date_retry_after_is_measured_against_the_server_date() -> None:
    # The local clock is 60 s ahead of the server: Retry-After is 10 s after the server's now.
    server_now = NOW - 60
    value = http_date(server_now + 10)
    assert parse_retry_after(value, NOW) == 0.0  # the old, local-clock reading
    assert parse_retry_after(value, NOW, server_now=server_now) == 10.0


def test_past_reset_without_date_counts_as_unknown_and_paces_by_limit() -> None:
    headers = {
        "x-ratelimit-limit": "120",
        "x-ratelimit-remaining": "3",
        "x-ratelimit-reset": str(int(NOW - 40)),
    }
    parsed = parse_rate_limit_headers(headers, NOW)
    assert parsed is not None and parsed.reset_at is None
    bucket = Bucket(shared_seen_at=NOW)  # the 20 % reserve applies
    bucket.on_headers(parsed, others_in_flight=0)
    bucket.last_sent = NOW
    assert bucket.delay(NOW) == pytest.approx(0.5)  # 60 s / 120 calls


def test_429_wait_has_a_one_second_floor() -> None:
    bucket = Bucket(limit=120, remaining=10)
    bucket.on_rate_limited(0.0, NOW)
    assert bucket.delay(NOW) == 1.0
    stale = Bucket(limit=120, remaining=10, reset_at=NOW + 0.1)
    stale.on_rate_limited(None, NOW)
    assert stale.delay(NOW) == 1.0


# ---------------------------------------------------------------------- 6. builtins escaping


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_non_finite_rate_limit_figures_are_ignored(value: str) -> None:
    parsed = parse_rate_limit_headers(
        {"x-ratelimit-remaining": value, "x-ratelimit-limit": value, "x-ratelimit-reset": value},
        NOW,
    )
    assert parsed is None  # as if the headers were absent (used to raise OverflowError)


@pytest.mark.parametrize("token", ["tok\nX-Evil: 1", "توكن", "tok\r"])
def test_bad_token_is_refused_without_echo(token: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        build_headers(token, language="ar", version="1")
    assert "token" in str(info.value)
    assert token not in str(info.value)


def test_bad_language_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="language"):
        build_headers("tok", language="ar\nX: y", version="1")


# ---------------------------------------------------------------------- 2. path segments


@pytest.mark.parametrize("value", ["", ".", "..", "%2e", "%2E%2e", "%2e."])
def test_dot_segments_are_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="product"):
        build_path("/products/{product}/images", {"product": value})


def test_ordinary_segments_still_pass() -> None:
    assert build_path("/p/{a}", {"a": "..x"}) == "/p/..x"
    assert build_path("/p/{a}", {"a": "a/b"}) == "/p/a%2Fb"


# ---------------------------------------------------------------------- 10. enums


class Status(enum.Enum):
    PAID = "paid"


class Level(enum.IntEnum):
    HIGH = 3


def test_enum_members_are_sent_by_value() -> None:
    assert encode_params({"status": Status.PAID, "ids": [Status.PAID], "l": Level.HIGH}) == [
        ("status", "paid"),
        ("ids[]", "paid"),
        ("l", "3"),
    ]
    assert encode_json({"status": Status.PAID, "nested": [Status.PAID]}) == (
        b'{"status": "paid", "nested": ["paid"]}'
    )


# ---------------------------------------------------------------------- 12. shrunk totalPages


def test_page_beyond_shrunk_total_pages_keeps_its_items() -> None:
    walker = PageWalker()
    walker.advance(PageInfo(current_page=1, total_pages=3), [{"id": 1}])
    assert walker.advance(PageInfo(current_page=2, total_pages=1), [{"id": 2}]) is None
    assert walker.warning is not None and walker.keep_last


def test_repeated_page_is_not_kept() -> None:
    walker = PageWalker()
    walker.advance(PageInfo(current_page=1, total_pages=3), [{"id": 1}])
    walker.advance(PageInfo(current_page=2, total_pages=3), [{"id": 1}])
    assert walker.warning is not None and not walker.keep_last


# ---------------------------------------------------------------------- 13. messages


def test_error_message_does_not_repeat_the_status() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head></html>"
    error = map_status_error(502, html, {}, method="GET", url="u", now=NOW)
    assert str(error).startswith("502 Bad Gateway")
    assert "502 502" not in str(error)
    empty = map_status_error(503, b"", {}, method="GET", url="u", now=NOW, reason="")
    assert str(empty).startswith("503 Service Unavailable")
