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

Column = tuple[Callable[[Any], Any], str | tuple[str, ...]]
"""A normalized column: a converter and where the value is (a dotted path into the object,
or several paths tried in turn until one holds a value)."""


def _pick(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def columns(**table: Column) -> Normalizer:
    """A normalizer declared as a table: ``column=(converter, path)``.

    ``"price.currency"`` reads ``data["price"]["currency"]`` (None when any step is not an
    object); a tuple of paths takes the first that holds a truthy value (Salla spells some
    fields two ways).
    """
    plan = [
        (name, convert, (where,) if isinstance(where, str) else where)
        for name, (convert, where) in table.items()
    ]

    def normalize(data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, convert, paths in plan:
            value = None
            for path in paths:
                value = _pick(data, path)
                if value:
                    break
            out[name] = convert(value)
        return out

    return normalize


def _parent_id(value: Any) -> int:
    # A root category's parent is 0 (Salla sends 0 or nothing).
    return _int(value) or 0


_product = columns(
    sku=(_text, "sku"),
    name=(_text, "name"),
    type=(_text, "type"),
    status=(_text, "status"),
    price_amount=(_amount, "price"),
    price_currency=(_text, "price.currency"),
    sale_price_amount=(_amount, "sale_price"),
    quantity=(_int, "quantity"),
    unlimited_quantity=(_bool, "unlimited_quantity"),
    brand_id=(_int, "brand.id"),
    updated_at=(_epoch, "updated_at"),
)

_variant = columns(
    sku=(_text, "sku"),
    price_amount=(_amount, "price"),
    price_currency=(_text, "price.currency"),
    stock_quantity=(_int, "stock_quantity"),
    unlimited_quantity=(_bool, "unlimited_quantity"),
    updated_at=(_epoch, "updated_at"),
)

_category = columns(
    parent_id=(_parent_id, "parent_id"),
    name=(_text, "name"),
    status=(_text, "status"),
    sort_order=(_int, "sort_order"),
    # Salla spells it ``update_at`` on categories.
    updated_at=(_epoch, ("update_at", "updated_at")),
)

_brand = columns(name=(_text, "name"), description=(_text, "description"))

_customer = columns(
    first_name=(_text, "first_name"),
    last_name=(_text, "last_name"),
    email=(_text, "email"),
    mobile=(_text, "mobile"),
    mobile_code=(_text, "mobile_code"),
    city=(_text, "city"),
    country_code=(_text, "country_code"),
    created_at=(_epoch, "created_at"),
    updated_at=(_epoch, "updated_at"),
)

_order = columns(
    reference_id=(_int, "reference_id"),
    status_slug=(_text, "status.slug"),
    status_id=(_int, "status.id"),
    total_amount=(_amount, ("total", "amounts.total")),
    currency=(_text, ("total.currency", "amounts.total.currency", "currency")),
    customer_id=(_int, "customer.id"),
    payment_method=(_text, "payment_method"),
    created_at=(_epoch, "date"),
    updated_at=(_epoch, "updated_at"),
)

_order_item = columns(
    product_id=(_int, "product_id"),
    sku=(_text, "sku"),
    name=(_text, "name"),
    quantity=(_int, "quantity"),
    total_amount=(_amount, "amounts.total"),
    currency=(_text, "currency"),
)

_history = columns(
    status=(_text, "status"),
    status_slug=(_text, "customized.slug"),
    note=(_text, "note"),
    created_at=(_epoch, "created_at"),
)

_shipment = columns(
    order_id=(_int, "order_id"),
    status=(_text, "status"),
    type=(_text, "type"),
    courier_name=(_text, "courier_name"),
    tracking_number=(_text, "tracking_number"),
    created_at=(_epoch, "created_at"),
)


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
