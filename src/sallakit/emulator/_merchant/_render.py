"""Salla-shaped JSON built from the compact records, on read.

Each function takes the request context (language, quirks) and the store, and returns the plain
JSON value Salla would put under ``data``. Quirks mode reproduces documented type drift (string
amounts and quantities, ``sale_end: {}``); otherwise values follow the published schemas' types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sallakit.emulator._context import RequestContext

from ._records import (
    BrandRec,
    CategoryRec,
    CustomerRec,
    HistoryRec,
    OrderItemRec,
    OrderRec,
    ProductRec,
    ShipmentRec,
    derive_id,
)
from ._shapes import amount, date_obj, date_str, localized, money
from ._tables import CITIES, COUNTRY_NAMES, COURIERS, OPTION_KINDS, STATUS_BY_ID, OrderStatus

if TYPE_CHECKING:
    from ._store import StoreData

__all__ = [
    "brand_json",
    "category_json",
    "customer_json",
    "history_json",
    "order_amounts",
    "order_json",
    "order_item_json",
    "order_summary_json",
    "product_json",
    "shipment_json",
    "status_json",
    "store_info_json",
    "tax_of",
]

TAX_PERCENT = 15
_CDN = "https://cdn.salla.sa/emulator"


def tax_of(halalas: int) -> int:
    """VAT (15%) of a pre-tax amount, rounded to the halala."""
    return (halalas * TAX_PERCENT + 50) // 100


def _status_name(ctx: RequestContext, status: OrderStatus) -> str:
    return localized(ctx, status.name_ar, status.name_en)


def status_json(ctx: RequestContext, status: OrderStatus) -> dict[str, Any]:
    """An order status as listed by ``GET /orders/statuses``."""
    name = _status_name(ctx, status)
    return {
        "id": status.id,
        "name": name,
        "type": "original",
        "slug": status.slug,
        "sort": status.sort,
        "message": name,
        "icon": "sicon-check" if status.slug == "completed" else "sicon-time",
        "is_active": True,
        "parent": None,
        "original": {"id": status.id, "name": name},
    }


def _order_status(ctx: RequestContext, status_id: int) -> dict[str, Any]:
    status = STATUS_BY_ID[status_id]
    name = _status_name(ctx, status)
    # Merchants may rename statuses ("customized"); seeded stores keep the original names.
    return {
        "id": status.id,
        "name": name,
        "slug": status.slug,
        "customized": {"id": derive_id(status.id, 1), "name": name},
    }


def store_info_json(ctx: RequestContext, store: StoreData) -> dict[str, Any]:
    """``GET /store/info``: the store profile."""
    p = ctx.store
    return {
        "id": p.id,
        "name": localized(ctx, p.name, p.name_en),
        "entity": p.entity,
        "email": p.email,
        "avatar": f"{_CDN}/stores/{p.username}/logo.png",
        "plan": p.plan,
        "type": p.type,
        "status": p.status,
        "verified": p.type == "live",
        "currency": p.currency,
        "domain": p.domain,
        "description": localized(ctx, f"{p.name} - متجر إلكتروني", f"{p.name_en} online store"),
        "username": p.username,
        "created_at": date_str(int(p.created_at.timestamp())),
        "licenses": {
            "tax_number": f"3{p.id % 10**13:013d}0",
            "commercial_number": f"10{p.id % 10**8:08d}",
            "freelance_number": None,
        },
        "social": {
            "telegram": None,
            "twitter": f"https://twitter.com/{p.username}",
            "facebook": None,
            "maroof": None,
            "youtube": None,
            "snapchat": f"https://snapchat.com/add/{p.username}",
            "whatsapp": p.owner_mobile,
            "appstore_link": None,
            "googleplay_link": None,
        },
        "owner": {
            "id": p.owner_id,
            "name": p.owner_name,
            "email": p.owner_email,
            "mobile": p.owner_mobile,
        },
    }


def category_json(
    ctx: RequestContext, store: StoreData, c: CategoryRec, *, deep: bool = True
) -> dict[str, Any]:
    """A category with its sub-categories (one level, as the list shows them)."""
    name = localized(ctx, c.name_ar, c.name_en)
    out: dict[str, Any] = {
        "id": c.id,
        "name": name,
        "image": c.image,
        "urls": {
            "customer": f"{ctx.store.domain}/c{c.id}",
            "admin": f"https://s.salla.sa/categories/{c.id}",
        },
        "parent_id": c.parent_id,
        "sort_order": c.sort_order,
        "status": c.status,
        "show_in": {"app": True, "salla_points": True},
        "has_hidden_products": False,
        "update_at": date_str(c.updated or int(ctx.store.created_at.timestamp())),
        "metadata": {"title": name, "description": name, "url": f"c{c.id}"},
    }
    if deep:
        # Children travel as full objects in ``items`` (what ``with=items`` shows);
        # ``sub_categories`` is typed as a list of strings in the schema and is empty in every
        # published example, so it stays empty rather than invent a shape.
        out["items"] = [
            category_json(ctx, store, sub, deep=False) for sub in store.children_of(c.id)
        ]
        out["sub_categories"] = []
    return out


def brand_json(ctx: RequestContext, b: BrandRec) -> dict[str, Any]:
    name = localized(ctx, b.name_ar, b.name_en)
    return {
        "id": b.id,
        "name": name,
        "description": localized(ctx, b.description_ar, b.description_en),
        "banner": f"{_CDN}/brands/{b.id}/banner.webp",
        "logo": f"{_CDN}/brands/{b.id}/logo.webp",
        "ar_char": b.name_ar,
        "en_char": b.name_en.lower(),
        "metadata": {"title": name, "description": name, "url": f"brands/{b.id}"},
    }


def _image_url(pid: int, n: int) -> str:
    return f"{_CDN}/products/{pid}/{n}.jpg"


def _sale_end(ctx: RequestContext, p: ProductRec) -> Any:
    if p.sale_price:
        return p.extra.get("sale_end", "")
    # Salla prints a missing sale end as an empty PHP array/object in some responses.
    return {} if ctx.quirks else ""


def product_json(
    ctx: RequestContext, store: StoreData, p: ProductRec, *, light: bool = False
) -> dict[str, Any]:
    """A product as the list and details endpoints (and product events) show it."""
    q = ctx.quirks
    cur = ctx.store.currency
    price = p.sale_price or p.price
    name = localized(ctx, p.name_ar, p.name_en)
    url = f"{ctx.store.domain}/p{p.id}"
    quantity: Any = p.quantity if not q else str(p.quantity)
    thumbnail = _image_url(p.id, 1)
    status = "out" if p.status == "sale" and p.quantity <= 0 and not p.unlimited else p.status
    base: dict[str, Any] = {
        "id": p.id,
        "sku": p.sku,
        "type": p.product_type,
        "name": name,
        "price": money(price, cur, q),
        "taxed_price": money(price + tax_of(price), cur, q),
        "pre_tax_price": money(price, cur, q),
        "tax": money(tax_of(price), cur, q),
        "quantity": quantity,
        "unlimited_quantity": p.unlimited,
        "status": status,
        "is_available": status == "sale",
        "thumbnail": thumbnail,
        "main_image": thumbnail,
        "urls": {
            "customer": url,
            "admin": f"https://s.salla.sa/products/{p.id}",
            "digital_content": "",
        },
        "updated_at": date_str(p.updated),
    }
    if light:
        return base
    category_objs = [
        {"id": c.id, "name": localized(ctx, c.name_ar, c.name_en)}
        for cid in p.category_ids
        if (c := store.categories.get(cid)) is not None
    ]
    brand = store.brands.get(p.brand_id)
    base.update(
        {
            "promotion": {"title": "", "sub_title": ""},
            "mpn": p.extra.get("mpn", ""),
            "gtin": p.extra.get("gtin", ""),
            "short_link_code": f"p{p.id % 10_000_000:07d}",
            "description": localized(ctx, p.description_ar, p.description_en) or f"<p>{name}</p>",
            "views": p.views,
            "sale_price": money(p.sale_price, cur, q),
            "sale_end": _sale_end(ctx, p),
            "require_shipping": p.product_type == "product",
            "cost_price": (f"{p.cost / 100:.0f}" if q else amount(p.cost)),
            "weight": p.weight / 1000,
            "weight_type": "kg",
            "with_tax": True,
            "url": url,
            "images": [
                {
                    "id": derive_id(p.id, 100 + n),
                    "url": _image_url(p.id, n),
                    "main": n == 1,
                    "three_d_image_url": "",
                    "alt": name,
                    "video_url": "",
                    "type": "image",
                    "sort": n,
                }
                for n in range(1, p.images + 1)
            ],
            "sold_quantity": p.sold,
            "rating": {"total": 0, "count": 0, "rate": 0},
            "regular_price": money(p.price, cur, q),
            "max_items_per_user": 0,
            "maximum_quantity_per_order": None,
            "show_in_app": True,
            "notify_quantity": str(p.notify_quantity) if q else p.notify_quantity,
            "hide_quantity": False,
            "managed_by_branches": False,
            "services_blocks": {"installments": []},
            "calories": None,
            "customized_sku_quantity": False,
            "channels": ["web", "app"],
            "metadata": {"title": name, "description": name, "url": url},
            "allow_attachments": False,
            "is_pinned": False,
            "pinned_date": date_str(p.created),
            "sort": 0,
            "enable_upload_image": False,
            "options": _options_json(ctx, p),
            "skus": _skus_json(ctx, p),
            "categories": category_objs,
            "brand": (
                {"id": brand.id, "name": localized(ctx, brand.name_ar, brand.name_en)}
                if brand
                else None
            ),
            "tags": [],
            "created_at": date_str(p.created),
        }
    )
    return base


def option_ids(p: ProductRec) -> tuple[int, list[int]]:
    """The product's option id and its option-value ids (derived, never stored)."""
    if p.option_kind < 0:
        return 0, []
    values = OPTION_KINDS[p.option_kind][3]
    return derive_id(p.id, 1), [derive_id(p.id, 10 + i) for i in range(len(values))]


