"""Fixtures of the client tests, shared by the async sources and their generated sync twins."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest

from sallakit.api import Clock, GovernorRegistry, SystemClock

SECRET_TOKEN = "ory_at_SECRET-token-never-logged"


class FakeClock(Clock):
    """Virtual time: sleeping advances it instantly and records the delay."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await anyio.sleep(0)  # let other tasks run, as a real sleep would


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def governors(clock: FakeClock) -> GovernorRegistry:
    """An isolated governor registry on the fake clock (no state shared between tests)."""
    return GovernorRegistry(clock=clock)


@pytest.fixture
def real_clock() -> SystemClock:
    return SystemClock()


@pytest.fixture
def token() -> str:
    return SECRET_TOKEN


@pytest.fixture
def arun_all() -> Callable[[Sequence[Callable[[], Awaitable[Any]]]], Awaitable[list[Any]]]:
    """Run coroutine functions concurrently in one task group; return their results."""

    async def run(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
        results: list[Any] = [None] * len(calls)

        async def one(index: int) -> None:
            results[index] = await calls[index]()

        async with anyio.create_task_group() as tg:
            for index in range(len(calls)):
                tg.start_soon(one, index)
        return results

    return run


@pytest.fixture
def run_all() -> Callable[[Sequence[Callable[[], Any]]], list[Any]]:
    """Run callables concurrently in threads; return their results."""

    def run(calls: Sequence[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(call) for call in calls]
            return [f.result() for f in futures]

    return run
