"""The mirror under adversity: page drift, capped lists, and the fault matrix (5xx, 429 bursts,
connection resets, latency spikes)."""

from __future__ import annotations

import random
from typing import Any

import httpx2
import pytest

from tests.integration.mirror.conftest import (
    assert_mirror_equals,
    make_mirror,
    new_emulator,
)

pytestmark = pytest.mark.anyio


class DriftingTransport(httpx2.AsyncBaseTransport):
    """Deletes and inserts products and customers between the pages of their list walks, so
    offset pages shift under the walker (rows move to pages already read, or are read twice)."""

    def __init__(self, emulator: Any, store_id: int, seed: int = 3) -> None:
        self.emulator, self.store_id = emulator, store_id
        self.inner = emulator.async_transport()
        self.rng = random.Random(seed)
        self.enabled = True
        self.moves = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path, page = request.url.path, int(request.url.params.get("page", "1"))
        if self.enabled and page >= 2 and path.endswith(("/products", "/customers")):
            self._drift(path.endswith("/products"))
        return await self.inner.handle_async_request(request)

    def _drift(self, products: bool) -> None:
        em, sid, n = self.emulator, self.store_id, self.moves
        data = em.store(sid).data
        in_orders = {it.product_id for o in data.orders.values() for it in o.items}
        buyers = {o.customer_id for o in data.orders.values()}
        if products:
            free = [p for p in data.products if p not in in_orders]
            victim = self.rng.choice(free)
            em._mutate(sid, lambda d, ctx: d.delete_product(ctx, victim))
            em.add_product(sid, {"name": f"جديد {n}", "price": 12})
        else:
            free = [c for c in data.customers if c not in buyers]
            victim = self.rng.choice(free)

            def drop(d: Any, ctx: Any) -> dict[str, Any]:
                del d.customers[victim]
                d.serial += 1
                return {}

            em._mutate(sid, drop)
            em.add_customer(
                sid, {"first_name": "نورة", "last_name": f"د{n}", "mobile": 590000000 + n}
            )
        self.moves += 1


async def test_page_drift_loses_and_duplicates_nothing_after_reconciliation(sql_store):
    store = sql_store
    emulator = new_emulator(products=130, customers=125)
    store_id = emulator.stores[0].id
    emulator.inject_fault("page_drift", endpoint="products", count=2, rate=0.5)
    drifting = DriftingTransport(emulator, store_id)
    mirror = make_mirror(emulator, store, transport=drifting)
    await mirror.sync(store_id)
    assert drifting.moves > 3
    drifting.enabled = False
    emulator.clear_faults()
    run = await mirror.sync(store_id)
    assert run.status == "succeeded", (run.error, run.audit)
    assert_mirror_equals(mirror, emulator, store_id)


async def test_capped_orders_are_windowed_and_the_audit_passes(store):
    emulator = new_emulator(products=20, customers=30, orders=150, list_cap=70)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, store, resources=("orders",))
    run = await mirror.sync(store_id)
    assert run.status == "succeeded", (run.error, run.audit)
    expected = {o.id for o in emulator.store(store_id).data.orders.values()}
    assert mirror.store.live_ids(store_id, "orders") == expected


async def test_a_capped_list_without_a_date_filter_is_flagged_by_the_audit(store):
    emulator = new_emulator(products=150, customers=20, orders=5, list_cap=100)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, store, resources=("products",))
    run = await mirror.sync(store_id)
    assert run.status == "failed"
    assert run.audit is not None and "products" in run.audit["capped"]
    assert run.audit["capped"]["products"] == {"remote": 150, "reachable": 100}
    assert "capped" in (run.error or "")
    # Nothing was marked deleted because of rows the cap hid.
    assert mirror.store.count(store_id, "products") == 100


async def _fault_matrix(store: Any, spike: float, **sizes: Any) -> None:
    emulator = new_emulator(**sizes)
    store_id = emulator.stores[0].id
    emulator.inject_fault("error", status=503, rate=0.10)
    emulator.inject_fault("rate_limit", rate=0.03, retry_after=2)
    emulator.inject_fault("reset", rate=0.03)
    emulator.inject_fault("latency", seconds=spike, rate=0.01)
    mirror = make_mirror(emulator, store)
    run = await mirror.sync(store_id)
    if run.status != "succeeded":
        # The client gave up on a call after its retries: the next run picks up from there.
        run = await mirror.sync(store_id)
    emulator.clear_faults()
    assert run.status == "succeeded", (run.error, run.audit)
    assert run.rate_limited > 0
    assert_mirror_equals(mirror, emulator, store_id)


async def test_fault_matrix_converges(sql_store):
    await _fault_matrix(sql_store, 0.2, products=70, customers=40, orders=30)


@pytest.mark.soak
@pytest.mark.timeout(1800)
async def test_fault_matrix_with_two_second_spikes(tmp_path):
    from tests.integration.mirror.conftest import sqlite_store

    await _fault_matrix(sqlite_store(tmp_path), 2.0, products=1000, customers=500, orders=400)
