"""The error mapping table, tested once (pure)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from sallakit import (
    APIResponseError,
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


def test_non_json_error_body() -> None:
    error = mapped(500, b"<html>500</html>")
    assert type(error) is APIResponseError
    assert error.status_code == 500


def test_transport_errors() -> None:
    for exc, sent in [
        (httpx2.ConnectError("x"), False),
        (httpx2.ConnectTimeout("x"), False),
        (httpx2.ReadTimeout("x"), True),
        (httpx2.WriteTimeout("x"), True),
        (httpx2.ReadError("x"), True),
    ]:
        assert map_transport_error(exc, method="POST", url="u").request_sent is sent
