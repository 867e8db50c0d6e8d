"""The refresh decision (pure: no I/O, no clock, no locks).

The coordinator (``_coordinator.py``) reads a :class:`Snapshot` inside a short locked
transaction, asks :func:`decide` what to do, and acts. Keeping the decision here means every
branch of the protocol is tested without a database, a server or a thread.

The protocol, per store, across threads, tasks and processes (the lease lives ON THE STORE ROW):

1. In a locked transaction (``BEGIN IMMEDIATE`` / ``SELECT ... FOR UPDATE`` at READ COMMITTED)
   re-read the row, including its lease columns and the database's clock.
2. If the stored access token is fresh, or differs from the one the API just rejected, use it.
3. If another worker holds the lease and may still be running, wait.
4. If the lease holder is gone, the refresh token may have been consumed: stop and report.
5. Otherwise take the lease with a compare-and-set ``UPDATE ... WHERE lease_id IS NULL``, write
   a journal row (history) and commit *before* calling Salla.
6. Call Salla once, within an overall deadline; store both new tokens, bump the generation and
   clear the lease in one transaction. ``invalid_grant`` marks the store
   ``reinstall_required`` (unless newer tokens arrived meanwhile); nothing retries a used
   refresh token.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_COMMIT_BUDGET",
    "DEFAULT_LEASE_TIMEOUT",
    "INTERRUPTED_MESSAGE",
    "REFRESH_POLICIES",
    "Action",
    "Lease",
    "RefreshPolicy",
    "Snapshot",
    "StoreStatus",
    "boot_clock",
    "decide",
    "lease_is_dead",
    "send_window",
]

#: Who refreshes a store's tokens. ``pull``: sallakit, ahead of expiry (the margin).
#: ``hybrid``: Salla's pushed ``app.store.authorize`` is awaited during the margin; sallakit
#: refreshes only a token that has expired or that the API rejected. ``push-only``: sallakit
#: never sends a refresh token on its own (an operator's ``stores refresh`` still does); an
#: expired token waits for Salla's push.
RefreshPolicy = Literal["pull", "push-only", "hybrid"]
REFRESH_POLICIES: tuple[str, ...] = ("pull", "push-only", "hybrid")


def boot_clock() -> float:
    """Seconds on a clock that keeps counting while the process is stopped (SIGSTOP) or the
    machine is suspended (``CLOCK_BOOTTIME`` on Linux; monotonic elsewhere).

    The send window of a refresh is measured on it: a holder frozen past the window finds the
    window closed when it resumes, whatever the wall clock did meanwhile.
    """
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        return time.clock_gettime(boottime)
    return time.monotonic()


def send_window(lease_timeout: float) -> float:
    """Seconds after taking a lease within which its holder may still send the refresh token.

    Half the lease timeout: the lease can be declared abandoned (and the operator's retry send
    the token) only after the full timeout, measured on the database's clock from a moment
    *after* the holder started its own clock, so a holder that has not started sending by then
    never sends at all.
    """
    return lease_timeout / 2


#: After this many seconds (database clock) an open lease is considered abandoned even when its
#: owner cannot be checked (another host). It must exceed the OAuth call's overall deadline plus
#: the commit retry budget by a wide margin.
DEFAULT_LEASE_TIMEOUT = 300.0

#: Seconds the coordinator keeps retrying the commit of tokens Salla already issued.
DEFAULT_COMMIT_BUDGET = 30.0

INTERRUPTED_MESSAGE = (
    "A token refresh for store {store_id} started at {started_at} (pid {pid} on {host}) never "
    "committed: {why}, so the refresh token may have been consumed. What to do: try once with "
    "`sallakit stores refresh {store_id}`. If that succeeds the store is active again; if Salla "
    "answers invalid_grant the grant is gone and the merchant must reinstall the app."
)


class StoreStatus(enum.StrEnum):
    """Lifecycle of a store in the vault."""

    ACTIVE = "active"
    PENDING = "pending"  # app.installed seen, tokens not delivered yet
    REFRESH_INTERRUPTED = "refresh_interrupted"
    REINSTALL_REQUIRED = "reinstall_required"
    UNINSTALLED = "uninstalled"
    #: Shown for a damaged row (an unknown status, an impossible expiry); never stored.
    UNREADABLE = "unreadable"


class Action(enum.Enum):
    """What the coordinator does next."""

    USE_STORED = "use_stored"
    REFRESH = "refresh"
    WAIT = "wait"
    INTERRUPTED = "interrupted"
    UNAVAILABLE = "unavailable"  # status forbids any token: raise per status
    TOO_SOON = "too_soon"  # operator retry refused: the abandoned lease may still be alive


@dataclass(frozen=True, slots=True)
class Lease:
    """The refresh lease found on a store row.

    ``age`` is measured by the database's clock (``now - started_at`` computed in SQL), so
    hosts with skewed clocks agree on it.
    """

    lease_id: str
    owner: str
    journal_id: int
    started_at: float
    age: float
    pid: int
    host: str
    node: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the coordinator read inside its locked transaction."""

    status: StoreStatus
    access_token: str | None = field(repr=False)
    has_refresh_token: bool
    expires_at: float | None
    generation: int
    lease: Lease | None


