"""Write calls answer typed models, tolerant of an echo that drifted, and never resent."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from sallakit import APIResponseError
from sallakit.api import AsyncSalla, GovernorRegistry, ItemList
from sallakit.models import OrderItem, Product, ProductVariant

PRODUCT = {
    "id": 1672932878,
    "name": "T-Shirt",
    "price": {"amount": 100, "currency": "SAR"},
    "quantity": "50",
    "sale_end": {},
    "cost_price": "35",
}


def make(handler: Any, governors: GovernorRegistry) -> AsyncSalla:
    return AsyncSalla(
        "tok-123", transport=httpx2.MockTransport(handler), governor=governors, max_retries=3
    )


def answering(data: Any, status: int = 200, calls: list[httpx2.Request] | None = None) -> Any:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if calls is not None:
            calls.append(request)
        return httpx2.Response(status, json={"status": status, "success": True, "data": data})

    return handler


@pytest.mark.anyio
async def test_an_update_answers_the_product(governors: GovernorRegistry) -> None:
    async with make(answering(PRODUCT), governors) as client:
        product = await client.products.update(1672932878, price=100)
    assert isinstance(product, Product)
    assert product.id == 1672932878 and product.quantity == 50
    assert product.price is not None and product.price.amount == Decimal(100)
    assert product.sale_end is None


@pytest.mark.anyio
async def test_a_drifted_field_is_kept_raw_and_reported_not_raised(
    governors: GovernorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[httpx2.Request] = []
    drifted = {**PRODUCT, "price": "one hundred", "skus": [{"id": "x-1"}]}
    with caplog.at_level(logging.WARNING, logger="sallakit.api"):
        async with make(answering(drifted, 201, calls), governors) as client:
            product = await client.products.create(
                name="T-Shirt", price=100, product_type="product"
            )
    assert len(calls) == 1  # a write that was carried out is never sent again
    assert isinstance(product, Product) and product.id == 1672932878
    assert product.price is None and product.skus == []
    assert product.model_extra is not None
    assert product.model_extra["price"] == "one hundred"
    assert product.model_extra["skus"] == [{"id": "x-1"}]
    assert product.quantity == 50  # the rest of the answer is typed as usual
    (record,) = [r for r in caplog.records if getattr(r, "action", "") == "salla_answer_drift"]
    assert record.fields == ["price", "skus"]  # type: ignore[attr-defined]
    assert "one hundred" not in record.getMessage()  # names, never values


@pytest.mark.anyio
@pytest.mark.parametrize("data", [{"message": "done"}, ["a"], "ok", None])
async def test_an_answer_without_the_object_says_the_write_was_carried_out(
    governors: GovernorRegistry, data: Any
) -> None:
    calls: list[httpx2.Request] = []
    async with make(answering(data, 201, calls), governors) as client:
        with pytest.raises(APIResponseError) as caught:
            await client.shipments.create(
                courier_id=1, shipment_type="shipment", payment_method="cod", packages=[]
            )
    assert len(calls) == 1
    text = str(caught.value)
    assert "carried out POST" in text and "Do not send it again" in text
    assert "does not fit Shipment" in text
    assert caught.value.status_code == 201


@pytest.mark.anyio
async def test_a_list_write_answers_typed_items(governors: GovernorRegistry) -> None:
    item = {"id": 365435777, "name": "SSD", "quantity": "1", "amounts": {"total": 150}}
    async with make(answering([item]), governors) as client:
        items = await client.orders.items.create(order_id=1, identifier=5)
    assert isinstance(items, ItemList)
    assert [(i.id, i.quantity) for i in items] == [(365435777, 1)]
    assert all(isinstance(i, OrderItem) for i in items)
    # One object where the documents say a list is read as that list.
    async with make(answering(item), governors) as client:
        one = await client.orders.items.update(365435777, quantity=2)
    assert [i.id for i in one] == [365435777]


@pytest.mark.anyio
async def test_variants_list_is_typed(governors: GovernorRegistry) -> None:
    page = {
        "status": 200,
        "success": True,
        "data": [{"id": 652911549, "stock_quantity": "3", "price": {"amount": 13.5}}],
        "pagination": {"count": 1, "total": 1, "perPage": 60, "currentPage": 1, "totalPages": 1},
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=page)

    async with make(handler, governors) as client:
        variants = [v async for v in client.products.variants.list(1)]
    assert [type(v) for v in variants] == [ProductVariant]
    assert variants[0].stock_quantity == 3


@pytest.mark.anyio
async def test_raw_access_stays_with_request(governors: GovernorRegistry) -> None:
    async with make(answering(PRODUCT), governors) as client:
        response = await client.request("PUT", "/products/1672932878", json={"price": 100})
    assert response.data == PRODUCT
    assert response.raw["success"] is True
