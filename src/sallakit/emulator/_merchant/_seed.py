"""Deterministic seeding of a store's data and of store profiles.

One ``random.Random(seed)`` drives everything, in a fixed order, so the same seed gives the same
store. The loops build compact records only (see ``_records``); nothing here builds JSON.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sallakit.emulator._context import StoreProfile

from ._records import (
    BrandRec,
    CategoryRec,
    CustomerRec,
    OrderItemRec,
    OrderRec,
    ProductRec,
    ShipmentRec,
    derive_id,
)
from ._shapes import to_epoch
from ._tables import (
    BRANDS,
    CATEGORIES,
    CITIES,
    COURIERS,
    FIRST_NAMES,
    LAST_NAMES,
    OPTION_KINDS,
    PAYMENT_METHODS,
    PRODUCT_ADJECTIVES,
    PRODUCT_NOUNS,
    SEED_STATUS_WEIGHTS,
    STATUS_BY_SLUG,
)

__all__ = ["SeedResult", "make_profile", "seed_records"]

_ID_LOW = 100_000_000
_ID_HIGH = 2_147_000_000
_SUB_CATEGORIES = (("عروض", "Deals"), ("الأكثر مبيعا", "Best Sellers"))
_SHIPPED = frozenset({"shipped", "delivering", "delivered", "completed"})
_STORE_WORDS = (
    ("متجر الواحة", "Oasis Store", "oasis"),
    ("بيت العود", "Oud House", "oudhouse"),
    ("نخبة التمور", "Elite Dates", "elitedates"),
    ("أناقة", "Anaqa Fashion", "anaqa"),
    ("ركن القهوة", "Coffee Corner", "coffeecorner"),
    ("سوق الخليج", "Gulf Market", "gulfmarket"),
    ("لمسة", "Lamsa", "lamsa"),
    ("دار الهدايا", "Gift House", "gifthouse"),
)


def make_profile(store_id: int, *, plan: str, seed: int, now: datetime) -> StoreProfile:
    """A realistic store profile (Arabic and English names, owner), deterministic by seed.

    Args:
        store_id: The store (merchant) id.
        plan: ``basic``, ``plus``, ``pro`` or ``special``.
        seed: Drives every choice.
        now: The emulator clock; the store was created some months before it.
    """
    rng = random.Random(f"profile:{seed}:{store_id}")
    ar, en, slug = _STORE_WORDS[rng.randrange(len(_STORE_WORDS))]
    first_ar, first_en, _gender = FIRST_NAMES[rng.randrange(10)]  # owners: first ten names
    last_ar, last_en = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
    username = f"{slug}{store_id % 100_000}"
    mobile = 500_000_000 + rng.randrange(99_999_999)
    return StoreProfile(
        id=store_id,
        plan=plan,
        name=ar,
        name_en=en,
        username=username,
        email=f"info@{username}.sa",
        domain=f"https://salla.sa/{username}",
        owner_id=_ID_LOW + rng.randrange(_ID_HIGH - _ID_LOW),
        owner_name=f"{first_ar} {last_ar}",
        owner_email=f"{first_en.lower()}.{last_en.lower().replace('-', '')}@example.sa",
        owner_mobile=f"+966{mobile}",
        created_at=now - timedelta(days=200 + rng.randrange(900)),
    )


class SeedResult:
    """The records a seed produced, handed to ``StoreData``."""

    __slots__ = ("brands", "categories", "customers", "orders", "products", "shipments")

    def __init__(self) -> None:
        self.categories: dict[int, CategoryRec] = {}
        self.brands: dict[int, BrandRec] = {}
        self.products: dict[int, ProductRec] = {}
        self.customers: dict[int, CustomerRec] = {}
        self.orders: dict[int, OrderRec] = {}
        self.shipments: dict[int, ShipmentRec] = {}


def seed_records(
    rng: random.Random,
    *,
    products: int,
    orders: int,
    customers: int,
    now: datetime,
    since: datetime,
) -> SeedResult:
    """Build every record of a seeded store.

    Args:
        rng: The store's random source (consumed in a fixed order).
        products: How many products.
        orders: How many orders (each references seeded products and customers).
        customers: How many customers (at least one when there are orders).
        now: The emulator clock.
        since: The store's creation time; seeded dates fall between it and ``now``.
    """
    out = SeedResult()
    n_cat = len(CATEGORIES) * (1 + len(_SUB_CATEGORIES))
    n_items = orders * 4
    n_ship = orders
    total = n_cat + len(BRANDS) + products + customers + orders * 2 + n_items + n_ship
    ids = iter(rng.sample(range(_ID_LOW, _ID_HIGH), total))
    now_s = to_epoch(now)
    since_s = min(to_epoch(since), now_s - 180 * 86_400)
    span = now_s - since_s

    top_ids: list[int] = []
    for i, (ar, en, slug) in enumerate(CATEGORIES):
        cid = next(ids)
        top_ids.append(cid)
        out.categories[cid] = CategoryRec(
            cid, ar, en, 0, i, "active", since_s, f"https://cdn.salla.sa/categories/{slug}.png"
        )
        for j, (sub_ar, sub_en) in enumerate(_SUB_CATEGORIES):
            sid = next(ids)
            out.categories[sid] = CategoryRec(sid, f"{sub_ar} {ar}", f"{en} {sub_en}", cid, j)
    brand_ids: list[int] = []
    for ar, en in BRANDS:
        bid = next(ids)
        brand_ids.append(bid)
        out.brands[bid] = BrandRec(bid, ar, en, ar, en, since_s)

    _seed_products(out, rng, ids, products, top_ids, brand_ids, since_s, span)
    _seed_customers(out, rng, ids, max(customers, 1 if orders else 0), since_s, span)
    _seed_orders(out, rng, ids, orders, now_s)
    return out


def _seed_products(
    out: SeedResult,
    rng: random.Random,
    ids: object,
    n: int,
    top_ids: list[int],
    brand_ids: list[int],
    since_s: int,
    span: int,
) -> None:
    next_id = ids.__next__  # type: ignore[attr-defined]
    rand = rng.random
    randrange = rng.randrange
    n_nouns, n_adj = len(PRODUCT_NOUNS), len(PRODUCT_ADJECTIVES)
    n_top, n_brand = len(top_ids), len(brand_ids)
    for i in range(n):
        pid = next_id()
        noun_ar, noun_en = PRODUCT_NOUNS[randrange(n_nouns)]
        adj_ar, adj_en = PRODUCT_ADJECTIVES[randrange(n_adj)]
        price = randrange(10, 600) * 100 - (100 if rand() < 0.5 else 0) + 99 * (rand() < 0.3)
        quantity = randrange(0, 120) if rand() < 0.95 else 0
        status = "hidden" if rand() < 0.04 else ("out" if quantity == 0 else "sale")
        created = since_s + int(span * rand())
        kind = randrange(len(OPTION_KINDS)) if rand() < 0.3 else -1
        variant_qty = None
        if kind >= 0:
            values = len(OPTION_KINDS[kind][3])
            variant_qty = [randrange(0, 40) for _ in range(values)]
            quantity = sum(variant_qty)
            if status == "out" and quantity:
                status = "sale"
        out.products[pid] = ProductRec(
            id=pid,
            name_ar=f"{noun_ar} {adj_ar}",
            name_en=f"{adj_en} {noun_en}",
            sku=f"SK-{i + 1:06d}",
            price=max(price, 500),
            cost=int(price * 0.55),
            quantity=quantity,
            status=status,
            category_ids=[top_ids[randrange(n_top)]],
            brand_id=brand_ids[randrange(n_brand)],
            created=created,
            updated=created + randrange(0, 86_400 * 30),
            sale_price=int(price * 0.8) if rand() < 0.1 else 0,
            unlimited=rand() < 0.03,
            option_kind=kind,
            variant_qty=variant_qty,
            sold=randrange(0, 300),
            views=randrange(0, 5000),
            images=1 + randrange(3),
        )


def _seed_customers(
    out: SeedResult, rng: random.Random, ids: object, n: int, since_s: int, span: int
) -> None:
    next_id = ids.__next__  # type: ignore[attr-defined]
    randrange = rng.randrange
    rand = rng.random
    n_first, n_last, n_city = len(FIRST_NAMES), len(LAST_NAMES), len(CITIES)
    for i in range(n):
        cid = next_id()
        first_ar, first_en, gender = FIRST_NAMES[randrange(n_first)]
        last_ar, last_en = LAST_NAMES[randrange(n_last)]
        city = randrange(n_city)
        # Most shoppers type their name in Arabic; some in Latin letters.
        arabic = rand() < 0.7
        created = since_s + int(span * rand())
        out.customers[cid] = CustomerRec(
            id=cid,
            first_name=first_ar if arabic else first_en,
            last_name=last_ar if arabic else last_en,
            gender=gender,
            city=city,
            mobile=500_000_000 + randrange(99_999_999),
            mobile_code=CITIES[city][3],
            email=f"{first_en.lower()}.{last_en.lower().replace('-', '')}{i}@example.com",
            created=created,
            updated=created + randrange(0, 86_400 * 10),
        )


def _seed_orders(out: SeedResult, rng: random.Random, ids: object, n: int, now_s: int) -> None:
    if not n or not out.products or not out.customers:
        return
    next_id = ids.__next__  # type: ignore[attr-defined]
    randrange = rng.randrange
    rand = rng.random
    products = list(out.products.values())
    customer_ids = list(out.customers)
    slugs = [s for s, _ in SEED_STATUS_WEIGHTS]
    weights = [w for _, w in SEED_STATUS_WEIGHTS]
    status_slugs = rng.choices(slugs, weights, k=n)
    # Orders span the last year and are created in id order, like a real store's history.
    start = now_s - 365 * 86_400
    created_all = sorted(start + randrange(365 * 86_400) for _ in range(n))
    n_products, n_customers, n_pm = len(products), len(customer_ids), len(PAYMENT_METHODS)
    reference = 10_000_000 + randrange(80_000_000)
    for i in range(n):
        oid = next_id()
        items: list[OrderItemRec] = []
        for _ in range(1 + int(rand() * rand() * 4)):
            p = products[randrange(n_products)]
            variant = randrange(len(p.variant_qty)) if p.variant_qty else -1
            sku = p.sku if variant < 0 else f"{p.sku}-{variant + 1}"
            items.append(
                OrderItemRec(
                    next_id(),
                    p.id,
                    p.name_ar,
                    p.name_en,
                    sku,
                    1 + int(rand() * 2.5),
                    p.sale_price or p.price,
                    variant,
                )
            )
        sub_total = sum(it.unit_price * it.quantity for it in items)
        slug = status_slugs[i]
        created = created_all[i]
        updated = min(created + randrange(0, 86_400 * 5), now_s)
        reference += 1 + randrange(3)
        customer_id = customer_ids[randrange(n_customers)]
        city = out.customers[customer_id].city
        out.orders[oid] = OrderRec(
            id=oid,
            reference_id=reference,
            customer_id=customer_id,
            created=created,
            updated=updated,
            status_id=STATUS_BY_SLUG[slug].id,
            payment_method=PAYMENT_METHODS[randrange(n_pm)],
            items=items,
            shipping=0 if sub_total >= 30_000 else 2_500,
            city=city,
        )
        if slug in _SHIPPED:
            sid = next_id()
            out.shipments[sid] = ShipmentRec(
                id=sid,
                order_id=oid,
                courier=randrange(len(COURIERS)),
                status="delivered" if slug in ("delivered", "completed") else "in_transit",
                tracking_number=f"TRK{derive_id(oid, 7)}",
                created=min(created + 86_400, updated),
            )