def variant_id(p: ProductRec, index: int) -> int:
    """The id of the product's ``index``-th variant (SKU)."""
    return derive_id(p.id, 50 + index)


def _options_json(ctx: RequestContext, p: ProductRec) -> list[dict[str, Any]]:
    if p.option_kind < 0:
        return []
    name_ar, name_en, display, values = OPTION_KINDS[p.option_kind]
    option_id, value_ids = option_ids(p)
    q, cur = ctx.quirks, ctx.store.currency
    qty = p.variant_qty or []
    return [
        {
            "id": option_id,
            "name": localized(ctx, name_ar, name_en),
            "description": "",
            "type": "radio",
            "required": True,
            "associated_with_order_time": 0,
            "sort": None,
            "display_type": display,
            "visibility": "always",
            "visibility_condition_type": "=",
            "visibility_condition_option": None,
            "visibility_condition_value": None,
            "translations": {"ar": {"option_name": name_ar, "description": ""}},
            "values": [
                {
                    "id": value_ids[i],
                    "name": localized(ctx, v_ar, v_en),
                    "price": money(0, cur, q),
                    "formatted_price": "0 ر.س",
                    "display_value": v_en,
                    "advance": False,
                    "option_id": option_id,
                    "image_url": "",
                    "hashed_display_value": "",
                    "translations": {"ar": {"option_details_name": v_ar}},
                    "is_default": i == 0,
                    "is_out_of_stock": i < len(qty) and qty[i] <= 0,
                }
                for i, (v_ar, v_en) in enumerate(values)
            ],
        }
    ]


