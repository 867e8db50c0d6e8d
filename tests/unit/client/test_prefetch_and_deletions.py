"""list() asks the next pages ahead, keeps them in order, and survives rows deleted mid-walk."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry, Salla


class Rows:
    """A list endpoint over ``ids``, paged by offset as Salla does; tracks concurrency."""

    def __init__(self, count: int, *, delay: float = 0.0) -> None:
        self.ids = list(range(1, count + 1))
        self.delay = delay
        self.requested: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.on_request: Any = None
        self._lock = threading.Lock()

    def _body(self, page: int, per_page: int) -> dict[str, Any]:
        with self._lock:
            self.requested.append(page)
            if self.on_request is not None:
                self.on_request(self, page)
            rows = self.ids[(page - 1) * per_page : page * per_page]
            total = len(self.ids)
        pages = max(1, -(-total // per_page))
        return {
            "status": 200,
            "success": True,
            "data": [{"id": i, "name": f"p{i}"} for i in rows],
            "pagination": {
                "count": len(rows),
                "total": total,
                "perPage": per_page,
                "currentPage": page,
                "totalPages": pages,
                "links": {},
            },
        }

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    async def handle_async(self, request: httpx2.Request) -> httpx2.Response:
        self._enter()
        try:
            await asyncio.sleep(self.delay)
            page, per_page = int(request.url.params["page"]), int(request.url.params["per_page"])
            return httpx2.Response(200, json=self._body(page, per_page))
        finally:
            self._leave()

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self._enter()
        try:
            time.sleep(self.delay)
            page, per_page = int(request.url.params["page"]), int(request.url.params["per_page"])
            return httpx2.Response(200, json=self._body(page, per_page))
        finally:
            self._leave()


@pytest.mark.anyio
async def test_async_list_prefetches_up_to_the_in_flight_cap_in_order() -> None:
    rows = Rows(600, delay=0.02)  # 10 pages of 60
    async with AsyncSalla(
        "tok", transport=httpx2.MockTransport(rows.handle_async), governor=GovernorRegistry()
    ) as client:
        ids = [p.id async for p in client.products.list()]
    assert ids == list(range(1, 601))
    assert sorted(rows.requested) == list(range(1, 11))  # each page once
    assert rows.most_in_flight == 4  # the store's cap, reached and never passed


def test_sync_list_prefetches_with_threads_in_order() -> None:
    rows = Rows(600, delay=0.02)
    with Salla(
        "tok", transport=httpx2.MockTransport(rows.handle), governor=GovernorRegistry()
    ) as client:
        ids = [p.id for p in client.products.list()]
    assert ids == list(range(1, 601))
    assert sorted(rows.requested) == list(range(1, 11))
    assert 2 <= rows.most_in_flight <= 4


@pytest.mark.anyio
async def test_breaking_out_early_cancels_what_was_asked_ahead() -> None:
    rows = Rows(600, delay=0.02)
    governor = GovernorRegistry()
    async with AsyncSalla(
        "tok", transport=httpx2.MockTransport(rows.handle_async), governor=governor, store_id=5
    ) as client:
        async for product in client.products.list():
            if product.id == 3:
                break
        await asyncio.sleep(0.05)
        store = governor.get(client.base_url, "5")
        assert store.in_flight == 0 and store.queued == 0
    assert len(rows.requested) <= 5


def delete_first_ten_when_page_2_is_asked(rows: Rows, page: int) -> None:
    if page == 2 and rows.ids[0] == 1:
        del rows.ids[:10]  # rows 61..70 move onto page 1, already read


@pytest.mark.anyio
async def test_rows_deleted_during_a_walk_do_not_hide_rows_that_existed_throughout() -> None:
    rows = Rows(150)
    rows.on_request = delete_first_ten_when_page_2_is_asked
    async with AsyncSalla(
        "tok", transport=httpx2.MockTransport(rows.handle_async), governor=GovernorRegistry()
    ) as client:
        ids = [p.id async for p in client.products.list()]
    assert set(range(11, 151)) <= set(ids)  # every row that existed throughout
    assert len(ids) == len(set(ids))  # and none twice


def test_sync_walk_survives_deletions_too() -> None:
    rows = Rows(150)
    rows.on_request = delete_first_ten_when_page_2_is_asked
    with Salla(
        "tok", transport=httpx2.MockTransport(rows.handle), governor=GovernorRegistry()
    ) as client:
        ids = [p.id for p in client.products.list()]
    assert set(range(11, 151)) <= set(ids)
    assert len(ids) == len(set(ids))


@pytest.mark.anyio
async def test_a_list_that_keeps_shrinking_ends_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = Rows(300)

    def delete_one_each_time(rows: Rows, page: int) -> None:
        if page == 2:
            del rows.ids[0]

    rows.on_request = delete_one_each_time
    caplog.set_level(logging.INFO, logger="sallakit.api")
    async with AsyncSalla(
        "tok", transport=httpx2.MockTransport(rows.handle_async), governor=GovernorRegistry()
    ) as client:
        ids = [p.id async for p in client.products.list()]
    assert len(ids) == len(set(ids))
    assert any("may be missing" in r.getMessage() for r in caplog.records)
    assert rows.requested.count(1) == 3  # the first walk and two more, then it gives up
