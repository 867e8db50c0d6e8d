"""Stateful options/variants/quantities, order items, custom statuses, order tags, filters."""

from __future__ import annotations

from typing import Any

from sallakit.emulator._merchant import STATUS_BY_SLUG
from sallakit.emulator._merchant._tables import CITIES


def _variant_product(h: Any) -> Any:
    return next(p for p in h.store.products.values() if p.variant_qty and len(p.variant_qty) >= 2)


def _details(h: Any, pid: int) -> Any:
    return h.call("products.retrieve", {"product": pid}).data


def test_option_value_create_and_delete_change_that_products_variants(h: Any) -> None:
    p = _variant_product(h)
    before = _details(h, p.id)
    option = before["options"][0]
    assert h.call("products.options.retrieve", {"option": option["id"]}).data["id"] == option["id"]
    created = h.call(
        "products.option_values.create",
        {"option": option["id"]},
        body={"name": "XXL", "price": 10, "quantity": 4},
    ).data
    new_value = next(v for v in created["values"] if v["name"] == "XXL")
    after = _details(h, p.id)
    assert len(after["skus"]) == len(before["skus"]) + 1
    new_sku = next(s for s in after["skus"] if new_value["id"] in s["related_option_values"])
    assert new_sku["stock_quantity"] == 4
    assert new_sku["regular_price"]["amount"] == before["regular_price"]["amount"] + 10
    assert after["quantity"] == before["quantity"] + 4
    value = h.call("products.option_values.retrieve", {"value": new_value["id"]}).data
    assert value["name"] == "XXL" and value["option_id"] == option["id"]
    h.call("products.option_values.delete", {"value": new_value["id"]})
    assert len(_details(h, p.id)["skus"]) == len(before["skus"])
    assert h.error("products.option_values.retrieve", {"value": new_value["id"]}).status == 404
    assert h.error("products.variants.retrieve", {"variant": new_sku["id"]}).status == 404
    assert h.error("products.options.retrieve", {"option": 123}).status == 404


def test_second_option_multiplies_variants_and_delete_merges_stock(h: Any) -> None:
    p = _variant_product(h)
    before = _details(h, p.id)
    n = len(before["skus"])
    created = h.call(
        "products.options.create",
        {"product": p.id},
        body={"name": "اللون", "type": "radio", "values": [{"name": "أحمر"}, {"name": "أزرق"}]},
    ).data
    after = _details(h, p.id)
    assert len(after["options"]) == 2 and len(after["skus"]) == 2 * n
    assert after["quantity"] == before["quantity"]  # stock follows the first new value
    assert all(len(s["related_option_values"]) == 2 for s in after["skus"])
    renamed = h.call("products.options.update", {"option": created["id"]}, body={"name": "Colour"})
    assert renamed.data["name"] == "Colour"
    h.call("products.options.delete", {"option": created["id"]})
    merged = _details(h, p.id)
    assert len(merged["skus"]) == n and merged["quantity"] == before["quantity"]
    assert h.error("products.options.retrieve", {"option": created["id"]}).status == 404


def test_new_product_with_options_gets_variants(h: Any) -> None:
    body = {
        "name": "قميص",
        "price": 80,
        "options": [
            {"name": "المقاس", "values": [{"name": "S", "quantity": 3}, {"name": "M"}]},
            {"name": "اللون", "values": [{"name": "أسود"}]},
        ],
    }
    data = h.call("products.create", body=body).data
    assert len(data["options"]) == 2 and len(data["skus"]) == 2
    assert sorted(s["stock_quantity"] for s in data["skus"]) == [0, 3]
    assert data["quantity"] == 3
    sku = data["skus"][0]
    assert h.call("products.variants.retrieve", {"variant": sku["id"]}).data["sku"] == sku["sku"]
    listed = h.call("products.variants.list", {"product": data["id"]}).data
    assert [s["id"] for s in listed] == [s["id"] for s in data["skus"]]


