"""The sallakit client against the emulator shell (two independent implementations meet)."""

from __future__ import annotations

import pytest

from sallakit._exceptions import InvalidTokenError, MissingScopeError

api_mod = pytest.importorskip("sallakit.api")


@pytest.mark.anyio
async def test_client_paginates_every_product(emulator):
    tokens = emulator.issue_tokens()
    async with api_mod.AsyncSalla(
        tokens["access_token"], transport=emulator.async_transport()
    ) as salla:
        items = [p async for p in salla.products.list(per_page=10)]
    assert len(items) == 25
    store_id = emulator.stores[0].id
    assert emulator.counters()["requests"][store_id]["by_endpoint"]["products.list"] == 3


@pytest.mark.anyio
async def test_client_maps_scope_and_token_errors(emulator):
    tokens = emulator.issue_tokens(scopes=["orders.read"])
    async with api_mod.AsyncSalla(
        tokens["access_token"], transport=emulator.async_transport(), max_retries=0
    ) as salla:
        with pytest.raises(MissingScopeError) as info:
            await salla.products.create(name="x", price=1, product_type="product")
        assert info.value.scopes == ["products.read_write"]
        emulator.revoke_tokens()
        with pytest.raises(InvalidTokenError):
            async for _ in salla.orders.list():
                pass


def test_sync_client_through_the_sync_transport(emulator):
    tokens = emulator.issue_tokens()
    with api_mod.Salla(tokens["access_token"], transport=emulator.sync_transport()) as salla:
        assert sum(1 for _ in salla.products.list(per_page=10)) == 25
