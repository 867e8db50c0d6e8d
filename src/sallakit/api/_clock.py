"""The time source of the client: one object that tells the time and sleeps, sync or async.

Injecting it (through :class:`~sallakit.api.GovernorRegistry`) lets tests drive retries and
rate-limit waits with a fake clock instead of sleeping for real.
"""

from __future__ import annotations

import time

import anyio

__all__ = ["Clock", "SystemClock", "agive_way", "give_way"]


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


async def agive_way() -> None:
    """Let the tasks that are ready run before this one goes on.

    The client calls it after freeing an in-flight slot that a queued call was waiting for: the
    woken call then sends its request at once, instead of after this task has parsed its answer
    (parsing a page of models takes milliseconds, during which the slot would carry nothing).
    """
    await anyio.sleep(0)


def give_way() -> None:
    """The sync twin of :func:`agive_way`: threads are scheduled by the OS, nothing to do."""