def test_variant_and_bulk_quantities_write_real_stock_and_emit_low(h: Any) -> None:
    p = _variant_product(h)
    sku = _details(h, p.id)["skus"][0]
    h.call("products.variants.update_quantity", {"variant": sku["id"]}, body={"quantity": 50})
    h.events.clear()
    h.call("products.variants.update", {"variant": sku["id"]}, body={"price": 99, "barcode": "B1"})
    variant = h.call("products.variants.retrieve", {"variant": sku["id"]}).data
    assert variant["regular_price"]["amount"] == 99 and variant["barcode"] == "B1"
    total = _details(h, p.id)["quantity"]
    # Put the low-stock threshold between the stock before and after the decrement, so that
    # the decrement crosses it and product.quantity.low must be emitted.
    p.notify_quantity = total - 10
    p.unlimited = False
    h.call(
        "products.quantities.bulk_update",
        body={
            "products": [
                {
                    "identifer": sku["id"],
                    "identifer_type": "variant_id",
                    "quantity": 49,
                    "mode": "decrement",
                }
            ]
        },
    )
    assert h.call("products.variants.retrieve", {"variant": sku["id"]}).data["stock_quantity"] == 1
    details = _details(h, p.id)
    assert details["quantity"] == total - 49
    assert details["quantity"] < p.notify_quantity <= total
    assert "product.quantity.low" in h.event_names()
    rows = [
        row
        for page in (1, 2, 3, 4, 5)
        for row in h.call("products.quantities.list", query={"per_page": 60, "page": page}).data
    ]
    row = next(r for r in rows if r["sku_id"] == sku["id"])
    assert row["quantity"] == 1 and row["id"] == p.id
    bad = h.error(
        "products.quantities.bulk_update",
        body={"products": [{"identifer": "nope", "identifer_type": "sku", "quantity": 1}]},
    )
    assert bad.status == 422


def test_quantity_low_event_on_simple_product(h: Any) -> None:
    pid = h.call("products.create", body={"name": "عسل", "price": 10, "quantity": 20}).data["id"]
    h.events.clear()
    h.call(
        "products.quantities.bulk_update",
        body={"products": [{"identifer": pid, "identifer_type": "id", "quantity": 2}]},
    )
    assert "product.quantity.low" in h.event_names()
    assert _details(h, pid)["quantity"] == 2


def test_order_items_change_order_amounts_and_emit(h: Any) -> None:
    pid = h.call("products.create", body={"name": "بن", "price": 100, "quantity": 10}).data["id"]
    order = next(iter(h.store.orders.values()))
    before = h.call("orders.retrieve", {"order_id": order.id}).data
    h.tick()
    h.events.clear()
    items = h.call(
        "orders.items.create", body={"order_id": order.id, "identifier": pid, "quantity": 2}
    ).data
    assert h.event_names() == [
        "order.products.updated",
        "order.total.price.updated",
        "order.updated",
    ]
    line = next(it for it in items if it["product_id"] == pid)
    after = h.call("orders.retrieve", {"order_id": order.id}).data
    sub = before["amounts"]["sub_total"]["amount"] + 200
    assert after["amounts"]["sub_total"]["amount"] == sub
    tax = after["amounts"]["tax"]["amount"]["amount"]
    ship = after["amounts"]["shipping_cost"]["amount"]
    assert tax == round((sub + ship) * 0.15, 2)
    assert after["amounts"]["total"]["amount"] == round(sub + ship + tax, 2)
    assert after["updated_at"] != before["updated_at"]
    assert _details(h, pid)["quantity"] == 8
    h.call("orders.items.update", {"item_id": line["id"]}, body={"quantity": 5})
    assert _details(h, pid)["quantity"] == 5
    h.call("orders.items.delete", {"item_id": line["id"]})
    assert _details(h, pid)["quantity"] == 10
    final = h.call("orders.retrieve", {"order_id": order.id}).data
    assert final["amounts"]["total"] == before["amounts"]["total"]
    assert h.error("orders.items.delete", {"item_id": line["id"]}).status == 404