def _skus_json(ctx: RequestContext, p: ProductRec) -> list[dict[str, Any]]:
    if p.option_kind < 0 or not p.variant_qty:
        return []
    q, cur = ctx.quirks, ctx.store.currency
    option_id, value_ids = option_ids(p)
    price = p.sale_price or p.price
    return [
        {
            "id": variant_id(p, i),
            "price": money(price, cur, q),
            "regular_price": money(p.price, cur, q),
            "cost_price": money(p.cost, cur, q),
            "sale_price": money(p.sale_price, cur, q),
            "has_special_price": bool(p.sale_price),
            "stock_quantity": str(stock) if q else stock,
            "unlimited_quantity": p.unlimited,
            "notify_low": p.notify_quantity,
            "barcode": "",
            "sku": f"{p.sku}-{i + 1}",
            "mpn": "",
            "gtin": "",
            "updated_at": date_obj(p.updated),
            "related_options": [option_id],
            "related_option_values": [value_ids[i]],
            "weight": p.weight / 1000,
            "weight_type": "kg",
            "weight_label": f"{p.weight / 1000:g} كجم",
            "is_user_subscribed_to_sku": False,
            "is_default": i == 0,
        }
        for i, stock in enumerate(p.variant_qty)
    ]


def customer_json(ctx: RequestContext, c: CustomerRec) -> dict[str, Any]:
    city_ar, city_en, country_code, _ = CITIES[c.city]
    country_ar, country_en = COUNTRY_NAMES[country_code]
    out: dict[str, Any] = {
        "id": c.id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "full_name": f"{c.first_name} {c.last_name}",
        "mobile": c.mobile,
        "mobile_code": c.mobile_code,
        "email": c.email,
        "urls": {
            "customer": f"{ctx.store.domain}/profile",
            "admin": f"https://s.salla.sa/customers/{c.id}",
            "digital_content": "",
        },
        "avatar": f"{_CDN}/avatars/{'female' if c.gender == 'female' else 'male'}.webp",
        "gender": c.gender,
        "birthday": None,
        "city": localized(ctx, city_ar, city_en),
        "country": localized(ctx, country_ar, country_en),
        "country_code": country_code,
        "currency": ctx.store.currency,
        "location": "",
        "lang": ctx.language,
        "created_at": date_obj(c.created),
        "updated_at": date_obj(c.updated),
        "groups": list(c.groups),
        "is_blocked": c.blocked,
        "block_reason": c.extra.get("block_reason"),
    }
    for key in ("location", "birthday"):
        if key in c.extra:
            out[key] = c.extra[key]
    return out


