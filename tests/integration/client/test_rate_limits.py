"""The governor against the emulator's leaky buckets: no 429s, and the in-flight cap."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry
from sallakit.emulator import Emulator

from .conftest import API, EmulatorClock, new_emulator, requests_to, status_count

pytestmark = pytest.mark.anyio

BURST = 40


def _small_store(plan: str = "10") -> tuple[Emulator, str]:
    em = new_emulator(plan=plan)
    return em, em.issue_tokens()["access_token"]


async def test_sequential_burst_through_governor_sees_no_429(make_client: Any) -> None:
    em, token = _small_store("10")
    clock = EmulatorClock(em)
    client: AsyncSalla = make_client(
        token, transport=em.async_transport(), governor=GovernorRegistry(clock=clock)
    )
    for _ in range(BURST):
        info = await client.store.info()
        assert info.id == em.stores[0].id
    assert requests_to(em, "store.info") == BURST
    assert status_count(em, 200) == BURST
    assert status_count(em, 429) == 0
    assert em.counters()["rate_limited"].get(em.stores[0].id, 0) == 0
    # The governor waited (on the emulator's clock) for the bucket to leak.
    assert clock.slept >= BURST - 10 - 1


async def test_concurrent_burst_through_governor_sees_no_429(make_client: Any) -> None:
    em, token = _small_store("plus")
    clock = EmulatorClock(em)
    client: AsyncSalla = make_client(
        token, transport=em.async_transport(), governor=GovernorRegistry(clock=clock)
    )
    results: list[int] = []

    async def one() -> None:
        results.append((await client.store.info()).id)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(one)
    assert len(results) == 200
    assert status_count(em, 200) == 200
    assert status_count(em, 429) == 0


async def test_same_burst_without_governor_gets_429() -> None:
    """The control experiment: raw HTTP on the same store shape is throttled."""
    em, token = _small_store("10")
    statuses: list[int] = []
    limited: list[httpx2.Response] = []
    async with httpx2.AsyncClient(
        transport=em.async_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {token}"},
    ) as raw:
        for _ in range(BURST):
            response = await raw.get("/store/info")
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited.append(response)
    assert statuses.count(200) == 10
    assert statuses.count(429) == BURST - 10
    response = limited[0]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > em.clock.time()
    assert response.json()["error"]["code"] == "too_many_requests"
    assert status_count(em, 429) == BURST - 10


async def test_customers_budget_respected(make_client: Any) -> None:
    # A plan large enough that only the customers budget (500 per 10 minutes) binds.
    em = new_emulator(plan="100000", customers=3)
    clock = EmulatorClock(em)
    client: AsyncSalla = make_client(
        em.issue_tokens()["access_token"],
        transport=em.async_transport(),
        governor=GovernorRegistry(clock=clock),
        # The budget's window is 10 minutes; by default a wait over 120 s is raised instead.
        max_retry_after=600,
    )
    customer = next(iter(em.store().data.customers))
    started = clock.time()
    for _ in range(520):
        await client.customers.retrieve(customer)
    assert requests_to(em, "customers.retrieve") == 520
    assert status_count(em, 429) == 0
    # The last 20 had to wait for budget: the emulator's clock moved on, the real one did not.
    assert clock.time() - started >= 20


async def test_in_flight_cap_shared_by_clients_of_one_store(make_client: Any) -> None:
    em = new_emulator()
    # Each request takes a little (real) time inside the emulator so that they overlap.
    em.inject_fault("latency", endpoint="store.info", seconds=0.01)
    registry = GovernorRegistry(clock=EmulatorClock(em))
    sid = em.stores[0].id
    clients: list[AsyncSalla] = [
        make_client(
            em.issue_tokens()["access_token"],
            transport=em.async_transport(),
            governor=registry,
            store_id=sid,
        )
        for _ in range(3)
    ]
    done: list[int] = []

    async def one(client: AsyncSalla) -> None:
        done.append((await client.store.info()).id)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for n in range(50):
                tg.start_soon(one, clients[n % 3])
    assert done == [sid] * 50
    peak = em.counters()["peak_in_flight"][sid]
    assert 2 <= peak <= 4


async def test_in_flight_without_shared_governor_exceeds_cap(make_client: Any) -> None:
    """Control: three clients with separate registries each take 4 slots."""
    em = new_emulator()
    em.inject_fault("latency", endpoint="store.info", seconds=0.01)
    sid = em.stores[0].id
    clients: list[AsyncSalla] = [
        make_client(
            em.issue_tokens()["access_token"],
            transport=em.async_transport(),
            governor=GovernorRegistry(clock=EmulatorClock(em)),
            store_id=sid,
        )
        for _ in range(3)
    ]

    async def one(client: AsyncSalla) -> None:
        await client.store.info()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for n in range(50):
                tg.start_soon(one, clients[n % 3])
    assert em.counters()["peak_in_flight"][sid] > 4
