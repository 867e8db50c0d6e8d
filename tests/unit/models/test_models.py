"""Resource models against realistic (drifting) Salla payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

import sallakit.models as models
from sallakit.models import (
    Brand,
    Category,
    Customer,
    Money,
    Order,
    OrderHistory,
    OrderItem,
    OrderSummary,
    Pagination,
    Product,
    ProductSku,
    ProductVariant,
    SallaObject,
    SallaResponse,
    Shipment,
    StoreInfo,
    Tax,
    UserInfo,
    Webhook,
    WebhookEvent,
)

RIYADH = timezone(timedelta(hours=3))
SAR = "SAR"


def riyadh_date(text: str) -> dict[str, Any]:
    return {"date": text, "timezone_type": 3, "timezone": "Asia/Riyadh"}


def test_exports_are_sorted_and_complete() -> None:
    assert models.__all__ == sorted(models.__all__)
    assert all(hasattr(models, name) for name in models.__all__)


# -- money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ({"amount": 100, "currency": SAR}, Decimal(100), SAR),
        ({"amount": 302.5, "currency": SAR}, Decimal("302.5"), SAR),
        ({"amount": "15.00"}, Decimal("15.00"), None),
        (150, Decimal(150), None),
        ("35", Decimal(35), None),
        (22.5, Decimal("22.5"), None),
    ],
)
def test_money_shapes(raw: Any, amount: Decimal, currency: str | None) -> None:
    money = Money.model_validate(raw)
    assert money.amount == amount
    assert isinstance(money.amount, Decimal)
    assert money.currency == currency


def test_tax_nested_form() -> None:
    tax = Tax.model_validate({"percent": "15.00", "amount": {"amount": 39.46, "currency": SAR}})
    assert tax.percent == Decimal("15.00")
    assert tax.amount == Money(amount=Decimal("39.46"), currency=SAR)


def test_tax_flat_money_form() -> None:
    tax = Tax.model_validate({"amount": 0, "currency": SAR})
    assert tax.percent is None
    assert tax.amount == Money(amount=Decimal(0), currency=SAR)


# -- pagination ------------------------------------------------------------------------


@pytest.mark.parametrize("links", [{}, [], None])
def test_pagination_empty_links(links: Any) -> None:
    page = Pagination.model_validate(
        {
            "count": 2,
            "total": 2,
            "perPage": 15,
            "currentPage": 1,
            "totalPages": 1,
            "links": links,
        }
    )
    assert (page.count, page.total, page.per_page, page.current_page, page.total_pages) == (
        2,
        2,
        15,
        1,
        1,
    )
    assert page.links.next is None
    assert page.links.previous is None
    assert not page.has_next


def test_pagination_string_numbers_and_links() -> None:
    page = Pagination.model_validate(
        {
            "count": "15",
            "total": "40",
            "perPage": "15",
            "currentPage": "2",
            "totalPages": "3",
            "links": {
                "next": "https://api.salla.dev/admin/v2/products?page=3",
                "previous": "https://api.salla.dev/admin/v2/products?page=1",
            },
        }
    )
    assert page.current_page == 2
    assert page.total_pages == 3
    assert page.has_next
    assert page.links.next == "https://api.salla.dev/admin/v2/products?page=3"
    assert Pagination(per_page=60, current_page=1).per_page == 60  # by Python name too


# -- products --------------------------------------------------------------------------

PRODUCT_LIST_ITEM: dict[str, Any] = {
    "id": 1672932878,
    "promotion": {"title": "ramadan promtotion", "sub_title": "special ramadan offers"},
    "sku": "",
    "type": "product",
    "name": "T-Shirt",
    "urls": {"customer": "https://salla.sa/x/p1672932878", "admin": "https://s.salla.sa/p"},
    "price": {"amount": 100, "currency": SAR},
    "tax": {"amount": 0, "currency": SAR},
    "quantity": "50",
    "status": "sale",
    "is_available": True,
    "sale_price": {"amount": 0, "currency": SAR},
    "sale_end": {},
    "cost_price": "35",
    "weight": 1,
    "images": [
        {"id": 1699133464, "url": "https://cdn/1.jpg", "main": False, "alt": "image", "sort": 5}
    ],
    "rating": {"total": 0, "count": 0, "rate": 0},
    "notify_quantity": "10",
    "unlimited_quantity": True,
    "calories": "350",
    "channels": ["web", "app"],
    "pinned_date": "2024-03-06 13:50:32",
    "updated_at": "2024-03-06 13:50:32",
    "options": [
        {
            "id": 782399854,
            "name": "Color",
            "type": "radio",
            "required": False,
            "translations": {"ar": {"option_name": "Color"}},
            "values": [
                {
                    "id": 422377234,
                    "name": "Blue",
                    "price": {"amount": 0, "currency": SAR},
                    "option_id": 782399854,
                    "is_default": False,
                }
            ],
        }
    ],
    "skus": [
        {
            "id": 1936825372,
            "price": {"amount": 100, "currency": SAR},
            "sale_price": {},
            "stock_quantity": "0",
            "notify_low": "13",
            "related_options": [782399854, 2022020687],
            "related_option_values": [410377234, 1144986140],
            "weight_label": "١ كجم",
        }
    ],
    "categories": [],
    "tags": [],
    "services_blocks": {"installments": []},
}


def test_product_list_item_drift() -> None:
    product = Product.model_validate(PRODUCT_LIST_ITEM)
    assert product.quantity == 50
    assert product.notify_quantity == 10
    assert product.sale_end is None  # sent as {}
    assert product.cost_price == Money(amount=Decimal(35))
    assert product.price == Money(amount=Decimal(100), currency=SAR)
    assert product.calories == Decimal(350)
    assert product.sku == ""
    assert product.updated_at == datetime(2024, 3, 6, 13, 50, 32, tzinfo=RIYADH)
    assert product.images[0].main is False
    assert product.options[0].values[0].price == Money(amount=Decimal(0), currency=SAR)
    sku = product.skus[0]
    assert isinstance(sku, ProductSku)
    assert ProductVariant is ProductSku
    assert product.variants == product.skus
    assert sku.stock_quantity == 0
    assert sku.notify_low == 13
    assert sku.sale_price is None
    assert sku.weight_label == "١ كجم"
    assert sku.related_option_values == [410377234, 1144986140]


def test_product_unknown_fields_are_kept() -> None:
    product = Product.model_validate(PRODUCT_LIST_ITEM)
    assert product.model_extra is not None
    assert product.model_extra["services_blocks"] == {"installments": []}
    assert product.services_blocks == {"installments": []}  # type: ignore[attr-defined]
    assert product.model_dump()["services_blocks"] == {"installments": []}


def test_product_details_and_light_format_drift() -> None:
    details = Product.model_validate(
        {**PRODUCT_LIST_ITEM, "quantity": 0, "sale_end": "2025-06-23", "notify_quantity": ""}
    )
    assert details.quantity == 0
    assert details.notify_quantity is None
    assert details.sale_end == datetime(2025, 6, 23, tzinfo=RIYADH)

    light = Product.model_validate(
        {
            "id": "1182964224",
            "name": "منتج خاص جديد",
            "quantity": "9",
            "brand": {"id": "99911771", "name": "Prada"},
            "categories": [{"id": "1645188772", "name": "تصنيفات"}],
            "tags": [1366932222],
            "sale_end": 1749772799,
        }
    )
    assert light.id == 1182964224
    assert light.name == "منتج خاص جديد"
    assert light.brand is not None and light.brand.id == 99911771
    assert light.categories[0].id == 1645188772
    assert light.tags[0].id == 1366932222
    assert light.sale_end == datetime(2025, 6, 12, 23, 59, 59, tzinfo=UTC)


def test_product_requires_id() -> None:
    with pytest.raises(ValidationError):
        Product.model_validate({"name": "no id"})


# -- categories and brands -------------------------------------------------------------


def test_category_update_at_and_empty_translations() -> None:
    category = Category.model_validate(
        {
            "id": 1390018242,
            "name": "laptops",
            "parent_id": 0,
            "show_in": {"app": True, "salla_points": "1"},
            "update_at": "2024-10-24 13:24:48",
            "translations": [],
            "items": [{"id": 1, "name": "اكل القطط", "update_at": "2024-08-30 14:04:07"}],
            "sub_categories": [],
        }
    )
    expected = datetime(2024, 10, 24, 13, 24, 48, tzinfo=RIYADH)
    assert category.updated_at == expected
    assert category.update_at == expected
    assert category.translations == {}
    assert category.show_in is not None and category.show_in.salla_points is True
    assert category.items[0].name == "اكل القطط"


def test_brand_translations() -> None:
    brand = Brand.model_validate(
        {
            "id": 1473353380,
            "name": "زارا",
            "ar_char": "زارا",
            "en_char": "zara",
            "metadata": {"title": "Zara brand", "description": "seo", "url": "zara/item"},
            "translations": {"en": {"name": "Zara EN"}},
        }
    )
    assert brand.translations["en"]["name"] == "Zara EN"
    assert brand.metadata is not None and brand.metadata.url == "zara/item"


# -- orders ----------------------------------------------------------------------------

ORDER_STATUS = {
    "id": 1298199463,
    "name": "تم التنفيذ",
    "slug": "completed",
    "customized": {"id": 1633436842, "name": "طلبك بيوصلك قريب"},
}


def test_order_summary() -> None:
    summary = OrderSummary.model_validate(
        {
            "id": 1017120475,
            "reference_id": 40497536,
            "total": {"amount": 55, "currency": SAR},
            "exchange_rate": {"base_currency": SAR, "exchange_currency": "USD", "rate": 0.266592},
            "date": riyadh_date("2022-06-16 14:48:20.000000"),
            "status": ORDER_STATUS,
            "items": [{"name": "تي شيرت بلاك", "quantity": "1", "thumbnail": "https://x/1.jpg"}],
        }
    )
    assert summary.total == Money(amount=Decimal(55), currency=SAR)
    assert summary.exchange_rate is not None
    assert summary.exchange_rate.rate == Decimal("0.266592")
    assert summary.date == datetime(2022, 6, 16, 14, 48, 20, tzinfo=RIYADH)
    assert summary.items[0].quantity == 1
    assert not hasattr(summary, "customer")


def test_order_details() -> None:
    order = Order.model_validate(
        {
            "id": 418149270,
            "reference_id": 3879219,
            "date": riyadh_date("2024-02-15 08:23:05.000000"),
            "updated_at": riyadh_date("2024-02-15 11:23:05.000000"),
            "status": ORDER_STATUS,
            "amounts": {
                "sub_total": {"amount": 250, "currency": SAR},
                "shipping_cost": {"amount": 13.04, "currency": SAR},
                "tax": {"percent": "15.00", "amount": {"amount": 39.46, "currency": SAR}},
                "discounts": [
                    {
                        "title": "New Coupon",
                        "code": "kb123",
                        "discount": "15.00",
                        "currency": SAR,
                        "discounted_shipping": "0.00",
                        "hasMarketing": False,
                    }
                ],
                "total": {"amount": 302.5, "currency": SAR},
            },
            "customer": {
                "id": 1473353380,
                "first_name": "أحمد",
                "mobile": 501724227,
                "mobile_code": "+966",
                "birthday": {},
                "updated_at": riyadh_date("2024-02-15 11:18:00.000000"),
            },
            "shipments": [{"id": "5396365553", "status": "in_progress", "label": None}],
            "bank": None,
            "tags": [],
        }
    )
    assert order.updated_at == datetime(2024, 2, 15, 11, 23, 5, tzinfo=RIYADH)
    assert order.status is not None and order.status.slug == "completed"
    assert order.status.customized is not None
    assert order.status.customized.name == "طلبك بيوصلك قريب"
    amounts = order.amounts
    assert amounts is not None
    assert amounts.shipping_cost == Money(amount=Decimal("13.04"), currency=SAR)
    assert amounts.tax is not None and amounts.tax.amount is not None
    assert amounts.tax.amount.amount == Decimal("39.46")
    assert amounts.discounts[0].discount == Decimal("15.00")
    assert amounts.discounts[0].has_marketing is False
    assert order.customer is not None
    assert order.customer.mobile == "501724227"
    assert order.customer.international_mobile == "+966501724227"
    assert order.customer.birthday is None
    assert order.shipments[0].id == 5396365553
    assert order.bank is None


def test_order_item() -> None:
    item = OrderItem.model_validate(
        {
            "id": 365435777,
            "name": "SSD",
            "quantity": "1",
            "weight": 0.51,
            "amounts": {
                "price_without_tax": {"amount": 150, "currency": SAR},
                "tax": {"percent": "15.00", "amount": {"amount": 22.5, "currency": SAR}},
            },
            "options": [
                {
                    "id": 675638105,
                    "product_option_id": 1902643925,
                    "name": "size",
                    "type": "radio",
                    "value": {"id": 1090448197, "name": "256G", "price": {"amount": 0}},
                },
                {"id": 2, "name": "note", "type": "text", "value": "مع تغليف"},
            ],
            "codes": [],
        }
    )
    assert item.quantity == 1
    assert item.weight == Decimal("0.51")
    assert item.options[0].value is not None and not isinstance(item.options[0].value, str | list)
    assert item.options[0].value.name == "256G"
    assert item.options[1].value == "مع تغليف"


def test_order_history_empty_parent() -> None:
    history = OrderHistory.model_validate(
        {
            "id": 774142439,
            "status": "بإنتظار المراجعة",
            "customized": {
                "id": 1592566197,
                "name": "استلمنا طلبك وجاري تجهيزه",
                "type": "custom",
                "slug": "under_review",
                "original": {"id": 566146469, "name": "بإنتظار المراجعة"},
                "parent": {},
            },
            "created_at": riyadh_date("2024-02-07 14:06:18.000000"),
            "created_by": {"id": 1473353380, "name": "أحمد Conn"},
        }
    )
    assert history.status == "بإنتظار المراجعة"
    assert history.customized is not None
    assert history.customized.parent is None
    assert history.customized.original is not None
    assert history.customized.original.id == 566146469
    assert history.created_by is not None and history.created_by.id == 1473353380


# -- customers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mobile", "code", "expected"),
    [
        (777777777, "967", "+967777777777"),
        (501724227, "+966", "+966501724227"),
        ("0501724227", "+966", "+966501724227"),
        ("+96652318526", None, "+96652318526"),
        (None, "+966", None),
    ],
)
def test_customer_mobile(mobile: Any, code: str | None, expected: str | None) -> None:
    customer = Customer.model_validate({"id": 1, "mobile": mobile, "mobile_code": code})
    assert customer.mobile is None or isinstance(customer.mobile, str)
    assert customer.international_mobile == expected


def test_customer_details() -> None:
    customer = Customer.model_validate(
        {
            "id": "2075683582",
            "first_name": "Ahmed",
            "groups": [11323141, "11323142"],
            "is_blocked": 0,
            "stats": {"orders_count": "3", "orders_amount": 1250.75},
            "updated_at": riyadh_date("2020-04-02 22:43:26.000000"),
            "custom_fields": [],
        }
    )
    assert customer.id == 2075683582
    assert customer.groups == [11323141, 11323142]
    assert customer.is_blocked is False
    assert customer.stats is not None and customer.stats.orders_amount == Decimal("1250.75")
    assert customer.model_extra == {"custom_fields": []}


# -- shipments -------------------------------------------------------------------------


def test_shipment_drift() -> None:
    shipment = Shipment.model_validate(
        {
            "id": 1,
            "status": "delivering",
            "label": [],
            "packages": [
                {
                    "item_id": 1,
                    "price": {"amount": "1000.00", "currency": SAR},
                    "weight": {"value": "0.10", "unit": "kg"},
                }
            ],
            "ship_to": {"geo_coordinates": {"lat": "21.382590509685", "lng": 39.77}},
            "history": [
                {"status": "created", "create_at": riyadh_date("2023-04-06 11:44:23.000000")}
            ],
            "total_weight": {"value": 0.5, "units": "kg"},
        }
    )
    assert shipment.status_slug == "delivering"
    assert shipment.label is None
    package = shipment.packages[0]
    assert package.price == Money(amount=Decimal("1000.00"), currency=SAR)
    assert package.weight is not None and package.weight.units == "kg"
    assert shipment.ship_to is not None and shipment.ship_to.geo_coordinates is not None
    assert shipment.ship_to.geo_coordinates.lat == Decimal("21.382590509685")
    assert shipment.history[0].created_at == datetime(2023, 4, 6, 11, 44, 23, tzinfo=RIYADH)

    with_object = Shipment.model_validate(
        {"id": 2, "status": {"id": 1, "name": "بإنتظار المراجعة", "slug": "under_review"}}
    )
    assert with_object.status_slug == "under_review"


# -- store, user, webhooks -------------------------------------------------------------

MERCHANT = {
    "id": 847769313,
    "username": "User_name123",
    "name": "User Name",
    "plan": "pro",
    "created_at": "2021-12-31 12:59:59",
}
USER = {
    "id": 1689171978,
    "name": "Test User",
    "email": "test@gmail.com",
    "mobile": "+96652318526",
    "role": "user",
    "created_at": "2021-03-27 21:51:56",
}


def test_user_info_envelope_with_context() -> None:
    body = {
        "status": 200,
        "success": True,
        "data": {
            **USER,
            "merchant": MERCHANT,
            "context": {"app": "123", "scope": "orders.read products.read", "exp": 1721326955},
        },
    }
    user = UserInfo.model_validate(body)
    assert user.store_id == 847769313
    assert user.merchant.created_at == datetime(2021, 12, 31, 12, 59, 59, tzinfo=RIYADH)
    assert user.context is not None
    assert user.context.scopes == {"orders.read", "products.read"}
    assert user.context.exp == datetime.fromtimestamp(1721326955, tz=UTC)


def test_user_info_bare_and_legacy_store() -> None:
    assert UserInfo.model_validate({**USER, "merchant": MERCHANT}).merchant.id == 847769313
    legacy = UserInfo.model_validate(
        {"data": {**USER, "store": {"id": "847769313", "owner_id": 1689171978, "owner_name": "T"}}}
    )
    assert legacy.merchant.id == 847769313
    assert legacy.merchant.owner_id == 1689171978
    assert legacy.context is None
    with pytest.raises(ValidationError):
        UserInfo.model_validate({"data": USER})


def test_store_info() -> None:
    store = StoreInfo.model_validate(
        {
            "id": 1305146709,
            "verified": "false",
            "licenses": {"tax_number": 65464645654},
            "social": {"whatsapp": "+966501806978", "twitter": None},
        }
    )
    assert store.verified is False
    assert store.licenses is not None and store.licenses.tax_number == "65464645654"
    assert store.social == {"whatsapp": "+966501806978", "twitter": None}


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "abcd1234", "Accept-Language": "AR"},
        [{"key": "Authorization", "value": "abcd1234"}, {"key": "Accept-Language", "value": "AR"}],
    ],
)
def test_webhook_headers_both_forms(headers: Any) -> None:
    webhook = Webhook.model_validate(
        {
            "id": 1,
            "event": "customer.updated",
            "url": "https://h",
            "version": "2",
            "headers": headers,
        }
    )
    assert webhook.headers == {"Authorization": "abcd1234", "Accept-Language": "AR"}
    assert webhook.headers_as_list()[0] == {"key": "Authorization", "value": "abcd1234"}
    assert webhook.version == 2


def test_webhook_empty_headers_and_event() -> None:
    assert Webhook.model_validate({"id": 1, "headers": []}).headers == {}
    event = WebhookEvent.model_validate(
        {"id": 1, "label": "تم إنشاء طلب", "event": "order.created"}
    )
    assert (event.label, event.event) == ("تم إنشاء طلب", "order.created")


def test_salla_object_and_envelope() -> None:
    assert SallaObject.model_validate({"id": "5396365553", "x": 1}).id == 5396365553
    assert SallaObject.model_validate({"id": "SAIF2485"}).id == "SAIF2485"
    assert SallaObject.model_validate({"code": 200}).id is None
    page = SallaResponse[list[Brand]].model_validate(
        {
            "status": 200,
            "success": True,
            "data": [{"id": 1, "name": "زارا"}],
            "pagination": {
                "count": 1,
                "total": 1,
                "perPage": 15,
                "currentPage": 1,
                "totalPages": 1,
                "links": [],
            },
        }
    )
    assert page.data[0].name == "زارا"
    assert page.pagination is not None and page.pagination.total_pages == 1


def test_webhook_repr_hides_secrets() -> None:
    webhook = models.Webhook.model_validate(
        {
            "id": 1,
            "name": "orders",
            "headers": [{"key": "Authorization", "value": "Bearer hook-secret-1"}],
            "security": {"strategy": "token", "secret": "shared-secret-2"},
        }
    )
    for text in (repr(webhook), str(webhook)):
        assert "hook-secret-1" not in text
        assert "shared-secret-2" not in text
    # Still there for whoever asks for them.
    assert webhook.headers == {"Authorization": "Bearer hook-secret-1"}
    assert webhook.security is not None and webhook.security.secret == "shared-secret-2"