def order_amounts(o: OrderRec) -> tuple[int, int, int, int]:
    """``(sub_total, shipping, tax, total)`` in halalas, with ``total`` exactly their sum."""
    sub_total = sum(it.unit_price * it.quantity for it in o.items)
    tax = tax_of(sub_total + o.shipping)
    return sub_total, o.shipping, tax, sub_total + o.shipping + tax


def _item_name(ctx: RequestContext, it: OrderItemRec) -> str:
    return localized(ctx, it.name_ar, it.name_en)


def _features(o: OrderRec) -> dict[str, Any]:
    return {
        "digitalable": False,
        "shippable": True,
        "multiple_shipments_supported": False,
        "order_type_price_quote": False,
        "has_suspicious_alert": False,
    }


def _cancellable(o: OrderRec) -> bool:
    return STATUS_BY_ID[o.status_id].slug in ("payment_pending", "under_review", "in_progress")


def order_summary_json(ctx: RequestContext, store: StoreData, o: OrderRec) -> dict[str, Any]:
    """An order as ``GET /orders`` lists it: a summary without customer or amounts."""
    q, cur = ctx.quirks, ctx.store.currency
    _, _, _, total = order_amounts(o)
    return {
        "id": o.id,
        "reference_id": o.reference_id,
        "total": money(total, cur, q),
        "date": date_obj(o.created),
        "status": _order_status(ctx, o.status_id),
        "draft": False,
        "read": True,
        "can_cancel": _cancellable(o),
        "can_reorder": True,
        "payment_method": o.payment_method,
        "is_pending_payment": STATUS_BY_ID[o.status_id].slug == "payment_pending",
        "pending_payment_ends_at": 0,
        "features": {"digitalable": False, "shippable": True, "has_suspicious_alert": False},
        "items": [
            {
                "name": _item_name(ctx, it),
                "quantity": it.quantity,
                "thumbnail": _image_url(it.product_id, 1),
            }
            for it in o.items
        ],
    }


