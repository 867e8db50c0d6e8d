"""In-process serialisation of refreshes, so that threads and tasks of one process queue in
memory instead of all contending for the database lock."""

from __future__ import annotations

import threading
import weakref
from typing import Any

import anyio
import anyio.lowlevel

__all__ = ["StoreLocks"]


class StoreLocks:
    """A ``threading.Lock`` per store, and an ``anyio.Lock`` per store and event loop (an
    anyio lock belongs to one loop, so a vault used from several loops never shares one)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._threads: dict[int, threading.Lock] = {}
        self._tasks: weakref.WeakKeyDictionary[Any, dict[int, anyio.Lock]] = (
            weakref.WeakKeyDictionary()
        )
        self._strong_tasks: dict[int, dict[int, anyio.Lock]] = {}

    def thread_lock(self, store_id: int) -> threading.Lock:
        """The store's lock for blocking callers."""
        with self._guard:
            return self._threads.setdefault(store_id, threading.Lock())

    def task_lock(self, store_id: int) -> anyio.Lock:
        """The store's lock for tasks of the running event loop."""
        loop = anyio.lowlevel.current_token().native_token
        with self._guard:
            try:
                per_loop = self._tasks.get(loop)
                if per_loop is None:
                    per_loop = self._tasks[loop] = {}
            except TypeError:  # a loop object without weak references
                per_loop = self._strong_tasks.setdefault(id(loop), {})
            lock = per_loop.get(store_id)
            if lock is None:
                lock = per_loop[store_id] = anyio.Lock()
            return lock
