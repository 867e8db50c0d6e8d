"""Client limits and validation: bounded rate-limit waits, replay safety of request(),
header validation, file fields, array bodies, list shapes, clock skew and polish."""

from __future__ import annotations

import email.utils
import json
import threading
import typing
from pathlib import Path
from typing import Any

import httpx2
import pytest

from sallakit import APIResponseError, ConfigurationError, InternalServerError, RateLimitError
from sallakit.api import AsyncSalla, GovernorRegistry, RetryPolicy, StoreGovernor

from ..conftest import FakeClock


def ok(data: Any = None, **extra: Any) -> httpx2.Response:
    return httpx2.Response(200, json={"status": 200, "success": True, "data": data, **extra})


class Recorder:
    def __init__(self, *answers: httpx2.Response) -> None:
        self.requests: list[httpx2.Request] = []
        self.answers = list(answers)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        return self.answers.pop(0) if self.answers else ok({})


def make(handler: Any, governors: GovernorRegistry, **kwargs: Any) -> AsyncSalla:
    kwargs.setdefault("governor", governors)
    return AsyncSalla("tok", transport=httpx2.MockTransport(handler), **kwargs)


def too_many(headers: dict[str, str]) -> httpx2.Response:
    return httpx2.Response(429, json={"status": 429, "success": False}, headers=headers)


# ---------------------------------------------------------------------- 1. bounded waits


@pytest.mark.anyio
async def test_long_retry_after_never_blocks_the_next_call(
    governors: GovernorRegistry, clock: FakeClock
) -> None:
    rec = Recorder(too_many({"retry-after": "3600"}))
    async with make(rec, governors) as client:
        with pytest.raises(RateLimitError):
            await client.request("GET", "/products")
        with pytest.raises(RateLimitError) as info:
            await client.request("GET", "/products")
    assert len(rec.requests) == 1  # the second call was refused locally, at once
    assert info.value.retry_after is not None and 120 < info.value.retry_after <= 600
    assert all(s <= 120 for s in clock.sleeps)


@pytest.mark.anyio
async def test_huge_retry_after_is_a_rate_limit_error(
    governors: GovernorRegistry, clock: FakeClock
) -> None:
    rec = Recorder(too_many({"retry-after": "1e308"}))
    async with make(rec, governors) as client:
        for _ in range(2):
            with pytest.raises(RateLimitError):
                await client.request("GET", "/products")
    assert all(s <= 120 for s in clock.sleeps)


@pytest.mark.anyio
async def test_reset_in_milliseconds_does_not_block(
    governors: GovernorRegistry, clock: FakeClock
) -> None:
    reset_ms = str(int((clock.now + 5) * 1000))
    rec = Recorder(
        httpx2.Response(
            200,
            json={"status": 200, "success": True, "data": {}},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset_ms},
        )
    )
    async with make(rec, governors) as client:
        await client.request("GET", "/products")
        await client.request("GET", "/products")
    assert sum(clock.sleeps) <= 10


@pytest.mark.anyio
async def test_max_retry_after_is_a_constructor_argument(
    governors: GovernorRegistry, clock: FakeClock
) -> None:
    rec = Recorder(too_many({"retry-after": "300"}))
    async with make(rec, governors, max_retry_after=400) as client:
        await client.request("GET", "/products")
    assert len(rec.requests) == 2
    assert max(clock.sleeps) == 300


def test_retry_policy_is_accepted(governors: GovernorRegistry) -> None:
    policy = RetryPolicy(max_retries=7, max_retry_after=10)
    client = AsyncSalla("tok", governor=governors, retry_policy=policy)
    assert client.retry_policy is policy
    with pytest.raises(ConfigurationError):
        AsyncSalla("tok", governor=governors, retry_policy=policy, max_retries=1)


# ---------------------------------------------------------------------- 2. path segments


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["..", ".", "", "%2e%2e"])
async def test_dot_segment_ids_are_refused(governors: GovernorRegistry, value: str) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        with pytest.raises(ConfigurationError):
            await client.products.images.update(value, photo=b"x")
    assert rec.requests == []


# ---------------------------------------------------------------------- 3. array bodies


@pytest.mark.anyio
async def test_scalar_for_an_array_body_field_is_wrapped(governors: GovernorRegistry) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        await client.orders.items.attach_digital(1, codes="ABC", digital_files=("a", "b"))
    assert json.loads(rec.requests[0].content) == {"codes": ["ABC"], "files": ["a", "b"]}


# ---------------------------------------------------------------------- 4. request() replays


@pytest.mark.anyio
async def test_request_follows_the_registry_idempotency(governors: GovernorRegistry) -> None:
    rec = Recorder(httpx2.Response(502), httpx2.Response(502))
    async with make(rec, governors) as client:
        # Update Transaction (a refund) is a PUT the registry marks as an action.
        with pytest.raises(InternalServerError):
            await client.request("PUT", "/transactions/5", json={"action": "refund"})
        assert len(rec.requests) == 1
        # An ordinary PUT is still replayed.
        await client.request("PUT", "/products/5", json={"name": "x"})
    assert len(rec.requests) == 3