def lease_is_dead(
    lease: Lease,
    *,
    owner_alive: bool | None,
    lease_timeout: float = DEFAULT_LEASE_TIMEOUT,
) -> bool:
    """Whether the worker that opened ``lease`` can no longer finish it.

    Args:
        lease: the open lease.
        owner_alive: whether the owner still runs, when that can be known for certain (this
            process, or a process of the same PID namespace on the same boot); ``None`` when
            it cannot be checked.
        lease_timeout: age (database clock) after which any lease is abandoned.
    """
    if lease.age > lease_timeout:
        return True
    return owner_alive is False


def decide(
    snap: Snapshot,
    *,
    now: float,
    margin: float,
    rejected_token: str | None = None,
    force: bool = False,
    lease_dead: bool = False,
    lease_expired: bool = False,
    policy: RefreshPolicy = "pull",
) -> Action:
    """Decide what to do with a store's tokens.

    Args:
        snap: the row as read inside the lock.
        now: current time, epoch seconds.
        margin: refresh this many seconds before expiry.
        rejected_token: the access token the API just answered 401 for, if any.
        force: refresh even if the token looks fresh (operator retry after an interruption).
        lease_dead: the open lease's owner is gone (see :func:`lease_is_dead`).
        lease_expired: the open lease can no longer be in use: older than the lease timeout
            (database clock), or its owner is provably gone (this process, or a process of the
            same PID namespace and boot).
        policy: the refresh policy (see :data:`RefreshPolicy`); ``force`` overrides it.
    """
    if policy != "pull" and not force:
        # hybrid: no refresh ahead of expiry; push-only: no refresh at all (UNAVAILABLE below
        # once the token expired, the push is awaited).
        margin = 0.0
    expires_at = snap.expires_at
    if expires_at is not None and not math.isfinite(expires_at):
        expires_at = None  # a damaged row: treat as unknown (refresh), never as "fresh forever"
    if snap.status is StoreStatus.REFRESH_INTERRUPTED and force:
        # The operator's single retry. An abandoned lease younger than the timeout might still
        # belong to a live (paused, partitioned) worker: sending the token now could be the
        # second use, so wait until it expires.
        if snap.lease is not None and not lease_expired:
            return Action.TOO_SOON
    elif snap.status is not StoreStatus.ACTIVE:
        return Action.UNAVAILABLE
    elif snap.lease is not None:
        return Action.INTERRUPTED if lease_dead else Action.WAIT
    if snap.access_token is None:
        return Action.UNAVAILABLE
    if not force:
        if rejected_token is not None and snap.access_token != rejected_token:
            # Someone refreshed (or an install delivered new tokens) since this token was read.
            return Action.USE_STORED
        fresh = expires_at is not None and expires_at - now > margin
        if rejected_token is None and fresh:
            return Action.USE_STORED
    if not snap.has_refresh_token:
        # Without offline_access there is nothing to refresh with; a token that has not expired
        # yet is still worth using.
        still_valid = expires_at is not None and expires_at > now
        if rejected_token is None and still_valid and not force:
            return Action.USE_STORED
        return Action.UNAVAILABLE
    if policy == "push-only" and not force:
        return Action.UNAVAILABLE
    return Action.REFRESH
