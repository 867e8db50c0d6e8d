"""Every error status, with Salla-shaped bodies, becomes the right exception."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest

from sallakit import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
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
from sallakit.api import AsyncSalla, GovernorRegistry


def envelope(status: int, code: Any, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"status": status, "success": False, "error": error}


CASES = [
    (400, envelope(400, 400, "حقل نوع التسعيرة غير صالحٍ"), BadRequestError),
    (401, envelope(401, "Unauthorized", "The access token is invalid"), InvalidTokenError),
    (
        401,
        envelope(
            401,
            "Unauthorized",
            "The access token should have access to one of those scopes: products.read_write",
        ),
        MissingScopeError,
    ),
    (401, envelope(401, "error", "The User is not exists."), InactiveUserError),
    (401, envelope(401, "error", "عفوا لا يمكنك تسجيل الدخول, حسابك غير مفعل"), InactiveUserError),
    (403, envelope(403, "error", "التطبيق لايدعم هذه الميزة"), PermissionDeniedError),
    (404, envelope(404, 404, "المحتوى الذي تحاول الوصول اليه غير متوفر"), NotFoundError),
    (409, envelope(409, "conflict", "already exists"), ConflictError),
    (
        422,
        envelope(
            422, "error", "alert.invalid_fields", {"first_name": ["الاسم الاول للعميل مطلوب"]}
        ),
        UnprocessableEntityError,
    ),
    (429, envelope(429, "too_many_requests", "slow down"), RateLimitError),
    (500, envelope(500, "server_error", "boom"), InternalServerError),
    (503, envelope(503, "service_unavailable", "down"), InternalServerError),
    (418, envelope(418, "teapot", "short and stout"), APIStatusError),
]


def make(handler: Any, governors: GovernorRegistry, **kwargs: Any) -> AsyncSalla:
    return AsyncSalla(
        "tok-secret",
        transport=httpx2.MockTransport(handler),
        governor=governors,
        max_retries=0,
        **kwargs,
    )


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "body", "expected"), CASES)
async def test_status_maps_to_exception(
    status: int, body: dict[str, Any], expected: type[Exception], governors: GovernorRegistry
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body, headers={"Retry-After": "7"})

    async with make(handler, governors) as client:
        with pytest.raises(expected) as info:
            await client.request("GET", "/products/1")
    error = info.value
    assert type(error) is expected
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert error.method == "GET"
    assert error.url.endswith("/products/1")
    assert error.message.startswith(body["error"]["message"])
    for name, messages in (body["error"].get("fields") or {}).items():
        assert f"{name}: {' '.join(messages)}" in str(error)  # the useful part is in the text
    assert error.code == body["error"]["code"]
    if expected is UnprocessableEntityError:
        assert error.fields == {"first_name": ["الاسم الاول للعميل مطلوب"]}
    if expected is RateLimitError:
        assert error.retry_after == 7.0
    if expected is MissingScopeError:
        assert isinstance(error, MissingScopeError)
        assert error.scopes == ["products.read_write"]


@pytest.mark.anyio
async def test_bare_invalid_grant_requires_reinstall(governors: GovernorRegistry) -> None:
    body = {"error": "invalid_grant", "error_description": "The provided authorization grant..."}

    async with make(lambda r: httpx2.Response(401, json=body), governors) as client:
        with pytest.raises(ReinstallRequiredError) as info:
            await client.request("GET", "/store/info")
    assert info.value.description == body["error_description"]


@pytest.mark.anyio
async def test_malformed_json_is_a_response_error(governors: GovernorRegistry) -> None:
    async with make(lambda r: httpx2.Response(200, content=b"<html>oops"), governors) as client:
        with pytest.raises(APIResponseError) as info:
            await client.request("GET", "/store/info")
    assert info.value.status_code == 200


@pytest.mark.anyio
async def test_non_json_error_status_keeps_its_class(governors: GovernorRegistry) -> None:
    # This test used to expect APIResponseError for the 502 (with max_retries=0 hiding that it
    # was never retried); a gateway's HTML error is a 502 like any other.
    async with make(lambda r: httpx2.Response(502, content=b"Bad gateway"), governors) as client:
        with pytest.raises(InternalServerError) as info:
            await client.request("GET", "/store/info")
    assert info.value.status_code == 502
    assert info.value.body == "Bad gateway"


@pytest.mark.anyio
async def test_non_json_502_and_text_429_are_retried(governors: GovernorRegistry) -> None:
    answers = [
        httpx2.Response(502, content=b"<html><title>502 Bad Gateway</title></html>"),
        httpx2.Response(429, content=b"Too Many Attempts.", headers={"retry-after": "1"}),
        httpx2.Response(200, json={"status": 200, "success": True, "data": {"id": 1}}),
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return answers.pop(0)

    async with AsyncSalla(
        "tok", transport=httpx2.MockTransport(handler), governor=governors, max_retries=3
    ) as client:
        response = await client.request("GET", "/store/info")
    assert response.data == {"id": 1}
    assert answers == []


@pytest.mark.anyio
async def test_decoding_error_is_translated_and_frees_the_slot(
    governors: GovernorRegistry,
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        # A body that claims gzip and is not: httpx2 raises DecodingError while reading it.
        return httpx2.Response(200, content=b"not gzip", headers={"content-encoding": "gzip"})

    async with make(handler, governors, max_in_flight=1) as client:
        for _ in range(3):
            with pytest.raises(APIResponseError) as info:
                await client.request("GET", "/store/info")
            assert info.value.method == "GET"
        assert client._governor is not None and client._governor.in_flight == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("raised", "expected", "sent"),
    [
        (httpx2.ConnectError("refused"), APIConnectionError, False),
        (httpx2.ConnectTimeout("slow"), APITimeoutError, False),
        (httpx2.ReadTimeout("slow"), APITimeoutError, True),
        (httpx2.RemoteProtocolError("reset"), APIConnectionError, True),
    ],
)
async def test_transport_errors_are_translated(
    raised: Exception, expected: type[Exception], sent: bool, governors: GovernorRegistry
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise raised

    async with make(handler, governors) as client:
        with pytest.raises(expected) as info:
            await client.request("GET", "/store/info")
    assert type(info.value) is expected
    assert isinstance(info.value, APIConnectionError)
    assert info.value.request_sent is sent
    assert info.value.__cause__ is raised


@pytest.mark.anyio
async def test_token_never_in_logs_or_errors(
    governors: GovernorRegistry, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = envelope(401, "Unauthorized", "The access token is invalid")
    caplog.set_level(logging.DEBUG)
    client = AsyncSalla(
        token,
        transport=httpx2.MockTransport(lambda r: httpx2.Response(401, json=body)),
        governor=governors,
    )
    async with client:
        with pytest.raises(InvalidTokenError) as info:
            await client.request("GET", "/store/info", params={"q": "x"})
    texts = [str(info.value), repr(info.value), info.value.url, str(info.value.headers)]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.__dict__))
    assert caplog.records, "expected a log record per attempt"
    assert all(token not in text for text in texts)


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt / cancellation: not an Exception, not from httpx2."""


@pytest.mark.anyio
async def test_any_failure_while_sending_frees_the_slot(governors: GovernorRegistry) -> None:
    calls = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise Interrupted()
        return httpx2.Response(200, json={"status": 200, "success": True, "data": {}})

    async with make(handler, governors, max_in_flight=1) as client:
        for _ in range(3):
            with pytest.raises(Interrupted):
                await client.request("GET", "/store/info")
        # With a leaked slot this call would wait forever for max_in_flight=1.
        response = await client.request("GET", "/store/info")
        assert response.status_code == 200
        assert client._governor is not None and client._governor.in_flight == 0
