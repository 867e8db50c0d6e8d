"""A freed slot's queued call sends before the call that freed it parses its answer.

With one slot, call A's answer frees the slot that queued call B waits for: B's request must
leave before A's caller gets its result (A parses while B's request is on the wire), not after.
"""

from __future__ import annotations

import anyio
import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry


@pytest.mark.anyio
async def test_the_queued_call_sends_before_the_freeing_call_returns() -> None:
    events: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        events.append(f"sent {request.url.path.rsplit('/', 1)[-1]}")
        await anyio.sleep(0.01)
        return httpx2.Response(200, json={"status": 200, "success": True, "data": {"id": 1}})

    client = AsyncSalla(
        "tok",
        transport=httpx2.MockTransport(handler),
        governor=GovernorRegistry(),
        max_in_flight=1,
    )

    async def call(name: str) -> None:
        await client.request("GET", f"/orders/{name}")
        events.append(f"done {name}")

    async with client, anyio.create_task_group() as tg:
        tg.start_soon(call, "a")
        await anyio.sleep(0.001)  # a holds the slot; b queues behind it
        tg.start_soon(call, "b")
    assert events.index("sent b") < events.index("done a")


@pytest.mark.anyio
async def test_after_an_error_the_freeing_call_goes_first() -> None:
    # A 401 refreshes the token before the queued call takes the slot (it then uses the new
    # token); a 404 is raised at once: no hand-over either way.
    events: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        events.append(f"sent {request.url.path.rsplit('/', 1)[-1]}")
        await anyio.sleep(0.01)
        return httpx2.Response(404, json={"status": 404, "success": False, "error": {}})

    client = AsyncSalla(
        "tok",
        transport=httpx2.MockTransport(handler),
        governor=GovernorRegistry(),
        max_in_flight=1,
    )

    async def call(name: str) -> None:
        try:
            await client.request("GET", f"/orders/{name}")
        except Exception:
            events.append(f"done {name}")

    async with client, anyio.create_task_group() as tg:
        tg.start_soon(call, "a")
        await anyio.sleep(0.001)
        tg.start_soon(call, "b")
    assert events.index("done a") < events.index("sent b")
