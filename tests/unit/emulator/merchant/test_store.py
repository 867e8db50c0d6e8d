"""Seeding, determinism and mutations of ``StoreData`` (no HTTP)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

from sallakit.emulator._merchant import STATUS_BY_SLUG, make_profile
from sallakit.emulator._merchant._render import order_amounts


def test_same_seed_same_store_and_different_seed_differs(build: Any, harness: Any) -> None:
    a, b, c = build(5), build(5), build(6)
    assert pickle.dumps(a) == pickle.dumps(b)
    assert list(a.products) != list(c.products)
    assert a.counts() == {
        "products": 60,
        "orders": 40,
        "customers": 25,
        "categories": 30,
        "brands": 12,
        "shipments": a.counts()["shipments"],
    }


def test_store_data_pickles_round_trip(build: Any, harness: Any) -> None:
    store = build()
    clone = pickle.loads(pickle.dumps(store))
    assert clone.counts() == store.counts()
    assert harness(clone).call("products.list").data == harness(store).call("products.list").data


def test_make_profile_is_realistic_and_deterministic() -> None:
    p1 = make_profile(42, plan="plus", seed=1, now=datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC))
    assert p1 == make_profile(
        42, plan="plus", seed=1, now=datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    )
    assert p1.plan == "plus" and p1.id == 42
    assert any("\u0600" <= ch <= "\u06ff" for ch in p1.name)  # Arabic name
    assert p1.name_en.isascii() and p1.domain.startswith("https://salla.sa/")
    assert "@" in p1.email and p1.owner_mobile.startswith("+966")


def test_seeded_orders_reference_real_products_and_amounts_add_up(build: Any, harness: Any) -> None:
    store = build()
    for order in store.orders.values():
        assert order.customer_id in store.customers
        assert all(it.product_id in store.products for it in order.items)
        sub_total, shipping, tax, total = order_amounts(order)
        assert sub_total + shipping + tax == total
        assert (
            tax == (sub_total + shipping) * 15 // 100
            or abs(tax * 100 - (sub_total + shipping) * 15) <= 50
        )


def test_place_order_lowers_stock_and_emits_created(h: Any) -> None:
    product = next(p for p in h.store.products.values() if p.status == "sale" and not p.variant_qty)
    customer = next(iter(h.store.customers))
    before = product.quantity
    order = h.store.place_order(
        h.ctx(), customer_id=customer, items=[{"product_id": product.id, "quantity": 1}]
    )
    assert product.quantity == before - 1
    assert order["customer"]["id"] == customer
    assert order["status"]["slug"] == "under_review"
    assert "order.created" in h.event_names()
    created = dict(h.events)["order.created"]
    assert created["id"] == order["id"] and created["amounts"]["total"]["amount"] > 0


def test_stock_dropping_under_notify_quantity_emits_low(h: Any) -> None:
    product = next(p for p in h.store.products.values() if not p.variant_qty and not p.unlimited)
    h.store.set_stock(h.ctx(), product.id, 50)
    h.events.clear()
    h.store.set_stock(h.ctx(), product.id, 2)
    assert "product.quantity.low" in h.event_names()
    h.store.set_stock(h.ctx(), product.id, 0)
    assert h.event_names().count("product.quantity.low") == 1  # only when crossing the line
    assert "product.status.updated" in h.event_names()
    assert h.call("products.retrieve", {"product": product.id}).data["status"] == "out"


def test_variant_stock_by_sku_id(h: Any) -> None:
    product = next(p for p in h.store.products.values() if p.variant_qty)
    sku = h.call("products.retrieve", {"product": product.id}).data["skus"][0]
    h.store.set_stock(h.ctx(), product.id, 7, sku["id"])
    skus = h.call("products.retrieve", {"product": product.id}).data["skus"]
    assert skus[0]["stock_quantity"] == 7
    assert product.quantity == sum(s["stock_quantity"] for s in skus)
    assert skus[0]["related_option_values"][0] in [
        v["id"]
        for v in h.call("products.retrieve", {"product": product.id}).data["options"][0]["values"]
    ]


def test_change_order_status_writes_history_and_events(h: Any) -> None:
    order_id = next(iter(h.store.orders))
    h.tick(3600)
    data = h.store.change_order_status(h.ctx(), order_id, "canceled")
    assert data["status"]["id"] == STATUS_BY_SLUG["canceled"].id == 525144736
    assert h.event_names() == ["order.status.updated", "order.updated", "order.cancelled"]
    histories = h.call("orders.histories.list", {"order_id": order_id}).data
    assert histories[0]["customized"]["slug"] == "canceled"
