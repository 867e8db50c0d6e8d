"""401 handling: one refresh, one replay; never for missing scopes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from sallakit import InvalidTokenError, MissingScopeError, ReinstallRequiredError
from sallakit.api import AsyncSalla, AsyncTokenProvider, GovernorRegistry

INVALID = {
    "status": 401,
    "success": False,
    "error": {"code": "Unauthorized", "message": "The access token is invalid"},
}
SCOPE = {
    "status": 401,
    "success": False,
    "error": {
        "code": "Unauthorized",
        "message": "The access token should have access to one of those scopes: orders.read",
    },
}


class Provider:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.token = "old"
        self.refreshed: list[str] = []
        self.fail_with = fail_with

    async def get_token(self) -> str:
        return self.token

    async def refresh_token(self, rejected_token: str) -> str:
        self.refreshed.append(rejected_token)
        if self.fail_with is not None:
            raise self.fail_with
        self.token = f"new{len(self.refreshed)}"
        return self.token


def make(handler: Any, provider: Provider, governors: GovernorRegistry) -> AsyncSalla:
    return AsyncSalla(
        token_provider=provider,
        transport=httpx2.MockTransport(handler),
        governor=governors,
        store_id=1,
    )


def test_provider_satisfies_the_protocol() -> None:
    assert isinstance(Provider(), AsyncTokenProvider)


@pytest.mark.anyio
async def test_refresh_once_then_replay_once(governors: GovernorRegistry) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer old":
            return httpx2.Response(401, json=INVALID)
        return httpx2.Response(200, json={"status": 200, "success": True, "data": {"id": 1}})

    provider = Provider()
    async with make(handler, provider, governors) as client:
        response = await client.request("POST", "/orders", json={})
    assert response.data == {"id": 1}
    assert provider.refreshed == ["old"]
    assert seen == ["Bearer old", "Bearer new1"]


@pytest.mark.anyio
async def test_second_401_raises(governors: GovernorRegistry) -> None:
    calls: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.headers["authorization"])
        return httpx2.Response(401, json=INVALID)

    provider = Provider()
    async with make(handler, provider, governors) as client:
        with pytest.raises(InvalidTokenError):
            await client.request("GET", "/orders")
    assert provider.refreshed == ["old"]
    assert calls == ["Bearer old", "Bearer new1"]


@pytest.mark.anyio
async def test_missing_scope_is_not_refreshed(governors: GovernorRegistry) -> None:
    provider = Provider()
    async with make(lambda r: httpx2.Response(401, json=SCOPE), provider, governors) as client:
        with pytest.raises(MissingScopeError):
            await client.request("GET", "/orders")
    assert provider.refreshed == []


@pytest.mark.anyio
async def test_reinstall_required_from_the_provider_propagates(
    governors: GovernorRegistry,
) -> None:
    provider = Provider(fail_with=ReinstallRequiredError())
    async with make(lambda r: httpx2.Response(401, json=INVALID), provider, governors) as client:
        with pytest.raises(ReinstallRequiredError):
            await client.request("GET", "/orders")
    assert provider.refreshed == ["old"]


@pytest.mark.anyio
async def test_fixed_token_is_not_refreshed(governors: GovernorRegistry) -> None:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(401, json=INVALID)

    client = AsyncSalla("fixed", transport=httpx2.MockTransport(handler), governor=governors)
    async with client:
        with pytest.raises(InvalidTokenError):
            await client.request("GET", "/orders")
    assert calls == [1]