def order_json(
    ctx: RequestContext, store: StoreData, o: OrderRec, *, light: bool = False
) -> dict[str, Any]:
    """An order as ``GET /orders/{id}`` (and order events) show it."""
    q, cur = ctx.quirks, ctx.store.currency
    sub_total, shipping, tax, total = order_amounts(o)
    customer = store.customers.get(o.customer_id)
    customer_obj = customer_json(ctx, customer) if customer else None
    status = STATUS_BY_ID[o.status_id]
    token = f"{o.id:x}"
    out: dict[str, Any] = {
        "id": o.id,
        "checkout_id": derive_id(o.id, 3),
        "reference_id": o.reference_id,
        "features": _features(o),
        "actions": {"cancellable": _cancellable(o), "reorderable": True, "payable": False},
        "urls": {
            "customer": f"{ctx.store.domain}/order/{token}",
            "admin": f"https://s.salla.sa/orders/order/{token}",
            "digital_content": "",
            "rating": f"{ctx.store.domain}/rating/{token}",
            "checkout": f"{ctx.store.domain}/checkout/{token}",
        },
        "date": date_obj(o.created),
        "updated_at": date_obj(o.updated),
        "source": o.source,
        "source_details": {
            "type": "direct",
            "value": None,
            "device": "mobile",
            "user-agent": "Mozilla/5.0",
            "ip": "127.0.0.1",
        },
        "status": _order_status(ctx, o.status_id),
        "is_price_quote": False,
        "payment_method": o.payment_method,
        "currency": cur,
        "amounts": {
            "sub_total": money(sub_total, cur, q),
            "shipping_cost": money(shipping, cur, q),
            "cash_on_delivery": money(0, cur, q),
            "tax": {
                "percent": f"{TAX_PERCENT}.00",
                "amount": money(tax, cur, q),
            },
            "discounts": [],
            "total": money(total, cur, q),
        },
        "total": money(total, cur, q),
        "can_cancel": _cancellable(o),
        "show_weight": True,
        "can_reorder": True,
        "is_pending_payment": status.slug == "payment_pending",
        "pending_payment_ends_at": 0,
        "total_weight": f"{sum(it.quantity for it in o.items) * 0.5:g} كجم",
        "receiver": {
            "name": f"{customer.first_name} {customer.last_name}" if customer else "",
            "email": customer.email if customer else "",
            "phone": f"{customer.mobile_code}{customer.mobile}" if customer else "",
        },
        "customer": customer_obj,
        "bank": None,
        "tags": [],
    }
    if not light:
        out["items"] = [order_item_json(ctx, store, o, it) for it in o.items]
        out["shipments"] = [shipment_json(ctx, store, s) for s in store.shipments_of(o.id)]
    return out


def order_item_json(
    ctx: RequestContext, store: StoreData, o: OrderRec, it: OrderItemRec
) -> dict[str, Any]:
    """An order line as ``GET /orders/items?order_id=`` shows it."""
    q, cur = ctx.quirks, ctx.store.currency
    line = it.unit_price * it.quantity
    options: list[dict[str, Any]] = []
    product = store.products.get(it.product_id)
    if product is not None and it.variant >= 0 and product.option_kind >= 0:
        name_ar, name_en, _, values = OPTION_KINDS[product.option_kind]
        option_id, value_ids = option_ids(product)
        if it.variant < len(values):
            v_ar, v_en = values[it.variant]
            options.append(
                {
                    "id": derive_id(it.id, 1),
                    "product_option_id": option_id,
                    "name": localized(ctx, name_ar, name_en),
                    "type": "radio",
                    "value": [
                        {
                            "id": value_ids[it.variant],
                            "name": localized(ctx, v_ar, v_en),
                            "price": money(0, cur, q),
                        }
                    ],
                }
            )
    return {
        "id": it.id,
        "name": _item_name(ctx, it),
        "sku": it.sku,
        "product_id": it.product_id,
        "quantity": it.quantity,
        "currency": cur,
        "weight": 0.5,
        "weight_label": "٥٠٠ جم",
        "amounts": {
            "price_without_tax": money(it.unit_price, cur, q),
            "total_discount": money(0, cur, q),
            "tax": {"percent": f"{TAX_PERCENT}.00", "amount": money(tax_of(line), cur, q)},
            "total": money(line, cur, q),
        },
        "notes": "",
        "options": options,
        "images": [],
        "codes": [],
        "files": [],
        "reservations": [],
        "branches_quantity": [],
    }


