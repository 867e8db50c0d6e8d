"""The token store seam: what the vault needs from a database, and nothing more.

:class:`TokenStore` is a narrow repository of five kinds of records (stores with their sealed
tokens and refresh lease, per-store history, the refresh journal, consumed OAuth state nonces,
digests of applied app events), used inside short transactions. Two implementations ship:
:class:`~sallakit.auth.SqlTokenStore` (SQLite or PostgreSQL through SQLAlchemy) and
:class:`~sallakit.testing.MemoryTokenStore` (in-process, for tests). The protocol's logic lives
once, in the vault, the lease book and the install book, which only see the plain records below:
no SQLAlchemy type crosses this seam, and every database error becomes a
:class:`~sallakit.TokenVaultError` inside the store.

Transactions:

- ``write()``: serialised with every other writer of the same store row (SQLite: ``BEGIN
  IMMEDIATE``; PostgreSQL: row locks taken by ``get(..., lock=True)`` at READ COMMITTED; memory:
  one lock). Commits on success, rolls back on any exception.
- ``read()``: never takes a write lock; sees committed data.

Tokens are stored sealed (ciphertext); the store never sees a clear token.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "LEASE_CLEARED",
    "MAX_STORE_ID",
    "RETIRED_KEEP",
    "STORE_FIELDS",
    "HistoryRecord",
    "JournalRecord",
    "LeaseFields",
    "StoreRow",
    "TokenStore",
    "TokenStoreTransaction",
    "check_store_id",
    "retire_refresh",
    "token_hash",
]

#: Store ids are stored as signed 64-bit integers (``BIGINT``); Salla's ids are far below.
MAX_STORE_ID = 2**63 - 1


def check_store_id(store_id: object) -> int:
    """``store_id`` as an int that fits the database, or a one-line error.

    Raises:
        StoreNotFoundError: not a positive integer below 2**63 (no such store can exist).
    """
    from sallakit._exceptions import StoreNotFoundError

    if isinstance(store_id, bool) or not isinstance(store_id, int):
        try:
            store_id = int(str(store_id))
        except ValueError:
            raise StoreNotFoundError(f"{store_id!r} is not a store id") from None
    if not 0 < store_id <= MAX_STORE_ID:
        raise StoreNotFoundError(
            f"store id {store_id} is out of range (1 to {MAX_STORE_ID}): no such store"
        )
    return store_id


@dataclass(frozen=True, slots=True)
class LeaseFields:
    """The refresh lease written on a store row by the one worker allowed to refresh it."""

    lease_id: str
    owner: str
    pid: int
    host: str
    node: str
    journal_id: int


@dataclass(frozen=True, slots=True)
class StoreRow:
    """One store as stored: tokens are ciphertext, times are epoch seconds.

    Values are as read; a damaged row (an unknown status, a non-finite expiry) still reads, so
    that one bad row never hides the others. ``db_now`` is the database's clock at the read,
    which lease ages are measured with.
    """

    store_id: int
    status: str
    status_detail: str | None = None
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    scopes: str = ""
    merchant: dict[str, Any] | None = None
    user_info: dict[str, Any] | None = None
    app: dict[str, Any] | None = None
    generation: int = 0
    connected_via: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    refreshed_at: float | None = None
    uninstalled_at: float | None = None
    lease_id: str | None = None
    lease_owner: str | None = None
    lease_pid: int | None = None
    lease_host: str | None = None
    lease_node: str | None = None
    lease_started_at: float | None = None
    lease_journal_id: int | None = None
    authorize_created_at: float | None = None
    authorize_expires: float | None = None
    account: str | None = None
    pending_since: float | None = None
    tokens_at: float | None = None
    db_now: float = 0.0


#: The writable fields of :class:`StoreRow` (``update`` refuses any other name).
STORE_FIELDS = frozenset(StoreRow.__slots__) - {"store_id", "db_now"}

#: Values that clear a lease (``update(store_id, LEASE_CLEARED)``).
LEASE_CLEARED: Mapping[str, Any] = {
    "lease_id": None,
    "lease_owner": None,
    "lease_pid": None,
    "lease_host": None,
    "lease_node": None,
    "lease_started_at": None,
    "lease_journal_id": None,
}


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """What is remembered about a store beyond its row, kept when the row is purged.

    ``uninstall_event_at``: the newest ``app.uninstalled`` event's time (an older authorize
    delivered late must not revive the store); ``generation``: the high-water mark, so a
    generation number is never reused; ``retired_refresh``: hashes of refresh tokens sent to
    Salla or replaced, which must never be stored again.
    """

    store_id: int
    uninstall_event_at: float | None = None
    generation: int = 0
    retired_refresh: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One refresh in the journal (its history; the lease itself is on the store row)."""

    id: int
    store_id: int
    generation: int
    state: str
    started_at: float
    finished_at: float | None
    pid: int
    host: str
    worker: str
    detail: str | None


