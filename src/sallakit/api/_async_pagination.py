"""Auto-pagination.

The async module is the source; its sync twin is generated from it by ``scripts/unasync.py``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from sallakit.api._core._pagination import PageWalker, ShiftTracker, item_id
from sallakit.api._prefetch import AsyncPrefetcher
from sallakit.api._response import Page

__all__ = ["AsyncPaginator"]

T = TypeVar("T")

logger = logging.getLogger("sallakit.api")

# Extra walks after rows were deleted during one: each catches the rows that moved onto pages
# already read; more than this and the list is changing too fast to promise anything.
MAX_REWALKS = 2


class AsyncPaginator(Generic[T]):
    """Iterates the items of a paginated endpoint across all its pages.

    ``async for item in paginator`` yields items; ``paginator.pages()`` yields :class:`Page`
    objects. Nothing is requested until iteration starts, and each iteration starts again from
    the first page. A server that repeats a page, goes backwards or serves pages beyond
    ``totalPages`` ends the iteration with a warning on the ``sallakit.api`` logger; the items
    of a page beyond a ``totalPages`` that shrank during the walk are still yielded first.

    Prefetch: once the first page tells ``totalPages``, the next ``prefetch`` pages are requested
    ahead (the store's in-flight cap by default), and each page is parsed while the following
    ones are on the wire. Pages and items still come out in order.

    Items are iterated at most once per ``id`` within one iteration: when records are created
    while we walk, page boundaries shift and an item can appear on two pages; the repeat is
    skipped (and logged once). When records are *deleted* while we walk (``total`` drops), rows
    shift onto pages already read and would be missed: the iteration then walks the list again
    (at most twice) and yields the rows it had not seen, so that every row that existed
    throughout is yielded; if the list still changes, or its items have no ``id``, a warning says
    rows may have been missed. :meth:`pages` yields the pages of one walk, as Salla sent them.

    Args:
        fetch: Returns the page with the given number.
        start_page: First page to request.
        prefetch: Most pages requested ahead of the one being read (0 or 1: one at a time).
    """

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[Page[T]]],
        *,
        start_page: int = 1,
        prefetch: int = 4,
    ) -> None:
        self._fetch = fetch
        self._start_page = start_page
        self.prefetch = prefetch

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield each page in turn."""
        async for page in self._walk(ShiftTracker()):
            yield page

    async def _walk(self, shifts: ShiftTracker) -> AsyncIterator[Page[T]]:
        walker = PageWalker(self._start_page)
        prefetcher = AsyncPrefetcher(self._fetch, self.prefetch)
        first = True
        try:
            while walker.page is not None:
                page = await prefetcher.take(walker.page)
                shifts.observe(page.pagination)
                # The parsed items serve as well as the decoded ones (ids, or their content), and
                # a page read straight into models has no decoded copy to spare.
                walker.advance(page.pagination, page.items)
                if walker.warning is not None:
                    logger.warning(
                        "pagination stopped: %s",
                        walker.warning,
                        extra={"action": "salla_pagination_stopped", "reason": walker.warning},
                    )
                    if walker.keep_last and page.items:
                        yield page
                    return
                info = page.pagination
                if walker.page is not None and info is not None and info.total_pages:
                    prefetcher.ahead(walker.page, info.total_pages)
                if page.items or first:
                    yield page
                first = False
        finally:
            await prefetcher.aclose()

    async def _items(self) -> AsyncIterator[T]:
        seen: set[Any] = set()
        logged = False
        anonymous = False
        for walk in range(1 + MAX_REWALKS):
            shifts = ShiftTracker()
            async for page in self._walk(shifts):
                for item in page.items:
                    key = item_id(item)
                    if key is None:
                        anonymous = True
                    elif key in seen:
                        if not logged and walk == 0:
                            logged = True
                            logger.info(
                                "pagination: skipped an item seen on an earlier page (id %r)",
                                key,
                                extra={"action": "salla_pagination_duplicate", "id": key},
                            )
                        continue
                    else:
                        seen.add(key)
                    if walk == 0 or key is not None:
                        yield item
            if not shifts.deleted or self._start_page != 1:
                return
            if anonymous:
                break
            logger.info(
                "pagination: %d rows were deleted during the walk; walking again for the rows "
                "that moved onto pages already read",
                shifts.deleted,
                extra={"action": "salla_pagination_rewalk", "deleted": shifts.deleted},
            )
        logger.warning(
            "pagination: rows were deleted while the list was walked and %s; rows that existed "
            "throughout may be missing",
            "its items have no id" if anonymous else "it kept changing",
            extra={"action": "salla_pagination_unstable"},
        )

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()