def history_json(ctx: RequestContext, store: StoreData, h: HistoryRec) -> dict[str, Any]:
    status = STATUS_BY_ID.get(h.status_id)
    name = _status_name(ctx, status) if status else ""
    return {
        "id": h.id,
        "status": name,
        "customized": {
            "id": derive_id(h.status_id, 1),
            "name": name,
            "type": "original",
            "slug": status.slug if status else "",
            "original": {"id": h.status_id, "name": name},
            "parent": {},
        },
        "note": h.note,
        "created_at": date_obj(h.created),
        "created_by": {
            "id": ctx.store.owner_id,
            "name": ctx.store.owner_name,
            "avatar": f"{_CDN}/avatars/male.webp",
        },
        "type": "comment" if h.note and h.status_id == 0 else "activity",
    }


def shipment_json(ctx: RequestContext, store: StoreData, s: ShipmentRec) -> dict[str, Any]:
    q, cur = ctx.quirks, ctx.store.currency
    order = store.orders.get(s.order_id)
    courier_id, courier_ar, courier_en = COURIERS[s.courier]
    customer = store.customers.get(order.customer_id) if order else None
    city_idx = order.city if order else 0
    city_ar, city_en, country_code, _ = CITIES[city_idx]
    total = order_amounts(order)[3] if order else 0
    p = ctx.store
    return {
        "id": s.id,
        "order_id": s.order_id,
        "order_reference_id": order.reference_id if order else None,
        "reference": {"external_id": None, "external_additional_id": None},
        "created_at": date_obj(s.created),
        "type": s.type,
        "courier_id": courier_id,
        "courier_name": localized(ctx, courier_ar, courier_en),
        "courier_logo": f"{_CDN}/couriers/{courier_id}.png",
        "external_company_name": None,
        "shipping_number": s.tracking_number,
        "tracking_number": s.tracking_number,
        "pickup_id": None,
        "trackable": True,
        "tracking_link": f"https://track.example.sa/{s.tracking_number}",
        "label": {"format": "pdf", "url": f"{_CDN}/labels/{s.id}.pdf"},
        "payment_method": s.payment_method,
        "source": "api",
        "status": s.status,
        "total": money(total, cur, q),
        "cash_on_delivery": money(total if s.payment_method == "cod" else 0, cur, q),
        "is_international": country_code != "SA",
        "total_weight": {
            "value": sum(it.quantity for it in order.items) * 0.5 if order else 0,
            "units": "kg",
        },
        "billing_account": "salla",
        "description": "",
        "remarks": "",
        "shipping_route": None,
        "service_types": ["normal"],
        "packages": [
            {
                "item_id": it.id,
                "external_id": None,
                "name": _item_name(ctx, it),
                "sku": it.sku,
                "price": money(it.unit_price, cur, q),
                "quantity": it.quantity,
                "weight": {"value": 0.5, "units": "kg"},
                "options": [],
            }
            for it in (order.items if order else [])
        ],
        "ship_from": {
            "type": "branch",
            "name": localized(ctx, p.name, p.name_en),
            "email": p.email,
            "phone": p.owner_mobile,
            "branch_id": derive_id(p.id, 2),
            "country": localized(ctx, "السعودية", "Saudi Arabia"),
            "city": localized(ctx, "الرياض", "Riyadh"),
            "address_line": localized(ctx, "طريق الملك فهد", "King Fahd Road"),
            "street_number": "2451",
            "block": None,
            "short_address": "RRRD2451",
            "building_number": 2451,
            "additional_number": 8123,
            "postal_code": "12271",
            "latitude": 24.7136,
            "longitude": 46.6753,
        },
        "ship_to": {
            "type": "address",
            "name": f"{customer.first_name} {customer.last_name}" if customer else "",
            "email": customer.email if customer else "",
            "phone": f"{customer.mobile_code}{customer.mobile}" if customer else "",
            "country": localized(ctx, *COUNTRY_NAMES[country_code]),
            "city": localized(ctx, city_ar, city_en),
            "address_line": localized(ctx, f"حي النزهة، {city_ar}", f"Al Nuzha, {city_en}"),
            "street_number": "7788",
            "block": None,
            "short_address": "RNZA7788",
            "building_number": 7788,
            "additional_number": 4321,
            "postal_code": "13221",
            "latitude": 24.76,
            "longitude": 46.72,
        },
        "meta": {"app_id": ctx.app_id or None, "policy_options": None},
    }
