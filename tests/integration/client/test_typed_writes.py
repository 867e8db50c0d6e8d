"""Write calls and sub-resources answer typed models, against the emulator.

The emulator renders its answers from the published schemas (independently of the client's
models), so a model that does not fit them fails here.
"""

from __future__ import annotations

import logging

import pytest

from sallakit.api import AsyncSalla, ItemList
from sallakit.emulator import Emulator
from sallakit.models import (
    OrderHistory,
    OrderItem,
    OrderStatus,
    OrderTag,
    ProductOption,
    ProductOptionValue,
    ProductQuantity,
    ProductTag,
    ProductVariant,
    Shipment,
    Webhook,
)

pytestmark = pytest.mark.anyio

SMSA = 1927161457


async def test_variants_are_typed_for_reads_and_writes(salla: AsyncSalla) -> None:
    product = await salla.products.create(
        name="قميص", price=80, product_type="product", quantity=10, sku="SHIRT-1"
    )
    option = await salla.products.options.create(
        product.id,
        name="المقاس",
        type="radio",
        display_type="text",
        values=[{"name": "S"}, {"name": "M"}],
    )
    assert isinstance(option, ProductOption)
    assert [v.name for v in option.values] == ["S", "M"]

    variants = [v async for v in salla.products.variants.list(product.id)]
    assert variants and all(isinstance(v, ProductVariant) for v in variants)
    first = variants[0]
    assert first.id is not None

    retrieved = await salla.products.variants.retrieve(first.id)
    assert isinstance(retrieved, ProductVariant) and retrieved.id == first.id
    stocked = await salla.products.variants.update_quantity(first.id, quantity=7)
    assert isinstance(stocked, ProductVariant) and stocked.stock_quantity == 7

    value_id = option.values[0].id
    assert value_id is not None
    value = await salla.products.option_values.update(value_id, name="صغير")
    assert isinstance(value, ProductOptionValue) and value.name == "صغير"
    fetched = await salla.products.option_values.retrieve(value_id)
    assert isinstance(fetched, ProductOptionValue) and fetched.name == "صغير"

    quantities = [q async for q in salla.products.quantities.list()]
    assert quantities and all(isinstance(q, ProductQuantity) for q in quantities)
    assert any(q.sku_id == first.id for q in quantities)


async def test_tags_statuses_items_and_histories_are_typed(
    salla: AsyncSalla, emulator: Emulator
) -> None:
    tag = await salla.products.tags.create(tag_name="موسمي")
    # The emulator answers this endpoint with a generic example (its name is not ours).
    assert isinstance(tag, ProductTag) and tag.id is not None
    assert all(isinstance(t, ProductTag) for t in [t async for t in salla.products.tags.list()])

    status = await salla.orders.statuses.create(parent_id=566146469, name="جاهز", message="جاهز")
    assert isinstance(status, OrderStatus) and status.name == "جاهز"

    order = emulator.place_order()
    order_tag = await salla.orders.tags.create(order["id"], tag_name="VIP")
    assert isinstance(order_tag, OrderTag) and order_tag.name == "VIP"

    product = await anext(aiter(salla.products.list(status="sale")))
    items = await salla.orders.items.create(order_id=order["id"], identifier=product.id)
    assert isinstance(items, ItemList) and all(isinstance(i, OrderItem) for i in items)

    history = await salla.orders.histories.create(order["id"], note="اتصلنا بالعميل")
    assert isinstance(history, OrderHistory)


async def test_shipment_and_webhook_writes_are_typed(
    salla: AsyncSalla, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    order = emulator.place_order()
    created = await salla.shipments.create(
        courier_id=SMSA,
        shipment_type="shipment",
        payment_method="pre_paid",
        packages=[],
        order_id=order["id"],
    )
    assert isinstance(created, Shipment)
    with caplog.at_level(logging.WARNING, logger="sallakit.api"):
        cancelled = await salla.shipments.cancel(created.id)
        hook = await salla.webhooks.subscribe(event="order.created", url="https://h.example/a")
        moved = await salla.webhooks.update(hook.id, url="https://h.example/b")
    assert isinstance(cancelled, Shipment) and cancelled.id == created.id
    assert isinstance(hook, Webhook) and isinstance(moved, Webhook)
    assert moved.url == "https://h.example/b"
    # The emulator's answers fit the models whole: nothing was kept raw.
    assert not [r for r in caplog.records if getattr(r, "action", "") == "salla_answer_drift"]
