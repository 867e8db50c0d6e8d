"""A cancelled call gives its in-flight slot back (async only: the sync client cannot be
cancelled from outside)."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry


@pytest.mark.anyio
async def test_cancelled_calls_release_their_slots() -> None:
    governors = GovernorRegistry()  # the real clock: the slot wait is real polling
    release = anyio.Event()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.params.get("hang") == "1":
            await release.wait()
        return httpx2.Response(200, json={"status": 200, "success": True, "data": {}})

    async with AsyncSalla(
        "tok", transport=httpx2.MockTransport(handler), governor=governors, max_in_flight=4
    ) as client:
        for _ in range(4):
            with anyio.move_on_after(0.01):
                await client.request("GET", "/store/info", params={"hang": 1})
        assert client._governor is not None and client._governor.in_flight == 0
        with anyio.fail_after(2):
            response = await client.request("GET", "/store/info")
        assert response.status_code == 200
