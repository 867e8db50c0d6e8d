"""The per-store rate-limit governor, shared by every client of a store in the process.

Salla meters a *store*, not a client object: ten workers each holding their own client for the
same store share one bucket. So the governor is looked up in a :class:`GovernorRegistry` keyed by
``(base_url, store key)``. The default registry, :data:`DEFAULT_GOVERNOR_REGISTRY`, is the one
piece of process-wide mutable state in sallakit, on purpose: two clients that each build their
own registry would each believe they own the bucket and together empty it. Tests and
multi-tenant hosts that want isolation pass their own registry (``governor=``).

A governor is used by async tasks on any number of event loops and by threads alike, so its state
is guarded by a ``threading.Lock`` held only for arithmetic (never while waiting). Callers that
cannot enter at once join one first-come, first-served queue and are *notified*: whoever frees a
slot (a response, a failure, a cancelled call) admits the queue's head at once and wakes it, on
its own event loop or thread. Nobody polls. When the head is held back by the rate limit (pacing,
or an empty bucket), the head alone sleeps for that delay on the client's clock and then admits
whoever may go; the others sleep until woken. A queued call that could not be admitted before its
deadline (the client's ``max_retry_after``, counted from the start of the call) leaves the queue
with a refusal, so that no call waits without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sallakit._exceptions import ConfigurationError
from sallakit.api._clock import Clock, SystemClock
from sallakit.api._core._ratelimit import RateLimitState, is_customers_path

__all__ = [
    "DEFAULT_GOVERNOR_REGISTRY",
    "DEFAULT_MAX_IN_FLIGHT",
    "Acquired",
    "Admission",
    "GovernorRegistry",
    "RateLimitWait",
    "StoreGovernor",
    "WaitReporter",
    "store_key_for_token",
]

DEFAULT_MAX_IN_FLIGHT = 4

WaitReporter = Callable[[str, float], None]
"""Told ``(reason, seconds)`` before the governor sleeps for the rate limit."""

_WAITING, _GRANTED, _EXPIRED = 0, 1, 2


def store_key_for_token(token: str) -> str:
    """A non-reversible store key for a client that knows only its access token."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Admission:
    """Result of :meth:`StoreGovernor.try_acquire`: granted, or wait ``delay`` and ask again.

    ``busy`` means the refusal is the in-flight cap (wait for a slot), not the rate limit.
    """

    granted: bool
    delay: float = 0.0
    busy: bool = False


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """A wait of one call that a progress display may show (given to the client's ``on_wait``).

    Attributes:
        store: The store's governor key (its id, or a hash of a fixed token; never a token).
        reason: ``"rate_limit"`` (pacing or an empty bucket, before sleeping), ``"retry_after"``
            (Salla's 429 asked for it, before sleeping), ``"backoff"`` (before a retry after a
            failure) or ``"in_flight"`` (queued for one of the store's in-flight slots; told
            after the wait, with its length).
        seconds: Length of the wait.
        method: The call's HTTP method.
        path: The call's path.
    """

    store: str
    reason: str
    seconds: float
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class Acquired:
    """Result of :meth:`StoreGovernor.acquire`: a slot, or a refusal at the caller's deadline.

    ``waited`` is how long the caller queued; ``retry_after`` (on a refusal) is the rate-limit
    delay that was still ahead, or 0 when the refusal was a queue for slots that did not move in
    time.
    """

    granted: bool
    waited: float = 0.0
    retry_after: float = 0.0


