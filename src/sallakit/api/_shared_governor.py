"""A store's rate-limit budget and in-flight cap shared by every process, not just one.

:class:`~sallakit.api.StoreGovernor` keeps a store's budget in the memory of one process. With
several worker processes each would believe it owns the bucket (together they empty it and earn
429s) and each would allow four requests in flight (together twelve). Here the shared part lives
behind a :class:`GovernorBackend`:

- a *bucket state* per store (the same :class:`~sallakit.api._core._ratelimit.RateLimitState`
  arithmetic a single process uses, stored as JSON and updated atomically), and
- *leases*, one per request in flight, each with an expiry: a process killed while holding
  slots cannot hold them longer than ``lease_seconds``.

:class:`MemoryGovernorBackend` is the in-memory twin (one process, for tests);
:class:`~sallakit.api.SQLGovernorBackend` stores both in the database (PostgreSQL in
production, SQLite for several processes of one machine). :class:`SharedStoreGovernor` is a
:class:`~sallakit.api.StoreGovernor` that first takes a local slot (so the process's own callers
stay first come, first served without touching the database) and then a lease from the backend.
Without a shared backend nothing here runs: the in-process governor is untouched.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import anyio

from sallakit._exceptions import ConfigurationError
from sallakit.api._clock import Clock
from sallakit.api._core._ratelimit import (
    CUSTOMERS_BUDGET,
    Bucket,
    RateLimitState,
    SlidingWindow,
    is_customers_path,
)
from sallakit.api._governor import (
    DEFAULT_MAX_IN_FLIGHT,
    Acquired,
    GovernorRegistry,
    StoreGovernor,
    WaitReporter,
)

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "GovernorBackend",
    "Lease",
    "MemoryGovernorBackend",
    "SharedGovernorRegistry",
    "SharedStoreGovernor",
    "decide",
    "dump_state",
    "learn",
    "load_state",
]

logger = logging.getLogger(__name__)

#: How long a request slot stays taken when its process never gives it back.
DEFAULT_LEASE_SECONDS = 120.0
#: How often a caller refused only by the cap (every slot taken by other processes) asks again.
BUSY_POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Lease:
    """The backend's answer to :meth:`GovernorBackend.admit`.

    ``lease`` is the id of the slot taken (None when refused); ``delay`` the rate-limit wait
    ahead; ``busy`` says the refusal is the in-flight cap (every slot leased).
    """

    lease: str | None
    delay: float = 0.0
    busy: bool = False

    @property
    def granted(self) -> bool:
        return self.lease is not None


# ------------------------------------------------------------------------- pure core


def dump_state(state: RateLimitState) -> dict[str, Any]:
    """A :class:`RateLimitState` as JSON-ready data."""
    return {
        "general": asdict(state.general),
        "customers": asdict(state.customers),
        "customers_sent": list(state.customers_window.sent),
    }


def load_state(data: Mapping[str, Any] | None) -> RateLimitState:
    """The inverse of :func:`dump_state` (a fresh state for None or an empty mapping)."""
    if not data:
        return RateLimitState()
    return RateLimitState(
        general=Bucket(**data.get("general", {})),
        customers=Bucket(**data.get("customers", {})),
        customers_window=SlidingWindow(
            CUSTOMERS_BUDGET[0], CUSTOMERS_BUDGET[1], deque(data.get("customers_sent", ()))
        ),
    )


def decide(
    state: RateLimitState, in_flight: int, *, max_in_flight: int, customers: bool, now: float
) -> Lease:
    """Whether one more request may go now, given every process's requests in flight; on
    yes the state counts the send (the caller stores it with the new lease)."""
    delay = state.delay(now, customers=customers)
    if delay > 0:
        return Lease(None, delay)
    if in_flight >= max_in_flight:
        return Lease(None, 0.0, busy=True)
    state.on_send(now, customers=customers)
    return Lease(uuid.uuid4().hex)


def learn(
    state: RateLimitState,
    headers: Mapping[str, str] | None,
    *,
    customers: bool,
    status: int | None,
    retry_after: float | None,
    others_in_flight: int,
    now: float,
) -> None:
    """Take a response's rate-limit headers into the shared state."""
    if headers is not None:
        state.on_response(
            {k.lower(): v for k, v in headers.items()},
            now,
            customers=customers,
            status=status,
            retry_after=retry_after,
            others_in_flight=others_in_flight,
        )


# ---------------------------------------------------------------------------- the seam


