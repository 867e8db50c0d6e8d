"""Merchant API handlers through ``dispatch``: CRUD, filters, sorting, pagination, errors."""

from __future__ import annotations

from typing import Any

from sallakit.emulator._merchant import STATUS_BY_SLUG


def test_store_info_from_profile(h: Any) -> None:
    data = h.call("store.info").data
    assert data["id"] == h.store.profile.id
    assert data["name"] == h.store.profile.name
    assert h.call("store.info", language="en").data["name"] == h.store.profile.name_en
    assert data["plan"] == "pro" and data["currency"] == "SAR"


def test_pagination_defaults_clamp_and_links(build: Any, harness: Any) -> None:
    h = harness(build(products=130))
    first = h.call("products.list")
    assert len(first.data) == 15
    assert first.pagination == {
        "count": 15,
        "total": 130,
        "perPage": 15,
        "currentPage": 1,
        "totalPages": 9,
        "links": {"next": first.pagination["links"]["next"]},
    }
    assert "page=2" in first.pagination["links"]["next"]
    clamped = h.call("products.list", query={"per_page": 500, "page": 3})
    assert clamped.pagination["perPage"] == 60 and clamped.pagination["count"] == 10
    assert "next" not in clamped.pagination["links"]
    assert "page=2" in clamped.pagination["links"]["previous"]
    single = h.call("brands.list", query={"per_page": 60})
    assert single.pagination["links"] == {}
    assert (
        h.call("brands.list", query={"per_page": 60}, links_as_list=True).pagination["links"] == []
    )


def test_product_crud_and_events(h: Any) -> None:
    created = h.call("products.create", body={"name": "تمر خلاص", "price": 40, "quantity": 9})
    assert created.status == 201
    pid = created.data["id"]
    assert created.data["price"] == {"amount": 40, "currency": "SAR"}
    assert created.data["taxed_price"]["amount"] == 46
    assert h.event_names() == ["product.created"]
    h.events.clear()
    updated = h.call("products.update", {"product": pid}, body={"price": 45, "status": "hidden"})
    assert updated.data["price"]["amount"] == 45 and updated.data["status"] == "hidden"
    assert h.event_names() == ["product.price.updated", "product.status.updated"]
    assert h.events[0][1]["id"] == pid  # the rich details shape
    deleted = h.call("products.delete", {"product": pid})
    assert deleted.status == 202
    assert h.event_names()[-1] == "product.deleted"
    err = h.error("products.retrieve", {"product": pid})
    assert err.status == 404


def test_sku_routes(h: Any) -> None:
    product = next(iter(h.store.products.values()))
    by_sku = h.call("products.retrieve_by_sku", {"sku": product.sku}).data
    assert by_sku["id"] == product.id
    h.call("products.update_price_by_sku", {"sku": product.sku}, body={"price": 99})
    assert h.call("products.retrieve", {"product": product.id}).data["price"]["amount"] == 99
    h.call("products.update_by_sku", {"sku": product.sku}, body={"name": "اسم جديد"})
    assert h.call("products.retrieve_by_sku", {"sku": product.sku}).data["name"] == "اسم جديد"
    h.call("products.delete_by_sku", {"sku": product.sku})
    assert h.error("products.retrieve_by_sku", {"sku": product.sku}).status == 404


def test_product_filters_and_light_format(h: Any) -> None:
    products = list(h.store.products.values())
    target = products[3]
    by_sku = h.call("products.list", query={"keyword": target.sku}).data
    assert [p["id"] for p in by_sku] == [target.id]
    word = target.name_en.split()[-1]
    by_name = h.call("products.list", query={"keyword": word, "per_page": 60}, language="en")
    assert by_name.data and all(word in p["name"] for p in by_name.data)
    for status in ("sale", "out", "hidden"):
        rows = h.call("products.list", query={"status": status, "per_page": 60}).data
        assert all(p["status"] == status for p in rows)
    category = target.category_ids[0]
    rows = h.call("products.list", query={"category": category, "per_page": 60}).data
    assert target.id in [p["id"] for p in rows]
    light = h.call("products.list", query={"format": "light"}).data[0]
    assert "options" not in light and "price" in light


