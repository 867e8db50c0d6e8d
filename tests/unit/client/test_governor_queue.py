"""The governor's queue: notified, first come first served, bounded by the call's deadline."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import httpx2
import pytest

from sallakit import RateLimitError
from sallakit.api import AsyncSalla, GovernorRegistry, RateLimitWait, Salla, StoreGovernor

from .conftest import FakeClock


class WindowServer:
    """``limit`` requests per 60 s window, announced honestly; 429 beyond it."""

    def __init__(self, clock: Any, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self.window_start: float | None = None
        self.used = 0
        self.statuses: list[int] = []
        self.order: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            now = self.clock.time()
            if self.window_start is None or now >= self.window_start + 60:
                self.window_start, self.used = now, 0
            status = 429 if self.used >= self.limit else 200
            self.used += status == 200
            self.statuses.append(status)
            self.order.append(request.url.params.get("n", ""))
            headers = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.limit - self.used),
                "X-RateLimit-Reset": str(int(self.window_start + 60)),
            }
        return httpx2.Response(status, json={"status": status, "data": {}}, headers=headers)


@pytest.mark.anyio
async def test_120_calls_on_a_30_per_minute_store_all_end_within_max_retry_after() -> None:
    clock = FakeClock()
    server = WindowServer(clock, limit=30)
    start = clock.time()
    outcomes: list[tuple[int, str, float]] = []
    async with AsyncSalla(
        "tok",
        transport=httpx2.MockTransport(server),
        governor=GovernorRegistry(clock=clock),
        max_retry_after=10,
    ) as client:

        async def call(n: int) -> None:
            try:
                await client.request("GET", "/products", params={"n": n})
                outcomes.append((n, "ok", clock.time()))
            except RateLimitError as exc:
                assert exc.retry_after is not None and exc.retry_after > 0
                outcomes.append((n, "refused", clock.time()))

        async with asyncio.TaskGroup() as group:
            for n in range(120):
                group.create_task(call(n))
                await asyncio.sleep(0)  # start them in order
    assert len(outcomes) == 120
    assert 429 not in server.statuses
    assert max(t for _, _, t in outcomes) - start <= 10  # nobody waited past its bound
    served = sorted(n for n, outcome, _ in outcomes if outcome == "ok")
    assert served == list(range(len(served)))  # first come, first served
    assert 20 <= len(served) <= 30


@pytest.mark.anyio
async def test_queued_calls_are_served_in_arrival_order() -> None:
    clock = FakeClock()
    governor = StoreGovernor(max_in_flight=1, clock=clock)
    sent: list[int] = []

    async def slow(request: httpx2.Request) -> httpx2.Response:
        sent.append(int(request.url.params["n"]))
        await asyncio.sleep(0.001)
        return httpx2.Response(200, json={"data": {}})

    client = AsyncSalla("tok", transport=httpx2.MockTransport(slow), governor=governor)
    async with client, asyncio.TaskGroup() as group:
        for n in range(50):
            group.create_task(client.request("GET", "/products", params={"n": n}))
            await asyncio.sleep(0)
    assert sent == list(range(50))
    assert clock.sleeps == []  # woken, never polled
    assert governor.in_flight == 0 and governor.queued == 0


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_the_queue_and_holds_no_slot() -> None:
    governor = StoreGovernor(max_in_flight=1, clock=FakeClock())
    assert governor.try_acquire("/products").granted
    waiting = asyncio.create_task(governor.aacquire("/products"))
    await asyncio.sleep(0.01)
    assert governor.queued == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert governor.queued == 0
    governor.release("/products", None)
    assert governor.in_flight == 0
    assert governor.try_acquire("/products").granted


def test_threads_are_woken_in_order_when_slots_free() -> None:
    governor = StoreGovernor(max_in_flight=1, clock=FakeClock())
    assert governor.try_acquire("/orders").granted
    admitted: list[int] = []
    threads = []
    for n in range(5):
        thread = threading.Thread(
            target=lambda n=n: (governor.acquire("/orders"), admitted.append(n))
        )
        thread.start()
        threads.append(thread)
        while governor.queued < n + 1:  # queue them in a known order
            time.sleep(0.001)
    for _ in range(5):
        governor.release("/orders", None)
        deadline = time.monotonic() + 5
        while len(admitted) < _ + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    for thread in threads:
        thread.join(5)
    assert admitted == [0, 1, 2, 3, 4]


def test_a_slot_wait_past_the_deadline_is_refused_without_holding_anything() -> None:
    clock = FakeClock()
    governor = StoreGovernor(max_in_flight=1, clock=clock)
    assert governor.try_acquire("/orders").granted
    result = governor.acquire("/orders", deadline=clock.time())  # already due
    assert not result.granted and result.retry_after == 0
    assert governor.queued == 0 and governor.in_flight == 1


def test_long_waits_are_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    server = WindowServer(clock, limit=3)
    waits: list[RateLimitWait] = []
    with (
        caplog.at_level(logging.INFO, logger="sallakit.api"),
        Salla(
            "tok",
            transport=httpx2.MockTransport(server),
            governor=GovernorRegistry(clock=clock),
            store_id=77,
            on_wait=waits.append,
        ) as client,
    ):
        for _ in range(5):
            client.request("GET", "/orders")
    assert 429 not in server.statuses
    assert waits and waits[0].reason == "rate_limit" and waits[0].seconds >= 1
    assert waits[0].store == "77" and waits[0].path == "/orders"
    logged = [r for r in caplog.records if getattr(r, "action", "") == "salla_wait"]
    assert logged and logged[0].store == "77" and logged[0].reason == "rate_limit"
