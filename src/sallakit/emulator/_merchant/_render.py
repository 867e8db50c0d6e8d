"""Salla-shaped JSON built from the compact records, on read.

Each function takes the request context (language, quirks) and the store, and returns the plain
JSON value Salla would put under ``data``. Quirks mode reproduces only the type drift the facts
file documents from Salla's own examples: product ``quantity``, ``notify_quantity`` and
``cost_price`` and ``skus[].stock_quantity`` as strings (``"50"``, ``"35"``), ``sale_end: {}``.
Money objects keep numeric amounts in both modes (``{"amount": 100, "currency": "SAR"}``, as
every published example shows); ``tax.percent`` is always the string ``"15.00"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sallakit.emulator._context import RequestContext

from ._options import live_indexes, options_of, value_in_stock, variants_of
from ._records import (
    BrandRec,
    CategoryRec,
    CustomerRec,
    CustomStatusRec,
    HistoryRec,
    OptionRec,
    OptionValueRec,
    OrderItemRec,
    OrderRec,
    ProductRec,
    ShipmentRec,
    derive_id,
)
from ._shapes import amount, date_obj, date_str, localized, money
from ._tables import CITIES, COUNTRY_IDS, COUNTRY_NAMES, COURIERS, STATUS_BY_ID, OrderStatus

if TYPE_CHECKING:
    from ._store import StoreData

__all__ = [
    "brand_json",
    "category_json",
    "custom_status_json",
    "customer_json",
    "history_json",
    "image_url",
    "invoice_json",
    "order_amounts",
    "order_json",
    "order_item_json",
    "option_json",
    "option_value_json",
    "order_summary_json",
    "product_json",
    "shipment_json",
    "sku_json",
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


def status_json(
    ctx: RequestContext, status: OrderStatus, sort: int | None = None
) -> dict[str, Any]:
    """An original order status as listed by ``GET /orders/statuses``."""
    name = _status_name(ctx, status)
    return {
        "id": status.id,
        "name": name,
        "type": "original",
        "slug": status.slug,
        "sort": status.sort if sort is None else sort,
        "message": name,
        "icon": "sicon-check" if status.slug == "completed" else "sicon-time",
        "is_active": True,
        "parent": None,
        "original": {"id": status.id, "name": name},
    }


def custom_status_json(ctx: RequestContext, store: StoreData, c: CustomStatusRec) -> dict[str, Any]:
    """A merchant's custom status: ``type: custom``, the documented status it stands for as
    ``original`` (and ``slug``), the status it is nested under as ``parent``."""
    original = STATUS_BY_ID[c.original_id]
    parent_custom = store.custom_statuses.get(c.parent_id)
    parent_name = (
        localized(ctx, parent_custom.name_ar, parent_custom.name_en)
        if parent_custom
        else _status_name(ctx, STATUS_BY_ID[c.parent_id])
        if c.parent_id in STATUS_BY_ID
        else ""
    )
    return {
        "id": c.id,
        "name": localized(ctx, c.name_ar, c.name_en),
        "type": "custom",
        "slug": original.slug,
        "sort": c.sort,
        "message": c.message,
        "icon": c.icon,
        "is_active": c.is_active,
        "parent": {"id": c.parent_id, "name": parent_name},
        "original": {"id": original.id, "name": _status_name(ctx, original)},
    }


def _order_status(
    ctx: RequestContext, status_id: int, custom: CustomStatusRec | None = None
) -> dict[str, Any]:
    status = STATUS_BY_ID[status_id]
    name = _status_name(ctx, status)
    # ``customized`` is the merchant's name for the status (a custom status when one is set).
    customized = (
        {"id": custom.id, "name": localized(ctx, custom.name_ar, custom.name_en)}
        if custom is not None
        else {"id": derive_id(status.id, 1), "name": name}
    )
    return {"id": status.id, "name": name, "slug": status.slug, "customized": customized}


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
    ctx: RequestContext,
    store: StoreData,
    c: CategoryRec,
    *,
    deep: bool = True,
    translations: bool = False,
) -> dict[str, Any]:
    """A category; ``deep`` adds its sub-categories as ``items`` (``with=items``),
    ``translations`` its names per language (``with=translations``)."""
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
            category_json(ctx, store, sub, deep=False, translations=translations)
            for sub in store.children_of(c.id)
        ]
        out["sub_categories"] = []
    else:
        out["items"] = []
        out["sub_categories"] = []
    # The published schema requires ``translations`` (with an ``en`` member) on every list
    # item, so it is always sent with the real names; ``with=translations`` adds ``ar`` too.
    langs = (("ar", c.name_ar), ("en", c.name_en)) if translations else (("en", c.name_en),)
    out["translations"] = {
        lang: {"name": n, "metadata": {"title": n, "description": n, "url": f"c{c.id}"}}
        for lang, n in langs
    }
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


def image_url(pid: int, n: int) -> str:
    """The URL of a product's ``n``-th image."""
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
    thumbnail = image_url(p.id, 1)
    status = "out" if p.status == "sale" and p.quantity <= 0 and not p.unlimited else p.status
    base: dict[str, Any] = {
        "id": p.id,
        "sku": p.sku,
        "type": p.product_type,
        "name": name,
        "price": money(price, cur),
        "taxed_price": money(price + tax_of(price), cur),
        "pre_tax_price": money(price, cur),
        "tax": money(tax_of(price), cur),
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
            "sale_price": money(p.sale_price, cur),
            "sale_end": _sale_end(ctx, p),
            "require_shipping": p.product_type == "product",
            "cost_price": (str(amount(p.cost)) if q else amount(p.cost)),
            "weight": p.weight / 1000,
            "weight_type": "kg",
            "with_tax": True,
            "url": url,
            "images": [
                {
                    "id": derive_id(p.id, 100 + n),
                    "url": image_url(p.id, n),
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
            "regular_price": money(p.price, cur),
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
                # No brand: an empty object, as Salla's product list example shows.
                else {}
            ),
            "tags": [],
            "created_at": date_str(p.created),
        }
    )
    return base


