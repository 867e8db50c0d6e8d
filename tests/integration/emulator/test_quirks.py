"""``--quirks`` reproduces the documented drift only: amounts stay numbers, named fields drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import API

pytestmark = pytest.mark.anyio


def _money_amounts(value: Any) -> Iterator[Any]:
    """Every ``amount`` of every money object (``{"amount", "currency"}``) in a document."""
    if isinstance(value, dict):
        if "amount" in value and "currency" in value:
            yield value["amount"]
        for member in value.values():
            yield from _money_amounts(member)
    elif isinstance(value, list):
        for item in value:
            yield from _money_amounts(item)


async def _documents(em: Any) -> list[Any]:
    import httpx2

    token = em.issue_tokens()["access_token"]
    async with httpx2.AsyncClient(
        transport=em.async_transport(), base_url=API, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        products = (await client.get("/products", params={"per_page": 60})).json()["data"]
        detail = (await client.get(f"/products/{products[0]['id']}")).json()["data"]
        orders = (await client.get("/orders")).json()["data"]
        order = (await client.get(f"/orders/{orders[0]['id']}")).json()["data"]
        items = (await client.get("/orders/items", params={"order_id": orders[0]["id"]})).json()
        shipments = (await client.get("/shipments")).json()["data"]
    return [products, detail, orders, order, items["data"], shipments]


@pytest.mark.parametrize("quirks", [False, True])
async def test_money_amounts_are_numbers_in_both_modes(make_emulator, quirks):
    em = make_emulator(products=30, orders=10, customers=10, quirks=quirks)
    amounts = [a for doc in await _documents(em) for a in _money_amounts(doc)]
    assert len(amounts) > 100
    assert all(isinstance(a, int | float) and not isinstance(a, bool) for a in amounts)


async def test_quirks_turn_only_the_documented_fields_into_strings(make_emulator):
    plain = await _documents(make_emulator(products=30, orders=5, customers=5))
    drift = await _documents(make_emulator(products=30, orders=5, customers=5, quirks=True))
    listed, quirky = plain[0][0], drift[0][0]
    # Salla's product list example: "quantity": "50", "cost_price": "35" ("notify_quantity": "10"
    # is typed string by the published schema itself, so it is one in both modes).
    assert isinstance(quirky["notify_quantity"], str)
    for name in ("quantity", "cost_price"):
        assert not isinstance(listed[name], str) and isinstance(quirky[name], str), name
        assert float(quirky[name]) == float(listed[name])
    # The same values otherwise: quirks change types, never amounts.
    assert quirky["price"] == listed["price"] and quirky["tax"] == listed["tax"]
    # ``tax.percent`` is a string in every published order example, quirks or not.
    assert plain[3]["amounts"]["tax"]["percent"] == drift[3]["amounts"]["tax"]["percent"] == "15.00"
