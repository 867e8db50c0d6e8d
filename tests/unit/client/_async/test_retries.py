"""The retry loop: what is replayed, how often, and after how long."""

from __future__ import annotations

import email.utils
from typing import Any

import httpx2
import pytest

from sallakit import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from sallakit.api import AsyncSalla, GovernorRegistry


class Script:
    """A handler that answers from a list and records what it received."""

    def __init__(self, *answers: httpx2.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok() -> httpx2.Response:
    return httpx2.Response(200, json={"status": 200, "success": True, "data": {"id": 1}})


def fail(status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"status": status, "success": False, "error": {"code": "error", "message": "x"}}
    return httpx2.Response(status, json=body, headers=headers)


def make(script: Script, governors: GovernorRegistry, **kwargs: Any) -> AsyncSalla:
    return AsyncSalla("tok", transport=httpx2.MockTransport(script), governor=governors, **kwargs)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_requests_retry_on_retryable_status(
    status: int, method: str, governors: GovernorRegistry, clock: Any
) -> None:
    script = Script(fail(status), fail(status), ok())
    async with make(script, governors) as client:
        response = await client.request(method, "/products/1")
    assert response.data == {"id": 1}
    assert len(script.requests) == 3
    assert len(clock.sleeps) >= 2


@pytest.mark.anyio
async def test_retry_after_seconds_is_honoured(governors: GovernorRegistry, clock: Any) -> None:
    script = Script(fail(429, {"Retry-After": "3"}), ok())
    async with make(script, governors) as client:
        await client.request("GET", "/products")
    assert 3.0 in clock.sleeps
    assert sum(clock.sleeps) >= 3.0


@pytest.mark.anyio
async def test_retry_after_http_date_is_honoured(governors: GovernorRegistry, clock: Any) -> None:
    when = email.utils.formatdate(clock.now + 5, usegmt=True)
    script = Script(fail(503, {"Retry-After": when}), ok())
    async with make(script, governors) as client:
        await client.request("GET", "/products")
    assert any(4.0 <= s <= 5.0 for s in clock.sleeps)


@pytest.mark.anyio
async def test_gives_up_after_max_retries(governors: GovernorRegistry) -> None:
    script = Script(*(fail(503) for _ in range(5)))
    async with make(script, governors, max_retries=2) as client:
        with pytest.raises(InternalServerError):
            await client.request("GET", "/products")
    assert len(script.requests) == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (404, NotFoundError), (422, UnprocessableEntityError)],
)
async def test_client_errors_are_never_retried(
    status: int, error: type[Exception], governors: GovernorRegistry
) -> None:
    script = Script(fail(status), ok())
    async with make(script, governors) as client:
        with pytest.raises(error):
            await client.request("GET", "/products")
    assert len(script.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_writes_are_not_replayed_on_server_errors(
    method: str, governors: GovernorRegistry
) -> None:
    script = Script(fail(500), ok())
    async with make(script, governors) as client:
        with pytest.raises(InternalServerError):
            await client.request(method, "/orders", json={"a": 1})
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_post_is_retried_on_429(governors: GovernorRegistry) -> None:
    script = Script(fail(429, {"Retry-After": "1"}), ok())
    async with make(script, governors) as client:
        await client.request("POST", "/orders", json={"a": 1})
    assert len(script.requests) == 2


@pytest.mark.anyio
async def test_post_is_not_replayed_after_the_request_was_sent(
    governors: GovernorRegistry,
) -> None:
    script = Script(httpx2.ReadTimeout("lost"), ok())
    async with make(script, governors) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.request("POST", "/orders", json={"a": 1})
    assert info.value.request_sent is True
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_post_is_replayed_on_connect_error(governors: GovernorRegistry) -> None:
    script = Script(httpx2.ConnectError("refused"), httpx2.ConnectTimeout("slow"), ok())
    async with make(script, governors) as client:
        response = await client.request("POST", "/orders", json={"a": 1})
    assert response.data == {"id": 1}
    assert len(script.requests) == 3


@pytest.mark.anyio
async def test_get_is_replayed_after_read_timeout(governors: GovernorRegistry) -> None:
    script = Script(httpx2.ReadTimeout("lost"), ok())
    async with make(script, governors) as client:
        await client.request("GET", "/orders")
    assert len(script.requests) == 2


@pytest.mark.anyio
async def test_overlong_retry_after_is_raised_not_slept(
    governors: GovernorRegistry, clock: Any
) -> None:
    script = Script(fail(429, {"Retry-After": "3600"}), ok())
    async with make(script, governors) as client:
        with pytest.raises(RateLimitError) as info:
            await client.request("GET", "/orders")
    assert info.value.retry_after == 3600
    assert all(s < 3600 for s in clock.sleeps)
