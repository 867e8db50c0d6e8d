"""The time source of the client: one object that tells the time and sleeps, sync or async.

Injecting it (through :class:`~sallakit.api.GovernorRegistry`) lets tests drive retries and
rate-limit waits with a fake clock instead of sleeping for real.
"""

from __future__ import annotations

import time

import anyio

__all__ = ["Clock", "SystemClock"]


class Clock:
    """Interface of a clock. ``time`` is Unix time, as ``X-RateLimit-Reset`` is."""

    def time(self) -> float:
        """The current Unix time in seconds."""
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        """Block the thread for ``seconds`` (the sync client's waits)."""
        raise NotImplementedError

    async def asleep(self, seconds: float) -> None:
        """Suspend the task for ``seconds`` (the async client's waits)."""
        raise NotImplementedError


class SystemClock(Clock):
    """The real clock."""

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``; nothing for a non-positive delay."""
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """``anyio.sleep()``."""
        # Sleeping 0 still yields to the event loop, which the in-flight polling relies on.
        await anyio.sleep(max(0.0, seconds))
