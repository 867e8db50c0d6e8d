"""The per-store governor: honest rate-limit headers mean no 429; at most N requests in flight."""

from __future__ import annotations

import threading
from typing import Any

import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry


class FixedWindowServer:
    """Enforces the limit it announces: ``limit`` requests per ``window`` seconds, else 429."""

    def __init__(self, clock: Any, limit: int = 10, window: float = 60.0) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.window_start: float | None = None
        self.used = 0
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            now = self.clock.time()
            if self.window_start is None or now >= self.window_start + self.window:
                self.window_start, self.used = now, 0
            reset = self.window_start + self.window
            status = 429 if self.used >= self.limit else 200
            if status == 200:
                self.used += 1
            self.statuses.append(status)
            headers = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.limit - self.used),
                "X-RateLimit-Reset": str(int(reset)),
            }
        body = {"status": status, "success": status == 200, "data": {"ok": True}}
        return httpx2.Response(status, json=body, headers=headers)


@pytest.mark.anyio
async def test_sequential_calls_never_see_a_429(clock: Any, governors: GovernorRegistry) -> None:
    server = FixedWindowServer(clock)
    client = AsyncSalla(
        "tok", transport=httpx2.MockTransport(server), governor=governors, max_retries=0
    )
    async with client:
        for _ in range(35):
            await client.request("GET", "/products")
    assert server.statuses == [200] * 35
    # 35 calls at 10 per minute need at least three window resets.
    assert clock.time() - 1_700_000_000.0 >= 180


@pytest.mark.anyio
async def test_concurrent_clients_of_one_store_never_see_a_429(
    clock: Any, governors: GovernorRegistry, arun_all: Any
) -> None:
    server = FixedWindowServer(clock, limit=12)
    clients = [
        AsyncSalla(
            f"tok{i}",
            transport=httpx2.MockTransport(server),
            governor=governors,
            store_id=99,
            max_retries=0,
        )
        for i in range(3)
    ]
    calls = [
        (lambda c=client: c.request("GET", "/orders")) for client in clients for _ in range(15)
    ]
    await arun_all(calls)
    for client in clients:
        await client.aclose()
    assert len(server.statuses) == 45
    assert set(server.statuses) == {200}


@pytest.mark.anyio
async def test_in_flight_cap_under_50_concurrent_calls(real_clock: Any, arun_all: Any) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        await real_clock.asleep(0.01)
        with lock:
            state["now"] -= 1
        return httpx2.Response(200, json={"status": 200, "success": True, "data": {}})

    registry = GovernorRegistry()  # real clock; isolated from the process-wide registry
    # Two client objects of the same store share one cap.
    clients = [
        AsyncSalla(
            "tok",
            transport=httpx2.MockTransport(handler),
            governor=registry,
            store_id=7,
            max_in_flight=4,
        )
        for _ in range(2)
    ]
    calls = [(lambda c=clients[i % 2]: c.request("GET", "/products")) for i in range(50)]
    results = await arun_all(calls)
    for client in clients:
        await client.aclose()
    assert len(results) == 50
    assert state["max"] == 4


def test_store_key_defaults_to_a_token_hash(governors: GovernorRegistry, token: str) -> None:
    a = AsyncSalla(token, governor=governors)
    b = AsyncSalla(token, governor=governors)
    c = AsyncSalla("another-token", governor=governors)
    ga, gb, gc = a._governor_for(token), b._governor_for(token), c._governor_for("another-token")
    assert ga is gb
    assert gc is not ga
    assert token not in ga.store