def test_english_names(h: Any) -> None:
    product = next(iter(h.store.products.values()))
    ar = h.call("products.retrieve", {"product": product.id}).data["name"]
    en = h.call("products.retrieve", {"product": product.id}, language="en").data["name"]
    assert (ar, en) == (product.name_ar, product.name_en)
    statuses = h.call("orders.statuses.list", language="en").data
    assert {"Completed", "Under Review"} <= {s["name"] for s in statuses}
    assert {s["slug"]: s["id"] for s in h.call("orders.statuses.list").data}[
        "completed"
    ] == 1298199463


def test_not_found_and_validation_shapes_in_both_languages(h: Any) -> None:
    ar = h.error("orders.retrieve", {"order_id": 1})
    assert (ar.status, ar.code, ar.message) == (
        404,
        404,
        "المحتوى الذي تحاول الوصول اليه غير متوفر",
    )
    en = h.error("customers.retrieve", {"customer": 1}, language="en")
    assert en.message == "The content you are trying to access is no longer available"
    missing = h.error("customers.create", body={"first_name": "سارة"})
    assert missing.status == 422 and set(missing.fields or {}) == {"last_name", "mobile"}
    assert "مطلوب" in missing.fields["mobile"][0]
    missing_en = h.error("products.create", body={}, language="en")
    assert missing_en.fields == {
        "name": ["The name field is required."],
        "price": ["The price field is required."],
    }


def test_quirks_drift(h: Any) -> None:
    product = next(p for p in h.store.products.values() if not p.sale_price)
    typed = h.call("products.retrieve", {"product": product.id}).data
    drift = h.call("products.retrieve", {"product": product.id}, quirks=True).data
    assert isinstance(typed["quantity"], int) and drift["quantity"] == str(product.quantity)
    assert isinstance(drift["cost_price"], str) and drift["sale_end"] == {}
    assert isinstance(typed["sale_end"], str)
    # Money amounts stay numbers: no published example shows them as strings.
    assert drift["price"] == typed["price"]
    assert isinstance(typed["price"]["amount"], int | float)


def test_orders_list_summary_filters_and_sort(h: Any) -> None:
    listed = h.call("orders.list", query={"per_page": 60}).data
    assert len(listed) == 40
    assert "customer" not in listed[0] and "amounts" not in listed[0]
    completed = STATUS_BY_SLUG["completed"].id
    rows = h.call("orders.list", query={"status[]": [completed], "per_page": 60}).data
    assert rows and all(o["status"]["id"] == completed for o in rows)
    order = h.store.orders[listed[-1]["id"]]
    mine = h.call("orders.list", query={"customer_id": order.customer_id, "per_page": 60}).data
    assert order.id in [o["id"] for o in mine]
    day = listed[5]["date"]["date"][:10]
    same_day = h.call("orders.list", query={"from_date": day, "to_date": day, "per_page": 60}).data
    assert same_day and all(o["date"]["date"].startswith(day) for o in same_day)
    by_total = h.call("orders.list", query={"sort_by": "total-asc", "per_page": 60}).data
    totals = [o["total"]["amount"] for o in by_total]
    assert totals == sorted(totals)
    # A status change bumps updated_at, so the changed order leads updated_at-desc.
    oldest = listed[-1]["id"]
    h.tick(10)
    h.call("orders.update_status", {"order_id": oldest}, body={"slug": "completed"})
    first = h.call("orders.list", query={"sort_by": "updated_at-desc"}).data[0]
    assert first["id"] == oldest and first["status"]["slug"] == "completed"
    bad = h.error("orders.list", query={"sort_by": "name-desc"})
    assert bad.status == 422


