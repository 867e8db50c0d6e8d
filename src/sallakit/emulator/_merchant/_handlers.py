"""Handlers of the core resources: store, products, categories, brands, customers, orders,
order statuses and histories, shipments.

Each handler is ``(request, ctx, store) -> ApiResponse``; ``HANDLERS`` maps the registry's
``client_method`` to it. Everything else goes to the generic collections (``_generic``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from . import _render as r
from ._catalogues import CATALOGUE_HANDLERS
from ._common import ack, list_response
from ._events import emit
from ._options import live_indexes, options_of, variants_of
from ._records import OrderRec, ProductRec
from ._shapes import (
    RIYADH,
    localized,
    not_found,
    parse_int,
    require_fields,
    validation_error,
)
from ._store import StoreData
from ._tables import CITIES, COUNTRY_IDS, COURIERS, ORDER_STATUSES, STATUS_BY_ID, STATUS_BY_SLUG

__all__ = ["HANDLERS", "Handler"]

Handler = Callable[[ApiRequest, RequestContext, StoreData], ApiResponse]


def _ok(request: ApiRequest, data: Any) -> ApiResponse:
    return ApiResponse(data=data, status=request.endpoint.success_status)


def _body(request: ApiRequest) -> dict[str, Any]:
    return request.body if isinstance(request.body, dict) else {}


def _pp(request: ApiRequest, *names: str) -> str:
    """The first present path parameter among ``names`` (their spelling follows the docs)."""
    for name in names:
        if name in request.path_params:
            return request.path_params[name]
    return next(iter(request.path_params.values()), "")


def _light(request: ApiRequest) -> bool:
    return request.q("format") == "light"


def _local_date(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, RIYADH).date()


def _parse_date(ctx: RequestContext, value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise validation_error(ctx, invalid=[name]) from None


# -- store ---------------------------------------------------------------------------------


def store_info(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, r.store_info_json(ctx, store))


# -- products ------------------------------------------------------------------------------


def products_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    rows: list[ProductRec] = list(reversed(store.products.values()))
    keyword = (request.q("keyword") or "").strip().lower()
    if keyword:
        rows = [
            p
            for p in rows
            if keyword in p.name_ar.lower()
            or keyword in p.name_en.lower()
            or keyword in p.sku.lower()
        ]
    status = request.q("status")
    if status:
        if status not in ("sale", "out", "hidden"):
            raise validation_error(ctx, invalid=["status"])
        rows = [p for p in rows if _effective_status(p) == status]
    category = parse_int(request.q("category"))
    if category is not None:
        wanted = {category, *(c.id for c in store.children_of(category))}
        rows = [p for p in rows if wanted.intersection(p.category_ids)]
    light = _light(request)
    return list_response(request, ctx, rows, lambda p: r.product_json(ctx, store, p, light=light))


def _effective_status(p: ProductRec) -> str:
    if p.status == "sale" and p.quantity <= 0 and not p.unlimited:
        return "out"
    return p.status


def products_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.add_product(ctx, _body(request)))


def products_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    p = store.product(ctx, _pp(request, "product"))
    return _ok(request, r.product_json(ctx, store, p, light=_light(request)))


def products_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    p = store.product(ctx, _pp(request, "product"))
    return _ok(request, store.update_product(ctx, p.id, _body(request)))


def products_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    p = store.product(ctx, _pp(request, "product"))
    store.delete_product(ctx, p.id)
    return ack(request, ctx, deleted=True)


def products_retrieve_by_sku(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    p = store.product_by_sku(ctx, _pp(request, "sku"))
    return _ok(request, r.product_json(ctx, store, p, light=_light(request)))


def products_update_by_sku(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    p = store.product_by_sku(ctx, _pp(request, "sku"))
    return _ok(request, store.update_product(ctx, p.id, _body(request)))


def products_delete_by_sku(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    p = store.product_by_sku(ctx, _pp(request, "sku"))
    store.delete_product(ctx, p.id)
    return ack(request, ctx, deleted=True)


def products_update_price_by_sku(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    sku = _pp(request, "sku")
    hit = store.sku_index.get(sku)
    if hit is None or hit[0] not in store.products:
        raise not_found(ctx)
    body = require_fields(ctx, request.body, ("price",))
    changes: dict[str, Any] = {
        k: body[k] for k in ("price", "sale_price", "cost_price") if k in body
    }
    return _ok(request, store.update_product(ctx, hit[0], changes))


def products_update_status(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    p = store.product(ctx, _pp(request, "product"))
    body = require_fields(ctx, request.body, ("status",))
    store.update_product(ctx, p.id, {"status": body["status"]})
    return ack(request, ctx)


def _variant(ctx: RequestContext, store: StoreData, raw: str) -> tuple[ProductRec, int]:
    vid = parse_int(raw)
    hit = store.variant_index.get(vid) if vid is not None else None
    if hit is None or hit[0] not in store.products:
        raise not_found(ctx)
    return store.products[hit[0]], hit[1]


def variants_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    p = store.product(ctx, _pp(request, "product"))
    return list_response(request, ctx, live_indexes(p), lambda i: r.sku_json(ctx, p, i))


def variants_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    p, i = _variant(ctx, store, _pp(request, "variant"))
    return _ok(request, r.sku_json(ctx, p, i))


def variants_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    p, i = _variant(ctx, store, _pp(request, "variant"))
    store.update_variant(ctx, p.id, i, _body(request))
    return _ok(request, r.sku_json(ctx, p, i))


def variants_update_quantity(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    p, i = _variant(ctx, store, _pp(request, "variant"))
    body = require_fields(ctx, request.body, ("quantity",))
    q = parse_int(body["quantity"])
    if q is None or q < 0:
        raise validation_error(ctx, invalid=["quantity"])
    store.set_stock(ctx, p.id, q, variants_of(p)[i].id)
    return _ok(request, r.sku_json(ctx, p, i))


def options_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.add_option(ctx, _pp(request, "product"), request.body))


def _option_with_skus(ctx: RequestContext, store: StoreData, option_id: Any) -> Any:
    p, o = store.option(ctx, option_id)
    return {**r.option_json(ctx, p, o), "skus": r.product_json(ctx, store, p)["skus"]}


def options_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, _option_with_skus(ctx, store, _pp(request, "option")))


def options_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    option = store.update_option(ctx, _pp(request, "option"), request.body)
    return _ok(request, _option_with_skus(ctx, store, option["id"]))


def options_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.delete_option(ctx, _pp(request, "option"))
    return ack(request, ctx, deleted=True)


def option_values_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    # Documented answer: the whole option, the new value among its values.
    option = store.add_option_value(ctx, _pp(request, "option"), request.body)
    return _ok(request, _option_with_skus(ctx, store, option["id"]))


def option_values_retrieve(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    p, o, v = store.option_value(ctx, _pp(request, "value"))
    return _ok(request, r.option_value_json(ctx, o, v, p))


def option_values_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.update_option_value(ctx, _pp(request, "value"), request.body))


def option_values_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.delete_option_value(ctx, _pp(request, "value"))
    return ack(request, ctx, deleted=True)


def _quantity_row(ctx: RequestContext, p: ProductRec, i: int) -> dict[str, Any]:
    name = localized(ctx, p.name_ar, p.name_en)
    price = p.sale_price or p.price
    variant = ""
    sku, sku_id, stock = p.sku, 0, p.quantity
    if i >= 0:
        v = variants_of(p)[i]
        names = {
            x.id: localized(ctx, x.name_ar, x.name_en) for o in options_of(p) for x in o.values
        }
        variant = " / ".join(names[x] for x in v.value_ids if x in names)
        sku, sku_id, stock = v.sku, v.id, (p.variant_qty or [0])[i]
    return {
        "id": p.id,
        "image": r.image_url(p.id, 1),
        "name": name,
        "price": f"{price / 100:.2f}",
        "quantity": stock,
        "sku": sku,
        "sku_id": sku_id,
        "sold_quantity": p.sold,
        "unlimited_quantity": p.unlimited,
        "variant": variant,
    }


def quantities_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    """Stock per product and per variant (one row per live variant), newest products first."""
    rows: list[tuple[ProductRec, int]] = []
    for p in reversed(store.products.values()):
        live = live_indexes(p) if p.variant_qty else []
        if live:
            rows.extend((p, i) for i in live)
        else:
            rows.append((p, -1))
    return list_response(request, ctx, rows, lambda row: _quantity_row(ctx, *row))


_MODES = ("overwrite", "increment", "decrement")


def quantities_bulk_update(
    request: ApiRequest, ctx: RequestContext, store: StoreData
) -> ApiResponse:
    """``products[]`` of ``{identifer, identifer_type, quantity, mode}`` (Salla's spelling;
    ``identifier`` is accepted too). Every line is validated before any is applied."""
    body = require_fields(ctx, request.body, ("products",))
    lines = body["products"]
    if not isinstance(lines, list):
        raise validation_error(ctx, invalid=["products"])
    plan: list[tuple[ProductRec, int, int, str, Any]] = []
    for n, raw in enumerate(lines):
        if not isinstance(raw, dict):
            raise validation_error(ctx, invalid=[f"products.{n}"])
        ident = str(raw.get("identifer", raw.get("identifier", "")))
        kind = raw.get("identifer_type", raw.get("identifier_type", "id"))
        quantity = parse_int(raw.get("quantity"))
        mode = raw.get("mode") or "overwrite"
        if quantity is None or quantity < 0:
            raise validation_error(ctx, invalid=[f"products.{n}.quantity"])
        if mode not in _MODES:
            raise validation_error(ctx, invalid=[f"products.{n}.mode"])
        hit: tuple[int, int] | None
        if kind == "id":
            pid = parse_int(ident)
            hit = (pid, -1) if pid is not None and pid in store.products else None
        elif kind == "variant_id":
            vid = parse_int(ident)
            hit = store.variant_index.get(vid) if vid is not None else None
        elif kind == "sku":
            hit = store.sku_index.get(ident)
        else:
            raise validation_error(ctx, invalid=[f"products.{n}.identifer_type"])
        if hit is None or hit[0] not in store.products:
            raise validation_error(ctx, invalid=[f"products.{n}.identifer"])
        plan.append((store.products[hit[0]], hit[1], quantity, mode, raw.get("unlimited_quantity")))
    for p, i, quantity, mode, unlimited in plan:
        current = (p.variant_qty or [0])[i] if i >= 0 else p.quantity
        target = {
            "overwrite": quantity,
            "increment": current + quantity,
            "decrement": max(current - quantity, 0),
        }[mode]
        if unlimited is not None:
            p.unlimited = bool(unlimited)
        store.set_stock(ctx, p.id, target, variants_of(p)[i].id if i >= 0 else None)
    return ack(request, ctx)


# -- categories and brands -----------------------------------------------------------------


def categories_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    keyword = (request.q("keyword") or "").strip().lower()
    status = request.q("status")
    rows = [
        c
        for c in store.categories.values()
        if (c.parent_id == 0 or keyword)
        and (not keyword or keyword in c.name_ar.lower() or keyword in c.name_en.lower())
        and (not status or c.status == status)
    ]
    with_ = set(request.q_list("with"))
    return list_response(
        request,
        ctx,
        rows,
        lambda c: r.category_json(
            ctx, store, c, deep="items" in with_, translations="translations" in with_
        ),
    )


def categories_children(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    cid = parse_int(_pp(request, "category"))
    if cid is None or cid not in store.categories:
        raise not_found(ctx)
    rows = store.children_of(cid)
    return list_response(request, ctx, rows, lambda c: r.category_json(ctx, store, c))


def categories_products(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    cid = parse_int(_pp(request, "id", "category"))
    if cid is None or cid not in store.categories:
        raise not_found(ctx)
    wanted = {cid, *(c.id for c in store.children_of(cid))}
    rows = [p for p in reversed(store.products.values()) if wanted.intersection(p.category_ids)]
    return list_response(request, ctx, rows, lambda p: r.product_json(ctx, store, p))


def categories_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.add_category(ctx, _body(request)))


def categories_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    cid = parse_int(_pp(request, "category"))
    c = store.categories.get(cid) if cid is not None else None
    if c is None:
        raise not_found(ctx)
    return _ok(request, r.category_json(ctx, store, c))


def categories_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.update_category(ctx, _pp(request, "category"), _body(request)))


def categories_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.delete_category(ctx, _pp(request, "category"))
    return ack(request, ctx, deleted=True)


def brands_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    keyword = (request.q("keyword") or "").strip().lower()
    rows = [
        b
        for b in store.brands.values()
        if not keyword or keyword in b.name_ar.lower() or keyword in b.name_en.lower()
    ]
    return list_response(request, ctx, rows, lambda b: r.brand_json(ctx, b))


def brands_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.add_brand(ctx, _body(request)))


def brands_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, r.brand_json(ctx, store.brand(ctx, _pp(request, "brand"))))


def brands_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.update_brand(ctx, _pp(request, "brand"), _body(request)))


def brands_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.delete_brand(ctx, _pp(request, "brand"))
    return ack(request, ctx, deleted=True)


# -- customers -----------------------------------------------------------------------------


def customers_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    rows = list(reversed(store.customers.values()))
    keyword = (request.q("keyword") or "").strip().lower()
    if keyword:
        rows = [
            c
            for c in rows
            if keyword in f"{c.first_name} {c.last_name}".lower()
            or keyword in str(c.mobile)
            or keyword in f"{c.mobile_code}{c.mobile}"
            or keyword in c.email.lower()
        ]
    date_from = _parse_date(ctx, request.q("date_from"), "date_from")
    date_to = _parse_date(ctx, request.q("date_to"), "date_to")
    if date_from or date_to:
        rows = [
            c
            for c in rows
            if (not date_from or _local_date(c.created) >= date_from)
            and (not date_to or _local_date(c.created) <= date_to)
        ]
    fields, stats = _customer_fields(request, store)
    return list_response(request, ctx, rows, lambda c: r.customer_json(ctx, c, fields, stats))


_ORDER_STAT_FIELDS = frozenset(
    {"orders_count", "orders_amount", "orders_average", "latest_purchase"}
)


def _customer_fields(
    request: ApiRequest, store: StoreData
) -> tuple[frozenset[str] | None, dict[int, tuple[int, int, int]] | None]:
    """``fields[]`` and, when it asks for order figures, per-customer order stats."""
    fields = frozenset(request.q_list("fields"))
    if not fields:
        return None, None
    if not fields & _ORDER_STAT_FIELDS:
        return fields, None
    stats: dict[int, tuple[int, int, int]] = {}
    for o in store.orders.values():
        count, total, last = stats.get(o.customer_id, (0, 0, 0))
        stats[o.customer_id] = (count + 1, total + r.order_amounts(o)[3], max(last, o.created))
    return fields, stats


def customers_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.add_customer(ctx, _body(request)))


def customers_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.customer(ctx, _pp(request, "customer"))
    return _ok(request, r.customer_json(ctx, c, *_customer_fields(request, store)))


def customers_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.customer(ctx, _pp(request, "customer"))
    return _ok(request, store.update_customer(ctx, c.id, _body(request)))


def customers_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.customer(ctx, _pp(request, "customer"))
    del store.customers[c.id]
    store.serial += 1
    return ack(request, ctx, deleted=True)


def customers_ban(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.customer(ctx, _pp(request, "customer"))
    store.update_customer(ctx, c.id, {"block_reason": _body(request).get("reason")})
    c.blocked = True
    return ack(request, ctx)


def customers_unban(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.customer(ctx, _pp(request, "customer"))
    c.blocked = False
    store.update_customer(ctx, c.id, {"block_reason": None})
    return ack(request, ctx)


# -- orders --------------------------------------------------------------------------------

_SORT_KEYS: dict[str, Callable[[OrderRec], Any]] = {
    "id": lambda o: o.id,
    "total": lambda o: r.order_amounts(o)[3],
    "updated_at": lambda o: (o.updated, o.id),
    "created_at": lambda o: (o.created, o.id),
}


def orders_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    rows = list(reversed(store.orders.values()))
    statuses = request.q_list("status")
    if statuses:
        wanted: set[int] = set()
        for s in statuses:
            sid = parse_int(s)
            if sid is None and s in STATUS_BY_SLUG:
                sid = STATUS_BY_SLUG[s].id
            if sid is not None:
                wanted.add(sid)
        rows = [o for o in rows if o.status_id in wanted or o.extra.get("custom_status") in wanted]
    methods = set(request.q_list("payment_method"))
    if methods:
        rows = [o for o in rows if o.payment_method in methods]
    customer_id = request.q("customer_id")
    if customer_id:
        cid = parse_int(customer_id)
        rows = [o for o in rows if o.customer_id == cid]
    reference = request.q("reference_id")
    if reference:
        ref = parse_int(reference)
        rows = [o for o in rows if o.reference_id == ref]
    from_date = _parse_date(ctx, request.q("from_date"), "from_date")
    to_date = _parse_date(ctx, request.q("to_date"), "to_date")
    if from_date or to_date:
        rows = [
            o
            for o in rows
            if (not from_date or _local_date(o.created) >= from_date)
            and (not to_date or _local_date(o.created) <= to_date)
        ]
    keyword = (request.q("keyword") or "").strip().lower()
    if keyword:
        rows = [o for o in rows if _order_matches(store, o, keyword)]
    country = request.q("country")
    if country:
        code = next((k for k, v in COUNTRY_IDS.items() if str(v) == country), country.upper())
        rows = [o for o in rows if CITIES[o.city][2] == code]
    city = (request.q("city") or "").strip().lower()
    if city:
        rows = [o for o in rows if city in (CITIES[o.city][0], CITIES[o.city][1].lower())]
    product = (request.q("product") or "").strip().lower()
    if product:
        rows = [
            o
            for o in rows
            if any(product in it.name_ar.lower() or product in it.name_en.lower() for it in o.items)
        ]
    tags = request.q_list("tags")
    if tags:
        wanted_tags = {t for t in (parse_int(x) for x in tags) if t is not None}
        wanted_tags |= {k for k, v in store.order_tags.items() if v in tags}
        rows = [o for o in rows if wanted_tags.intersection(o.extra.get("tags", ()))]
    sort_by = request.q("sort_by")
    if sort_by:
        field, _, direction = sort_by.partition("-")
        key = _SORT_KEYS.get(field)
        if key is None or direction not in ("asc", "desc", ""):
            raise validation_error(ctx, invalid=["sort_by"])
        rows.sort(key=key, reverse=direction != "asc")
    return list_response(request, ctx, rows, lambda o: r.order_summary_json(ctx, store, o))


def _order_matches(store: StoreData, o: OrderRec, keyword: str) -> bool:
    """Salla's documented keyword targets: customer mobile and name, shipping number,
    reference id and tag name."""
    if keyword == str(o.reference_id) or keyword == str(o.id):
        return True
    c = store.customers.get(o.customer_id)
    if c is not None and (
        keyword in f"{c.first_name} {c.last_name}".lower()
        or keyword in str(c.mobile)
        or keyword in f"{c.mobile_code}{c.mobile}"
    ):
        return True
    if any(keyword in store.order_tags.get(t, "").lower() for t in o.extra.get("tags", ())):
        return True
    return any(keyword == s.tracking_number.lower() for s in store.shipments_of(o.id))


def orders_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    body = _body(request)
    customer = body.get("customer")
    customer_id = parse_int(customer.get("id")) if isinstance(customer, dict) else None
    customer_id = customer_id or parse_int(body.get("customer_id"))
    products = body.get("products")
    missing = [n for n, v in (("customer", customer_id), ("products", products)) if not v]
    if missing:
        raise validation_error(ctx, missing)
    if customer_id not in store.customers:
        raise validation_error(ctx, invalid=["customer.id"])
    payment = body.get("payment")
    method = payment.get("method") if isinstance(payment, dict) else None
    order = store.place_order(
        ctx,
        customer_id=customer_id,
        items=products if isinstance(products, list) else None,
        payment_method=str(method) if method else None,
    )
    return _ok(request, order)


def orders_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    o = store.order(ctx, _pp(request, "order_id"))
    return _ok(request, r.order_json(ctx, store, o, light=_light(request)))


def orders_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    o = store.order(ctx, _pp(request, "order_id"))
    body = _body(request)
    if body.get("payment_method"):
        o.payment_method = str(body["payment_method"])
    o.updated = max(store._now(ctx), o.updated + 1)
    store.serial += 1
    payload = r.order_json(ctx, store, o)
    emit(ctx, "order.updated", payload, "/orders/{}")
    return _ok(request, payload)


def order_items_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    raw = request.q("order_id")
    if not raw:
        raise validation_error(ctx, missing=["order_id"])
    o = store.order(ctx, raw)
    items = [r.order_item_json(ctx, store, o, it) for it in o.items]
    return list_response(request, ctx, items, lambda it: it)


def histories_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    o = store.order(ctx, _pp(request, "order_id"))
    rows = list(reversed(store.histories_of(o)))
    return list_response(request, ctx, rows, lambda h: r.history_json(ctx, store, h))


def histories_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    o = store.order(ctx, _pp(request, "order_id"))
    body = require_fields(ctx, request.body, ("note",))
    return _ok(request, store.add_history(ctx, o.id, str(body["note"])))


def orders_update_status(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    o = store.order(ctx, _pp(request, "order_id"))
    body = _body(request)
    target = body.get("slug") or body.get("status_id")
    if not target:
        raise validation_error(ctx, missing=["slug"])
    store.change_order_status(ctx, o.id, str(target), note=str(body.get("note") or ""))
    return ack(request, ctx)


def statuses_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    """Salla's original statuses and the merchant's custom ones, by sort position."""
    rows: list[tuple[int, int, dict[str, Any]]] = [
        (store.status_sort.get(s.id, s.sort), 0, r.status_json(ctx, s, store.status_sort.get(s.id)))
        for s in ORDER_STATUSES
    ]
    rows += [
        (c.sort, 1, r.custom_status_json(ctx, store, c)) for c in store.custom_statuses.values()
    ]
    rows.sort(key=lambda row: (row[0], row[1]))
    return list_response(request, ctx, [row[2] for row in rows], lambda s: s)


def _status_payload(ctx: RequestContext, store: StoreData, raw: str) -> dict[str, Any]:
    sid = parse_int(raw)
    status = STATUS_BY_ID.get(sid) if sid is not None else None
    if status is not None:
        return r.status_json(ctx, status, store.status_sort.get(status.id))
    custom = store.custom_statuses.get(sid) if sid is not None else None
    if custom is None:
        raise not_found(ctx)
    return r.custom_status_json(ctx, store, custom)


def statuses_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, _status_payload(ctx, store, _pp(request, "status_id")))


def statuses_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.add_custom_status(ctx, request.body)
    return _ok(request, r.custom_status_json(ctx, store, c))


def statuses_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    c = store.update_custom_status(ctx, _pp(request, "status_id"), request.body)
    return _ok(request, r.custom_status_json(ctx, store, c))


def statuses_sort(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.sort_statuses(ctx, request.body)
    return ack(request, ctx)


def order_items_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.add_order_item(ctx, request.body))


def order_items_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.update_order_item(ctx, _pp(request, "item_id"), request.body))


def order_items_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.delete_order_item(ctx, _pp(request, "item_id"))
    return ack(request, ctx, deleted=True)


def order_tags_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    rows = [{"id": k, "name": v} for k, v in store.order_tags.items()]
    return list_response(request, ctx, rows, lambda t: t)


def order_tags_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    tid, name = store.tag_order(ctx, _pp(request, "order_id"), _body(request).get("tag_name"))
    return _ok(request, {"id": tid, "name": name})


def order_tags_delete(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    store.untag_order(ctx, _pp(request, "order_id"), _pp(request, "tag_id"))
    return ack(request, ctx, deleted=True)


# -- shipments -----------------------------------------------------------------------------


def shipments_list(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    rows = list(reversed(store.shipments.values()))
    order_id = parse_int(request.q("order_id"))
    if order_id is not None:
        rows = [s for s in rows if s.order_id == order_id]
    for name in ("status", "payment_method"):
        value = request.q(name)
        if value:
            rows = [s for s in rows if getattr(s, name) == value]
    shipment_type = request.q("shipment_type")
    if shipment_type:
        rows = [s for s in rows if s.type == shipment_type]
    courier = parse_int(request.q("courier_id"))
    if courier is not None:
        rows = [s for s in rows if COURIERS[s.courier][0] == courier]
    from_date = _parse_date(ctx, request.q("from_date"), "from_date")
    to_date = _parse_date(ctx, request.q("to_date"), "to_date")
    if from_date or to_date:
        rows = [
            s
            for s in rows
            if (not from_date or _local_date(s.created) >= from_date)
            and (not to_date or _local_date(s.created) <= to_date)
        ]
    return list_response(request, ctx, rows, lambda s: r.shipment_json(ctx, store, s))


def shipments_create(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    return _ok(request, store.create_shipment(ctx, _body(request)))


def shipments_retrieve(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    s = store.shipment(ctx, _pp(request, "shipment_id"))
    return _ok(request, r.shipment_json(ctx, store, s))


def shipments_update(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    s = store.shipment(ctx, _pp(request, "shipment_id"))
    return _ok(request, store.update_shipment(ctx, s.id, _body(request)))


def shipments_cancel(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    s = store.shipment(ctx, _pp(request, "shipment_id"))
    return _ok(request, store.cancel_shipment(ctx, s.id))


def shipments_return(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    s = store.shipment(ctx, _pp(request, "shipment_id"))
    return _ok(request, store.return_shipment(ctx, s.id))


def shipments_tracking(request: ApiRequest, ctx: RequestContext, store: StoreData) -> ApiResponse:
    s = store.shipment(ctx, _pp(request, "shipment_id"))
    shipment = r.shipment_json(ctx, store, s)
    return _ok(
        request,
        {
            "shipment_id": s.id,
            "tracking_number": s.tracking_number,
            "tracking_link": shipment["tracking_link"],
            "status": s.status,
            "history": [
                {
                    "status": s.status,
                    "description": localized(ctx, "تم تحديث حالة الشحنة", "Shipment updated"),
                    "date": shipment["created_at"],
                }
            ],
        },
    )


HANDLERS: dict[str, Handler] = {
    "store.info": store_info,
    "products.list": products_list,
    "products.create": products_create,
    "products.retrieve": products_retrieve,
    "products.update": products_update,
    "products.delete": products_delete,
    "products.retrieve_by_sku": products_retrieve_by_sku,
    "products.update_by_sku": products_update_by_sku,
    "products.delete_by_sku": products_delete_by_sku,
    "products.update_price_by_sku": products_update_price_by_sku,
    "products.update_status": products_update_status,
    "products.variants.list": variants_list,
    "products.variants.retrieve": variants_retrieve,
    "products.variants.update": variants_update,
    "products.variants.update_quantity": variants_update_quantity,
    "products.options.create": options_create,
    "products.options.retrieve": options_retrieve,
    "products.options.update": options_update,
    "products.options.delete": options_delete,
    "products.option_values.create": option_values_create,
    "products.option_values.retrieve": option_values_retrieve,
    "products.option_values.update": option_values_update,
    "products.option_values.delete": option_values_delete,
    "products.quantities.list": quantities_list,
    "products.quantities.bulk_update": quantities_bulk_update,
    "categories.list": categories_list,
    "categories.search": categories_list,
    "categories.list_children": categories_children,
    "categories.list_products": categories_products,
    "categories.create": categories_create,
    "categories.retrieve": categories_retrieve,
    "categories.update": categories_update,
    "categories.delete": categories_delete,
    "brands.list": brands_list,
    "brands.create": brands_create,
    "brands.retrieve": brands_retrieve,
    "brands.update": brands_update,
    "brands.delete": brands_delete,
    "customers.list": customers_list,
    "customers.create": customers_create,
    "customers.retrieve": customers_retrieve,
    "customers.update": customers_update,
    "customers.delete": customers_delete,
    "customers.ban": customers_ban,
    "customers.unban": customers_unban,
    "orders.list": orders_list,
    "orders.create": orders_create,
    "orders.retrieve": orders_retrieve,
    "orders.update": orders_update,
    "orders.items.list": order_items_list,
    "orders.histories.list": histories_list,
    "orders.histories.create": histories_create,
    "orders.update_status": orders_update_status,
    "orders.statuses.list": statuses_list,
    "orders.statuses.retrieve": statuses_retrieve,
    "orders.statuses.create": statuses_create,
    "orders.statuses.update": statuses_update,
    "orders.statuses.sort": statuses_sort,
    "orders.items.create": order_items_create,
    "orders.items.update": order_items_update,
    "orders.items.delete": order_items_delete,
    "orders.tags.list": order_tags_list,
    "orders.tags.create": order_tags_create,
    "orders.tags.delete": order_tags_delete,
    "shipments.list": shipments_list,
    "shipments.create": shipments_create,
    "shipments.retrieve": shipments_retrieve,
    "shipments.update": shipments_update,
    "shipments.cancel": shipments_cancel,
    "shipments.create_return": shipments_return,
    "shipments.retrieve_tracking": shipments_tracking,
    **CATALOGUE_HANDLERS,
}
