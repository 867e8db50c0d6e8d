"""The in-memory twin of the token store: same contract, no database (for tests)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sallakit._exceptions import ConfigurationError, TokenVaultError
from sallakit.auth._store import (
    STORE_FIELDS,
    HistoryRecord,
    JournalRecord,
    LeaseFields,
    StoreRow,
    TokenStoreTransaction,
)

__all__ = ["MemoryTokenStore"]

#: How long a writer waits for another by default (the SQL store's busy timeout).
_DEFAULT_LOCK_WAIT = 60.0


@dataclass
class _State:
    stores: dict[int, StoreRow] = field(default_factory=dict)
    history: dict[int, HistoryRecord] = field(default_factory=dict)
    journal: dict[int, JournalRecord] = field(default_factory=dict)
    events: dict[str, tuple[int, str, float]] = field(default_factory=dict)
    nonces: dict[str, tuple[float, float]] = field(default_factory=dict)
    next_journal: int = 1

    def copy(self) -> _State:
        return _State(
            dict(self.stores),
            dict(self.history),
            dict(self.journal),
            dict(self.events),
            dict(self.nonces),
            self.next_journal,
        )


class _Transaction:
    """Works on a private copy of the state; the store swaps it in on commit."""

    def __init__(self, state: _State, now: float, *, writable: bool) -> None:
        self.state = state
        self._now = now
        self._writable = writable

    def _check_writable(self) -> None:
        if not self._writable:
            raise TokenVaultError("a read transaction cannot write")

    def _stamped(self, row: StoreRow) -> StoreRow:
        return dataclasses.replace(row, db_now=self._now)

    def now(self) -> float:
        return self._now

    def get(self, store_id: int, *, lock: bool = False) -> StoreRow | None:
        row = self.state.stores.get(store_id)
        return None if row is None else self._stamped(row)

    def all(self) -> list[StoreRow]:
        return [self._stamped(self.state.stores[k]) for k in sorted(self.state.stores)]

    def leased(self, *, lock: bool = False) -> list[StoreRow]:
        return [r for r in self.all() if r.lease_id is not None]

    def insert_pending(self, store_id: int, *, generation: int, now: float) -> bool:
        self._check_writable()
        if store_id in self.state.stores:
            return False
        self.state.stores[store_id] = StoreRow(
            store_id=store_id,
            status="pending",
            generation=generation,
            created_at=now,
            updated_at=now,
        )
        return True

    def update(
        self, store_id: int, values: Mapping[str, Any], *, bump_generation: bool = False
    ) -> int:
        self._check_writable()
        unknown = set(values) - STORE_FIELDS
        if unknown:
            raise ConfigurationError(f"unknown store fields {sorted(unknown)}")
        row = self.state.stores.get(store_id)
        if row is None:
            return 0
        changes = dict(values)
        if bump_generation:
            changes["generation"] = row.generation + 1
        self.state.stores[store_id] = dataclasses.replace(row, **changes)
        return 1

    def take_lease(
        self, store_id: int, *, generation: int, replacing: str | None, lease: LeaseFields
    ) -> bool:
        self._check_writable()
        row = self.state.stores.get(store_id)
        if row is None or row.generation != generation:
            return False
        if row.lease_id is not None and row.lease_id != replacing:
            return False
        self.state.stores[store_id] = dataclasses.replace(
            row,
            lease_id=lease.lease_id,
            lease_owner=lease.owner,
            lease_pid=lease.pid,
            lease_host=lease.host,
            lease_node=lease.node,
            lease_started_at=self._now,
            lease_journal_id=lease.journal_id,
        )
        return True

    def set_status_if_leased(
        self, store_id: int, lease_id: str, *, status: str, detail: str, now: float
    ) -> None:
        row = self.state.stores.get(store_id)
        if row is not None and row.lease_id == lease_id and row.status == "active":
            self.update(store_id, {"status": status, "status_detail": detail, "updated_at": now})

    def delete(self, store_id: int) -> None:
        self._check_writable()
        self.state.stores.pop(store_id, None)

    def history(self, store_id: int) -> HistoryRecord:
        found = self.state.history.get(store_id)
        if found is None:
            self._check_writable()
            found = self.state.history[store_id] = HistoryRecord(store_id=store_id)
        return found

    def save_history(self, record: HistoryRecord) -> None:
        self._check_writable()
        self.state.history[record.store_id] = record

    def open_journal(
        self, *, store_id: int, generation: int, started_at: float, pid: int, host: str, worker: str
    ) -> int:
        self._check_writable()
        journal_id = self.state.next_journal
        self.state.next_journal += 1
        self.state.journal[journal_id] = JournalRecord(
            journal_id, store_id, generation, "started", started_at, None, pid, host, worker, None
        )
        return journal_id

    def close_journal(
        self,
        journal_id: int,
        *,
        state: str,
        finished_at: float,
        detail: str | None = None,
        only_started: bool = False,
    ) -> None:
        self._check_writable()
        entry = self.state.journal.get(journal_id)
        if entry is None or (only_started and entry.state != "started"):
            return
        self.state.journal[journal_id] = dataclasses.replace(
            entry, state=state, finished_at=finished_at, detail=detail[:1000] if detail else None
        )

    def supersede_journal(self, store_id: int, *, finished_at: float) -> None:
        for entry in list(self.state.journal.values()):
            if entry.store_id == store_id and entry.state == "started":
                self.close_journal(entry.id, state="superseded", finished_at=finished_at)

    def delete_journal(self, store_id: int) -> None:
        self._check_writable()
        for key in [k for k, e in self.state.journal.items() if e.store_id == store_id]:
            del self.state.journal[key]

    def journal(self, store_id: int) -> list[JournalRecord]:
        return [e for _, e in sorted(self.state.journal.items()) if e.store_id == store_id]

    def open_journal_count(self) -> int:
        return sum(1 for e in self.state.journal.values() if e.state == "started")

    def event_seen(self, digest: str) -> bool:
        return digest in self.state.events

    def record_event(self, digest: str, *, store_id: int, event: str, received_at: float) -> None:
        self._check_writable()
        self.state.events[digest] = (store_id, event, received_at)

    def consume_nonce(self, nonce: str, *, used_at: float, expires_at: float) -> bool:
        self._check_writable()
        for key in [k for k, (_, exp) in self.state.nonces.items() if exp < used_at - 86_400]:
            del self.state.nonces[key]
        if nonce in self.state.nonces:
            return False
        self.state.nonces[nonce] = (used_at, expires_at)
        return True


class MemoryTokenStore:
    """A :class:`~sallakit.auth.TokenStore` held in this process's memory.

    Writers are serialised by one lock (like SQLite's ``BEGIN IMMEDIATE``) and work on a copy
    that replaces the state only on commit, so a failed transaction leaves nothing behind.
    Readers see the last committed state. Nothing survives the process: use it in tests.

    Args:
        clock: the "database clock" (epoch seconds) that lease ages are measured with.
        lock_wait: seconds a writer waits for another before :class:`TokenVaultError`
            ("database is locked"), unless the transaction gives its own ``lock_timeout``.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.time, lock_wait: float = _DEFAULT_LOCK_WAIT
    ) -> None:
        self._clock = clock
        self._lock_wait = lock_wait
        self._lock = threading.Lock()
        self._state = _State()

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._state.stores)} stores)"

    @contextmanager
    def write(self, lock_timeout: float | None = None) -> Iterator[TokenStoreTransaction]:
        wait = self._lock_wait if lock_timeout is None else lock_timeout
        if not self._lock.acquire(timeout=max(0.0, wait)):
            raise TokenVaultError(
                "token vault database error (the database is locked by another writer)"
            )
        try:
            tx = _Transaction(self._state.copy(), self._clock(), writable=True)
            yield tx
            self._state = tx.state  # commit
        finally:
            self._lock.release()

    @contextmanager
    def read(self) -> Iterator[TokenStoreTransaction]:
        # The committed state is replaced, never changed in place: a reference is a snapshot.
        yield _Transaction(self._state.copy(), self._clock(), writable=False)

    def ensure_schema(self) -> None:
        """Nothing to create."""

    def close(self) -> None:
        """Nothing to release."""

    def damage(self, store_id: int, **values: Any) -> None:
        """Overwrite raw fields of a row, bypassing every check (tests of damaged rows)."""
        with self._lock:
            state = self._state.copy()
            state.stores[store_id] = dataclasses.replace(state.stores[store_id], **values)
            self._state = state
