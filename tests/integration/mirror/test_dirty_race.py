"""A webhook that arrives while its entity is being fetched is not lost.

Found by ``bench/fleet.py``: a product repriced twice in quick succession kept the first price in
the mirror. The drain read the mark, fetched the product, and the second webhook re-marked it
during the fetch; clearing the mark after the write then dropped the second change until the
next reconciliation.
"""

from __future__ import annotations

from decimal import Decimal

import httpx2
import pytest

from tests.integration.mirror.conftest import make_mirror, new_emulator

pytestmark = pytest.mark.anyio


class _ChangeDuringFetch(httpx2.AsyncBaseTransport):
    """Answers from the emulator; once armed, the first detail fetch of ``path`` is answered,
    then the product is repriced and re-marked before the response reaches the mirror."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, path: str, on_fetch: object) -> None:
        self.inner, self.path, self.on_fetch = inner, path, on_fetch
        self.armed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if self.armed and request.url.path.endswith(self.path):
            self.armed = False
            self.on_fetch()  # type: ignore[operator]
        return response


async def test_a_mark_made_again_during_the_fetch_survives_the_drain(store):
    emulator = new_emulator(products=6, orders=0, customers=1)
    store_id = emulator.stores[0].id
    product_id = next(iter(emulator.store(store_id).data.products))
    mirror = None

    def reprice_and_mark_again() -> None:
        emulator.update_product(store_id, product_id, {"price": 4321})
        assert mirror is not None
        mirror.store.mark_dirty(store_id, [("products", product_id)], "product.price.updated")

    transport = _ChangeDuringFetch(
        emulator.async_transport(), f"/products/{product_id}", reprice_and_mark_again
    )
    mirror = make_mirror(emulator, store, transport=transport)
    assert (await mirror.sync(store_id)).status == "succeeded"

    emulator.update_product(store_id, product_id, {"price": 1234})
    mirror.store.mark_dirty(store_id, [("products", product_id)], "product.price.updated")
    transport.armed = True
    first = await mirror.drain(store_id)
    assert first.status == "succeeded", first.error
    # The second change came after the fetch began: its mark must still be there.
    assert mirror.store.dirty(store_id) == [("products", product_id)]

    second = await mirror.drain(store_id)
    assert second.status == "succeeded", second.error
    assert mirror.store.dirty(store_id) == []
    (row,) = [r for r in mirror.store.rows(store_id, "products") if r["id"] == product_id]
    assert Decimal(str(row["price_amount"])) == Decimal("4321")


class _Unauthorized(httpx2.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, json={"status": 401, "success": False, "error": {}})


async def test_a_failed_drain_is_recorded_and_keeps_its_marks(store):
    # Found by bench/fleet.py: a drain that raised (a token refresh interrupted by kill -9)
    # ended its DBOS workflow with the job history left "running" for good.
    emulator = new_emulator(products=3, orders=0, customers=1)
    store_id = emulator.stores[0].id
    product_id = next(iter(emulator.store(store_id).data.products))
    mirror = make_mirror(emulator, store, transport=_Unauthorized())
    mirror.store.mark_dirty(store_id, [("products", product_id)], "product.price.updated")
    run = await mirror.drain(store_id)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error is not None and run.error.startswith("InvalidTokenError: 401")
    assert mirror.store.dirty(store_id) == [("products", product_id)]
