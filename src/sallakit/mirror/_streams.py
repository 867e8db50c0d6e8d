"""Declarative streams: one :class:`Stream` per mirrored resource (pure: no I/O).

A stream says how a resource is listed (path, parameters, how to reconcile it), how one entity is
fetched again (the detail path), how a raw Salla object becomes the normalized columns users
query, and which child tables hang off it. The engine (``_steps.py``) reads these declarations
and never special-cases a resource by name beyond them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sallakit.models import parse_salla_datetime

__all__ = [
    "CHILD_TABLES",
    "RESOURCES",
    "STREAMS",
    "TABLES",
    "ChildSpec",
    "Row",
    "Stream",
    "data_hash",
    "make_row",
    "stream",
]

Normalizer = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Row:
    """One entity ready to store: its id, normalized columns, raw object and content hash.

    ``source`` says which rendering ``data`` is (``list`` or ``detail``): Salla's list and
    detail endpoints may render one entity differently, so hashes are only compared between
    renderings of the same source.
    """

    id: int
    columns: dict[str, Any]
    data: dict[str, Any]
    hash: str
    source: str = "list"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """A child table filled from its parent: from a key of the parent's object, or a call.

    ``path`` (with ``{id}`` for the parent's id) makes it a separate request per parent;
    ``key`` takes the children from the parent's own object.
    """

    table: str
    parent_column: str
    normalize: Normalizer
    key: str | None = None
    path: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    paginated: bool = False


@dataclass(frozen=True, slots=True)
class Stream:
    """How one top-level resource is mirrored.

    Attributes:
        name: The resource (and table) name.
        list_path: The list endpoint.
        detail_path: The detail endpoint (``{id}`` is replaced); a 404 there means deleted.
        normalize: Raw object -> normalized columns.
        list_params: Fixed parameters of every list call.
        needs_detail: The list shows a summary; each entity needs its detail call.
        children: Child tables refreshed with each entity.
        reconcile: ``relist`` (walk the whole list and diff ids) or ``updated_desc`` (walk
            ``sort_by=updated_at-desc`` down to the watermark).
        backfill_params: Parameters of the backfill walk (a stable order).
        window: The ``(from, to)`` date filter names usable to window a capped list.
        flatten: Key of nested entities to flatten into the same table (category trees).
        interval: Default seconds between reconciliations.
        audit_filters: Extra remote totals to compare: name -> (list params, column, value).
    """

    name: str
    list_path: str
    detail_path: str
    normalize: Normalizer
    list_params: Mapping[str, Any] = field(default_factory=dict)
    needs_detail: bool = False
    children: tuple[ChildSpec, ...] = ()
    reconcile: str = "relist"
    backfill_params: Mapping[str, Any] = field(default_factory=dict)
    window: tuple[str, str] | None = None
    flatten: str | None = None
    interval: float = 3600.0
    top_level_filter: tuple[str, Any] | None = None


# ---------------------------------------------------------------------------------- helpers


def _amount(value: Any) -> Decimal | None:
    """A Money object's amount (``{"amount": 12.5, "currency": "SAR"}``) or a bare number."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    if value is None or isinstance(value, bool) or value in ("", {}, []):
        return None
    try:
        result = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _currency(value: Any, fallback: Any = None) -> str | None:
    if isinstance(value, Mapping) and value.get("currency"):
        return str(value["currency"])
    return str(fallback) if fallback else None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Mapping):
        value = value.get("id")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value)
    return text if text else None


def _epoch(value: Any) -> float | None:
    try:
        parsed = parse_salla_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.timestamp() if parsed is not None else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    return None