def test_order_details_items_and_histories(h: Any) -> None:
    order = next(iter(h.store.orders.values()))
    details = h.call("orders.retrieve", {"order_id": order.id}).data
    amounts = details["amounts"]
    total = (
        amounts["sub_total"]["amount"]
        + amounts["shipping_cost"]["amount"]
        + amounts["tax"]["amount"]["amount"]
    )
    assert round(total, 2) == amounts["total"]["amount"]
    assert details["customer"]["id"] == order.customer_id
    light = h.call("orders.retrieve", {"order_id": order.id}, query={"format": "light"}).data
    assert "items" not in light and "shipments" not in light
    items = h.call("orders.items.list", query={"order_id": order.id}).data
    assert [i["id"] for i in items] == [i.id for i in order.items]
    h.call("orders.histories.create", {"order_id": order.id}, body={"note": "اتصلنا بالعميل"})
    notes = [x["note"] for x in h.call("orders.histories.list", {"order_id": order.id}).data]
    assert "اتصلنا بالعميل" in notes
    assert h.error("orders.histories.create", {"order_id": order.id}, body={}).status == 422


def test_create_order_through_api(h: Any) -> None:
    customer = next(iter(h.store.customers))
    product = next(p for p in h.store.products.values() if p.status == "sale")
    body = {
        "customer": {"id": customer},
        "products": [{"identifier": product.sku, "identifier_type": "sku", "quantity": 2}],
    }
    order = h.call("orders.create", body=body).data
    assert order["items"][0]["quantity"] == 2
    assert h.call("orders.list").data[0]["id"] == order["id"]  # newest first


def test_customers_crud_filters_and_mobile(h: Any) -> None:
    created = h.call(
        "customers.create",
        body={
            "first_name": "Lama",
            "last_name": "Al-Harbi",
            "mobile": "0555123456",
            "mobile_code_country": "966",
            "email": "lama@example.com",
        },
    ).data
    assert created["mobile"] == 555123456 and created["mobile_code"] == "+966"
    assert h.event_names() == ["customer.created"]
    found = h.call("customers.list", query={"keyword": "555123456"}).data
    assert [c["id"] for c in found] == [created["id"]]
    today = h.now.date().isoformat()
    recent = h.call("customers.list", query={"date_from": today, "per_page": 60}).data
    assert created["id"] in [c["id"] for c in recent]
    h.call("customers.update", {"customer": created["id"]}, body={"first_name": "Reem"})
    assert h.event_names()[-1] == "customer.updated"
    assert h.call("customers.retrieve", {"customer": created["id"]}).data["first_name"] == "Reem"


def test_categories_brands_and_shipments(h: Any) -> None:
    cat = h.call("categories.create", body={"name": "هدايا"}).data
    h.call("categories.update", {"category": cat["id"]}, body={"name": "هدايا العيد"})
    assert h.event_names() == ["category.created", "category.updated"]
    brand = h.call("brands.create", body={"name": "نخيل", "logo": "x"}).data
    h.call("brands.delete", {"brand": brand["id"]})
    assert h.event_names()[-2:] == ["brand.created", "brand.deleted"]
    order_id = next(iter(h.store.orders))
    shipment = h.call(
        "shipments.create",
        body={
            "order_id": order_id,
            "courier_id": 1927161457,
            "shipment_type": "shipment",
            "payment_method": "cod",
            "packages": [],
        },
    ).data
    rows = h.call("shipments.list", query={"order_id": order_id}).data
    assert shipment["id"] in [s["id"] for s in rows]
    cancelled = h.call("shipments.cancel", {"shipment_id": shipment["id"]}).data
    assert cancelled["status"] == "cancelled"
    assert h.event_names()[-6:] == [
        "shipment.creating",
        "order.shipment.creating",
        "shipment.created",
        "order.shipment.created",
        "shipment.cancelled",
        "order.shipment.cancelled",
    ]


def test_generic_collection_is_stateful(h: Any) -> None:
    listed = h.call("coupons.list").data
    assert len(listed) == 3
    coupon_id = listed[0]["id"]
    detail = h.call("coupons.retrieve", {"coupon_id": coupon_id}).data
    assert detail["id"] == coupon_id
    created = h.call("coupons.create", body={"code": "RAMADAN25"}).data
    assert len(h.call("coupons.list").data) == 4
    h.call("coupons.delete", {"coupon_id": created["id"]})
    assert len(h.call("coupons.list").data) == 3
    assert h.error("coupons.retrieve", {"coupon_id": created["id"]}).status == 404
