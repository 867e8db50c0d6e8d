"""The shared governor: a store's budget and 4-request cap held across "processes" (several
registries on one backend), leases that expire, and the pure state round trip."""

from __future__ import annotations

import pytest

from sallakit.api import MemoryGovernorBackend, SharedGovernorRegistry
from sallakit.api._core._ratelimit import RateLimitState
from sallakit.api._shared_governor import decide, dump_state, load_state
from tests.unit.client.conftest import FakeClock

API = "https://api.salla.dev/admin/v2"


def processes(backend: MemoryGovernorBackend, clock: FakeClock, n: int = 2, **kw: float) -> list:
    """The same store's governor in ``n`` registries: what ``n`` processes each hold."""
    return [SharedGovernorRegistry(backend, clock=clock, **kw).get(API, "7") for _ in range(n)]


def test_the_in_flight_cap_is_shared_by_every_process() -> None:
    clock = FakeClock()
    backend = MemoryGovernorBackend()
    first, second = processes(backend, clock)
    assert all(first.acquire("/products").granted for _ in range(3))
    assert second.acquire("/orders").granted  # the fourth slot, in the other process
    refused = second.acquire("/orders", deadline=clock.time())
    assert not refused.granted and refused.retry_after == 0.0
    assert second.in_flight == 1  # the refused call gave its local slot back
    first.release("/products", {})
    assert second.acquire("/orders", deadline=clock.time()).granted
    assert backend.in_flight(first.key, now=clock.time()) == 4


def test_what_one_process_learns_holds_back_the_other() -> None:
    clock = FakeClock()
    backend = MemoryGovernorBackend()
    first, second = processes(backend, clock)
    assert first.acquire("/products").granted
    reset = int(clock.time()) + 30
    first.release(
        "/products",
        {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    refused = second.acquire("/products", deadline=clock.time() + 5)
    assert not refused.granted and refused.retry_after > 25
    waits: list[tuple[str, float]] = []
    granted = second.acquire("/products", on_wait=lambda r, s: waits.append((r, s)))
    assert granted.granted and clock.time() >= reset
    assert waits and waits[0][0] == "rate_limit"


def test_a_dead_process_holds_its_slots_only_until_its_leases_expire() -> None:
    clock = FakeClock()
    backend = MemoryGovernorBackend()
    dead, alive = processes(backend, clock, lease_seconds=60)
    assert all(dead.acquire("/products").granted for _ in range(4))  # never released
    assert not alive.acquire("/products", deadline=clock.time() + 1).granted
    clock.now += 61
    assert alive.acquire("/products", deadline=clock.time()).granted


@pytest.mark.anyio
async def test_the_async_path_waits_for_a_slot_another_process_frees() -> None:
    import anyio

    clock = FakeClock()
    backend = MemoryGovernorBackend()
    first, second = processes(backend, clock)
    for _ in range(4):
        assert (await first.aacquire("/products")).granted

    async def free_one() -> None:
        await anyio.sleep(0.05)
        first.release("/products", {})

    async with anyio.create_task_group() as tg:
        tg.start_soon(free_one)
        assert (await second.aacquire("/orders")).granted


def test_the_state_survives_its_json_round_trip() -> None:
    state = RateLimitState()
    for _ in range(3):
        assert decide(state, 0, max_in_flight=4, customers=True, now=100.0).granted
    state.on_response(
        {"x-ratelimit-limit": "120", "x-ratelimit-remaining": "50", "x-ratelimit-reset": "130"},
        100.0,
        customers=False,
        status=200,
        retry_after=None,
        others_in_flight=0,
    )
    assert load_state(dump_state(state)) == state
    assert load_state(None) == RateLimitState()
