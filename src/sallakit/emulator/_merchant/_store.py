"""``StoreData``: one emulated store's Merchant API state, and its mutations.

Mutations take the request context so that they can emit the matching store webhook events
(``ctx.emit``) with the same rich payload the details endpoint returns. They validate their
input like Salla does (404 for unknown ids, 422 for missing fields) by raising
``EmulatorHTTPError``; the control surface and the API handlers share them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sallakit.emulator._context import RequestContext, StoreProfile

from . import _render as r
from ._events import emit
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
from ._seed import seed_records
from ._shapes import not_found, parse_int, require_fields, to_epoch, validation_error
from ._tables import CITIES, COURIERS, PAYMENT_METHODS, STATUS_BY_ID, STATUS_BY_SLUG

__all__ = ["StoreData"]

_PRODUCT_STATUSES = ("sale", "out", "hidden")
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
        return round(float(value) * 100)
    except (TypeError, ValueError):
        return None


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
        self.sku_index[p.sku] = (p.id, -1)
        if p.variant_qty:
            for i in range(len(p.variant_qty)):
                self.sku_index[f"{p.sku}-{i + 1}"] = (p.id, i)
                self.variant_index[r.variant_id(p, i)] = (p.id, i)

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
        p = ProductRec(
            id=pid,
            name_ar=name_ar,
            name_en=name_en,
            sku=sku or f"SK-{pid}",
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
        )
        for key in ("mpn", "gtin", "sale_end"):
            if data.get(key):
                p.extra[key] = str(data[key])
        self.products[pid] = p
        self._index_product(p)
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

    def delete_product(self, ctx: RequestContext, product_id: int) -> None:
        """Remove a product; emits ``product.deleted`` with its last shape."""
        p = self.product(ctx, product_id)
        payload = r.product_json(ctx, self, p)
        payload["status"] = "deleted"
        self._unindex_product(p)
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
        elif p.variant_qty:
            # Without a variant, spread the total over the variants, remainder to the first.
            n = len(p.variant_qty)
            p.variant_qty = [quantity // n + (1 if i < quantity % n else 0) for i in range(n)]
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
            if variant < 0 and p.variant_qty:
                variant = max(range(len(p.variant_qty)), key=lambda i: p.variant_qty[i])  # type: ignore[index]
            quantity = parse_int(raw.get("quantity")) or 1
            if quantity < 1:
                raise validation_error(ctx, invalid=[f"products.{n}.quantity"])
            lines.append(
                OrderItemRec(
                    id=self.new_id(ctx),
                    product_id=p.id,
                    name_ar=p.name_ar,
                    name_en=p.name_en,
                    sku=p.sku if variant < 0 else f"{p.sku}-{variant + 1}",
                    quantity=quantity,
                    unit_price=p.sale_price or p.price,
                    variant=variant,
                )
            )
        return lines

    def change_order_status(
        self, ctx: RequestContext, order_id: int, slug: str, *, note: str = ""
    ) -> dict[str, Any]:
        """Move an order to the status ``slug`` (or a status id as text): writes a history,
        bumps ``updated_at``, emits ``order.status.updated`` and ``order.updated`` (and
        ``order.cancelled`` for ``canceled``)."""
        o = self.order(ctx, order_id)
        status = STATUS_BY_SLUG.get(slug)
        if status is None and (sid := parse_int(slug)) is not None:
            status = STATUS_BY_ID.get(sid)
        if status is None:
            raise validation_error(ctx, invalid=["slug"])
        now = self._now(ctx)
        o.histories = list(self.histories_of(o))
        o.histories.append(HistoryRec(self.new_id(ctx), status.id, now, note))
        previous = o.status_id
        o.status_id = status.id
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
        return r.order_json(ctx, self, o)

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
        emit(ctx, "shipment.created", payload, "/shipments/{}")
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