class TokenStoreTransaction(Protocol):
    """Operations inside one transaction of a :class:`TokenStore`."""

    def now(self) -> float:
        """The database's clock, epoch seconds (lease ages use it, never a host's clock)."""
        ...

    def get(self, store_id: int, *, lock: bool = False) -> StoreRow | None:
        """The store's row (locked against other writers with ``lock``), or None."""
        ...

    def all(self) -> list[StoreRow]:
        """Every store row, by id."""
        ...

    def leased(self, *, lock: bool = False) -> list[StoreRow]:
        """The rows that hold a refresh lease, by id."""
        ...

    def insert_pending(self, store_id: int, *, generation: int, now: float) -> bool:
        """Create a ``pending`` row unless one exists; True when this call created it."""
        ...

    def update(
        self,
        store_id: int,
        values: Mapping[str, Any],
        *,
        bump_generation: bool = False,
    ) -> int:
        """Set ``values`` (fields of :class:`StoreRow`); returns the number of rows changed."""
        ...

    def take_lease(
        self, store_id: int, *, generation: int, replacing: str | None, lease: LeaseFields
    ) -> bool:
        """Compare-and-set the lease: only if the row is still at ``generation`` and holds no
        lease (or the lease ``replacing``). ``lease_started_at`` is the database's clock."""
        ...

    def set_status_if_leased(
        self, store_id: int, lease_id: str, *, status: str, detail: str, now: float
    ) -> None:
        """Set an ``active`` store's status, only while ``lease_id`` is still its lease."""
        ...

    def delete(self, store_id: int) -> None:
        """Delete the store's row (its history and app-event digests stay)."""
        ...

    def history(self, store_id: int) -> HistoryRecord:
        """The store's history, created empty if absent, locked against other writers."""
        ...

    def save_history(self, record: HistoryRecord) -> None:
        """Store ``record`` (created by :meth:`history` in this transaction)."""
        ...

    def open_journal(
        self, *, store_id: int, generation: int, started_at: float, pid: int, host: str, worker: str
    ) -> int:
        """Add a ``started`` journal entry; returns its id."""
        ...

    def close_journal(
        self,
        journal_id: int,
        *,
        state: str,
        finished_at: float,
        detail: str | None = None,
        only_started: bool = False,
    ) -> None:
        """Close a journal entry (with ``only_started``, only if it is still ``started``)."""
        ...

    def supersede_journal(self, store_id: int, *, finished_at: float) -> None:
        """Close every ``started`` entry of the store as ``superseded``."""
        ...

    def delete_journal(self, store_id: int) -> None:
        """Forget the store's journal (a purge)."""
        ...

    def journal(self, store_id: int) -> list[JournalRecord]:
        """The store's journal, oldest first."""
        ...

    def open_journal_count(self) -> int:
        """How many journal entries are still ``started``."""
        ...

    def event_seen(self, digest: str) -> bool:
        """Whether an app event with this digest was applied."""
        ...

    def record_event(self, digest: str, *, store_id: int, event: str, received_at: float) -> None:
        """Remember an applied app event."""
        ...

    def consume_nonce(self, nonce: str, *, used_at: float, expires_at: float) -> bool:
        """Record an OAuth state (or claim) nonce as used; False if it was used before.

        Nonces expired for a day are forgotten on the way (an expired state fails its own
        check anyway)."""
        ...


@runtime_checkable
class TokenStore(Protocol):
    """Where a :class:`~sallakit.auth.TokenVault` keeps its records (see the module docstring)."""

    def write(
        self, lock_timeout: float | None = None
    ) -> AbstractContextManager[TokenStoreTransaction]:
        """A write transaction; ``lock_timeout`` bounds the wait for another writer (seconds).

        Raises:
            TokenVaultError: the database refused (locked past the timeout, read-only...).
        """
        ...

    def read(self) -> AbstractContextManager[TokenStoreTransaction]:
        """A read-only transaction: never takes a write lock."""
        ...

    def ensure_schema(self) -> None:
        """Create the tables if they do not exist (idempotent, safe from several processes)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


#: How many hashes of retired refresh tokens are kept per store.
RETIRED_KEEP = 64


def token_hash(store_id: int, token: str) -> str:
    """The digest a retired refresh token is remembered by (never the token itself)."""
    return hashlib.sha256(f"{store_id}:{token}".encode()).hexdigest()[:32]


def retire_refresh(tx: TokenStoreTransaction, store_id: int, refresh_token: str | None) -> None:
    """Remember a refresh token that was sent to Salla or replaced: never store it again."""
    if not refresh_token:
        return
    history = tx.history(store_id)
    digest = token_hash(store_id, refresh_token)
    if digest in history.retired_refresh:
        return
    kept = (*history.retired_refresh, digest)[-RETIRED_KEEP:]
    tx.save_history(dataclasses.replace(history, retired_refresh=kept))
