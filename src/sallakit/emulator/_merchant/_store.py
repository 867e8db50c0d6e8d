"""``StoreData``: one emulated store's Merchant API state, and its mutations.

Mutations take the request context so that they can emit the matching store webhook events
(``ctx.emit``) with the same rich payload the details endpoint returns. They validate their
input like Salla does (404 for unknown ids, 422 for missing fields) by raising
``EmulatorHTTPError``; the control surface and the API handlers share them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sallakit.emulator._context import RequestContext, StoreProfile

from . import _render as r
from ._events import emit
from ._options import live_indexes, materialize, options_of, rebuild_variants, variants_of
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
from ._seed import seed_records
from ._shapes import not_found, parse_int, require_fields, to_epoch, validation_error
from ._tables import CITIES, COURIERS, PAYMENT_METHODS, STATUS_BY_ID, STATUS_BY_SLUG

__all__ = ["StoreData"]

_PRODUCT_STATUSES = ("sale", "out", "hidden")
MAX_HALALAS = 10**15
"""The largest amount accepted, in halalas (ten trillion riyals): beyond, a 422."""
# Shipment statuses every published shipment schema accepts.
_SHIPMENT_STATUSES = frozenset(
    {"created", "in_progress", "delivering", "delivered", "shipped", "cancelled"}
)


def _halalas(value: Any) -> int | None:
    """Riyals (number or numeric string) as halalas, or None when not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, dict):
        value = value.get("amount")
    try:
        halalas = float(value) * 100
    except (TypeError, ValueError, OverflowError):
        return None
    # ``1e308`` riyals (or ``inf``) is no price: refused like any other non-amount.
    if not math.isfinite(halalas) or abs(halalas) > MAX_HALALAS:
        return None
    return round(halalas)


MAX_GRAMS = 10**9
"""The heaviest weight accepted, in grams (a million kilograms): beyond, a 422."""
_GRAMS_PER_UNIT = {"kg": 1000.0, "g": 1.0, "lb": 453.59237, "oz": 28.349523125}


def _grams(value: Any, unit: Any = "kg") -> int | None:
    """A weight (number or numeric string, decimals allowed: ``0.5`` kg) in grams, or None
    when it is not a non-negative weight in a known unit."""
    if isinstance(value, bool) or str(unit or "kg") not in _GRAMS_PER_UNIT:
        return None
    try:
        grams = float(value) * _GRAMS_PER_UNIT[str(unit or "kg")]
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(grams) or not 0 <= grams <= MAX_GRAMS:
        return None
    return round(grams)


def _names(value: Any, fallback_ar: str = "", fallback_en: str = "") -> tuple[str, str]:
    """``(ar, en)`` from a plain name or a ``{"ar": ..., "en": ...}`` object."""
    if isinstance(value, dict):
        ar = str(value.get("ar") or value.get("en") or fallback_ar)
        return ar, str(value.get("en") or ar)
    if isinstance(value, str) and value:
        return value, value
    return fallback_ar, fallback_en