class GovernorBackend(Protocol):
    """Where the shared state of every store's governor lives."""

    def admit(
        self, key: str, *, max_in_flight: int, customers: bool, now: float, lease_seconds: float
    ) -> Lease:
        """Atomically: drop expired leases, then take a lease if :func:`decide` allows."""
        ...

    def release(
        self,
        key: str,
        lease: str,
        *,
        customers: bool,
        headers: Mapping[str, str] | None,
        status: int | None,
        retry_after: float | None,
        now: float,
    ) -> None:
        """Atomically: drop the lease and :func:`learn` from the response (None: none came)."""
        ...

    def in_flight(self, key: str, *, now: float) -> int:
        """Unexpired leases of a store right now."""
        ...


class MemoryGovernorBackend:
    """The in-memory twin of :class:`~sallakit.api.SQLGovernorBackend` (one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, RateLimitState] = {}
        self._leases: dict[str, dict[str, float]] = {}

    def _live(self, key: str, now: float) -> dict[str, float]:
        leases = self._leases.setdefault(key, {})
        for lease, expires in list(leases.items()):
            if expires <= now:
                del leases[lease]
        return leases

    def admit(
        self, key: str, *, max_in_flight: int, customers: bool, now: float, lease_seconds: float
    ) -> Lease:
        with self._lock:
            leases = self._live(key, now)
            state = self._states.setdefault(key, RateLimitState())
            answer = decide(
                state, len(leases), max_in_flight=max_in_flight, customers=customers, now=now
            )
            if answer.lease is not None:
                leases[answer.lease] = now + lease_seconds
            return answer

    def release(
        self,
        key: str,
        lease: str,
        *,
        customers: bool,
        headers: Mapping[str, str] | None,
        status: int | None,
        retry_after: float | None,
        now: float,
    ) -> None:
        with self._lock:
            leases = self._live(key, now)
            leases.pop(lease, None)
            state = self._states.setdefault(key, RateLimitState())
            learn(
                state,
                headers,
                customers=customers,
                status=status,
                retry_after=retry_after,
                others_in_flight=len(leases),
                now=now,
            )

    def in_flight(self, key: str, *, now: float) -> int:
        with self._lock:
            return len(self._live(key, now))


# ------------------------------------------------------------------------ the governor


class SharedStoreGovernor(StoreGovernor):
    """A :class:`StoreGovernor` whose budget and cap are shared through a backend.

    A call first queues for a local slot (the in-process governor: FIFO among this process's
    callers, and this process's own view of the budget), then for a lease from the backend.
    Leases are fungible: a response gives back any one of this governor's leases.

    Args:
        backend: Where the shared state lives.
        key: The store's key in the backend.
        lease_seconds: A lease not given back by then is dropped (its process died).
        releaser: Runs lease releases off the caller's thread (the event loop must not wait
            for the database on every response).
    """

    def __init__(
        self,
        backend: GovernorBackend,
        key: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        releaser: ThreadPoolExecutor | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        clock: Clock | None = None,
        store: str = "",
    ) -> None:
        super().__init__(max_in_flight=max_in_flight, clock=clock, store=store)
        if lease_seconds <= 0:
            raise ConfigurationError("lease_seconds must be positive")
        self.backend = backend
        self.key = key
        self.lease_seconds = lease_seconds
        self._releaser = releaser
        self._held: deque[str] = deque()
        self._held_lock = threading.Lock()

    def _admit_shared(self, customers: bool) -> Lease:
        return self.backend.admit(
            self.key,
            max_in_flight=self.max_in_flight,
            customers=customers,
            now=self.clock.time(),
            lease_seconds=self.lease_seconds,
        )

    def _hold(self, lease: str) -> None:
        with self._held_lock:
            self._held.append(lease)

    def _refusal(self, answer: Lease, started: float, deadline: float | None) -> Acquired | None:
        """A refusal to return when waiting for ``answer`` would pass the deadline."""
        wait = BUSY_POLL_SECONDS if answer.busy else answer.delay
        if deadline is not None and self.clock.time() + wait > deadline:
            return Acquired(False, self.clock.time() - started, 0.0 if answer.busy else wait)
        return None

    async def aacquire(
        self,
        path: str,
        *,
        deadline: float | None = None,
        on_wait: WaitReporter | None = None,
    ) -> Acquired:
        """A local slot, then a shared lease (see :meth:`StoreGovernor.aacquire`)."""
        started = self.clock.time()
        local = await super().aacquire(path, deadline=deadline, on_wait=on_wait)
        if not local.granted:
            return local
        customers = is_customers_path(path)
        granted = False
        try:
            while True:
                answer = await anyio.to_thread.run_sync(self._admit_shared, customers)
                if answer.lease is not None:
                    self._hold(answer.lease)
                    granted = True
                    return Acquired(True, self.clock.time() - started)
                refused = self._refusal(answer, started, deadline)
                if refused is not None:
                    return refused
                if not answer.busy and on_wait is not None:
                    on_wait("rate_limit", answer.delay)
                await self.clock.asleep(BUSY_POLL_SECONDS if answer.busy else answer.delay)
        finally:
            if not granted:
                super().release(path, None)

    def acquire(
        self,
        path: str,
        *,
        deadline: float | None = None,
        on_wait: WaitReporter | None = None,
    ) -> Acquired:
        """The blocking twin of :meth:`aacquire`."""
        started = self.clock.time()
        local = super().acquire(path, deadline=deadline, on_wait=on_wait)
        if not local.granted:
            return local
        customers = is_customers_path(path)
        granted = False
        try:
            while True:
                answer = self._admit_shared(customers)
                if answer.lease is not None:
                    self._hold(answer.lease)
                    granted = True
                    return Acquired(True, self.clock.time() - started)
                refused = self._refusal(answer, started, deadline)
                if refused is not None:
                    return refused
                if not answer.busy and on_wait is not None:
                    on_wait("rate_limit", answer.delay)
                self.clock.sleep(BUSY_POLL_SECONDS if answer.busy else answer.delay)
        finally:
            if not granted:
                super().release(path, None)

    def release(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Give the lease back with what the response said, then the local slot."""
        with self._held_lock:
            lease = self._held.popleft() if self._held else None
        if lease is not None:
            call = _Release(
                self.backend,
                self.key,
                lease,
                customers=is_customers_path(path),
                headers=None if headers is None else dict(headers.items()),
                status=status,
                retry_after=retry_after,
                now=self.clock.time(),
            )
            if self._releaser is None:
                call()
            else:
                self._releaser.submit(call)
        super().release(path, headers, status=status, retry_after=retry_after)