def variant_id(p: ProductRec, index: int) -> int:
    """The id of the product's ``index``-th variant (SKU)."""
    return variants_of(p)[index].id


def option_value_json(
    ctx: RequestContext, o: OptionRec, v: OptionValueRec, p: ProductRec
) -> dict[str, Any]:
    """One option value as the product details and ``GET /products/options/values/{id}``."""
    cur = ctx.store.currency
    return {
        "id": v.id,
        "name": localized(ctx, v.name_ar, v.name_en),
        "price": money(v.price, cur),
        "formatted_price": f"{amount(v.price)} ر.س",
        "display_value": v.display_value or v.name_en,
        "advance": False,
        "option_id": o.id,
        "image_url": "",
        "hashed_display_value": "",
        "translations": {"ar": {"option_details_name": v.name_ar}},
        "is_default": v.is_default,
        "is_out_of_stock": not value_in_stock(p, v.id),
    }


def option_json(ctx: RequestContext, p: ProductRec, o: OptionRec) -> dict[str, Any]:
    """One product option with its values (and, as the option endpoints answer, the skus)."""
    return {
        "id": o.id,
        "name": localized(ctx, o.name_ar, o.name_en),
        "description": "",
        "type": o.type,
        "required": o.required,
        "associated_with_order_time": 0,
        "sort": o.sort,
        "display_type": o.display_type,
        "visibility": o.visibility,
        "visibility_condition_type": "=",
        "visibility_condition_option": None,
        "visibility_condition_value": None,
        "translations": {"ar": {"option_name": o.name_ar, "description": ""}},
        "values": [option_value_json(ctx, o, v, p) for v in o.values],
    }


def _options_json(ctx: RequestContext, p: ProductRec) -> list[dict[str, Any]]:
    if p.option_kind < 0 and p.options is None:
        return []
    return [option_json(ctx, p, o) for o in options_of(p)]


