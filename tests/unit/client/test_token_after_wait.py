"""The token is read after the governor's wait (async only: needs overlapping requests)."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry


class RotatingProvider:
    """Hands out "old" until Salla rejects it; refreshing yields "new"."""

    store_id = 1

    def __init__(self) -> None:
        self.current = "old"
        self.refreshes = 0

    async def get_token(self) -> str:
        await anyio.sleep(0)
        return self.current

    async def refresh_token(self, rejected_token: str) -> str:
        self.refreshes += 1
        await anyio.sleep(0)
        self.current = "new"
        return self.current


@pytest.mark.anyio
async def test_queued_calls_use_the_token_refreshed_meanwhile() -> None:
    provider = RotatingProvider()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        for _ in range(3):  # let other tasks queue up while this one is in flight
            await anyio.sleep(0)
        if request.headers["authorization"] != "Bearer new":
            return httpx2.Response(401, json={"error": {"message": "token expired"}})
        return httpx2.Response(200, json={"status": 200, "success": True, "data": {}})

    client = AsyncSalla(
        token_provider=provider,
        transport=httpx2.MockTransport(handler),
        governor=GovernorRegistry(),
        max_in_flight=8,
    )
    async with client, anyio.create_task_group() as tg:
        for _ in range(40):
            tg.start_soon(client.request, "GET", "/products")
    assert provider.refreshes <= 8
