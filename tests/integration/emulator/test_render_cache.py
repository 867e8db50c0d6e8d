"""Rendered records are cached per store version: same bytes, and no write leaves them stale."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from sallakit.emulator import Emulator

from .conftest import API, START

pytestmark = pytest.mark.anyio

PAGES = [
    ("/products", {"per_page": 60}),
    ("/products", {"per_page": 7, "page": 2, "format": "light"}),
    ("/orders", {"per_page": 60}),
    ("/customers", {"per_page": 20, "fields[]": "orders_count"}),
    ("/categories", {}),
    ("/brands", {}),
    ("/shipments", {}),
]


def _client(em: Emulator, language: str = "ar") -> httpx2.AsyncClient:
    token = em.issue_tokens()["access_token"]
    return httpx2.AsyncClient(
        transport=em.async_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
    )


def _uncached(em: Emulator) -> Emulator:
    # The same emulator with caching off: the shell asks for a cache the data never gets.
    em.render_cache = lambda store_id: None  # type: ignore[method-assign]
    return em


@pytest.mark.parametrize("quirks", [False, True])
@pytest.mark.parametrize("language", ["ar", "en"])
async def test_cached_pages_are_byte_identical_to_rendered_ones(quirks, language):
    cached = Emulator(products=70, orders=30, customers=20, now=START, quirks=quirks)
    plain = _uncached(Emulator(products=70, orders=30, customers=20, now=START, quirks=quirks))
    async with _client(cached, language) as a, _client(plain, language) as b:
        for path, params in PAGES:
            first = await a.get(path, params=params)
            again = await a.get(path, params=params)  # served from the cache
            reference = await b.get(path, params=params)
            assert first.status_code == 200, first.text
            assert first.content == again.content == reference.content, path
    assert len(cached.render_cache(cached.stores[0].id)) > 0


async def _product(client: httpx2.AsyncClient, pid: int) -> dict[str, Any]:
    rows = (await client.get("/products", params={"per_page": 60})).json()["data"]
    return next(p for p in rows if p["id"] == pid)


async def test_every_kind_of_write_is_seen_by_the_next_page():
    em = Emulator(products=20, orders=5, customers=5, now=START)
    store = em.stores[0].id
    pid = next(iter(em.store().data.products))
    async with (
        _client(em) as api,
        httpx2.AsyncClient(
            transport=em.async_transport(), base_url="http://emulator.test/_emulator"
        ) as control,
    ):
        await _product(api, pid)  # cached
        # A Merchant API write.
        assert (await api.put(f"/products/{pid}", json={"price": 321})).status_code < 300
        assert (await _product(api, pid))["price"]["amount"] == 321
        # A control API write.
        await control.put(f"/stores/{store}/products/{pid}/stock", json={"quantity": 77})
        assert (await _product(api, pid))["quantity"] == 77
        # A direct StoreData mutation (Python control surface).
        em.update_product(store, pid, {"name": "اسم جديد"})
        assert (await _product(api, pid))["name"] == "اسم جديد"
        # A write to another resource that products show (the brand's name).
        brand = (await api.post("/brands", json={"name": "ماركة"})).json()["data"]
        await api.put(f"/products/{pid}", json={"brand_id": brand["id"]})
        await api.put(f"/brands/{brand['id']}", json={"name": "ماركة ثانية"})
        assert (await _product(api, pid))["brand"]["name"] == "ماركة ثانية"


async def test_page_drift_is_seen_by_the_page_it_drifts():
    em = Emulator(products=10, orders=5, customers=5, now=START)
    async with _client(em) as api:
        first = (await api.get("/orders", params={"per_page": 2})).json()
        em.inject_fault("page_drift", endpoint="orders.list", count=2, remaining=1)
        second = (await api.get("/orders", params={"per_page": 2, "page": 2})).json()
    # Two new orders landed in front: page 2 now holds what page 1 held, with fresh totals.
    assert second["pagination"]["total"] == first["pagination"]["total"] + 2
    assert [o["id"] for o in second["data"]] == [o["id"] for o in first["data"]]


async def test_the_cache_is_not_in_a_snapshot(tmp_path):
    em = Emulator(products=10, orders=2, customers=2, now=START)
    async with _client(em) as api:
        await api.get("/products")
    em.save(tmp_path / "s.snap")
    restored = Emulator.load(tmp_path / "s.snap")
    assert len(restored.render_cache(restored.stores[0].id)) == 0
