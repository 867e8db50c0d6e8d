"""The error mapping table, tested once (pure)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from sallakit import (
    APIStatusError,
    BadRequestError,
    ConflictError,
    InactiveUserError,
    InternalServerError,
    InvalidTokenError,
    MissingScopeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReinstallRequiredError,
    UnprocessableEntityError,
)
from sallakit.api._core._errors import (
    classify_unauthorized,
    map_status_error,
    map_transport_error,
)

NOW = 1_700_000_000.0


def mapped(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return map_status_error(
        status, content, headers or {}, method="GET", url="https://x/y", now=NOW
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequestError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIStatusError),
        (409, ConflictError),
        (410, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
    ],
)
def test_status_table(status: int, expected: type[Exception]) -> None:
    error = mapped(status, {"status": status, "success": False, "error": {"code": 1}})
    assert type(error) is expected
    assert error.status_code == status


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("The access token is invalid", InvalidTokenError),
        ("", InvalidTokenError),
        ("The access token should have access to one of those scopes: x.read", MissingScopeError),
        ("The User is not exists.", InactiveUserError),
        ("عفوا لا يمكنك تسجيل الدخول, حسابك غير مفعل", InactiveUserError),
        ("User is inactive", InactiveUserError),
    ],
)
def test_unauthorized_classification(message: str, expected: type[Exception]) -> None:
    assert classify_unauthorized(message) is expected
    error = mapped(401, {"status": 401, "success": False, "error": {"message": message}})
    assert type(error) is expected


def test_code_is_kept_but_never_decides() -> None:
    # "Unauthorized" as a code on a 404 must still be a NotFoundError.
    error = mapped(404, {"status": 404, "error": {"code": "Unauthorized", "message": "gone"}})
    assert type(error) is NotFoundError
    assert error.code == "Unauthorized"
    assert error.message == "gone"


def test_fields_retry_after_and_invalid_grant() -> None:
    error = mapped(422, {"error": {"message": "bad", "fields": {"a": ["x", "y"], "b": "z"}}})
    assert error.fields == {"a": ["x", "y"], "b": ["z"]}
    limited = mapped(429, {"error": {"message": "slow"}}, {"retry-after": "12"})
    assert limited.retry_after == 12.0
    for status in (400, 401):
        grant = mapped(status, {"error": "invalid_grant", "error_description": "reused"})
        assert type(grant) is ReinstallRequiredError
        assert grant.description == "reused"


@pytest.mark.parametrize(
    ("status", "content", "expected", "message"),
    [
        (
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            InternalServerError,
            "Bad Gateway",  # not "502 Bad Gateway": str() adds the status ("502 Bad Gateway")
        ),
        (503, b"<html><body><h1>Service Unavailable</h1></body></html>", InternalServerError, ""),
        (429, b"Too Many Attempts.", RateLimitError, "Too Many Attempts."),
        (401, b"<html><body>Unauthorized</body></html>", InvalidTokenError, "Unauthorized"),
        (500, b"<html>500</html>", InternalServerError, "Internal Server Error"),
    ],
)
def test_non_json_error_body_keeps_the_status_class(
    status: int, content: bytes, expected: type[Exception], message: str
) -> None:
    # Previously asserted APIResponseError, which made gateway 5xx and text 429s unretryable and
    # skipped the 401 token refresh.
    error = mapped(status, content, {"retry-after": "3"})
    assert type(error) is expected
    assert error.status_code == status
    assert error.body == content.decode()
    assert error.retry_after == 3.0
    if message:
        assert error.message == message
    assert len(error.message) <= 200


def test_non_json_error_body_message_is_short() -> None:
    error = mapped(503, b"x" * 5000)
    assert isinstance(error, InternalServerError)
    assert len(error.message) <= 200


def test_reinstall_required_carries_the_request() -> None:
    error = map_status_error(
        400,
        json.dumps({"error": "invalid_grant"}).encode(),
        {},
        method="GET",
        url="https://x/y",
        now=NOW,
    )
    assert isinstance(error, ReinstallRequiredError)
    assert (error.status_code, error.method, error.url) == (400, "GET", "https://x/y")


def test_retry_after_passed_in_is_not_parsed_again() -> None:
    error = map_status_error(
        429, b"{}", {"retry-after": "nonsense"}, method="GET", url="u", now=NOW, retry_after=7.0
    )
    assert error.retry_after == 7.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("انتهت صلاحية رمز الدخول", InvalidTokenError),
        ("The access token has expired", InvalidTokenError),
        ("ليس لديك الصلاحيات: products.read_write", MissingScopeError),
        ("يجب أن يملك رمز الدخول أحد الصلاحيات التالية: orders.read", MissingScopeError),
        (
            "The access token should have access to one of those scopes: orders.read_write",
            MissingScopeError,
        ),
        ("scopes: offline_access", MissingScopeError),
    ],
)
def test_expired_in_arabic_is_not_a_missing_scope(message: str, expected: type[Exception]) -> None:
    assert classify_unauthorized(message) is expected


def test_transport_errors() -> None:
    for exc, sent in [
        (httpx2.ConnectError("x"), False),
        (httpx2.ConnectTimeout("x"), False),
        (httpx2.ReadTimeout("x"), True),
        (httpx2.WriteTimeout("x"), True),
        (httpx2.ReadError("x"), True),
    ]:
        assert map_transport_error(exc, method="POST", url="u").request_sent is sent