def sku_json(ctx: RequestContext, p: ProductRec, i: int) -> dict[str, Any]:
    """The product's ``i``-th variant as ``skus[]`` and the variant endpoints show it."""
    q, cur = ctx.quirks, ctx.store.currency
    v = variants_of(p)[i]
    owner = {val.id: (o, val) for o in options_of(p) for val in o.values}
    extra_price = sum(owner[x][1].price for x in v.value_ids if x in owner)
    regular = v.extra.get("price", p.price + extra_price)
    sale = v.extra.get("sale_price", p.sale_price)
    cost = v.extra.get("cost_price", p.cost)
    weight = v.extra.get("weight", p.weight)
    stock = (p.variant_qty or [])[i] if i < len(p.variant_qty or []) else 0
    return {
        "id": v.id,
        "price": money(sale or regular, cur),
        "regular_price": money(regular, cur),
        "cost_price": money(cost, cur),
        "sale_price": money(sale, cur),
        "has_special_price": bool(sale),
        "stock_quantity": str(stock) if q else stock,
        "unlimited_quantity": p.unlimited,
        "notify_low": v.extra.get("notify_low", p.notify_quantity),
        "barcode": v.extra.get("barcode", ""),
        "sku": v.sku,
        "mpn": v.extra.get("mpn", ""),
        "gtin": v.extra.get("gtin", ""),
        "updated_at": date_obj(p.updated),
        "related_options": list(dict.fromkeys(owner[x][0].id for x in v.value_ids if x in owner)),
        "related_option_values": list(v.value_ids),
        "weight": weight / 1000,
        "weight_type": "kg",
        "weight_label": f"{weight / 1000:g} كجم",
        "is_user_subscribed_to_sku": False,
        "is_default": i == next(iter(live_indexes(p)), -1),
    }


def _skus_json(ctx: RequestContext, p: ProductRec) -> list[dict[str, Any]]:
    if not p.variant_qty:
        return []
    return [sku_json(ctx, p, i) for i in live_indexes(p)]


def customer_json(
    ctx: RequestContext,
    c: CustomerRec,
    fields: frozenset[str] | None = None,
    stats: dict[int, tuple[int, int, int]] | None = None,
) -> dict[str, Any]:
    """A customer; ``fields`` (``fields[]``) adds the optional keys, ``stats`` maps customer
    id -> (orders count, orders amount in halalas, latest purchase epoch) for the order keys."""
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
        # No birthday given: Salla's examples print the Unix epoch in store time.
        "birthday": {**date_obj(0), "date": "1970-01-01 00:00:00.000000"},
        "city": localized(ctx, city_ar, city_en),
        "country": localized(ctx, country_ar, country_en),
        "country_code": country_code,
        "currency": ctx.store.currency,
        "location": "",
        "lang": ctx.language,
        "created_at": date_obj(c.created),
        "updated_at": date_obj(c.updated),
        "groups": list(c.groups),
    }
    for key in ("location", "birthday"):
        if key in c.extra:
            out[key] = c.extra[key]
    if fields is not None:
        # ``fields[]`` adds the extra keys Salla leaves out by default (changelog 2.10.53).
        count, total, last = (stats or {}).get(c.id, (0, 0, 0))
        extra: dict[str, Any] = {
            "is_blocked": c.blocked,
            "block_reason": c.extra.get("block_reason"),
            "is_whitelisted": False,
            "is_inactive": False,
            "is_notifications_enabled": True,
            "total_points": 0,
            "wallet_balance": money(0, ctx.store.currency),
            "country_id": COUNTRY_IDS.get(country_code, 0),
            "orders_count": count,
            "orders_amount": money(total, ctx.store.currency),
            "orders_average": money(total // count if count else 0, ctx.store.currency),
            "latest_purchase": date_obj(last) if last else None,
        }
        out.update({k: v for k, v in extra.items() if k in fields})
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
    cur = ctx.store.currency
    _, _, _, total = order_amounts(o)
    return {
        "id": o.id,
        "reference_id": o.reference_id,
        "total": money(total, cur),
        "date": date_obj(o.created),
        "status": _order_status(ctx, o.status_id, store.custom_status_of(o)),
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
                "thumbnail": image_url(it.product_id, 1),
            }
            for it in o.items
        ],
    }