class _ThreadSignal:
    """Wakes a thread blocked in :meth:`StoreGovernor.acquire`."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def wait(self, timeout: float | None) -> None:
        self._event.wait(timeout)


class _LoopSignal:
    """Wakes a task awaiting :meth:`StoreGovernor.aacquire`, from its loop or any thread."""

    __slots__ = ("_event", "_loop")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def set(self) -> None:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            self._event.set()
            return
        # A closed loop raises RuntimeError: its waiter is gone, nothing to wake.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._event.set)

    def clear(self) -> None:
        self._event.clear()

    async def wait(self, timeout: float | None) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            pass


class _Waiter:
    """One queued caller."""

    __slots__ = ("customers", "deadline", "pacing", "retry_after", "signal", "state")

    def __init__(
        self, customers: bool, deadline: float | None, signal: _ThreadSignal | _LoopSignal
    ) -> None:
        self.customers = customers
        self.deadline = deadline
        self.signal = signal
        self.state = _WAITING
        # Set by the dispatcher: how long this waiter, the first one the rate limit holds back,
        # sleeps before admitting whoever may go (0 for every other waiter).
        self.pacing = 0.0
        self.retry_after = 0.0


class StoreGovernor:
    """Rate-limit state and in-flight cap of one store.

    Args:
        max_in_flight: Most requests to this store in flight at once, process-wide.
        clock: Time source (shared with the clients that use this governor).
        store: A label for logs (the store id or token-hash key, never a token).
    """

    def __init__(
        self,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        clock: Clock | None = None,
        store: str = "",
    ) -> None:
        if max_in_flight < 1:
            raise ConfigurationError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self.clock: Clock = clock or SystemClock()
        self.store = store
        self._lock = threading.Lock()
        self._state = RateLimitState()
        self._in_flight = 0
        self._queue: deque[_Waiter] = deque()

    @property
    def in_flight(self) -> int:
        """Requests to this store in flight right now, process-wide."""
        return self._in_flight

    @property
    def remaining(self) -> int | None:
        """Estimated requests left in the store's bucket (None until Salla said)."""
        return self._state.general.remaining

    @property
    def queued(self) -> int:
        """Callers waiting for a slot or for the rate limit right now."""
        return len(self._queue)

    def try_acquire(self, path: str) -> Admission:
        """Take an in-flight slot and a unit of budget now, or say how long to wait.

        Never jumps the queue: while callers are queued the answer is ``busy``. Callers that
        want to wait use :meth:`acquire` / :meth:`aacquire` instead of polling this.
        """
        customers = is_customers_path(path)
        with self._lock:
            now = self.clock.time()
            delay = self._state.delay(now, customers=customers)
            if delay > 0:
                return Admission(False, delay)
            if self._queue or self._in_flight >= self.max_in_flight:
                return Admission(False, 0.0, busy=True)
            self._admit(now, customers)
            return Admission(True)

    async def aacquire(
        self,
        path: str,
        *,
        deadline: float | None = None,
        on_wait: WaitReporter | None = None,
    ) -> Acquired:
        """Wait (first come, first served) for a slot and a unit of budget.

        Args:
            path: The request's path (``/customers*`` has its own budget).
            deadline: Clock time after which the caller gives up; None waits as long as needed.
            on_wait: Told before each sleep for the rate limit.

        Returns:
            :class:`Acquired`; on a refusal nothing is held.
        """
        customers = is_customers_path(path)
        with self._lock:
            started = self.clock.time()
            if self._fast_admit(started, customers):
                return Acquired(True)
            signal = _LoopSignal()
            waiter = _Waiter(customers, deadline, signal)
            self._queue.append(waiter)
        handed_over = False
        try:
            while True:
                pacing, timeout = self._step(waiter)
                if waiter.state != _WAITING:
                    handed_over = True
                    return self._outcome(waiter, started)
                if pacing > 0:
                    if on_wait is not None:
                        on_wait("rate_limit", pacing)
                    await self.clock.asleep(pacing)
                else:
                    await signal.wait(timeout)
        finally:
            if not handed_over:
                self._abandon(waiter)

    def acquire(
        self,
        path: str,
        *,
        deadline: float | None = None,
        on_wait: WaitReporter | None = None,
    ) -> Acquired:
        """The blocking twin of :meth:`aacquire`, for threads."""
        customers = is_customers_path(path)
        with self._lock:
            started = self.clock.time()
            if self._fast_admit(started, customers):
                return Acquired(True)
            thread_signal = _ThreadSignal()
            waiter = _Waiter(customers, deadline, thread_signal)
            self._queue.append(waiter)
        handed_over = False
        try:
            while True:
                pacing, timeout = self._step(waiter)
                if waiter.state != _WAITING:
                    handed_over = True
                    return self._outcome(waiter, started)
                if pacing > 0:
                    if on_wait is not None:
                        on_wait("rate_limit", pacing)
                    self.clock.sleep(pacing)
                else:
                    thread_signal.wait(timeout)
        finally:
            if not handed_over:
                self._abandon(waiter)

    def release(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Give the slot back, learn from the response (None when none arrived), wake the next."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            now = self.clock.time()
            if headers is not None:
                self._state.on_response(
                    headers,
                    now,
                    customers=is_customers_path(path),
                    status=status,
                    retry_after=retry_after,
                    others_in_flight=self._in_flight,
                )
            if self._queue:
                self._dispatch(now)

    # ------------------------------------------------------------------ under the lock only

    def _admit(self, now: float, customers: bool) -> None:
        self._in_flight += 1
        self._state.on_send(now, customers=customers)

    def _fast_admit(self, now: float, customers: bool) -> bool:
        if self._queue or self._in_flight >= self.max_in_flight:
            return False
        if self._state.delay(now, customers=customers) > 0:
            return False
        self._admit(now, customers)
        return True

    def _dispatch(self, now: float) -> None:
        """Admit queued callers in order while slots and budget allow; assign the pacing timer.

        A caller held back by the general rate limit holds back everyone behind it (their delay
        is at least as long); one held back by the customers budget holds back only later
        customers calls. A caller that cannot be admitted before its deadline is refused now
        rather than when the deadline comes.
        """
        queue = self._queue
        general_timer = customers_timer = False
        full = False
        index = 0
        while index < len(queue):
            waiter = queue[index]
            blocked = general_timer or (waiter.customers and customers_timer)
            delay = self._state.delay(now, customers=waiter.customers)
            if not blocked and delay <= 0:
                if full or self._in_flight >= self.max_in_flight:
                    # FIFO: nobody passes the head of the slot queue. Later callers are not
                    # visited; their own deadline timeouts wake them.
                    full = True
                    if waiter.deadline is not None and now >= waiter.deadline:
                        self._settle(waiter, _EXPIRED, index)
                        continue
                    break
                self._admit(now, waiter.customers)
                self._settle(waiter, _GRANTED, index)
                continue
            if waiter.deadline is not None and now + max(delay, 0.0) > waiter.deadline:
                waiter.retry_after = max(delay, 0.0)
                self._settle(waiter, _EXPIRED, index)
                continue
            waiter.pacing = 0.0
            if delay > 0 and not blocked:
                waiter.pacing = delay
                waiter.signal.set()  # it may be asleep on its signal: it now keeps the time
                if waiter.customers:
                    customers_timer = True
                else:
                    general_timer = True
            index += 1

    def _settle(self, waiter: _Waiter, state: int, index: int) -> None:
        del self._queue[index]
        waiter.state = state
        waiter.signal.set()

    def _step(self, waiter: _Waiter) -> tuple[float, float | None]:
        """Dispatch, then tell ``waiter`` how to wait: ``(pacing sleep, signal timeout)``."""
        with self._lock:
            waiter.signal.clear()
            if waiter.state != _WAITING:
                return 0.0, None
            now = self.clock.time()
            if waiter.deadline is not None and now >= waiter.deadline and waiter in self._queue:
                # Its own timeout woke it: refuse it even if the dispatcher did not visit it.
                self._queue.remove(waiter)
                waiter.state = _EXPIRED
                return 0.0, None
            self._dispatch(now)
            if waiter.state != _WAITING:
                return 0.0, None
            timeout = None if waiter.deadline is None else max(0.0, waiter.deadline - now)
            return waiter.pacing, timeout

    def _outcome(self, waiter: _Waiter, started: float) -> Acquired:
        waited = max(0.0, self.clock.time() - started)
        if waiter.state == _GRANTED:
            return Acquired(True, waited)
        return Acquired(False, waited, waiter.retry_after)

    def _abandon(self, waiter: _Waiter) -> None:
        """The caller left (cancelled, interrupted): leave the queue or give back its slot."""
        with self._lock:
            if waiter.state == _WAITING:
                with contextlib.suppress(ValueError):
                    self._queue.remove(waiter)
            elif waiter.state == _GRANTED:
                waiter.state = _EXPIRED
                self._in_flight = max(0, self._in_flight - 1)
            if self._queue:
                # It may have been the one keeping the time for the rate limit.
                self._dispatch(self.clock.time())


class GovernorRegistry:
    """Finds the one :class:`StoreGovernor` of each ``(base_url, store key)``.

    Args:
        clock: Time source given to every governor this registry creates.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._governors: dict[tuple[str, str], StoreGovernor] = {}

    def get(
        self, base_url: str, store_key: str, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    ) -> StoreGovernor:
        """The governor of a store, created on first use.

        The first client of a store sets its in-flight cap; later clients share it.
        """
        key = (base_url.rstrip("/"), store_key)
        with self._lock:
            governor = self._governors.get(key)
            if governor is None:
                governor = StoreGovernor(
                    max_in_flight=max_in_flight, clock=self.clock, store=store_key
                )
                self._governors[key] = governor
            return governor


DEFAULT_GOVERNOR_REGISTRY = GovernorRegistry()
"""The process-wide registry (see the module docstring for why it is shared)."""
