"""Fast-path details: a freed slot's queued call sends first; TLS set up only where used.

A freed slot's queued call sends before the call that freed it parses its answer.

With one slot, call A's answer frees the slot that queued call B waits for: B's request must
leave before A's caller gets its result (A parses while B's request is on the wire), not after.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

import anyio
import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry, Salla


async def _run(status: int) -> list[str]:
    """Call A holds the only slot until call B is queued behind it; returns what happened."""
    events: list[str] = []
    answer_a = anyio.Event()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        events.append(f"sent {name}")
        if name == "a":
            await answer_a.wait()
        body = {"status": status, "success": status < 400, "data": {"id": 1}}
        return httpx2.Response(status, json=body)

    client = AsyncSalla(
        "tok",
        transport=httpx2.MockTransport(handler),
        governor=GovernorRegistry(),
        max_in_flight=1,
    )

    async def call(name: str) -> None:
        with contextlib.suppress(Exception):
            await client.request("GET", f"/orders/{name}")
        events.append(f"done {name}")

    async with client, anyio.create_task_group() as tg:
        tg.start_soon(call, "a")
        while "sent a" not in events:
            await anyio.sleep(0)
        tg.start_soon(call, "b")
        governor = client._governor
        assert governor is not None
        while governor.queued == 0:
            await anyio.sleep(0)
        answer_a.set()
    return events


@pytest.mark.anyio
async def test_the_queued_call_sends_before_the_freeing_call_returns() -> None:
    events = await _run(200)
    assert events.index("sent b") < events.index("done a")


@pytest.mark.anyio
async def test_after_an_error_the_freeing_call_goes_first() -> None:
    # A 401 refreshes the token before the queued call takes the slot (which then uses the new
    # token); any error is raised at once: no hand-over before it.
    events = await _run(404)
    assert events.index("done a") < events.index("sent b")


@pytest.mark.parametrize("client_class", [AsyncSalla, Salla])
def test_https_is_verified_and_plain_http_loads_no_certificates(client_class: Any) -> None:
    secure = client_class("tok", base_url="https://api.salla.dev/admin/v2")
    plain = client_class("tok", base_url="http://127.0.0.1:8765/admin/v2")
    secure_ctx = secure._http._transport._pool._ssl_context
    assert secure_ctx.verify_mode == ssl.CERT_REQUIRED and secure_ctx.check_hostname
    # No TLS is ever spoken to an http:// base (no redirects are followed).
    assert plain._http._transport._pool._ssl_context.verify_mode == ssl.CERT_NONE