def order_json(
    ctx: RequestContext, store: StoreData, o: OrderRec, *, light: bool = False
) -> dict[str, Any]:
    """An order as ``GET /orders/{id}`` (and order events) show it."""
    cur = ctx.store.currency
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
        "status": _order_status(ctx, o.status_id, store.custom_status_of(o)),
        "is_price_quote": False,
        "payment_method": o.payment_method,
        "currency": cur,
        "amounts": {
            "sub_total": money(sub_total, cur),
            "shipping_cost": money(shipping, cur),
            "cash_on_delivery": money(0, cur),
            "tax": {
                "percent": f"{TAX_PERCENT}.00",
                "amount": money(tax, cur),
            },
            "discounts": [],
            "total": money(total, cur),
        },
        "total": money(total, cur),
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
        "tags": [
            {"id": t, "name": store.order_tags[t]}
            for t in o.extra.get("tags", ())
            if t in store.order_tags
        ],
    }
    if not light:
        out["items"] = [order_item_json(ctx, store, o, it) for it in o.items]
        out["shipments"] = [shipment_json(ctx, store, s) for s in store.shipments_of(o.id)]
    return out


def invoice_json(ctx: RequestContext, store: StoreData, o: OrderRec) -> dict[str, Any]:
    """The invoice Salla issues for an order (``invoice.created``)."""
    cur = ctx.store.currency
    sub_total, shipping, tax, total = order_amounts(o)
    issued = max(o.updated, o.created)
    return {
        "id": derive_id(o.id, 4),
        "order_id": o.id,
        "invoice_number": f"INV-{o.reference_id}",
        "uuid": f"{derive_id(o.id, 5):08x}-0000-4000-8000-{o.id:012x}"[:36],
        "type": "invoice",
        "date": date_str(issued),
        "payment_method": o.payment_method,
        "sub_total": money(sub_total, cur),
        "shipping_cost": money(shipping, cur),
        "tax": {"percent": f"{TAX_PERCENT}.00", "amount": money(tax, cur)},
        "total": money(total, cur),
        "items": [
            {
                "name": _item_name(ctx, it),
                "quantity": it.quantity,
                "price": money(it.unit_price, cur),
            }
            for it in o.items
        ],
    }


def order_item_json(
    ctx: RequestContext, store: StoreData, o: OrderRec, it: OrderItemRec
) -> dict[str, Any]:
    """An order line as ``GET /orders/items?order_id=`` shows it."""
    cur = ctx.store.currency
    line = it.unit_price * it.quantity
    options: list[dict[str, Any]] = []
    product = store.products.get(it.product_id)
    variants = variants_of(product) if product is not None and it.variant >= 0 else []
    if product is not None and 0 <= it.variant < len(variants):
        owner = {val.id: (opt, val) for opt in options_of(product) for val in opt.values}
        for n, value_id in enumerate(variants[it.variant].value_ids):
            if value_id not in owner:
                continue
            opt, val = owner[value_id]
            options.append(
                {
                    "id": derive_id(it.id, 1 + n),
                    "product_option_id": opt.id,
                    "name": localized(ctx, opt.name_ar, opt.name_en),
                    "type": opt.type,
                    "value": [
                        {
                            "id": val.id,
                            "name": localized(ctx, val.name_ar, val.name_en),
                            "price": money(val.price, cur),
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
            "price_without_tax": money(it.unit_price, cur),
            "total_discount": money(0, cur),
            "tax": {"percent": f"{TAX_PERCENT}.00", "amount": money(tax_of(line), cur)},
            "total": money(line, cur),
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
    custom = store.custom_statuses.get(h.custom_id) if h.custom_id else None
    customized: dict[str, Any] = {
        "id": derive_id(h.status_id, 1),
        "name": name,
        "type": "original",
        "slug": status.slug if status else "",
        "original": {"id": h.status_id, "name": name},
        "parent": {},
    }
    if custom is not None:
        shown = custom_status_json(ctx, store, custom)
        customized = {k: shown[k] for k in ("id", "name", "type", "slug", "original", "parent")}
    return {
        "id": h.id,
        "status": name,
        "customized": customized,
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
    cur = ctx.store.currency
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
        "total": money(total, cur),
        "cash_on_delivery": money(total if s.payment_method == "cod" else 0, cur),
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
                "price": money(it.unit_price, cur),
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
