"""Fetching the next pages of a list while the current one is used.

Once a list's first page says how many pages there are, the paginator asks for the following
pages ahead of time, up to a window (the store's in-flight cap by default: more would only queue
in the governor). Pages are still handed out in order, and the parsing of each page happens while
the next ones are on the wire. :class:`AsyncPrefetcher` runs the fetches as tasks of the current
event loop, :class:`Prefetcher` (for the sync client) in a small thread pool; both cancel what is
still pending when the walk ends early.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["AsyncPrefetcher", "Prefetcher"]

P = TypeVar("P")


class AsyncPrefetcher(Generic[P]):
    """Fetches numbered pages as tasks, at most ``window`` ahead of the one being taken.

    Args:
        fetch: Returns the page with the given number.
        window: Most pages requested ahead (0 fetches each page only when taken).
    """

    def __init__(self, fetch: Callable[[int], Awaitable[P]], window: int) -> None:
        self._fetch = fetch
        self._window = max(0, window)
        self._pending: dict[int, asyncio.Task[P]] = {}

    def ahead(self, next_page: int, last_page: int) -> None:
        """Make sure pages ``next_page`` .. ``min(last_page, next_page + window - 1)`` are asked."""
        for number in range(next_page, min(last_page, next_page + self._window - 1) + 1):
            if number not in self._pending:
                self._pending[number] = asyncio.ensure_future(self._fetch(number))

    async def take(self, number: int) -> P:
        """The page ``number``: the prefetched one, or fetched now."""
        task = self._pending.pop(number, None)
        if task is None:
            return await self._fetch(number)
        return await task

    async def aclose(self) -> None:
        """Cancel what is still pending (the walk ended early), and wait for it to stop."""
        tasks = list(self._pending.values())
        self._pending.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            # Cancelled or failed on its own: either way nobody wants its page any more.
            with contextlib.suppress(BaseException):
                await task


class Prefetcher(Generic[P]):
    """The thread-pool twin of :class:`AsyncPrefetcher`, for the sync client."""

    def __init__(self, fetch: Callable[[int], P], window: int) -> None:
        self._fetch = fetch
        self._window = max(0, window)
        self._pending: dict[int, Future[P]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def ahead(self, next_page: int, last_page: int) -> None:
        """Make sure pages ``next_page`` .. ``min(last_page, next_page + window - 1)`` are asked."""
        if self._window <= 1:
            return  # a window of one page is the page taken next: no thread needed
        for number in range(next_page, min(last_page, next_page + self._window - 1) + 1):
            if number not in self._pending:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self._window, thread_name_prefix="sallakit-prefetch"
                    )
                self._pending[number] = self._pool.submit(self._fetch, number)

    def take(self, number: int) -> P:
        """The page ``number``: the prefetched one, or fetched now."""
        future = self._pending.pop(number, None)
        if future is None:
            return self._fetch(number)
        return future.result()

    def close(self) -> None:
        """Cancel what has not started; running fetches finish in the background."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