@dataclass
class StoreData:
    """The data of one store: compact records plus lazily seeded generic collections."""

    profile: StoreProfile
    seed: int
    categories: dict[int, CategoryRec]
    brands: dict[int, BrandRec]
    products: dict[int, ProductRec]
    customers: dict[int, CustomerRec]
    orders: dict[int, OrderRec]
    shipments: dict[int, ShipmentRec]
    sku_index: dict[str, tuple[int, int]] = field(default_factory=dict)
    """SKU string -> (product id, variant index or -1)."""
    variant_index: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Variant (SKU) id -> (product id, variant index)."""
    order_shipments: dict[int, list[int]] = field(default_factory=dict)
    generic: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    """Every other resource, keyed by its collection path (see ``_generic``)."""
    custom_statuses: dict[int, CustomStatusRec] = field(default_factory=dict)
    """Merchant-defined order statuses (``type: custom``), by id."""
    status_sort: dict[int, int] = field(default_factory=dict)
    """Sort positions of original statuses set through ``POST /orders/statuses/sort``."""
    order_tags: dict[int, str] = field(default_factory=dict)
    """The store's order tags, id -> name (orders hold tag ids in ``extra["tags"]``)."""
    option_owner: dict[int, int] | None = None
    """Option and option-value id -> product id; built on first use, kept up to date on writes
    (with ``owned_options``)."""
    owned_options: dict[int, tuple[int, ...]] | None = None
    """Product id -> the option and value ids it holds in ``option_owner`` (built with it)."""
    item_order: dict[int, int] | None = None
    """Order item id -> order id; built on first use, kept up to date on writes."""
    serial: int = 0
    """Counts writes; seeds the random choices of ``place_order`` deterministically."""

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        profile: StoreProfile,
        *,
        seed: int,
        products: int,
        orders: int,
        customers: int,
        now: datetime,
    ) -> StoreData:
        """Seed a store; the same arguments always give the same data.

        Args:
            profile: The store's identity (ids, names, domain).
            seed: Drives every random choice.
            products: Number of products.
            orders: Number of orders (each references seeded products and customers).
            customers: Number of customers.
            now: The emulator clock; seeded dates are in the past of it.
        """
        rng = random.Random(seed)
        seeded = seed_records(
            rng,
            products=products,
            orders=orders,
            customers=customers,
            now=now,
            since=profile.created_at,
        )
        store = cls(
            profile=profile,
            seed=seed,
            categories=seeded.categories,
            brands=seeded.brands,
            products=seeded.products,
            customers=seeded.customers,
            orders=seeded.orders,
            shipments=seeded.shipments,
        )
        for p in store.products.values():
            store._index_product(p)
        for s in store.shipments.values():
            store.order_shipments.setdefault(s.order_id, []).append(s.id)
        return store

    def _index_product(self, p: ProductRec) -> None:
        # A product or variant without a sku (created without one) is not reachable by sku.
        if p.sku:
            self.sku_index[p.sku] = (p.id, -1)
        if p.variants is not None:
            for i in live_indexes(p):
                v = p.variants[i]
                if v.sku:
                    self.sku_index[v.sku] = (p.id, i)
                self.variant_index[v.id] = (p.id, i)
        elif p.variant_qty:
            # Seeded variants: ids derived as in ``_options`` without building the records.
            for i in range(len(p.variant_qty)):
                if p.sku:
                    self.sku_index[f"{p.sku}-{i + 1}"] = (p.id, i)
                self.variant_index[derive_id(p.id, 50 + i)] = (p.id, i)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Snapshots pickled before an index field existed: the lazy indexes start unbuilt.
        self.__dict__.update(state)
        for name in ("option_owner", "owned_options", "item_order"):
            self.__dict__.setdefault(name, None)

    def _reindex_product(self, p: ProductRec) -> None:
        self._unindex_product(p)
        self._index_product(p)
        self._own_options(p)

    def _unindex_product(self, p: ProductRec) -> None:
        for key, (pid, _) in list(self.sku_index.items()):
            if pid == p.id:
                del self.sku_index[key]
        for vid, (pid, _) in list(self.variant_index.items()):
            if pid == p.id:
                del self.variant_index[vid]

    def counts(self) -> dict[str, int]:
        """How many records of each core resource the store holds."""
        return {
            "products": len(self.products),
            "orders": len(self.orders),
            "customers": len(self.customers),
            "categories": len(self.categories),
            "brands": len(self.brands),
            "shipments": len(self.shipments),
        }

    # -- lookups --------------------------------------------------------------------------

    def children_of(self, category_id: int) -> list[CategoryRec]:
        return [c for c in self.categories.values() if c.parent_id == category_id]

    def shipments_of(self, order_id: int) -> list[ShipmentRec]:
        return [
            self.shipments[s] for s in self.order_shipments.get(order_id, ()) if s in self.shipments
        ]

    def histories_of(self, o: OrderRec) -> list[HistoryRec]:
        """The order's histories, oldest first (seeded orders derive theirs on first read)."""
        if o.histories is None:
            first = STATUS_BY_SLUG["under_review"].id
            hist = [HistoryRec(derive_id(o.id, 20), first, o.created)]
            if o.status_id != first:
                hist.append(HistoryRec(derive_id(o.id, 21), o.status_id, o.updated))
            return hist
        return o.histories

    def product(self, ctx: RequestContext, product_id: Any) -> ProductRec:
        pid = parse_int(product_id)
        p = self.products.get(pid) if pid is not None else None
        if p is None:
            raise not_found(ctx)
        return p

    def product_by_sku(self, ctx: RequestContext, sku: str) -> ProductRec:
        hit = self.sku_index.get(sku)
        if hit is None or hit[0] not in self.products:
            raise not_found(ctx)
        return self.products[hit[0]]

    def order(self, ctx: RequestContext, order_id: Any) -> OrderRec:
        oid = parse_int(order_id)
        o = self.orders.get(oid) if oid is not None else None
        if o is None:
            raise not_found(ctx)
        return o

    def customer(self, ctx: RequestContext, customer_id: Any) -> CustomerRec:
        cid = parse_int(customer_id)
        c = self.customers.get(cid) if cid is not None else None
        if c is None:
            raise not_found(ctx)
        return c

    def new_id(self, ctx: RequestContext, *tables: dict[int, Any]) -> int:
        """A fresh id from the emulator, skipping any that a seeded record already uses."""
        while True:
            candidate = ctx.next_id()
            if not any(candidate in t for t in tables):
                return candidate

    def _now(self, ctx: RequestContext) -> int:
        return to_epoch(ctx.now())

    # -- products -------------------------------------------------------------------------

    def product_payload(self, ctx: RequestContext, p: ProductRec) -> dict[str, Any]:
        return r.product_json(ctx, self, p)

    def _emit_product(self, ctx: RequestContext, event: str, p: ProductRec) -> None:
        emit(ctx, event, r.product_json(ctx, self, p), "/products/{}")

    def add_product(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a product (``name`` and ``price`` required); emits ``product.created``."""
        data = require_fields(ctx, fields, ("name", "price"))
        price = _halalas(data["price"])
        if price is None or price < 0:
            raise validation_error(ctx, invalid=["price"])
        status = data.get("status", "sale")
        if status not in _PRODUCT_STATUSES:
            raise validation_error(ctx, invalid=["status"])
        sku = str(data.get("sku") or "")
        if sku and sku in self.sku_index:
            raise validation_error(ctx, invalid=["sku"])
        now = self._now(ctx)
        pid = self.new_id(ctx, self.products)
        name_ar, name_en = _names(data.get("name"))
        translations = data.get("translations")
        if isinstance(translations, dict) and isinstance(translations.get("en"), dict):
            name_en = str(translations["en"].get("name") or name_en)
        quantity = parse_int(data.get("quantity")) or 0
        categories = [c for c in (parse_int(x) for x in data.get("categories") or []) if c]
        weight = _grams(data.get("weight", 0.5), data.get("weight_type"))
        if weight is None:
            raise validation_error(ctx, invalid=["weight"])
        p = ProductRec(
            id=pid,
            name_ar=name_ar,
            name_en=name_en,
            # No sku given, none invented: Salla's create example answers ``sku: null``; the
            # empty text is the schema's type for the same absence (as its quantity rows show).
            sku=sku,
            price=price,
            cost=_halalas(data.get("cost_price")) or 0,
            quantity=quantity,
            status=status,
            category_ids=categories,
            brand_id=parse_int(data.get("brand_id")) or 0,
            created=now,
            updated=now,
            sale_price=_halalas(data.get("sale_price")) or 0,
            unlimited=bool(data.get("unlimited_quantity", False)),
            product_type=str(data.get("product_type") or "product"),
            description_ar=str(data.get("description") or ""),
            description_en=str(data.get("description") or ""),
            images=1,
            weight=weight,
        )
        for key in ("mpn", "gtin", "sale_end"):
            if data.get(key):
                p.extra[key] = str(data[key])
        options = data.get("options")
        if isinstance(options, list) and options:
            explicit: dict[int, int] = {}
            p.options = [
                self._option_rec(ctx, raw, explicit, f"options.{n}")
                for n, raw in enumerate(options)
            ]
            p.variants, p.variant_qty = [], []
            rebuild_variants(p, lambda: self.new_id(ctx), explicit)
            if p.quantity == 0 and quantity > 0:
                live = live_indexes(p)
                for k, i in enumerate(live):
                    p.variant_qty[i] = quantity // len(live) + (
                        1 if k < quantity % len(live) else 0
                    )
                p.quantity = quantity
        self.products[pid] = p
        self._index_product(p)
        self._own_options(p)
        self.serial += 1
        self._emit_product(ctx, "product.created", p)
        return r.product_json(ctx, self, p)

    def update_product(
        self, ctx: RequestContext, product_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply ``changes`` to a product; emits the precise ``product.*.updated`` events."""
        p = self.product(ctx, product_id)
        if not isinstance(changes, dict):
            changes = {}
        events: list[str] = []
        if "name" in changes:
            p.name_ar, p.name_en = _names(changes["name"], p.name_ar, p.name_en)
        if "description" in changes:
            p.description_ar = p.description_en = str(changes["description"] or "")
        for key, attr in (("price", "price"), ("sale_price", "sale_price"), ("cost_price", "cost")):
            if key in changes:
                value = _halalas(changes[key])
                if value is None or value < 0:
                    raise validation_error(ctx, invalid=[key])
                if getattr(p, attr) != value and key != "cost_price":
                    events.append("product.price.updated")
                setattr(p, attr, value)
        if "status" in changes:
            status = changes["status"]
            if status not in _PRODUCT_STATUSES:
                raise validation_error(ctx, invalid=["status"])
            if status != p.status:
                p.status = status
                events.append("product.status.updated")
        if "categories" in changes:
            p.category_ids = [c for c in (parse_int(x) for x in changes["categories"] or []) if c]
            events.append("product.category.updated")
        if "brand_id" in changes:
            p.brand_id = parse_int(changes["brand_id"]) or 0
            events.append("product.brand.updated")
        if "sku" in changes and changes["sku"] and changes["sku"] != p.sku:
            if changes["sku"] in self.sku_index:
                raise validation_error(ctx, invalid=["sku"])
            self._unindex_product(p)
            p.sku = str(changes["sku"])
            self._index_product(p)
        for key in ("mpn", "gtin", "sale_end"):
            if key in changes:
                p.extra[key] = str(changes[key] or "")
        if changes.get("weight") is not None:
            grams = _grams(changes["weight"], changes.get("weight_type"))
            if grams is None:
                raise validation_error(ctx, invalid=["weight"])
            p.weight = grams
        if "unlimited_quantity" in changes:
            p.unlimited = bool(changes["unlimited_quantity"])
        p.updated = self._now(ctx)
        self.serial += 1
        for event in dict.fromkeys(events):
            self._emit_product(ctx, event, p)
        if "quantity" in changes:
            quantity = parse_int(changes["quantity"])
            if quantity is None or quantity < 0:
                raise validation_error(ctx, invalid=["quantity"])
            return self.set_stock(ctx, p.id, quantity)
        return r.product_json(ctx, self, p)

    # -- product options, values and variants ---------------------------------------------

    @staticmethod
    def _option_ids(p: ProductRec) -> tuple[int, ...]:
        if p.option_kind < 0 and p.options is None:
            return ()
        return tuple(i for o in options_of(p) for i in (o.id, *(v.id for v in o.values)))

    def _owners(self) -> dict[int, int]:
        """Option and value id -> product id (one scan of the products on first use; writes
        keep it current through ``_own_options``/``_disown_options``)."""
        if self.option_owner is None or self.owned_options is None:
            owners: dict[int, int] = {}
            owned: dict[int, tuple[int, ...]] = {}
            for p in self.products.values():
                ids = self._option_ids(p)
                if ids:
                    owned[p.id] = ids
                    for i in ids:
                        owners[i] = p.id
            self.option_owner, self.owned_options = owners, owned
        return self.option_owner

    def _disown_options(self, product_id: int) -> None:
        owners, owned = self.option_owner, self.owned_options
        if owners is None or owned is None:
            return  # not built yet: the first lookup builds it from the current products
        for i in owned.pop(product_id, ()):
            if owners.get(i) == product_id:
                del owners[i]

    def _own_options(self, p: ProductRec) -> None:
        """Bring ``option_owner`` up to date with ``p``'s current options and values."""
        self._disown_options(p.id)
        owners, owned = self.option_owner, self.owned_options
        if owners is None or owned is None:
            return
        ids = self._option_ids(p)
        if ids:
            owned[p.id] = ids
            for i in ids:
                owners[i] = p.id

    def option(self, ctx: RequestContext, option_id: Any) -> tuple[ProductRec, OptionRec]:
        """The product owning option ``option_id`` and the option; Salla's 404 otherwise."""
        oid = parse_int(option_id)
        p = self.products.get(self._owners().get(oid, -1)) if oid is not None else None
        o = next((o for o in options_of(p) if o.id == oid), None) if p else None
        if p is None or o is None:
            raise not_found(ctx)
        return p, o

    def option_value(
        self, ctx: RequestContext, value_id: Any
    ) -> tuple[ProductRec, OptionRec, OptionValueRec]:
        vid = parse_int(value_id)
        p = self.products.get(self._owners().get(vid, -1)) if vid is not None else None
        for o in options_of(p) if p else ():
            for v in o.values:
                if v.id == vid:
                    assert p is not None
                    return p, o, v
        raise not_found(ctx)

    def _value_rec(
        self, ctx: RequestContext, raw: Any, n: int, where: str, explicit: dict[int, int]
    ) -> OptionValueRec:
        if not isinstance(raw, dict) or not raw.get("name"):
            raise validation_error(ctx, missing=[f"{where}.{n}.name"])
        price = _halalas(raw.get("price", 0))
        if price is None or price < 0:
            raise validation_error(ctx, invalid=[f"{where}.{n}.price"])
        name_ar, name_en = _names(raw["name"])
        v = OptionValueRec(
            self.new_id(ctx),
            name_ar,
            name_en,
            price,
            str(raw.get("display_value") or name_en),
            bool(raw.get("is_default", False)),
        )
        if raw.get("quantity") is not None:
            q = parse_int(raw["quantity"])
            if q is None or q < 0:
                raise validation_error(ctx, invalid=[f"{where}.{n}.quantity"])
            explicit[v.id] = q
        return v

    def _option_rec(
        self, ctx: RequestContext, data: Any, explicit: dict[int, int], where: str = "options"
    ) -> OptionRec:
        if not isinstance(data, dict) or not data.get("name"):
            raise validation_error(ctx, missing=["name"])
        values = data.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(ctx, missing=["values"])
        display = str(data.get("display_type") or "text")
        if display not in ("text", "image", "color"):
            raise validation_error(ctx, invalid=["display_type"])
        name_ar, name_en = _names(data["name"])
        recs = [self._value_rec(ctx, v, n, "values", explicit) for n, v in enumerate(values)]
        if not any(v.is_default for v in recs):
            recs[0].is_default = True
        return OptionRec(
            self.new_id(ctx),
            name_ar,
            name_en,
            recs,
            type="radio",
            display_type=display,
            required=bool(data.get("required", True)),
            visibility="on_condition" if data.get("visibility") == "on_condition" else "always",
            sort=parse_int(data.get("sort")) or 0,
        )

    def _options_changed(
        self, ctx: RequestContext, p: ProductRec, explicit: dict[int, int] | None = None
    ) -> None:
        before = p.quantity
        rebuild_variants(p, lambda: self.new_id(ctx), explicit)
        self._reindex_product(p)
        self._after_stock_change(ctx, p, before)

    def add_option(self, ctx: RequestContext, product_id: Any, data: Any) -> dict[str, Any]:
        """Add an option (with its values) to a product: the variants multiply."""
        p = self.product(ctx, product_id)
        explicit: dict[int, int] = {}
        o = self._option_rec(ctx, data, explicit)
        materialize(p)
        assert p.options is not None
        p.options.append(o)
        self._options_changed(ctx, p, explicit)
        return r.option_json(ctx, p, o)

    def update_option(self, ctx: RequestContext, option_id: Any, data: Any) -> dict[str, Any]:
        """Rename/re-flag an option; a ``values`` list replaces its values (matched by name)."""
        p, o = self.option(ctx, option_id)
        data = data if isinstance(data, dict) else {}
        materialize(p)
        p, o = self.option(ctx, o.id)
        if data.get("name"):
            o.name_ar, o.name_en = _names(data["name"], o.name_ar, o.name_en)
        if data.get("display_type"):
            if data["display_type"] not in ("text", "image", "color"):
                raise validation_error(ctx, invalid=["display_type"])
            o.display_type = str(data["display_type"])
        if "required" in data:
            o.required = bool(data["required"])
        if data.get("visibility") in ("always", "on_condition"):
            o.visibility = str(data["visibility"])
        explicit: dict[int, int] = {}
        if isinstance(data.get("values"), list) and data["values"]:
            by_name = {v.name_ar: v for v in o.values} | {v.name_en: v for v in o.values}
            values: list[OptionValueRec] = []
            for n, raw in enumerate(data["values"]):
                fresh = self._value_rec(ctx, raw, n, "values", explicit)
                kept = by_name.get(fresh.name_ar) or by_name.get(fresh.name_en)
                if kept is not None and kept not in values:
                    kept.price, kept.display_value = fresh.price, fresh.display_value
                    kept.is_default = bool(raw.get("is_default", kept.is_default))
                    if fresh.id in explicit:
                        explicit[kept.id] = explicit.pop(fresh.id)
                    values.append(kept)
                else:
                    values.append(fresh)
            o.values = values
        self._options_changed(ctx, p, explicit)
        return r.option_json(ctx, p, o)

    def delete_option(self, ctx: RequestContext, option_id: Any) -> None:
        """Remove an option: its variants merge (stock summed) over the remaining options."""
        p, o = self.option(ctx, option_id)
        materialize(p)
        assert p.options is not None
        p.options = [x for x in p.options if x.id != o.id]
        self._options_changed(ctx, p)

    def add_option_value(self, ctx: RequestContext, option_id: Any, data: Any) -> dict[str, Any]:
        """Add a value to an option: one new variant per combination with the other options."""
        p, o = self.option(ctx, option_id)
        materialize(p)
        p, o = self.option(ctx, o.id)
        explicit: dict[int, int] = {}
        v = self._value_rec(ctx, data, 0, "values", explicit)
        if any(x.name_ar == v.name_ar for x in o.values):
            raise validation_error(ctx, invalid=["name"])
        o.values.append(v)
        self._options_changed(ctx, p, explicit)
        return r.option_json(ctx, p, o)

    def update_option_value(self, ctx: RequestContext, value_id: Any, data: Any) -> dict[str, Any]:
        p, o, v = self.option_value(ctx, value_id)
        materialize(p)
        p, o, v = self.option_value(ctx, v.id)
        data = data if isinstance(data, dict) else {}
        if data.get("name"):
            v.name_ar, v.name_en = _names(data["name"], v.name_ar, v.name_en)
        if "price" in data:
            price = _halalas(data["price"])
            if price is None or price < 0:
                raise validation_error(ctx, invalid=["price"])
            v.price = price
        if data.get("display_value"):
            v.display_value = str(data["display_value"])
        if data.get("is_default"):
            for x in o.values:
                x.is_default = x.id == v.id
        if data.get("quantity") is not None:
            q = parse_int(data["quantity"])
            if q is None or q < 0:
                raise validation_error(ctx, invalid=["quantity"])
            # The value's stock, spread over the live variants that carry it.
            assert p.variants is not None and p.variant_qty is not None
            carriers = [i for i in live_indexes(p) if v.id in p.variants[i].value_ids]
            before = p.quantity
            for n, i in enumerate(carriers):
                p.variant_qty[i] = q // len(carriers) + (1 if n < q % len(carriers) else 0)
            p.quantity = sum(p.variant_qty[i] for i in live_indexes(p))
            self._after_stock_change(ctx, p, before)
        else:
            p.updated = self._now(ctx)
            self.serial += 1
        return r.option_value_json(ctx, o, v, p)

    def delete_option_value(self, ctx: RequestContext, value_id: Any) -> None:
        """Remove a value and the variants that carry it (the last value removes the option)."""
        p, o, v = self.option_value(ctx, value_id)
        materialize(p)
        p, o, v = self.option_value(ctx, v.id)
        o.values = [x for x in o.values if x.id != v.id]
        if not o.values:
            assert p.options is not None
            p.options = [x for x in p.options if x.id != o.id]
        elif v.is_default:
            o.values[0].is_default = True
        self._options_changed(ctx, p)

    def update_variant(
        self, ctx: RequestContext, product_id: int, index: int, data: dict[str, Any]
    ) -> None:
        """Per-variant overrides (prices, codes, weight, notify threshold) and stock."""
        p = self.product(ctx, product_id)
        materialize(p)
        assert p.variants is not None
        extra = p.variants[index].extra
        for key in ("price", "sale_price", "cost_price"):
            if data.get(key) is not None:
                value = _halalas(data[key])
                if value is None or value < 0:
                    raise validation_error(ctx, invalid=[key])
                extra[key] = value
        for key in ("barcode", "mpn", "gtin"):
            if data.get(key) is not None:
                extra[key] = str(data[key])
        if data.get("notify_low") is not None:
            value = parse_int(data["notify_low"])
            if value is None or value < 0:
                raise validation_error(ctx, invalid=["notify_low"])
            extra["notify_low"] = value
        if data.get("weight") is not None:
            grams = _grams(data["weight"], data.get("weight_type"))
            if grams is None:
                raise validation_error(ctx, invalid=["weight"])
            extra["weight"] = grams
        sku = data.get("sku")
        if sku and sku != p.variants[index].sku:
            if str(sku) in self.sku_index:
                raise validation_error(ctx, invalid=["sku"])
            p.variants[index].sku = str(sku)
            self._reindex_product(p)
        quantity = data.get("stock_quantity", data.get("quantity"))
        if quantity is not None:
            q = parse_int(quantity)
            if q is None or q < 0:
                raise validation_error(ctx, invalid=["stock_quantity"])
            self.set_stock(ctx, p.id, q, p.variants[index].id)
        else:
            p.updated = self._now(ctx)
            self.serial += 1

    def delete_product(self, ctx: RequestContext, product_id: int) -> None:
        """Remove a product; emits ``product.deleted`` with its last shape."""
        p = self.product(ctx, product_id)
        payload = r.product_json(ctx, self, p)
        payload["status"] = "deleted"
        self._unindex_product(p)
        self._disown_options(p.id)
        del self.products[p.id]
        self.serial += 1
        ctx.emit("product.deleted", payload)

    def set_stock(
        self, ctx: RequestContext, product_id: int, quantity: int, sku_id: int | None = None
    ) -> dict[str, Any]:
        """Set a product's (or one variant's) stock; emits ``product.quantity.low`` when it
        drops under the product's notify quantity."""
        p = self.product(ctx, product_id)
        if quantity < 0:
            raise validation_error(ctx, invalid=["quantity"])
        before = p.quantity
        if sku_id is not None:
            hit = self.variant_index.get(sku_id)
            if hit is None or hit[0] != p.id or p.variant_qty is None:
                raise not_found(ctx)
            p.variant_qty[hit[1]] = quantity
            p.quantity = sum(p.variant_qty)
        elif p.variant_qty and (live := live_indexes(p)):
            # Without a variant, spread the total over the variants, remainder to the first.
            n = len(live)
            for k, i in enumerate(live):
                p.variant_qty[i] = quantity // n + (1 if k < quantity % n else 0)
            p.quantity = quantity
        else:
            p.quantity = quantity
        self._after_stock_change(ctx, p, before)
        return r.product_json(ctx, self, p)

    def _after_stock_change(self, ctx: RequestContext, p: ProductRec, before: int) -> None:
        p.updated = self._now(ctx)
        self.serial += 1
        if p.status == "sale" and p.quantity <= 0 and not p.unlimited:
            p.status = "out"
            self._emit_product(ctx, "product.status.updated", p)
        elif p.status == "out" and p.quantity > 0:
            p.status = "sale"
            self._emit_product(ctx, "product.status.updated", p)
        if not p.unlimited and p.quantity < p.notify_quantity <= before:
            self._emit_product(ctx, "product.quantity.low", p)

    # -- customers ------------------------------------------------------------------------

    def add_customer(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a customer (first_name, last_name, mobile required); ``customer.created``."""
        data = require_fields(ctx, fields, ("first_name", "last_name", "mobile"))
        mobile_text = str(data["mobile"]).lstrip("+0")
        if not mobile_text.isdigit():
            raise validation_error(ctx, invalid=["mobile"])
        code = str(data.get("mobile_code_country") or data.get("mobile_code") or "+966")
        if not code.startswith("+"):
            code = f"+{code}"
        mobile = int(mobile_text)
        if any(c.mobile == mobile and c.mobile_code == code for c in self.customers.values()):
            raise validation_error(ctx, invalid=["mobile"])
        now = self._now(ctx)
        cid = self.new_id(ctx, self.customers)
        city = 0
        if data.get("city"):
            city = next((i for i, row in enumerate(CITIES) if data["city"] in (row[0], row[1])), 0)
        c = CustomerRec(
            id=cid,
            first_name=str(data["first_name"]),
            last_name=str(data["last_name"]),
            gender="female" if data.get("gender") == "female" else "male",
            city=city,
            mobile=mobile,
            mobile_code=code,
            email=str(data.get("email") or ""),
            created=now,
            updated=now,
            groups=[g for g in (parse_int(x) for x in data.get("groups") or []) if g],
        )
        self.customers[cid] = c
        self.serial += 1
        payload = r.customer_json(ctx, c)
        emit(ctx, "customer.created", payload, "/customers/{}")
        return payload

    def update_customer(
        self, ctx: RequestContext, customer_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply ``changes`` to a customer; emits ``customer.updated``."""
        c = self.customer(ctx, customer_id)
        changes = changes if isinstance(changes, dict) else {}
        for key in ("first_name", "last_name", "email"):
            if changes.get(key):
                setattr(c, key, str(changes[key]))
        if changes.get("gender") in ("male", "female"):
            c.gender = changes["gender"]
        if "mobile" in changes:
            mobile = parse_int(str(changes["mobile"]).lstrip("+0"))
            if mobile is None:
                raise validation_error(ctx, invalid=["mobile"])
            c.mobile = mobile
        if changes.get("mobile_code_country") or changes.get("mobile_code"):
            code = str(changes.get("mobile_code_country") or changes.get("mobile_code"))
            c.mobile_code = code if code.startswith("+") else f"+{code}"
        for key in ("location", "birthday", "block_reason"):
            if key in changes:
                c.extra[key] = changes[key]
        if "groups" in changes:
            c.groups = [g for g in (parse_int(x) for x in changes["groups"] or []) if g]
        c.updated = self._now(ctx)
        self.serial += 1
        payload = r.customer_json(ctx, c)
        emit(ctx, "customer.updated", payload, "/customers/{}")
        return payload

    # -- orders ---------------------------------------------------------------------------

    def order_payload(self, ctx: RequestContext, o: OrderRec) -> dict[str, Any]:
        return r.order_json(ctx, self, o)

    def _emit_order(self, ctx: RequestContext, event: str, o: OrderRec) -> None:
        emit(ctx, event, r.order_json(ctx, self, o), "/orders/{}")

    def place_order(
        self,
        ctx: RequestContext,
        *,
        customer_id: int | None = None,
        items: list[dict[str, Any]] | None = None,
        payment_method: str | None = None,
    ) -> dict[str, Any]:
        """Place an order as a shopper would: stock goes down, ``order.created`` is emitted.

        Args:
            ctx: The request context (clock, ids, events).
            customer_id: An existing customer; a seeded random one when None.
            items: ``[{"product_id": id, "quantity": n, "sku_id": id?}]`` (``identifier`` with
                ``identifier_type`` ``id``/``sku`` is accepted too, as the API body has it);
                one to three random products on sale when None.
            payment_method: Defaults to a random documented method.
        """
        self.serial += 1
        rng = random.Random(f"{self.seed}:order:{self.serial}")
        if customer_id is None:
            if not self.customers:
                raise validation_error(ctx, missing=["customer"])
            customer_id = list(self.customers)[rng.randrange(len(self.customers))]
        customer = self.customer(ctx, customer_id)
        lines = self._order_lines(ctx, rng, items)
        now = self._now(ctx)
        oid = self.new_id(ctx, self.orders)
        reference = max((o.reference_id for o in self._last_orders()), default=10_000_000) + 1
        sub_total = sum(it.unit_price * it.quantity for it in lines)
        o = OrderRec(
            id=oid,
            reference_id=reference,
            customer_id=customer.id,
            created=now,
            updated=now,
            status_id=STATUS_BY_SLUG["under_review"].id,
            payment_method=payment_method or PAYMENT_METHODS[rng.randrange(len(PAYMENT_METHODS))],
            items=lines,
            shipping=0 if sub_total >= 30_000 else 2_500,
            city=customer.city,
            histories=[HistoryRec(self.new_id(ctx), STATUS_BY_SLUG["under_review"].id, now)],
        )
        self.orders[oid] = o
        self._index_items(o)
        for it in lines:
            p = self.products.get(it.product_id)
            if p is None or p.unlimited:
                continue
            before = p.quantity
            if it.variant >= 0 and p.variant_qty:
                p.variant_qty[it.variant] = max(p.variant_qty[it.variant] - it.quantity, 0)
                p.quantity = sum(p.variant_qty)
            else:
                p.quantity = max(p.quantity - it.quantity, 0)
            p.sold += it.quantity
            self._after_stock_change(ctx, p, before)
        self._emit_order(ctx, "order.created", o)
        return r.order_json(ctx, self, o)

    def delete_order(self, ctx: RequestContext, order_id: Any) -> None:
        """Remove an order and its shipments; emits ``order.deleted`` with its last shape."""
        o = self.order(ctx, order_id)
        payload = r.order_json(ctx, self, o)
        for sid in self.order_shipments.pop(o.id, []):
            self.shipments.pop(sid, None)
        for it in o.items:
            if self.item_order is not None:
                self.item_order.pop(it.id, None)
        del self.orders[o.id]
        self.serial += 1
        emit(ctx, "order.deleted", payload, "/orders/{}")

    def _last_orders(self) -> list[OrderRec]:
        # Orders are inserted in creation order; the newest few carry the highest reference.
        return list(self.orders.values())[-5:] if self.orders else []

    def _order_lines(
        self, ctx: RequestContext, rng: random.Random, items: list[dict[str, Any]] | None
    ) -> list[OrderItemRec]:
        lines: list[OrderItemRec] = []
        if not items:
            on_sale = [p for p in list(self.products.values())[-2000:] if p.status == "sale"]
            if not on_sale:
                raise validation_error(ctx, missing=["products"])
            items = [
                {"product_id": on_sale[rng.randrange(len(on_sale))].id, "quantity": 1}
                for _ in range(1 + rng.randrange(3))
            ]
        for n, raw in enumerate(items):
            if not isinstance(raw, dict):
                raise validation_error(ctx, invalid=[f"products.{n}"])
            variant = -1
            pid: int | None
            if raw.get("identifier_type") == "sku":
                hit = self.sku_index.get(str(raw.get("identifier")))
                if hit is None:
                    raise validation_error(ctx, invalid=[f"products.{n}.identifier"])
                pid, variant = hit
            else:
                pid = parse_int(raw.get("product_id", raw.get("identifier", raw.get("id"))))
            p = self.products.get(pid) if pid is not None else None
            if p is None:
                raise validation_error(ctx, invalid=[f"products.{n}.identifier"])
            sku_id = parse_int(raw.get("sku_id"))
            if sku_id is not None:
                hit = self.variant_index.get(sku_id)
                if hit is None or hit[0] != p.id:
                    raise validation_error(ctx, invalid=[f"products.{n}.sku_id"])
                variant = hit[1]
            live = live_indexes(p)
            if variant < 0 and live and p.variant_qty:
                stock = p.variant_qty
                variant = max(live, key=lambda i: stock[i])
            quantity = parse_int(raw.get("quantity")) or 1
            if quantity < 1:
                raise validation_error(ctx, invalid=[f"products.{n}.quantity"])
            lines.append(
                OrderItemRec(
                    id=self.new_id(ctx),
                    product_id=p.id,
                    name_ar=p.name_ar,
                    name_en=p.name_en,
                    sku=p.sku if variant < 0 else variants_of(p)[variant].sku,
                    quantity=quantity,
                    unit_price=p.sale_price or p.price,
                    variant=variant,
                )
            )
        return lines

    def _take_stock(self, ctx: RequestContext, product_id: int, variant: int, n: int) -> None:
        """Take ``n`` units (give back when negative) of a product or one of its variants."""
        p = self.products.get(product_id)
        if p is None or p.unlimited or n == 0:
            return
        before = p.quantity
        if variant >= 0 and p.variant_qty and variant < len(p.variant_qty):
            p.variant_qty[variant] = max(p.variant_qty[variant] - n, 0)
            p.quantity = sum(p.variant_qty)
        else:
            p.quantity = max(p.quantity - n, 0)
        p.sold = max(p.sold + n, 0)
        self._after_stock_change(ctx, p, before)

    def _editable_order(self, ctx: RequestContext, order_id: Any) -> OrderRec:
        o = self.order(ctx, order_id)
        if STATUS_BY_ID[o.status_id].slug in ("canceled", "restored"):
            raise validation_error(ctx, invalid=["order_id"])
        return o

    def _item_orders(self) -> dict[int, int]:
        """Order item id -> order id (one scan of the orders on first use; ``_index_items``
        keeps it current). Later orders win, as the newest-first scan it replaces did."""
        if self.item_order is None:
            self.item_order = {it.id: o.id for o in self.orders.values() for it in o.items}
        return self.item_order

    def _index_items(self, o: OrderRec, removed: OrderItemRec | None = None) -> None:
        index = self.item_order
        if index is None:
            return  # not built yet: the first lookup builds it from the current orders
        if removed is not None and index.get(removed.id) == o.id:
            del index[removed.id]
        for it in o.items:
            index[it.id] = o.id

    def _order_item(self, ctx: RequestContext, item_id: Any) -> tuple[OrderRec, OrderItemRec]:
        iid = parse_int(item_id)
        if iid is not None:
            o = self.orders.get(self._item_orders().get(iid, -1))
            for it in o.items if o is not None else ():
                if it.id == iid:
                    assert o is not None
                    return o, it
        raise not_found(ctx)

    def _items_changed(self, ctx: RequestContext, o: OrderRec) -> list[dict[str, Any]]:
        now = self._now(ctx)
        o.updated = now if now > o.updated else o.updated + 1
        self.serial += 1
        self._emit_order(ctx, "order.products.updated", o)
        self._emit_order(ctx, "order.total.price.updated", o)
        self._emit_order(ctx, "order.updated", o)
        return [r.order_item_json(ctx, self, o, it) for it in o.items]

    def _variant_from_options(
        self, ctx: RequestContext, p: ProductRec, options: Any, variant: int
    ) -> int:
        """The variant whose values are the ``options[].value`` ids given (Salla's item body)."""
        if not isinstance(options, list) or not options:
            return variant
        wanted: set[int] = set()
        for raw in options:
            values = raw.get("value") if isinstance(raw, dict) else None
            values = values if isinstance(values, list) else [values]
            wanted.update(v for v in (parse_int(x) for x in values) if v is not None)
        variants = variants_of(p)
        for i in live_indexes(p):
            if wanted and wanted <= set(variants[i].value_ids):
                return i
        raise validation_error(ctx, invalid=["options"])

    def add_order_item(self, ctx: RequestContext, fields: Any) -> list[dict[str, Any]]:
        """Add a product line to an order: stock taken, amounts recomputed, events emitted."""
        data = require_fields(ctx, fields, ("order_id",))
        o = self._editable_order(ctx, data["order_id"])
        ident = data.get("identifier", data.get("product_id"))
        if ident is None:
            raise validation_error(ctx, missing=["identifier"])
        rng = random.Random(f"{self.seed}:item:{self.serial}")
        (line,) = self._order_lines(
            ctx,
            rng,
            [
                {
                    "identifier": ident,
                    "identifier_type": data.get("identifier_type") or "id",
                    "quantity": data.get("quantity") or 1,
                }
            ],
        )
        p = self.products[line.product_id]
        variant = self._variant_from_options(ctx, p, data.get("options"), line.variant)
        if variant != line.variant:
            line.variant, line.sku = variant, variants_of(p)[variant].sku
        if data.get("price") is not None:
            price = _halalas(data["price"])
            if price is None or price < 0:
                raise validation_error(ctx, invalid=["price"])
            line.unit_price = price
        o.items.append(line)
        self._index_items(o)
        self._take_stock(ctx, p.id, line.variant, line.quantity)
        return self._items_changed(ctx, o)

    def update_order_item(
        self, ctx: RequestContext, item_id: Any, fields: Any
    ) -> list[dict[str, Any]]:
        """Change a line's quantity, unit price or chosen options; stock follows."""
        o, it = self._order_item(ctx, item_id)
        self._editable_order(ctx, o.id)
        data = fields if isinstance(fields, dict) else {}
        quantity = it.quantity
        if data.get("quantity") is not None:
            q = parse_int(data["quantity"])
            if q is None or q < 1:
                raise validation_error(ctx, invalid=["quantity"])
            quantity = q
        price = it.unit_price
        if data.get("price") is not None:
            value = _halalas(data["price"])
            if value is None or value < 0:
                raise validation_error(ctx, invalid=["price"])
            price = value
        variant = it.variant
        p = self.products.get(it.product_id)
        if p is not None:
            variant = self._variant_from_options(ctx, p, data.get("options"), it.variant)
        if variant != it.variant and p is not None:
            self._take_stock(ctx, it.product_id, it.variant, -it.quantity)
            self._take_stock(ctx, it.product_id, variant, quantity)
            it.sku = variants_of(p)[variant].sku
        else:
            self._take_stock(ctx, it.product_id, variant, quantity - it.quantity)
        it.quantity, it.unit_price, it.variant = quantity, price, variant
        return self._items_changed(ctx, o)

    def delete_order_item(self, ctx: RequestContext, item_id: Any) -> None:
        """Remove a line (its stock goes back); an order keeps at least one line."""
        o, it = self._order_item(ctx, item_id)
        self._editable_order(ctx, o.id)
        if len(o.items) == 1:
            raise validation_error(ctx, invalid=["item_id"])
        o.items = [x for x in o.items if x.id != it.id]
        self._index_items(o, removed=it)
        self._take_stock(ctx, it.product_id, it.variant, -it.quantity)
        self._items_changed(ctx, o)

    def change_order_status(
        self, ctx: RequestContext, order_id: int, slug: str, *, note: str = ""
    ) -> dict[str, Any]:
        """Move an order to the status ``slug`` (or a status id as text): writes a history,
        bumps ``updated_at``, emits ``order.status.updated`` and ``order.updated`` (and
        ``order.cancelled`` for ``canceled``)."""
        o = self.order(ctx, order_id)
        status = STATUS_BY_SLUG.get(slug)
        custom: CustomStatusRec | None = None
        if status is None and (sid := parse_int(slug)) is not None:
            status = STATUS_BY_ID.get(sid)
            custom = self.custom_statuses.get(sid)
            if custom is not None and custom.is_active:
                status = STATUS_BY_ID[custom.original_id]
        if status is None:
            raise validation_error(ctx, invalid=["slug"])
        now = self._now(ctx)
        o.histories = list(self.histories_of(o))
        o.histories.append(
            HistoryRec(self.new_id(ctx), status.id, now, note, custom.id if custom else 0)
        )
        previous = o.status_id
        o.status_id = status.id
        if custom is not None:
            o.extra["custom_status"] = custom.id
        else:
            o.extra.pop("custom_status", None)
        o.updated = max(now, o.updated + 1) if now <= o.updated else now
        self.serial += 1
        if status.slug == "canceled" and previous != status.id:
            for it in o.items:
                p = self.products.get(it.product_id)
                if p is not None and not p.unlimited:
                    if it.variant >= 0 and p.variant_qty:
                        p.variant_qty[it.variant] += it.quantity
                        p.quantity = sum(p.variant_qty)
                    else:
                        p.quantity += it.quantity
        self._emit_order(ctx, "order.status.updated", o)
        self._emit_order(ctx, "order.updated", o)
        if status.slug == "canceled":
            self._emit_order(ctx, "order.cancelled", o)
        if status.slug == "restored" and previous != status.id:
            self._emit_order(ctx, "order.refunded", o)
        if status.slug in ("completed", "restored") and previous != status.id:
            # Salla issues the invoice when an order is completed (or restored).
            emit(ctx, "invoice.created", r.invoice_json(ctx, self, o), "/orders/invoices/{}")
        return r.order_json(ctx, self, o)

    # -- order statuses and tags ----------------------------------------------------------

    def custom_status_of(self, o: OrderRec) -> CustomStatusRec | None:
        return self.custom_statuses.get(o.extra.get("custom_status", 0))

    def add_custom_status(self, ctx: RequestContext, fields: Any) -> CustomStatusRec:
        """A merchant status under ``parent_id`` (an original status or a custom one)."""
        data = require_fields(ctx, fields, ("name", "parent_id"))
        parent_id = parse_int(data["parent_id"])
        parent = self.custom_statuses.get(parent_id or -1)
        if parent_id not in STATUS_BY_ID and parent is None:
            raise validation_error(ctx, invalid=["parent_id"])
        name_ar, name_en = _names(data["name"])
        sort = parse_int(data.get("sort"))
        c = CustomStatusRec(
            id=self.new_id(ctx, self.custom_statuses),
            name_ar=name_ar,
            name_en=name_en,
            original_id=parent.original_id if parent else int(parent_id or 0),
            parent_id=int(parent_id or 0),
            sort=sort if sort is not None else 100 + len(self.custom_statuses),
            message=str(data.get("message") or name_ar),
            icon=str(data.get("icon") or "sicon-time"),
            is_active=bool(data.get("is_active", True)),
            created=self._now(ctx),
        )
        self.custom_statuses[c.id] = c
        self.serial += 1
        return c

    def update_custom_status(
        self, ctx: RequestContext, status_id: Any, fields: Any
    ) -> CustomStatusRec:
        c = self.custom_statuses.get(parse_int(status_id) or -1)
        if c is None:
            raise not_found(ctx)
        data = fields if isinstance(fields, dict) else {}
        if data.get("name"):
            c.name_ar, c.name_en = _names(data["name"], c.name_ar, c.name_en)
        if data.get("message"):
            c.message = str(data["message"])
        if data.get("icon"):
            c.icon = str(data["icon"])
        if data.get("sort") is not None:
            c.sort = parse_int(data["sort"]) or 0
        if "is_active" in data:
            c.is_active = bool(data["is_active"])
        self.serial += 1
        return c

    def sort_statuses(self, ctx: RequestContext, body: Any) -> None:
        # Every row is validated before any is applied: a bad row must not leave half the
        # statuses re-sorted.
        if isinstance(body, list):
            rows: Any = body
        elif isinstance(body, dict):
            rows = body.get("statuses")
        else:
            rows = None
        if not isinstance(rows, list):
            raise validation_error(ctx, missing=["statuses"])
        plan: list[tuple[int, int]] = []
        bad: list[str] = []
        for n, row in enumerate(rows):
            sid = parse_int(row.get("status_id")) if isinstance(row, dict) else None
            sort = parse_int(row.get("sort")) if isinstance(row, dict) else None
            if (
                sid is None
                or sort is None
                or not (sid in self.custom_statuses or sid in STATUS_BY_ID)
            ):
                bad.append(f"{n}.status_id")
                continue
            plan.append((sid, sort))
        if bad:
            raise validation_error(ctx, invalid=bad)
        for sid, sort in plan:
            if sid in self.custom_statuses:
                self.custom_statuses[sid].sort = sort
            else:
                self.status_sort[sid] = sort
        self.serial += 1

    def tag_order(self, ctx: RequestContext, order_id: Any, name: Any) -> tuple[int, str]:
        """Attach the tag ``name`` (created when new) to an order; emits ``order.updated``."""
        o = self.order(ctx, order_id)
        if not isinstance(name, str) or not name.strip():
            raise validation_error(ctx, missing=["tag_name"])
        name = name.strip()
        tid = next((k for k, v in self.order_tags.items() if v == name), None)
        if tid is None:
            tid = self.new_id(ctx, self.order_tags)
            self.order_tags[tid] = name
        tags: list[int] = o.extra.setdefault("tags", [])
        if tid not in tags:
            tags.append(tid)
            o.updated = max(self._now(ctx), o.updated + 1)
            self.serial += 1
            self._emit_order(ctx, "order.updated", o)
        return tid, name

    def untag_order(self, ctx: RequestContext, order_id: Any, tag_id: Any) -> None:
        o = self.order(ctx, order_id)
        tid = parse_int(tag_id)
        tags: list[int] = o.extra.get("tags", [])
        if tid not in tags:
            raise not_found(ctx)
        tags.remove(tid)
        o.updated = max(self._now(ctx), o.updated + 1)
        self.serial += 1
        self._emit_order(ctx, "order.updated", o)

    def add_history(self, ctx: RequestContext, order_id: int, note: str) -> dict[str, Any]:
        """Add a merchant comment to an order's history."""
        o = self.order(ctx, order_id)
        now = self._now(ctx)
        o.histories = list(self.histories_of(o))
        h = HistoryRec(self.new_id(ctx), o.status_id, now, note)
        o.histories.append(h)
        o.updated = now
        self.serial += 1
        return r.history_json(ctx, self, h)

    # -- shipments ------------------------------------------------------------------------

    def create_shipment(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a shipment (or return) for an order; emits ``shipment.created``."""
        data = require_fields(ctx, fields, ("courier_id", "shipment_type", "payment_method"))
        o = self.orders.get(parse_int(data.get("order_id")) or -1)
        if o is None:
            raise validation_error(ctx, invalid=["order_id"])
        if data["shipment_type"] not in ("shipment", "return"):
            raise validation_error(ctx, invalid=["shipment_type"])
        if data["payment_method"] not in ("cod", "pre_paid"):
            raise validation_error(ctx, invalid=["payment_method"])
        courier_id = parse_int(data["courier_id"])
        courier = next((i for i, c in enumerate(COURIERS) if c[0] == courier_id), 0)
        sid = self.new_id(ctx, self.shipments)
        s = ShipmentRec(
            id=sid,
            order_id=o.id,
            courier=courier,
            status="created",
            tracking_number=f"TRK{sid}",
            created=self._now(ctx),
            type=str(data["shipment_type"]),
            payment_method=str(data["payment_method"]),
        )
        self.shipments[sid] = s
        self.order_shipments.setdefault(o.id, []).append(sid)
        self.serial += 1
        payload = r.shipment_json(ctx, self, s)
        prefix = "order.shipment.return" if s.type == "return" else "order.shipment"
        for event in ("shipment.creating", f"{prefix}.creating"):
            emit(ctx, event, payload, "/shipments/{}")
        for event in ("shipment.created", f"{prefix}.created"):
            emit(ctx, event, payload, "/shipments/{}")
        return payload

    def shipment(self, ctx: RequestContext, shipment_id: Any) -> ShipmentRec:
        sid = parse_int(shipment_id)
        s = self.shipments.get(sid) if sid is not None else None
        if s is None:
            raise not_found(ctx)
        return s

    def cancel_shipment(self, ctx: RequestContext, shipment_id: int) -> dict[str, Any]:
        s = self.shipment(ctx, shipment_id)
        if s.status in ("delivered", "cancelled"):
            raise validation_error(ctx, invalid=["status"])
        s.status = "cancelled"
        self.serial += 1
        payload = r.shipment_json(ctx, self, s)
        emit(ctx, "shipment.cancelled", payload, "/shipments/{}")
        prefix = "order.shipment.return" if s.type == "return" else "order.shipment"
        emit(ctx, f"{prefix}.cancelled", payload, "/shipments/{}")
        return payload

    def return_shipment(self, ctx: RequestContext, shipment_id: int) -> dict[str, Any]:
        """Open a return shipment for a shipped one; emits ``shipment.created``."""
        s = self.shipment(ctx, shipment_id)
        return self.create_shipment(
            ctx,
            {
                "order_id": s.order_id,
                "courier_id": COURIERS[s.courier][0],
                "shipment_type": "return",
                "payment_method": "pre_paid",
            },
        )

    def update_shipment(
        self, ctx: RequestContext, shipment_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        s = self.shipment(ctx, shipment_id)
        changes = changes if isinstance(changes, dict) else {}
        if changes.get("tracking_number"):
            s.tracking_number = str(changes["tracking_number"])
        if changes.get("status"):
            if changes["status"] not in _SHIPMENT_STATUSES:
                raise validation_error(ctx, invalid=["status"])
            s.status = str(changes["status"])
        self.serial += 1
        payload = r.shipment_json(ctx, self, s)
        emit(ctx, "shipment.updated", payload, "/shipments/{}")
        return payload

    # -- categories and brands ------------------------------------------------------------

    def add_category(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]:
        data = require_fields(ctx, fields, ("name",))
        name_ar, name_en = _names(data["name"])
        translations = data.get("translations")
        if isinstance(translations, dict) and isinstance(translations.get("en"), dict):
            name_en = str(translations["en"].get("name") or name_en)
        parent = parse_int(data.get("parent_id")) or 0
        if parent and parent not in self.categories:
            raise validation_error(ctx, invalid=["parent_id"])
        cid = self.new_id(ctx, self.categories)
        c = CategoryRec(
            cid,
            name_ar,
            name_en,
            parent,
            parse_int(data.get("sort_order")) or 0,
            "hidden" if data.get("status") == "hidden" else "active",
            self._now(ctx),
            str(data.get("image") or ""),
        )
        self.categories[cid] = c
        self.serial += 1
        payload = r.category_json(ctx, self, c)
        emit(ctx, "category.created", payload, "/categories/{}")
        return payload

    def update_category(
        self, ctx: RequestContext, category_id: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        cid = parse_int(category_id)
        c = self.categories.get(cid) if cid is not None else None
        if c is None:
            raise not_found(ctx)
        changes = changes if isinstance(changes, dict) else {}
        if changes.get("name"):
            c.name_ar, c.name_en = _names(changes["name"], c.name_ar, c.name_en)
        if changes.get("status") in ("active", "hidden"):
            c.status = changes["status"]
        if "sort_order" in changes:
            c.sort_order = parse_int(changes["sort_order"]) or 0
        c.updated = self._now(ctx)
        self.serial += 1
        payload = r.category_json(ctx, self, c)
        emit(ctx, "category.updated", payload, "/categories/{}")
        return payload

    def delete_category(self, ctx: RequestContext, category_id: Any) -> None:
        cid = parse_int(category_id)
        if cid is None or cid not in self.categories:
            raise not_found(ctx)
        del self.categories[cid]
        for c in self.categories.values():
            if c.parent_id == cid:
                c.parent_id = 0
        self.serial += 1

    def add_brand(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]:
        data = require_fields(ctx, fields, ("name",))
        name_ar, name_en = _names(data["name"])
        translations = data.get("translations")
        if isinstance(translations, dict) and isinstance(translations.get("en"), dict):
            name_en = str(translations["en"].get("name") or name_en)
        bid = self.new_id(ctx, self.brands)
        b = BrandRec(bid, name_ar, name_en, name_ar, name_en, self._now(ctx))
        self.brands[bid] = b
        self.serial += 1
        payload = r.brand_json(ctx, b)
        emit(ctx, "brand.created", payload, "/brands/{}")
        return payload

    def brand(self, ctx: RequestContext, brand_id: Any) -> BrandRec:
        bid = parse_int(brand_id)
        b = self.brands.get(bid) if bid is not None else None
        if b is None:
            raise not_found(ctx)
        return b

    def update_brand(
        self, ctx: RequestContext, brand_id: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        b = self.brand(ctx, brand_id)
        changes = changes if isinstance(changes, dict) else {}
        if changes.get("name"):
            b.name_ar, b.name_en = _names(changes["name"], b.name_ar, b.name_en)
        if changes.get("description"):
            b.description_ar = b.description_en = str(changes["description"])
        b.updated = self._now(ctx)
        self.serial += 1
        payload = r.brand_json(ctx, b)
        emit(ctx, "brand.updated", payload, "/brands/{}")
        return payload

    def delete_brand(self, ctx: RequestContext, brand_id: Any) -> None:
        b = self.brand(ctx, brand_id)
        payload = r.brand_json(ctx, b)
        del self.brands[b.id]
        self.serial += 1
        ctx.emit("brand.deleted", payload)
