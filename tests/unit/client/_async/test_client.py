"""Client basics: configuration, headers, language, the low-level request, the pool lifecycle."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from sallakit import ConfigurationError
from sallakit.api import AsyncSalla, GovernorRegistry

BASE = "https://api.salla.dev/admin/v2"


def ok(data: Any = None, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, json={"status": status, "success": True, "data": data})


def make(handler: Any, governors: GovernorRegistry, **kwargs: Any) -> AsyncSalla:
    kwargs.setdefault("access_token", "tok-123")
    return AsyncSalla(transport=httpx2.MockTransport(handler), governor=governors, **kwargs)


def test_exactly_one_credential_is_required(governors: GovernorRegistry) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        AsyncSalla(governor=governors)

    class Provider:
        async def get_token(self) -> str:
            return "t"

        async def refresh_token(self, rejected_token: str) -> str:
            return "t"

    with pytest.raises(ConfigurationError, match="exactly one"):
        AsyncSalla("tok", token_provider=Provider(), governor=governors)


@pytest.mark.anyio
async def test_headers_and_language_per_client_and_per_call(governors: GovernorRegistry) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return ok({"id": 1, "name": "x"})

    async with make(handler, governors, language="en") as client:
        await client.request("GET", "/store/info")
        await client.request("GET", "/store/info", language="ar")
    first, second = seen
    assert first.headers["authorization"] == "Bearer tok-123"
    assert first.headers["accept-language"] == "en"
    assert second.headers["accept-language"] == "ar"
    assert first.headers["user-agent"].startswith("sallakit/")
    assert str(first.url) == BASE + "/store/info"


@pytest.mark.anyio
async def test_request_returns_data_pagination_and_raw(governors: GovernorRegistry) -> None:
    body = {
        "status": 200,
        "success": True,
        "data": [{"id": 1}],
        "pagination": {"count": 1, "total": 1, "perPage": 15, "currentPage": 1, "totalPages": 1},
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.params.get_list("status[]") == ["1", "2"]
        assert request.url.params["unread"] == "1"
        assert "keyword" not in request.url.params
        return httpx2.Response(200, json=body)

    async with make(handler, governors) as client:
        response = await client.request(
            "GET", "orders", params={"status[]": [1, 2], "unread": True, "keyword": None}
        )
    assert response.data == [{"id": 1}]
    assert response.pagination is not None
    assert response.pagination.total_pages == 1
    assert response.pagination.per_page == 15
    assert response.raw == body


@pytest.mark.anyio
async def test_per_call_language_on_generated_methods(governors: GovernorRegistry) -> None:
    languages: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        languages.append(request.headers["accept-language"])
        return ok({"id": 7, "name": "متجر"})

    async with make(handler, governors) as client:
        await client.store.info()
        await client.store.info(language="en")
    assert languages == ["ar", "en"]


@pytest.mark.anyio
async def test_generated_methods_send_path_query_and_body(governors: GovernorRegistry) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return ok({"id": 9, "message": "ok"}, status=202 if request.method == "DELETE" else 200)

    async with make(handler, governors) as client:
        await client.webhooks.unsubscribe(id=5)
        await client.webhooks.subscribe(
            event="order.created", url="https://example.com/hook", extra_body={"secret": "s"}
        )
        await client.orders.histories.create(12, note="hi")
    unsubscribe, subscribe, history = seen
    assert unsubscribe.method == "DELETE"
    assert unsubscribe.url.path == "/admin/v2/webhooks/unsubscribe"
    assert unsubscribe.url.params["id"] == "5"
    assert subscribe.method == "POST"
    import json

    sent = json.loads(subscribe.content)
    assert sent == {"event": "order.created", "url": "https://example.com/hook", "secret": "s"}
    assert history.url.path == "/admin/v2/orders/12/histories"


@pytest.mark.anyio
async def test_path_params_cannot_escape_their_segment(governors: GovernorRegistry) -> None:
    paths: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        paths.append(request.url.raw_path.decode())
        return ok({"id": 1})

    async with make(handler, governors) as client:
        await client.products.delete("1/../../store")
    assert paths == ["/admin/v2/products/1%2F..%2F..%2Fstore"]


@pytest.mark.anyio
async def test_context_manager_closes_the_pool(governors: GovernorRegistry) -> None:
    closed: list[bool] = []

    class Transport(httpx2.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    client = AsyncSalla("tok", transport=Transport(lambda r: ok()), governor=governors)
    async with client:
        await client.request("GET", "/store/info")
        assert not client.is_closed
    assert client.is_closed
    assert closed == [True]


@pytest.mark.anyio
async def test_aclose_closes_the_pool(governors: GovernorRegistry) -> None:
    client = make(lambda r: ok(), governors)
    await client.aclose()
    assert client.is_closed


def test_repr_never_shows_the_token(governors: GovernorRegistry, token: str) -> None:
    client = AsyncSalla(token, governor=governors, store_id=42)
    assert token not in repr(client)
    assert "42" in repr(client)


@pytest.mark.anyio
async def test_on_attempt_sees_every_attempt_and_cannot_break_a_call(
    governors: GovernorRegistry,
) -> None:
    from sallakit.api import RequestAttempt, RetryPolicy

    answers = iter(
        [
            httpx2.Response(429, headers={"retry-after": "0", "x-ratelimit-remaining": "0"}),
            ok({"id": 1}),
        ]
    )
    seen: list[RequestAttempt] = []

    def observe(attempt: RequestAttempt) -> None:
        seen.append(attempt)
        raise RuntimeError("a broken observer")

    client = make(
        lambda request: next(answers),
        governors,
        store_id=7,
        on_attempt=observe,
        retry_policy=RetryPolicy(max_retries=2, backoff_base=0.0, backoff_cap=0.0),
    )
    response = await client.request("GET", "/store/info")
    assert response.data == {"id": 1}
    assert [(a.store, a.status, a.attempt, a.is_retry) for a in seen] == [
        ("7", 429, 1, False),
        ("7", 200, 2, True),
    ]
    assert seen[0].rate_limit_remaining == 0
    assert all(a.method == "GET" and a.path == "/store/info" for a in seen)
    await client.aclose()
    with pytest.raises(ConfigurationError, match="on_attempt"):
        make(lambda request: ok(), governors, on_attempt="not callable")