def test_custom_status_listed_and_usable(h: Any) -> None:
    completed = STATUS_BY_SLUG["completed"].id
    created = h.call(
        "orders.statuses.create",
        body={"name": "طلبك بيوصلك قريب", "parent_id": completed, "message": "قريب"},
    ).data
    assert created["type"] == "custom" and created["slug"] == "completed"
    assert created["original"]["id"] == completed and created["parent"]["id"] == completed
    listed = h.call("orders.statuses.list").data
    assert any(s["id"] == created["id"] and s["type"] == "custom" for s in listed)
    h.call("orders.statuses.update", {"status_id": created["id"]}, body={"name": "قريبا"})
    got = h.call("orders.statuses.retrieve", {"status_id": created["id"]}).data
    assert got["name"] == "قريبا"
    order = next(iter(h.store.orders.values()))
    h.call("orders.update_status", {"order_id": order.id}, body={"status_id": created["id"]})
    status = h.call("orders.retrieve", {"order_id": order.id}).data["status"]
    assert status["slug"] == "completed" and status["customized"]["id"] == created["id"]
    history = h.call("orders.histories.list", {"order_id": order.id}).data[0]
    assert history["customized"]["type"] == "custom"
    found = h.call("orders.list", query={"status[]": [created["id"]], "per_page": 60}).data
    assert [o["id"] for o in found] == [order.id]
    h.call("orders.statuses.sort", body=[{"status_id": created["id"], "sort": 0}])
    assert h.call("orders.statuses.list").data[0]["id"] == created["id"]


def test_order_tags_and_order_filters(h: Any) -> None:
    order = list(h.store.orders.values())[3]
    tag = h.call("orders.tags.create", {"order_id": order.id}, body={"tag_name": "VIP"}).data
    assert h.call("orders.retrieve", {"order_id": order.id}).data["tags"] == [tag]
    assert h.call("orders.tags.list").data == [tag]
    by_tag = h.call("orders.list", query={"tags[]": [tag["id"]]}).data
    assert [o["id"] for o in by_tag] == [order.id]
    assert order.id in [o["id"] for o in h.call("orders.list", query={"keyword": "vip"}).data]
    customer = h.store.customers[order.customer_id]
    by_mobile = h.call("orders.list", query={"keyword": str(customer.mobile), "per_page": 60})
    assert order.id in [o["id"] for o in by_mobile.data]
    item = order.items[0]
    by_product = h.call("orders.list", query={"product": item.name_en, "per_page": 60}).data
    assert order.id in [o["id"] for o in by_product]
    city_en = CITIES[order.city][1]
    by_city = h.call("orders.list", query={"city": city_en, "per_page": 60}).data
    assert order.id in [o["id"] for o in by_city]
    assert all(CITIES[h.store.orders[o["id"]].city][1] == city_en for o in by_city)
    fields = {"fields[]": ["country_id"]}
    country_id = h.call("customers.retrieve", {"customer": customer.id}, query=fields).data[
        "country_id"
    ]
    code = CITIES[customer.city][2]
    by_country = h.call("orders.list", query={"country": country_id, "per_page": 60}).data
    expected = {o.id for o in h.store.orders.values() if CITIES[o.city][2] == code}
    assert {o["id"] for o in by_country} == expected and expected
    h.call("orders.tags.delete", {"order_id": order.id, "tag_id": tag["id"]})
    assert h.call("orders.retrieve", {"order_id": order.id}).data["tags"] == []
    assert h.error("orders.tags.delete", {"order_id": order.id, "tag_id": tag["id"]}).status == 404


def test_customer_fields_category_with_and_shipment_dates(h: Any) -> None:
    plain = h.call("customers.list").data[0]
    assert "is_blocked" not in plain
    extra = h.call(
        "customers.list", query={"fields[]": ["is_blocked", "block_reason", "orders_count"]}
    ).data[0]
    assert extra["is_blocked"] is False and "block_reason" in extra and "orders_count" in extra
    cats = h.call("categories.list").data
    assert all(c["items"] == [] and set(c["translations"]) == {"en"} for c in cats)
    rich = h.call("categories.list", query={"with[]": ["translations", "items"]}).data
    parent = next(c for c in rich if h.store.children_of(c["id"]))
    assert {i["id"] for i in parent["items"]} == {c.id for c in h.store.children_of(parent["id"])}
    assert parent["translations"]["ar"]["name"] == parent["name"]
    shipments = list(h.store.shipments.values())
    day = max(s.created for s in shipments)
    from datetime import datetime

    from sallakit.emulator._merchant._shapes import RIYADH

    date = datetime.fromtimestamp(day, RIYADH).date().isoformat()
    found = h.call("shipments.list", query={"from_date": date, "to_date": date}).data
    assert found and all(s["created_at"]["date"].startswith(date) for s in found)
