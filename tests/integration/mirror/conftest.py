"""Fixtures for the mirror's integration tests: an in-process emulator, a mirror on SQLite,
PostgreSQL or memory, and the emulator's own state rendered as the mirror should hold it.

The expected rows come from the emulator's records through its own renderers (what its API
serves), never from the mirror's code, so a mistake in the mirror cannot hide behind itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from sallakit.api import AsyncSalla, Clock, GovernorRegistry
from sallakit.db import create_engine, migrate
from sallakit.emulator import Emulator
from sallakit.mirror import InMemoryMirrorStore, Mirror, MirrorSettings, MirrorStore, SQLMirrorStore

START = datetime(2025, 3, 2, 9, 30, 0, tzinfo=UTC)
API = "https://api.salla.dev/admin/v2"


class EmulatorClock(Clock):
    """The client's clock on the emulator's time; sleeping advances the emulator instead."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def time(self) -> float:
        return self.emulator.clock.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.emulator.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        if seconds > 0:
            self.emulator.advance(seconds)
        await anyio.sleep(0)


def new_emulator(**kwargs: Any) -> Emulator:
    options: dict[str, Any] = {
        "products": 75,
        "orders": 30,
        "customers": 65,
        "now": START,
        "plan": "100000",
    }
    options.update(kwargs)
    return Emulator(**options)


def client_factory(
    emulator: Emulator, *, transport: httpx2.AsyncBaseTransport | None = None
) -> Callable[[int, httpx2.AsyncBaseTransport], AsyncSalla]:
    """Store-bound clients on the emulator (the emulator's clock drives the governor)."""
    registry = GovernorRegistry(clock=EmulatorClock(emulator))
    tokens: dict[int, str] = {}

    def clients(store_id: int, counting: httpx2.AsyncBaseTransport, on_wait: Any) -> AsyncSalla:
        if store_id not in tokens:
            tokens[store_id] = emulator.issue_tokens(store_id)["access_token"]
        return AsyncSalla(
            tokens[store_id],
            base_url=API,
            transport=counting,
            governor=registry,
            store_id=store_id,
            max_retries=6,
            on_wait=on_wait,
        )

    return clients


def make_mirror(
    emulator: Emulator,
    store: MirrorStore,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    progress: Any = None,
    **settings: Any,
) -> Mirror:
    mirror = Mirror(
        store,
        client_factory(emulator),
        settings=MirrorSettings(**settings),
        clock=emulator.clock.time,
        progress=progress,
    )
    mirror._inner_transport = transport or emulator.async_transport()
    return mirror


def sqlite_store(tmp_path: Any) -> SQLMirrorStore:
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{tmp_path}/mirror.db")
    migrate(engine)
    return SQLMirrorStore(engine)


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> MirrorStore:
    """Both stores: the in-memory twin must behave as the SQL store does."""
    if request.param == "memory":
        return InMemoryMirrorStore()
    return sqlite_store(tmp_path)


@pytest.fixture
def sql_store(tmp_path: Any) -> MirrorStore:
    return sqlite_store(tmp_path)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))