def data_hash(data: Mapping[str, Any]) -> str:
    """A stable digest of an object, to tell an unchanged entity from a changed one cheaply."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def make_row(normalize: Normalizer, data: Mapping[str, Any], source: str = "list") -> Row | None:
    """A :class:`Row` for a raw object; None when it has no usable id (it cannot be keyed)."""
    entity_id = _int(data.get("id"))
    if entity_id is None:
        return None
    plain = dict(data)
    return Row(
        id=entity_id,
        columns=normalize(plain),
        data=plain,
        hash=data_hash(plain),
        source=source,
    )


# ------------------------------------------------------------------------------ normalizers


def _product(d: Mapping[str, Any]) -> dict[str, Any]:
    brand = d.get("brand")
    return {
        "sku": _text(d.get("sku")),
        "name": _text(d.get("name")),
        "type": _text(d.get("type")),
        "status": _text(d.get("status")),
        "price_amount": _amount(d.get("price")),
        "price_currency": _currency(d.get("price")),
        "sale_price_amount": _amount(d.get("sale_price")),
        "quantity": _int(d.get("quantity")),
        "unlimited_quantity": _bool(d.get("unlimited_quantity")),
        "brand_id": _int(brand) if isinstance(brand, Mapping) else None,
        "updated_at": _epoch(d.get("updated_at")),
    }


def _variant(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sku": _text(d.get("sku")),
        "price_amount": _amount(d.get("price")),
        "price_currency": _currency(d.get("price")),
        "stock_quantity": _int(d.get("stock_quantity")),
        "unlimited_quantity": _bool(d.get("unlimited_quantity")),
        "updated_at": _epoch(d.get("updated_at")),
    }


def _category(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "parent_id": _int(d.get("parent_id")) or 0,
        "name": _text(d.get("name")),
        "status": _text(d.get("status")),
        "sort_order": _int(d.get("sort_order")),
        # Salla spells it ``update_at`` on categories.
        "updated_at": _epoch(d.get("update_at") or d.get("updated_at")),
    }


def _brand(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": _text(d.get("name")), "description": _text(d.get("description"))}


def _customer(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "first_name": _text(d.get("first_name")),
        "last_name": _text(d.get("last_name")),
        "email": _text(d.get("email")),
        "mobile": _text(d.get("mobile")),
        "mobile_code": _text(d.get("mobile_code")),
        "city": _text(d.get("city")),
        "country_code": _text(d.get("country_code")),
        "created_at": _epoch(d.get("created_at")),
        "updated_at": _epoch(d.get("updated_at")),
    }


def _order(d: Mapping[str, Any]) -> dict[str, Any]:
    status = _mapping(d.get("status"))
    amounts = _mapping(d.get("amounts"))
    total = d.get("total") or amounts.get("total")
    customer = d.get("customer")
    return {
        "reference_id": _int(d.get("reference_id")),
        "status_slug": _text(status.get("slug")),
        "status_id": _int(status.get("id")),
        "total_amount": _amount(total),
        "currency": _currency(total, d.get("currency")),
        "customer_id": _int(customer) if isinstance(customer, Mapping) else None,
        "payment_method": _text(d.get("payment_method")),
        "created_at": _epoch(d.get("date")),
        "updated_at": _epoch(d.get("updated_at")),
    }


def _order_item(d: Mapping[str, Any]) -> dict[str, Any]:
    amounts = _mapping(d.get("amounts"))
    return {
        "product_id": _int(d.get("product_id")),
        "sku": _text(d.get("sku")),
        "name": _text(d.get("name")),
        "quantity": _int(d.get("quantity")),
        "total_amount": _amount(amounts.get("total")),
        "currency": _text(d.get("currency")),
    }


def _history(d: Mapping[str, Any]) -> dict[str, Any]:
    customized = _mapping(d.get("customized"))
    return {
        "status": _text(d.get("status")),
        "status_slug": _text(customized.get("slug")),
        "note": _text(d.get("note")),
        "created_at": _epoch(d.get("created_at")),
    }


def _shipment(d: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "order_id": _int(d.get("order_id")),
        "status": _text(d.get("status")),
        "type": _text(d.get("type")),
        "courier_name": _text(d.get("courier_name")),
        "tracking_number": _text(d.get("tracking_number")),
        "created_at": _epoch(d.get("created_at")),
    }


# ------------------------------------------------------------------------------ the streams

STREAMS: tuple[Stream, ...] = (
    Stream(
        name="categories",
        list_path="/categories",
        detail_path="/categories/{id}",
        normalize=_category,
        # The whole tree: roots with their sub-categories under ``items``.
        list_params={"with[]": "items"},
        flatten="items",
        interval=24 * 3600.0,
        top_level_filter=("parent_id", 0),
    ),
    Stream(
        name="brands",
        list_path="/brands",
        detail_path="/brands/{id}",
        normalize=_brand,
        interval=24 * 3600.0,
    ),
    Stream(
        name="products",
        list_path="/products",
        detail_path="/products/{id}",
        normalize=_product,
        children=(ChildSpec("product_variants", "product_id", _variant, key="skus"),),
        interval=3600.0,
    ),
    Stream(
        name="customers",
        list_path="/customers",
        detail_path="/customers/{id}",
        normalize=_customer,
        interval=6 * 3600.0,
    ),
    Stream(
        name="orders",
        list_path="/orders",
        detail_path="/orders/{id}",
        normalize=_order,
        needs_detail=True,
        children=(
            ChildSpec("order_items", "order_id", _order_item, path="/orders/items", params={}),
            ChildSpec(
                "order_histories",
                "order_id",
                _history,
                path="/orders/{id}/histories",
                paginated=True,
            ),
        ),
        reconcile="updated_desc",
        # Oldest first: orders created during the walk land after it instead of shifting it.
        backfill_params={"sort_by": "created_at-asc"},
        window=("from_date", "to_date"),
        interval=900.0,
    ),
    Stream(
        name="shipments",
        list_path="/shipments",
        detail_path="/shipments/{id}",
        normalize=_shipment,
        interval=3600.0,
    ),
)

#: Top-level resources, in the order a full sync visits them.
RESOURCES: tuple[str, ...] = tuple(s.name for s in STREAMS)

#: Child tables and the stream that fills them.
CHILD_TABLES: dict[str, str] = {c.table: s.name for s in STREAMS for c in s.children}

#: Every mirrored table.
TABLES: tuple[str, ...] = RESOURCES + tuple(CHILD_TABLES)


def stream(name: str) -> Stream:
    """The stream of a top-level resource.

    Raises:
        KeyError: unknown resource.
    """
    for s in STREAMS:
        if s.name == name:
            return s
    raise KeyError(name)


def flatten(s: Stream, items: list[Any]) -> Iterator[Mapping[str, Any]]:
    """The objects of a page, nested ones (a category's sub-categories) included."""
    pending = [i for i in items if isinstance(i, Mapping)]
    while pending:
        item = pending.pop(0)
        yield item
        if s.flatten:
            nested = item.get(s.flatten)
            if isinstance(nested, list):
                pending.extend(i for i in nested if isinstance(i, Mapping))
