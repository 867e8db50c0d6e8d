"""Auto-pagination over generated list methods, including misbehaving servers."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry
from sallakit.models import Product


def page_body(ids: list[int], page: int, total_pages: int, links: Any) -> dict[str, Any]:
    return {
        "status": 200,
        "success": True,
        "data": [{"id": i, "name": f"p{i}"} for i in ids],
        "pagination": {
            "count": len(ids),
            "total": 5,
            "perPage": 2,
            "currentPage": page,
            "totalPages": total_pages,
            "links": links,
        },
    }


class Pages:
    """Serves pages of 2 products out of 5; ``override`` replaces the answer for a page."""

    def __init__(self, override: dict[int, dict[str, Any]] | None = None) -> None:
        self.requested: list[httpx2.Request] = []
        self.override = override or {}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requested.append(request)
        page = int(request.url.params.get("page", "1"))
        if page in self.override:
            return httpx2.Response(200, json=self.override[page])
        ids = list(range(1, 6))[(page - 1) * 2 : page * 2]
        links: Any = {"next": "https://x/?page=2"} if page < 3 else []
        if page == 2:
            links = {}  # the other empty shape: both must be accepted
        return httpx2.Response(200, json=page_body(ids, page, 3, links))


def make(handler: Any, governors: GovernorRegistry) -> AsyncSalla:
    return AsyncSalla("tok", transport=httpx2.MockTransport(handler), governor=governors)


@pytest.mark.anyio
async def test_iterates_items_across_pages(governors: GovernorRegistry) -> None:
    pages = Pages()
    async with make(pages, governors) as client:
        products = [p async for p in client.products.list(status="sale")]
    assert [p.id for p in products] == [1, 2, 3, 4, 5]
    assert all(isinstance(p, Product) for p in products)
    assert [r.url.params["page"] for r in pages.requested] == ["1", "2", "3"]
    assert {r.url.params["per_page"] for r in pages.requested} == {"60"}
    assert {r.url.params["status"] for r in pages.requested} == {"sale"}


@pytest.mark.anyio
async def test_pages_expose_items_and_pagination(governors: GovernorRegistry) -> None:
    async with make(Pages(), governors) as client:
        pages = [page async for page in client.products.list(per_page=2).pages()]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [p.pagination.current_page for p in pages if p.pagination] == [1, 2, 3]
    assert pages[1].pagination is not None and dict(pages[1].pagination.links) == {}
    assert pages[2].pagination is not None and dict(pages[2].pagination.links) == {}
    assert pages[0].data == pages[0].items
    assert pages[0].raw["pagination"]["totalPages"] == 3


@pytest.mark.anyio
async def test_repeated_page_stops_with_a_warning(
    governors: GovernorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    # The server ignores ?page and always answers page 1 while claiming 3 pages.
    looping = page_body([1, 2], 1, 3, {"next": "https://x/?page=2"})
    pages = Pages(override={2: looping, 3: looping, 4: looping})
    caplog.set_level(logging.WARNING, logger="sallakit.api")
    async with make(pages, governors) as client:
        ids = [p.id async for p in client.products.list()]
    assert ids == [1, 2]
    # No request storm: page 1, then the pages it claims, asked ahead (prefetch), and no more.
    assert len(pages.requested) <= 3
    assert any("pagination stopped" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_same_content_with_advancing_page_number_stops(
    governors: GovernorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    pages = Pages(override={2: page_body([1, 2], 2, 3, {"next": "https://x/?page=3"})})
    caplog.set_level(logging.WARNING, logger="sallakit.api")
    async with make(pages, governors) as client:
        ids = [p.id async for p in client.products.list()]
    assert ids == [1, 2]
    assert any("repeats" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_page_beyond_total_pages_stops(
    governors: GovernorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    # Page 2 claims totalPages=1 with different items: stop instead of walking on, but keep the
    # items of page 2 (records were deleted meanwhile; these ones are real and new).
    pages = Pages(override={1: page_body([1, 2], 1, 3, {}), 2: page_body([2, 3, 4], 2, 1, {})})
    caplog.set_level(logging.WARNING, logger="sallakit.api")
    async with make(pages, governors) as client:
        ids = [p.id async for p in client.products.list()]
    assert ids == [1, 2, 3, 4]
    assert any("beyond totalPages" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_empty_list(governors: GovernorRegistry) -> None:
    empty = {"status": 200, "success": True, "data": [], "pagination": {"links": []}}
    async with make(lambda r: httpx2.Response(200, json=empty), governors) as client:
        pages = [p async for p in client.orders.list().pages()]
        items = [o async for o in client.orders.list()]
    assert len(pages) == 1 and pages[0].items == []
    assert items == []