class SourceReader:
    """Reads a store from the emulator's API the plain way (sequential pages, one call at a
    time), independently of the mirror's code."""

    def __init__(self, emulator: Emulator, store_id: int) -> None:
        token = emulator.issue_tokens(store_id)["access_token"]
        self.http = httpx2.Client(
            transport=emulator.sync_transport(),
            base_url=API,
            headers={"Authorization": f"Bearer {token}"},
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def walk(self, path: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.get(path, page=page, per_page=60, **params)
            data = body["data"] if body else []
            if not data:
                return out
            out.extend(data)
            page += 1

    def detail(self, table: str, entity_id: int) -> dict[str, Any] | None:
        paths = {
            "products": "/products/{}",
            "customers": "/customers/{}",
            "categories": "/categories/{}",
            "brands": "/brands/{}",
            "shipments": "/shipments/{}",
            "orders": "/orders/{}",
        }
        body = self.get(paths[table].format(entity_id))
        return body["data"] if body else None


def expected_state(
    emulator: Emulator, store_id: int, mirror: Mirror | None = None
) -> dict[str, dict[int, Any]]:
    """Every entity of a store as the emulator's API serves it, per mirror table.

    Rows the mirror holds in their detail rendering (refreshed by a webhook) are expected as
    the detail endpoint serves them now.
    """
    reader = SourceReader(emulator, store_id)
    out: dict[str, dict[int, Any]] = {}
    products = {p["id"]: p for p in reader.walk("/products")}
    out["products"] = products
    out["brands"] = {b["id"]: b for b in reader.walk("/brands")}
    out["customers"] = {c["id"]: c for c in reader.walk("/customers")}
    out["shipments"] = {s["id"]: s for s in reader.walk("/shipments")}
    categories: dict[int, Any] = {}
    pending = reader.walk("/categories", **{"with[]": "items"})
    while pending:
        c = dict(pending.pop(0))
        pending.extend(c.pop("items", None) or [])
        categories[c["id"]] = c
    out["categories"] = categories
    if mirror is not None:
        for table in ("products", "brands", "customers", "shipments", "categories"):
            for row in mirror.store.rows(store_id, table):
                if row["source"] == "detail" and row["id"] in out[table]:
                    fresh = reader.detail(table, row["id"])
                    if fresh is not None:
                        fresh.pop("items", None) if table == "categories" else None
                        out[table][row["id"]] = fresh
    out["product_variants"] = {
        v["id"]: v for p in out["products"].values() for v in (p.get("skus") or [])
    }
    out["orders"], out["order_items"], out["order_histories"] = {}, {}, {}
    for summary in reader.walk("/orders"):
        order = reader.detail("orders", summary["id"])
        if order is None:
            continue
        out["orders"][order["id"]] = order
        items = reader.get("/orders/items", order_id=order["id"])
        for item in items["data"] if items else []:
            out["order_items"][item["id"]] = item
        for history in reader.walk(f"/orders/{order['id']}/histories"):
            out["order_histories"][history["id"]] = history
    return {t: {k: _plain(v) for k, v in rows.items()} for t, rows in out.items()}


def mirrored_state(mirror: Mirror, store_id: int) -> dict[str, dict[int, Any]]:
    from sallakit.mirror import TABLES

    return {
        t: {row["id"]: _plain(row["data"]) for row in mirror.store.rows(store_id, t)}
        for t in TABLES
    }


def assert_mirror_equals(mirror: Mirror, emulator: Emulator, store_id: int) -> None:
    """Every row of every table equals the emulator's rendering (and nothing more)."""
    want = expected_state(emulator, store_id, mirror)
    got = mirrored_state(mirror, store_id)
    for table, rows in want.items():
        missing = sorted(set(rows) - set(got[table]))
        extra = sorted(set(got[table]) - set(rows))
        assert not missing and not extra, f"{table}: missing {missing[:5]}, extra {extra[:5]}"
        differing = [i for i in rows if rows[i] != got[table][i]]
        assert not differing, f"{table}: {len(differing)} rows differ, e.g. {differing[:3]}"


# ------------------------------------------------------------------------------ mutations


class Mutator:
    """Random changes to an emulated store through its control surface (the Merchant API's
    own code paths, so they emit the webhooks a real change would).

    ``announced_only`` keeps to changes whose every effect is announced by a webhook (the
    emulator renders an order's customer and items' products live, so editing a customer who
    has orders, or deleting a product or brand in use, changes other entities silently).
    """

    def __init__(
        self, emulator: Emulator, store_id: int, seed: int, *, announced_only: bool
    ) -> None:
        import random

        self.emulator, self.store_id = emulator, store_id
        self.rng = random.Random(seed)
        self.announced_only = announced_only
        self.made: list[str] = []

    def _data(self) -> Any:
        return self.emulator.store(self.store_id).data

    def _used(self) -> tuple[set[int], set[int], set[int], set[int]]:
        data = self._data()
        products = {it.product_id for o in data.orders.values() for it in o.items}
        customers = {o.customer_id for o in data.orders.values()}
        brands = {p.brand_id for p in data.products.values()}
        categories = {c for p in data.products.values() for c in p.category_ids}
        categories |= {c.parent_id for c in data.categories.values()}
        return products, customers, brands, categories

    def step(self) -> str:
        rng, em, sid = self.rng, self.emulator, self.store_id
        data = self._data()
        used_products, used_customers, used_brands, used_categories = self._used()
        kinds = [
            "product.create",
            "product.price",
            "product.status",
            "product.delete",
            "customer.create",
            "customer.update",
            "order.status",
            "brand.create",
            "brand.update",
            "brand.delete",
            "category.create",
            "category.update",
        ]
        if not self.announced_only:
            kinds += ["order.create", "customer.delete", "product.rename", "category.delete"]
        kind = rng.choice(kinds)
        n = len(self.made)
        if kind == "product.create":
            em.add_product(sid, {"name": f"منتج {n}", "price": rng.randint(5, 500), "quantity": 9})
        elif kind in ("product.price", "product.status", "product.rename"):
            pid = rng.choice(list(data.products))
            change = {
                "product.price": {"price": rng.randint(5, 900) + 0.5},
                # A different status: a no-op edit still bumps updated_at, with no event.
                "product.status": {
                    "status": "hidden" if data.products[pid].status == "sale" else "sale"
                },
                "product.rename": {"name": f"اسم {n}"},
            }[kind]
            em.update_product(sid, pid, change)
        elif kind == "product.delete":
            free = [p for p in data.products if p not in used_products]
            if not free:
                return self.step()
            pid = rng.choice(free)
            em._mutate(sid, lambda d, ctx: d.delete_product(ctx, pid))
        elif kind == "customer.create":
            em.add_customer(
                sid, {"first_name": "سارة", "last_name": f"م{n}", "mobile": 500000000 + n}
            )
        elif kind == "customer.update":
            free = [c for c in data.customers if c not in used_customers]
            if not free:
                return self.step()
            cid = rng.choice(free)
            em._mutate(sid, lambda d, ctx: d.update_customer(ctx, cid, {"last_name": f"ع{n}"}))
        elif kind == "customer.delete":
            free = [c for c in data.customers if c not in used_customers]
            if not free:
                return self.step()
            cid = rng.choice(free)

            def drop(d: Any, ctx: Any) -> dict[str, Any]:
                del d.customers[cid]
                d.serial += 1
                return {}

            em._mutate(sid, drop)
        elif kind == "order.status":
            oid = rng.choice(list(data.orders))
            em.change_order_status(sid, oid, rng.choice(["in_progress", "completed", "shipped"]))
        elif kind == "order.create":
            em.place_order(sid)
        elif kind == "brand.create":
            em._mutate(sid, lambda d, ctx: d.add_brand(ctx, {"name": f"ماركة {n}"}))
        elif kind == "brand.update":
            bid = rng.choice(list(data.brands))
            em._mutate(sid, lambda d, ctx: d.update_brand(ctx, bid, {"description": f"وصف {n}"}))
        elif kind == "brand.delete":
            free = [b for b in data.brands if b not in used_brands]
            if not free:
                return self.step()
            bid = rng.choice(free)
            em._mutate(sid, lambda d, ctx: d.delete_brand(ctx, bid))
        elif kind == "category.create":
            em._mutate(sid, lambda d, ctx: d.add_category(ctx, {"name": f"تصنيف {n}"}))
        elif kind == "category.update":
            # Products show their categories' names: renaming one in use changes them too.
            pool = list(data.categories)
            if self.announced_only:
                pool = [c for c in pool if c not in used_categories]
            if not pool:
                return self.step()
            cid = rng.choice(pool)
            em._mutate(sid, lambda d, ctx: d.update_category(ctx, cid, {"name": f"تصنيف م{n}"}))
        elif kind == "category.delete":
            free = [c for c in data.categories if c not in used_categories]
            if not free:
                return self.step()
            cid = rng.choice(free)
            em._mutate(sid, lambda d, ctx: d.delete_category(ctx, cid))
        self.made.append(kind)
        em.advance(1)
        return kind


def subscribe_mirror(emulator: Emulator, store_id: int, mirror: Mirror) -> None:
    """Subscribe the store to every event the mirror listens to; deliveries mark the mirror."""
    from sallakit.webhooks import parse_event

    reader = SourceReader(emulator, store_id)
    events = [e["event"] for e in reader.get("/webhooks/events")["data"]]
    prefixes = tuple(p.rstrip("*") for p in Mirror.EVENTS)
    for name in events:
        if name.startswith(prefixes):
            answer = reader.http.post(
                "/webhooks/subscribe",
                json={"name": name, "event": name, "url": "http://mirror.example/webhooks"},
            )
            answer.raise_for_status()

    def receive(request: httpx2.Request) -> httpx2.Response:
        mirror.mark_event(parse_event(request.content))
        return httpx2.Response(200)

    emulator.webhook_transport = httpx2.MockTransport(receive)


def net_changes(changes: list[Any]) -> dict[str, set[int]]:
    """Ids per table that the feed says changed (added, updated or deleted)."""
    out: dict[str, set[int]] = {}
    for change in changes:
        out.setdefault(change.resource, set()).add(change.id)
    return out


def state_diff(
    before: dict[str, dict[int, Any]], after: dict[str, dict[int, Any]]
) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for table in after:
        ids = set(before[table]) | set(after[table])
        changed = {i for i in ids if before[table].get(i) != after[table].get(i)}
        if changed:
            out[table] = changed
    return out