@pytest.mark.anyio
async def test_request_idempotent_argument_overrides(governors: GovernorRegistry) -> None:
    rec = Recorder(httpx2.Response(502), httpx2.Response(502))
    async with make(rec, governors) as client:
        await client.request("POST", "/products", json={}, idempotent=True)
        assert len(rec.requests) == 3  # two 502s replayed, then the success
        rec.answers = [httpx2.Response(502)]
        with pytest.raises(InternalServerError):
            await client.request("PUT", "/products/5", json={}, idempotent=False)
    assert len(rec.requests) == 4


# ---------------------------------------------------------------------- 5. clock skew


@pytest.mark.anyio
async def test_http_date_retry_after_uses_the_server_date(
    governors: GovernorRegistry, clock: FakeClock
) -> None:
    server_now = clock.now + 3600  # the local clock is an hour behind
    rec = Recorder(
        too_many(
            {
                "retry-after": email.utils.formatdate(server_now + 5, usegmt=True),
                "date": email.utils.formatdate(server_now, usegmt=True),
            }
        )
    )
    async with make(rec, governors) as client:
        await client.request("GET", "/products")
    assert len(rec.requests) == 2
    assert sum(clock.sleeps) == pytest.approx(5, abs=1)


# ---------------------------------------------------------------------- 6. header values


@pytest.mark.parametrize("token", ["tok\nX-Evil: 1", "توكن"])
def test_bad_token_refused_at_construction(governors: GovernorRegistry, token: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AsyncSalla(token, governor=governors)
    assert token not in str(info.value)


def test_bad_language_refused_at_construction(governors: GovernorRegistry) -> None:
    with pytest.raises(ConfigurationError, match="language"):
        AsyncSalla("tok", governor=governors, language="عربي")


@pytest.mark.anyio
async def test_bad_language_refused_per_call(governors: GovernorRegistry) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        with pytest.raises(ConfigurationError, match="language"):
            await client.request("GET", "/products", language="ar\r\nX: 1")
    assert rec.requests == []


@pytest.mark.anyio
async def test_local_protocol_error_is_not_retried(governors: GovernorRegistry) -> None:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        raise httpx2.LocalProtocolError("Illegal header value b'Bearer secret'")

    async with make(handler, governors) as client:
        with pytest.raises(ConfigurationError) as info:
            await client.request("GET", "/products")
    assert len(calls) == 1
    assert "secret" not in str(info.value)


# ---------------------------------------------------------------------- 7. file fields


@pytest.mark.anyio
async def test_str_for_a_file_field_is_refused(governors: GovernorRegistry) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        with pytest.raises(ConfigurationError, match="photo"):
            await client.products.images.update(1, photo="photos/x.png")  # type: ignore[arg-type]
    assert rec.requests == []


@pytest.mark.anyio
async def test_path_for_a_file_field_is_read(governors: GovernorRegistry, tmp_path: Path) -> None:
    image = tmp_path / "pic.png"
    image.write_bytes(b"\x89PNG-bytes")
    rec = Recorder()
    async with make(rec, governors) as client:
        await client.products.images.update(1, photo=image)
    body = rec.requests[0].content
    assert b'filename="pic.png"' in body
    assert b"\x89PNG-bytes" in body
    assert str(image).encode() not in body


# ---------------------------------------------------------------------- 11. list shapes


@pytest.mark.anyio
@pytest.mark.parametrize("data", ["oops", {"id": 1}, 5])
async def test_non_list_data_on_a_list_endpoint_is_an_error(
    governors: GovernorRegistry, data: Any
) -> None:
    async with make(Recorder(ok(data), ok(data)), governors) as client:
        with pytest.raises(APIResponseError, match="not a list"):
            await client.orders.statuses.list()
        with pytest.raises(APIResponseError, match="not a list"):
            [p async for p in client.products.list()]


@pytest.mark.anyio
@pytest.mark.parametrize("data", [None, {}, []])
async def test_empty_shapes_on_a_list_endpoint(governors: GovernorRegistry, data: Any) -> None:
    async with make(Recorder(ok(data)), governors) as client:
        assert list(await client.orders.statuses.list()) == []


# ---------------------------------------------------------------------- 13. polish


def test_orders_list_keyword_is_free_text(governors: GovernorRegistry) -> None:
    hints = typing.get_type_hints(AsyncSalla("tok", governor=governors).orders.list)
    assert hints["keyword"] == str | None


def test_item_lists_are_exported() -> None:
    import sallakit.api as api

    assert {"ItemList", "AsyncItemList"} <= set(api.__all__)


# ---------------------------------------------------------------- 8. slot waits are notified


@pytest.mark.anyio
async def test_waiting_for_a_slot_is_woken_when_it_frees() -> None:
    clock = FakeClock()
    governor = StoreGovernor(max_in_flight=1, clock=clock)
    assert governor.try_acquire("/products").granted  # another caller holds the only slot
    # Freed from another thread while the call waits: it must be woken, not poll.
    timer = threading.Timer(0.2, governor.release, args=("/products", None))
    timer.start()
    try:
        async with make(Recorder(), GovernorRegistry(), governor=governor) as client:
            await client.request("GET", "/products")
    finally:
        timer.cancel()
    assert clock.sleeps == []  # no polling sleeps on the clock
    assert governor.in_flight == 0
