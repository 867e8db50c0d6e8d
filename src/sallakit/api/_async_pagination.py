"""Auto-pagination.

The async module is the source; its sync twin is generated from it by ``scripts/unasync.py``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from sallakit.api._core._pagination import PageWalker, item_id
from sallakit.api._response import Page

__all__ = ["AsyncPaginator"]

T = TypeVar("T")

logger = logging.getLogger("sallakit.api")


class AsyncPaginator(Generic[T]):
    """Iterates the items of a paginated endpoint across all its pages.

    ``async for item in paginator`` yields items; ``paginator.pages()`` yields :class:`Page`
    objects. Nothing is requested until iteration starts, and each iteration starts again from
    the first page. A server that repeats a page, goes backwards or serves pages beyond
    ``totalPages`` ends the iteration with a warning on the ``sallakit.api`` logger; the items
    of a page beyond a ``totalPages`` that shrank during the walk are still yielded first.

    Items are iterated at most once per ``id`` within one iteration: when records are created or
    deleted while we walk, page boundaries shift and an item can appear on two pages; the repeat
    is skipped (and logged once). :meth:`pages` yields the pages as Salla sent them.

    Args:
        fetch: Returns the page with the given number.
        start_page: First page to request.
    """

    def __init__(self, fetch: Callable[[int], Awaitable[Page[T]]], *, start_page: int = 1) -> None:
        self._fetch = fetch
        self._start_page = start_page

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield each page in turn."""
        walker = PageWalker(self._start_page)
        first = True
        while walker.page is not None:
            page = await self._fetch(walker.page)
            walker.advance(page.pagination, page.response.data or [])
            if walker.warning is not None:
                logger.warning(
                    "pagination stopped: %s",
                    walker.warning,
                    extra={"action": "salla_pagination_stopped", "reason": walker.warning},
                )
                if walker.keep_last and page.items:
                    yield page
                return
            if page.items or first:
                yield page
            first = False

    async def _items(self) -> AsyncIterator[T]:
        seen: set[Any] = set()
        logged = False
        async for page in self.pages():
            for item in page.items:
                key = item_id(item)
                if key is not None:
                    if key in seen:
                        if not logged:
                            logged = True
                            logger.info(
                                "pagination: skipped an item seen on an earlier page (id %r)",
                                key,
                                extra={"action": "salla_pagination_duplicate", "id": key},
                            )
                        continue
                    seen.add(key)
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()
