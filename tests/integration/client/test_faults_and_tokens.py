"""Injected faults and token lifecycles, through AsyncSalla against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from sallakit._exceptions import (
    APIConnectionError,
    APIResponseError,
    InternalServerError,
    InvalidTokenError,
    RateLimitError,
    ReinstallRequiredError,
)
from sallakit.api import AsyncSalla, AsyncTokenProvider
from sallakit.emulator import Emulator

from .conftest import EmulatorClock, EmulatorTokenProvider, requests_to, status_count

pytestmark = pytest.mark.anyio

FIFTEEN_DAYS = 15 * 24 * 3600


def _order_body(emulator: Emulator) -> dict[str, Any]:
    data = emulator.store().data
    product = next(p for p in data.products.values() if p.status == "sale")
    return {
        "customer": {"id": next(iter(data.customers))},
        "products": [{"identifier": product.id, "identifier_type": "id", "quantity": 1}],
        "payment": {"method": "cod"},
    }


# ------------------------------------------------------------------------------- faults


async def test_get_retried_through_5xx(salla: AsyncSalla, emulator: Emulator) -> None:
    emulator.inject_fault("error", endpoint="store.info", status=503, remaining=2)
    info = await salla.store.info()
    assert info.id == emulator.stores[0].id
    assert requests_to(emulator, "store.info") == 3
    assert status_count(emulator, 503) == 2


async def test_get_5xx_rate_fault_all_succeed(salla: AsyncSalla, emulator: Emulator) -> None:
    emulator.inject_fault("error", endpoint="products.retrieve", status=500, rate=0.3)
    pid = next(iter(emulator.store().data.products))
    for _ in range(20):
        assert (await salla.products.retrieve(pid)).id == pid
    failures = status_count(emulator, 500)
    assert failures > 0
    assert requests_to(emulator, "products.retrieve") == 20 + failures


async def test_post_not_replayed_after_500(salla: AsyncSalla, emulator: Emulator) -> None:
    orders_before = len(emulator.store().data.orders)
    emulator.inject_fault("error", endpoint="orders.create", status=500, remaining=1)
    with pytest.raises(InternalServerError):
        await salla.orders.create(**_order_body(emulator))
    assert requests_to(emulator, "orders.create") == 1
    assert len(emulator.store().data.orders) == orders_before

    created = await salla.orders.create(**_order_body(emulator))
    assert requests_to(emulator, "orders.create") == 2
    assert len(emulator.store().data.orders) == orders_before + 1
    assert created.id in emulator.store().data.orders


async def test_post_retried_after_429_creates_exactly_one(
    salla: AsyncSalla, emulator: Emulator
) -> None:
    # A 429 is refused before any processing, so even a POST may be sent again.
    orders_before = len(emulator.store().data.orders)
    emulator.inject_fault("rate_limit", endpoint="orders.create", retry_after=2, remaining=1)
    await salla.orders.create(**_order_body(emulator))
    assert requests_to(emulator, "orders.create") == 2
    assert len(emulator.store().data.orders) == orders_before + 1


async def test_connection_reset_get(make_client: Any, emulator: Emulator) -> None:
    client: AsyncSalla = make_client(max_retries=2)
    emulator.inject_fault("reset", endpoint="store.info")
    with pytest.raises(APIConnectionError) as info:
        await client.store.info()
    assert info.value.method == "GET"
    assert requests_to(emulator, "store.info") == 3

    emulator.clear_faults()
    emulator.inject_fault("reset", endpoint="store.info", remaining=1)
    assert (await client.store.info()).id == emulator.stores[0].id
    assert requests_to(emulator, "store.info") == 5


async def test_a_truncated_page_is_asked_again(salla: AsyncSalla, emulator: Emulator) -> None:
    expected = [p.id async for p in salla.products.list()]
    before = requests_to(emulator, "products.list")
    # The next answer is a 200 whose JSON is cut short: a broken answer, retried like a 5xx.
    emulator.inject_fault("malformed", endpoint="products.list", remaining=1)
    ids = [p.id async for p in salla.products.list()]
    assert ids == expected  # nothing lost, nothing twice
    assert requests_to(emulator, "products.list") - before == before + 1


async def test_a_truncated_answer_to_a_write_is_not_replayed(
    salla: AsyncSalla, emulator: Emulator
) -> None:
    emulator.inject_fault("malformed", endpoint="products.create", remaining=1)
    with pytest.raises(APIResponseError) as info:
        await salla.request("POST", "/products", json={"name": "Mug", "price": 10})
    assert info.value.status_code in (200, 201)
    assert requests_to(emulator, "products.create") == 1


async def test_429_storm_raises_rate_limit_error(
    make_client: Any, emulator: Emulator, clock: EmulatorClock
) -> None:
    client: AsyncSalla = make_client(max_retries=3)
    emulator.inject_fault("rate_limit", endpoint="store.info", retry_after=7)
    with pytest.raises(RateLimitError) as info:
        await client.store.info()
    assert info.value.retry_after == 7
    assert info.value.status_code == 429
    assert requests_to(emulator, "store.info") == 4
    # Every wait honoured Retry-After on the emulator's clock, not the real one.
    assert clock.slept >= 3 * 7


# ------------------------------------------------------------------------------- tokens


async def test_expired_access_token(salla: AsyncSalla, emulator: Emulator) -> None:
    assert (await salla.store.info()).id == emulator.stores[0].id
    emulator.advance(FIFTEEN_DAYS)
    with pytest.raises(InvalidTokenError) as info:
        await salla.store.info()
    assert info.value.status_code == 401
    assert info.value.message == "The access token is invalid"


async def test_provider_refreshes_once_and_replays(
    make_client: Any, emulator: Emulator, tokens: dict[str, Any]
) -> None:
    provider = EmulatorTokenProvider(emulator, tokens["access_token"], tokens["refresh_token"])
    assert isinstance(provider, AsyncTokenProvider)
    client: AsyncSalla = make_client(token_provider=provider)
    emulator.advance(FIFTEEN_DAYS)

    info = await client.store.info()
    assert info.id == emulator.stores[0].id
    assert provider.refreshes == 1
    assert provider.rejected == [tokens["access_token"]]
    # The emulator counts authenticated requests only: the 401 is not in it, the replay is.
    assert requests_to(emulator, "store.info") == 1
    sid = emulator.stores[0].id
    assert emulator.counters()["token_refreshes"][sid] == 1

    # The new token keeps working: no further refresh.
    await client.store.info()
    assert provider.refreshes == 1


async def test_refresh_token_reuse_requires_reinstall(
    make_client: Any, emulator: Emulator, tokens: dict[str, Any]
) -> None:
    first = EmulatorTokenProvider(emulator, tokens["access_token"], tokens["refresh_token"])
    # A second worker holding a copy of the same (soon stale) tokens: no shared lock.
    second = EmulatorTokenProvider(emulator, tokens["access_token"], tokens["refresh_token"])
    emulator.advance(FIFTEEN_DAYS)

    one: AsyncSalla = make_client(token_provider=first)
    await one.store.info()
    assert first.refreshes == 1
    fresh = first.access_token

    two: AsyncSalla = make_client(token_provider=second)
    with pytest.raises(ReinstallRequiredError) as info:
        await two.store.info()
    assert info.value.description
    sid = emulator.stores[0].id
    assert emulator.counters()["invalid_grant"][sid] == 1
    # The client fills in what it knows about the call that revealed the revoked grant.
    assert info.value.store_id == sid
    assert info.value.status_code == 401
    assert info.value.method == "GET"
    assert info.value.url.endswith("/store/info")

    # Reuse revoked the whole grant: the tokens the first worker just got are dead too.
    for token in (fresh, tokens["access_token"]):
        stale: AsyncSalla = make_client(token)
        with pytest.raises(InvalidTokenError):
            await stale.store.info()
    # And the first worker's next refresh is refused as well.
    with pytest.raises(ReinstallRequiredError):
        await one.store.info()