@dataclass(frozen=True, slots=True)
class _Release:
    """One lease to give back (runs on the releaser's thread)."""

    backend: GovernorBackend
    key: str
    lease: str
    customers: bool
    headers: dict[str, str] | None
    status: int | None
    retry_after: float | None
    now: float

    def __call__(self) -> None:
        try:
            self.backend.release(
                self.key,
                self.lease,
                customers=self.customers,
                headers=self.headers,
                status=self.status,
                retry_after=self.retry_after,
                now=self.now,
            )
        except Exception as exc:  # the lease expires by itself; the request already succeeded
            logger.warning(
                "could not give back a rate-limit lease (%s); it expires by itself",
                type(exc).__name__,
                extra={"action": "governor_release_failed", "store": self.key},
            )


def _backend_key(base_url: str, store_key: str) -> str:
    # The same store behind two API hosts (real Salla, an emulator) has two buckets.
    host = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]
    return f"{store_key}@{host}"


class SharedGovernorRegistry(GovernorRegistry):
    """A :class:`GovernorRegistry` whose governors share their state through ``backend``.

    Pass it as ``governor=`` to the clients (the service does when
    ``SALLAKIT_GOVERNOR=database``).

    Args:
        backend: Where every store's shared state lives.
        lease_seconds: How long a dead process's slot stays taken.
        clock: Time source of the governors (lease expiry and the budget use it: keep the
            hosts' clocks in sync, as NTP does).
    """

    def __init__(
        self,
        backend: GovernorBackend,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.backend = backend
        self.lease_seconds = lease_seconds
        self._releaser = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sallakit-lease")
        self._shared: dict[tuple[str, str], SharedStoreGovernor] = {}
        self._shared_lock = threading.Lock()

    def get(
        self, base_url: str, store_key: str, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    ) -> StoreGovernor:
        key = (base_url.rstrip("/"), store_key)
        with self._shared_lock:
            governor = self._shared.get(key)
            if governor is None:
                governor = SharedStoreGovernor(
                    self.backend,
                    _backend_key(base_url, store_key),
                    lease_seconds=self.lease_seconds,
                    releaser=self._releaser,
                    max_in_flight=max_in_flight,
                    clock=self.clock,
                    store=store_key,
                )
                self._shared[key] = governor
            return governor

    def close(self) -> None:
        """Wait for the lease releases still queued."""
        self._releaser.shutdown(wait=True)
