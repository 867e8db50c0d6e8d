"""The per-store rate-limit governor, shared by every client of a store in the process.

Salla meters a *store*, not a client object: ten workers each holding their own client for the
same store share one bucket. So the governor is looked up in a :class:`GovernorRegistry` keyed by
``(base_url, store key)``. The default registry, :data:`DEFAULT_GOVERNOR_REGISTRY`, is the one
piece of process-wide mutable state in sallakit, on purpose: two clients that each build their
own registry would each believe they own the bucket and together empty it. Tests and
multi-tenant hosts that want isolation pass their own registry (``governor=``).

A governor is used by async tasks on any number of event loops and by threads alike, so its state
is guarded by a ``threading.Lock`` held only for arithmetic (never while waiting), and the
in-flight cap is a counter rather than a loop-bound semaphore. Callers that cannot enter are told
how long to wait and poll; :mod:`sallakit.api._core._ratelimit` does the arithmetic. A caller
waiting for an in-flight slot (``Admission.busy``) polls with exponential backoff, from
:data:`IN_FLIGHT_POLL_SECONDS` up to :data:`MAX_IN_FLIGHT_POLL_SECONDS`: a notified wait would
have to wake tasks of several event loops and threads at once, which a plain lock cannot do, and
the backoff keeps hundreds of queued callers from spinning (they wake at most 20 times a second
each instead of 200).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from sallakit._exceptions import ConfigurationError
from sallakit.api._clock import Clock, SystemClock
from sallakit.api._core._ratelimit import RateLimitState, is_customers_path

__all__ = [
    "DEFAULT_GOVERNOR_REGISTRY",
    "DEFAULT_MAX_IN_FLIGHT",
    "IN_FLIGHT_POLL_SECONDS",
    "MAX_IN_FLIGHT_POLL_SECONDS",
    "Admission",
    "GovernorRegistry",
    "StoreGovernor",
    "store_key_for_token",
]

DEFAULT_MAX_IN_FLIGHT = 4
# How long a caller first waits before asking again when all in-flight slots are taken; each
# further refusal doubles it, up to the maximum. Short enough to keep the slots busy, long enough
# not to burn CPU when many callers queue.
IN_FLIGHT_POLL_SECONDS = 0.005
MAX_IN_FLIGHT_POLL_SECONDS = 0.05


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

    @property
    def in_flight(self) -> int:
        """Requests to this store in flight right now, process-wide."""
        return self._in_flight

    @property
    def remaining(self) -> int | None:
        """Estimated requests left in the store's bucket (None until Salla said)."""
        return self._state.general.remaining

    def try_acquire(self, path: str) -> Admission:
        """Take an in-flight slot and a unit of budget, or say how long to wait."""
        customers = is_customers_path(path)
        with self._lock:
            now = self.clock.time()
            delay = self._state.delay(now, customers=customers)
            if delay > 0:
                return Admission(False, delay)
            if self._in_flight >= self.max_in_flight:
                return Admission(False, IN_FLIGHT_POLL_SECONDS, busy=True)
            self._in_flight += 1
            self._state.on_send(now, customers=customers)
            return Admission(True)

    def release(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Give the slot back and learn from the response (None when none arrived)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None:
                self._state.on_response(
                    headers,
                    self.clock.time(),
                    customers=is_customers_path(path),
                    status=status,
                    retry_after=retry_after,
                    others_in_flight=self._in_flight,
                )


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
