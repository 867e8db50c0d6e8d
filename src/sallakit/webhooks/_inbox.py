"""The inbox: every verified delivery, stored before Salla gets its 200, and the worker's queue.

:class:`Inbox` is the seam; :class:`SQLInbox` keeps it in the sallakit database (SQLite by
default, PostgreSQL; tables by the Alembic branch ``webhooks``) and :class:`MemoryInbox` is its
in-memory twin for tests. Both behave the same: a delivery is unique by store + event + SHA-256
of the raw body (a second copy is counted, never stored twice), the worker *claims* due
deliveries under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), every handler's success is recorded per delivery, and a finished attempt is written
only by the worker still holding the lease.

Bodies of token-carrying app events (``app.store.authorize``) are sealed with a
:class:`BodyCipher` before they are written and opened when read: OAuth tokens never sit in
clear in the inbox. Without a cipher such events are refused (:meth:`Inbox.accepts`).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import sqlalchemy as sa

from sallakit._exceptions import ConfigurationError, WebhookError
from sallakit.webhooks._core import TOKEN_EVENTS, dedupe_key, matches

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "STATUSES",
    "Accepted",
    "BodyCipher",
    "DeliveryFilter",
    "DeliveryStatus",
    "HandlerRun",
    "Inbox",
    "MemoryInbox",
    "NewDelivery",
    "Outcome",
    "SQLInbox",
    "StoredDelivery",
]

DeliveryStatus = Literal["pending", "processing", "done", "failed", "dead"]
STATUSES: tuple[DeliveryStatus, ...] = ("pending", "processing", "done", "failed", "dead")

_PAUSED = "paused"


class BodyCipher(Protocol):
    """Seals the stored bodies of token-carrying events (``app.store.authorize``)."""

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt (authenticated) a raw body."""
        ...

    def open(self, sealed: bytes) -> bytes:
        """Decrypt what :meth:`seal` produced; raise on tampering or an unknown key."""
        ...


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A verified delivery about to be stored (``body`` is the raw body, in clear)."""

    store_id: int
    event: str
    digest: str
    received_at: float
    headers: dict[str, str]
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The inbox's answer to one delivery: its row id, and whether it was already there."""

    id: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended: ``done``, ``failed`` (due again at ``next_attempt_at``) or
    ``dead``; ``error`` says why it did not succeed.

    ``handlers_succeeded`` names the handlers that succeeded without opening their own
    transaction (:attr:`HandlerRun.opened`): their success records are written with the outcome,
    so a batch of such deliveries costs one write transaction instead of one per handler run.
    """

    delivery_id: int
    status: DeliveryStatus
    next_attempt_at: float
    error: str | None = None
    handlers_succeeded: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    """A delivery as the inbox holds it (``body`` opened, in clear, when it was loaded)."""

    id: int
    store_id: int
    event: str
    digest: str
    received_at: float
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float
    last_error: str | None
    updated_at: float
    duplicates: int
    headers: dict[str, str]
    sealed: bool
    body: bytes | None = field(default=None, repr=False)
    handlers_done: frozenset[str] = frozenset()
    lease_owner: str | None = None
    lease_until: float | None = None

    @property
    def dedupe_key(self) -> str:
        """Store, event and body digest: also the idempotency key for outside effects."""
        return dedupe_key(self.store_id, self.event, self.digest)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view without the body."""
        return {
            "id": self.id,
            "store_id": self.store_id,
            "event": self.event,
            "digest": self.digest,
            "received_at": self.received_at,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "updated_at": self.updated_at,
            "duplicates": self.duplicates,
            "sealed": self.sealed,
            "handlers_done": sorted(self.handlers_done),
        }


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries to list or replay; ``None`` fields match everything.

    ``event`` is an event name or a handler-style pattern (``order.*``); ``since`` is an epoch.
    """

    status: DeliveryStatus | None = None
    event: str | None = None
    store_id: int | None = None
    since: float | None = None
    limit: int | None = 100

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ConfigurationError(f"unknown delivery status {self.status!r}")


class HandlerRun(Protocol):
    """One handler's run on one delivery, with its own database transaction.

    ``connection`` begins a write transaction on first use; :meth:`succeed` records the handler's
    success *in that transaction* and commits, so a handler writing through it has its effects
    and its success record committed together (exactly once). :meth:`fail` rolls back.
    """

    @property
    def connection(self) -> Connection:
        """The transaction's connection (begun on first use)."""
        ...

    @property
    def opened(self) -> bool:
        """Whether the handler began the transaction (used :attr:`connection`). A run that did
        not has nothing to commit: its success is recorded with the delivery's outcome
        (:attr:`Outcome.handlers_succeeded`) instead of by :meth:`succeed`."""
        ...

    def succeed(self, now: float) -> bool:
        """Record success and commit; ``False`` when another run recorded it first (then this
        run's writes are rolled back)."""
        ...

    def fail(self) -> None:
        """Roll back whatever the handler wrote."""
        ...


class Inbox(Protocol):
    """Durable storage of deliveries and the worker's queue."""

    def accepts(self, event: str) -> bool:
        """Whether an event may be stored (token events need a cipher)."""
        ...

    def add(self, items: Sequence[NewDelivery]) -> list[Accepted]:
        """Store new deliveries in one transaction; duplicates are counted, not stored.

        Raises:
            ConfigurationError: a token event with no cipher configured.
            WebhookError: the database refused (the caller answers non-2xx).
        """
        ...

    def claim(
        self, *, owner: str, limit: int, lease_seconds: float, now: float
    ) -> list[StoredDelivery]:
        """Take up to ``limit`` due deliveries (pending, failed and due, or with an expired
        lease) for ``owner``: status ``processing``, one more attempt, bodies opened."""
        ...

    def renew(self, ids: Sequence[int], *, owner: str, lease_until: float) -> None:
        """Extend the lease of deliveries ``owner`` still holds."""
        ...

    def run_handler(self, delivery_id: int, handler: str) -> HandlerRun:
        """A transaction for one handler's run on one delivery."""
        ...

    def finish_many(self, outcomes: Sequence[Outcome], *, owner: str, now: float) -> set[int]:
        """Record attempts' outcomes in one transaction, for the deliveries ``owner`` still
        holds; returns the ids recorded. The handlers of :attr:`Outcome.handlers_succeeded` are
        recorded as succeeded whether or not the lease is still held (they did succeed)."""
        ...

    def finish(
        self,
        delivery_id: int,
        *,
        owner: str,
        status: DeliveryStatus,
        now: float,
        next_attempt_at: float | None = None,
        error: str | None = None,
    ) -> bool:
        """Record one attempt's outcome if ``owner`` still holds the lease."""
        ...

    def get(self, delivery_id: int, *, open_sealed: bool = True) -> StoredDelivery | None:
        """One delivery with its body and the handlers that succeeded on it; a sealed body is
        opened, or left out (``None``) with ``open_sealed=False``."""
        ...

    def search(self, where: DeliveryFilter) -> list[StoredDelivery]:
        """Deliveries matching ``where``, newest first, without bodies."""
        ...

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each status."""
        ...

    def replay(
        self,
        *,
        ids: Sequence[int] | None = None,
        where: DeliveryFilter | None = None,
        now: float,
        rerun_succeeded: bool = False,
    ) -> list[int]:
        """Make deliveries due again (attempts reset); deliveries being processed are left
        alone. Handlers that succeeded are not run again unless ``rerun_succeeded``."""
        ...

    def set_paused(self, paused: bool, *, now: float) -> None:
        """Pause or resume processing (deliveries keep being stored)."""
        ...

    def is_paused(self) -> bool:
        """Whether processing is paused."""
        ...


# ---------------------------------------------------------------------------------- SQL

_metadata = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

deliveries = sa.Table(
    "sallakit_webhook_deliveries",
    _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("store_id", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(128), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Double, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("sealed", sa.Boolean, nullable=False),
)

handler_runs = sa.Table(
    "sallakit_webhook_handler_runs",
    _metadata,
    sa.Column("delivery_id", _ID, primary_key=True),
    sa.Column("handler", sa.String(255), primary_key=True),
    sa.Column("succeeded_at", sa.Double, nullable=False),
)

switches = sa.Table(
    "sallakit_webhook_switches",
    _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

_SUMMARY_COLUMNS = [c for c in deliveries.c if c.name != "body"]
# One attempt's outcome, executed for a whole batch at once (its rows checked beforehand).
_FINISH = (
    sa.update(deliveries)
    .where(deliveries.c.id == sa.bindparam("b_id"))
    .values(
        status=sa.bindparam("b_status"),
        lease_owner=None,
        lease_until=None,
        last_error=sa.bindparam("b_error"),
        next_attempt_at=sa.bindparam("b_next"),
    )
)
_MAX_ERROR = 2000


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:_MAX_ERROR]


def _db_error(action: str, exc: sa.exc.SQLAlchemyError) -> WebhookError:
    orig = getattr(exc, "orig", None)
    name = type(orig if orig is not None else exc).__name__
    # Parameters (bodies) never reach the message: the engine hides them, and only the
    # exception's class name is kept here.
    return WebhookError(f"the webhook inbox could not {action} ({name})")


class _Sealing(ABC):
    """What both inboxes share: the sealing rules, and finishing one delivery as a batch of one."""

    def __init__(self, cipher: BodyCipher | None) -> None:
        self._cipher = cipher

    def accepts(self, event: str) -> bool:
        return event not in TOKEN_EVENTS or self._cipher is not None

    def _seal(self, item: NewDelivery) -> tuple[bytes, bool]:
        if item.event not in TOKEN_EVENTS:
            return item.body, False
        if self._cipher is None:
            raise ConfigurationError(
                f"{item.event} carries OAuth tokens and the inbox has no cipher to seal them: "
                "configure one (SALLAKIT_TOKEN_KEYS for `sallakit serve`)"
            )
        return self._cipher.seal(item.body), True

    def _open(self, body: bytes, sealed: bool) -> bytes:
        if not sealed:
            return body
        if self._cipher is None:
            raise ConfigurationError("a sealed delivery cannot be read without the inbox cipher")
        return self._cipher.open(body)

    @abstractmethod
    def finish_many(self, outcomes: Sequence[Outcome], *, owner: str, now: float) -> set[int]:
        """See :meth:`Inbox.finish_many`."""

    def finish(
        self,
        delivery_id: int,
        *,
        owner: str,
        status: DeliveryStatus,
        now: float,
        next_attempt_at: float | None = None,
        error: str | None = None,
    ) -> bool:
        outcome = Outcome(
            delivery_id, status, now if next_attempt_at is None else next_attempt_at, error
        )
        return delivery_id in self.finish_many([outcome], owner=owner, now=now)


class _WriterGate:
    """One writer at a time in this process, the receiver's before the worker's.

    A plain lock serves writers in arrival order, so a delivery waiting for its commit could
    queue behind a worker's claim, outcome batch and several handler transactions. Here a
    background writer (``ingest=False``) also waits while an ingestion writer is waiting;
    background writers still get their turn in the gaps between the receiver's group commits.
    Released by whichever thread ends the transaction (not tied to the acquiring thread).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held = False
        self._ingest_waiting = 0

    def acquire(self, *, ingest: bool) -> None:
        with self._changed:
            if ingest:
                self._ingest_waiting += 1
                try:
                    while self._held:
                        self._changed.wait()
                finally:
                    self._ingest_waiting -= 1
            else:
                while self._held or self._ingest_waiting:
                    self._changed.wait()
            self._held = True

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()


class _SQLHandlerRun:
    def __init__(self, inbox: SQLInbox, delivery_id: int, handler: str) -> None:
        self._inbox = inbox
        self._delivery_id = delivery_id
        self._handler = handler
        self._context: AbstractContextManager[Connection] | None = None
        self._conn: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            self._context = self._inbox._write()
            self._conn = self._context.__enter__()
        return self._conn

    @property
    def opened(self) -> bool:
        return self._conn is not None

    def succeed(self, now: float) -> bool:
        conn = self.connection
        assert self._context is not None
        try:
            conn.execute(
                handler_runs.insert().values(
                    delivery_id=self._delivery_id, handler=self._handler, succeeded_at=now
                )
            )
        except sa.exc.IntegrityError as exc:
            # Another run of this handler (a lease that expired under a slow handler) committed
            # first: roll these writes back so the effect happens once.
            self._close(exc)
            return False
        except BaseException as exc:
            self._close(exc)
            raise
        self._close(None)
        return True

    def fail(self) -> None:
        if self._context is not None:
            self._close(WebhookError("handler failed"))

    def _close(self, exc: BaseException | None) -> None:
        context, self._context, self._conn = self._context, None, None
        if context is None:
            return
        if exc is None:
            context.__exit__(None, None, None)
            return
        try:
            context.__exit__(type(exc), exc, exc.__traceback__)
        except BaseException as raised:
            if raised is not exc:
                raise


class SQLInbox(_Sealing):
    """The inbox in the sallakit database.

    Args:
        engine: from :func:`sallakit.db.create_engine`; the tables come from
            :func:`sallakit.db.migrate` (done by :meth:`from_url`).
        cipher: seals bodies of token-carrying app events.
    """

    def __init__(self, engine: Engine, *, cipher: BodyCipher | None = None) -> None:
        super().__init__(cipher)
        self.engine = engine
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
        # steps of up to 100 ms before trying again. Writers of this process (the receiver's
        # group commits, the worker's claims, handler transactions) queue on this gate instead,
        # the receiver's first; other processes still meet SQLite's busy timeout.
        self._sqlite_writers = _WriterGate() if engine.dialect.name == "sqlite" else None

    def __repr__(self) -> str:
        return f"SQLInbox({self.engine.url.render_as_string(hide_password=True)!r})"

    @classmethod
    def from_url(
        cls, url: str, *, cipher: BodyCipher | None = None, migrate: bool = True
    ) -> SQLInbox:
        """An inbox on ``url`` (``sqlite:///file.db`` or ``postgresql://...``), migrated.

        Raises:
            ConfigurationError: bad URL, or the migration failed.
        """
        from sallakit.db import create_engine
        from sallakit.db import migrate as run_migrations

        engine = create_engine(url)
        if migrate:
            run_migrations(engine)
        return cls(engine, cipher=cipher)

    @contextmanager
    def _write(self, *, ingest: bool = False) -> Iterator[Connection]:
        from sallakit.db import write_transaction

        if self._sqlite_writers is None:
            with write_transaction(self.engine) as conn:
                yield conn
            return
        # Released by whichever thread ends the transaction (a handler's may end elsewhere).
        self._sqlite_writers.acquire(ingest=ingest)
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        finally:
            self._sqlite_writers.release()

    def _read(self) -> AbstractContextManager[Connection]:
        from sallakit.db import read_transaction

        return read_transaction(self.engine)

    def _insert_ignore(self, table: sa.Table) -> Any:
        # ON CONFLICT DO NOTHING: a row another process stored meanwhile is not an error.
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()

    @staticmethod
    def _ids_by_key(conn: Connection, digests: set[str]) -> dict[tuple[int, str, str], int]:
        rows = conn.execute(
            sa.select(
                deliveries.c.id, deliveries.c.store_id, deliveries.c.event, deliveries.c.digest
            ).where(deliveries.c.digest.in_(sorted(digests)))
        )
        return {(int(r.store_id), r.event, r.digest): int(r.id) for r in rows}

    def add(self, items: Sequence[NewDelivery]) -> list[Accepted]:
        if not items:
            return []
        prepared = [(item, *self._seal(item)) for item in items]
        digests = {item.digest for item in items}
        out: list[Accepted] = []
        # A few statements per batch whatever its size: which keys exist, insert the new ones
        # (one executemany), read their ids, count the duplicates.
        try:
            # Ahead of the worker's writes: Salla (and its 30 s timeout) is waiting on this one.
            with self._write(ingest=True) as conn:
                existing = self._ids_by_key(conn, digests)
                fresh: dict[tuple[int, str, str], dict[str, Any]] = {}
                for item, body, sealed in prepared:
                    key = (item.store_id, item.event, item.digest)
                    if key in existing or key in fresh:
                        continue
                    fresh[key] = {
                        "store_id": item.store_id,
                        "event": item.event,
                        "digest": item.digest,
                        "received_at": item.received_at,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": item.received_at,
                        "updated_at": item.received_at,
                        "duplicates": 0,
                        "headers": json.dumps(item.headers, ensure_ascii=False),
                        "body": body,
                        "sealed": sealed,
                    }
                ids = existing
                if fresh:
                    conn.execute(self._insert_ignore(deliveries), list(fresh.values()))
                    ids = self._ids_by_key(conn, digests)
                seen: set[tuple[int, str, str]] = set()
                duplicate_counts: dict[int, int] = {}
                for item in items:
                    key = (item.store_id, item.event, item.digest)
                    row_id = ids[key]
                    # A key stored by another process between our read and our insert counts as
                    # new here: only the counter and the answer's flag are affected.
                    duplicate = key not in fresh or key in seen
                    seen.add(key)
                    if duplicate:
                        duplicate_counts[row_id] = duplicate_counts.get(row_id, 0) + 1
                    out.append(Accepted(row_id, duplicate=duplicate))
                for row_id, count in duplicate_counts.items():
                    conn.execute(
                        sa.update(deliveries)
                        .where(deliveries.c.id == row_id)
                        .values(duplicates=deliveries.c.duplicates + count)
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("store deliveries", exc) from exc
        return out

    def _row(
        self, row: Any, *, done: frozenset[str] = frozenset(), open_sealed: bool = True
    ) -> StoredDelivery:
        mapping = row._mapping
        body = mapping.get("body")
        sealed = bool(mapping["sealed"])
        if sealed and not open_sealed:
            body = None
        return StoredDelivery(
            id=int(mapping["id"]),
            store_id=int(mapping["store_id"]),
            event=mapping["event"],
            digest=mapping["digest"],
            received_at=float(mapping["received_at"]),
            status=mapping["status"],
            attempts=int(mapping["attempts"]),
            next_attempt_at=float(mapping["next_attempt_at"]),
            last_error=mapping["last_error"],
            updated_at=float(mapping["updated_at"]),
            duplicates=int(mapping["duplicates"]),
            headers=json.loads(mapping["headers"]),
            sealed=sealed,
            body=None if body is None else self._open(bytes(body), sealed),
            handlers_done=done,
            lease_owner=mapping["lease_owner"],
            lease_until=mapping["lease_until"],
        )

    def _done_handlers(self, conn: Connection, ids: Sequence[int]) -> dict[int, frozenset[str]]:
        found: dict[int, set[str]] = {}
        if ids:
            rows = conn.execute(
                sa.select(handler_runs.c.delivery_id, handler_runs.c.handler).where(
                    handler_runs.c.delivery_id.in_(list(ids))
                )
            )
            for delivery_id, handler in rows:
                found.setdefault(int(delivery_id), set()).add(handler)
        return {k: frozenset(v) for k, v in found.items()}

    def claim(
        self, *, owner: str, limit: int, lease_seconds: float, now: float
    ) -> list[StoredDelivery]:
        due = sa.or_(
            deliveries.c.status.in_(("pending", "failed")) & (deliveries.c.next_attempt_at <= now),
            (deliveries.c.status == "processing") & (deliveries.c.lease_until < now),
        )
        try:
            with self._write() as conn:
                ids = [
                    int(i)
                    for i in conn.execute(
                        sa.select(deliveries.c.id)
                        .where(due)
                        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                        .limit(limit)
                        # PostgreSQL: concurrent workers skip each other's rows instead of
                        # waiting; SQLite ignores it (BEGIN IMMEDIATE serialises claims).
                        .with_for_update(skip_locked=True)
                    ).scalars()
                ]
                if not ids:
                    return []
                conn.execute(
                    sa.update(deliveries)
                    .where(deliveries.c.id.in_(ids))
                    .values(
                        status="processing",
                        lease_owner=owner,
                        lease_until=now + lease_seconds,
                        attempts=deliveries.c.attempts + 1,
                        updated_at=now,
                    )
                )
                rows = conn.execute(sa.select(deliveries).where(deliveries.c.id.in_(ids))).all()
                done = self._done_handlers(conn, ids)
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("claim deliveries", exc) from exc
        claimed = [self._row(r, done=done.get(int(r._mapping["id"]), frozenset())) for r in rows]
        return sorted(claimed, key=lambda d: (d.next_attempt_at, d.id))

    def renew(self, ids: Sequence[int], *, owner: str, lease_until: float) -> None:
        if not ids:
            return
        try:
            with self._write() as conn:
                conn.execute(
                    sa.update(deliveries)
                    .where(
                        deliveries.c.id.in_(list(ids))
                        & (deliveries.c.lease_owner == owner)
                        & (deliveries.c.status == "processing")
                    )
                    .values(lease_until=lease_until)
                )
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("renew leases", exc) from exc

    def run_handler(self, delivery_id: int, handler: str) -> HandlerRun:
        return _SQLHandlerRun(self, delivery_id, handler)

    def finish_many(self, outcomes: Sequence[Outcome], *, owner: str, now: float) -> set[int]:
        recorded: set[int] = set()
        if not outcomes:
            return recorded
        successes = [
            {"delivery_id": outcome.delivery_id, "handler": handler, "succeeded_at": now}
            for outcome in outcomes
            for handler in outcome.handlers_succeeded
        ]
        try:
            with self._write() as conn:
                if successes:
                    # DO NOTHING: another run of the same handler may have recorded it first.
                    conn.execute(self._insert_ignore(handler_runs), successes)
                # Two statements per batch: which rows this owner still holds (locked on
                # PostgreSQL until the commit), then one executemany over them.
                held = conn.execute(
                    sa.select(deliveries.c.id)
                    .where(
                        deliveries.c.id.in_([o.delivery_id for o in outcomes])
                        & (deliveries.c.lease_owner == owner)
                        & (deliveries.c.status == "processing")
                    )
                    .order_by(deliveries.c.id)  # one lock order for every finisher
                    .with_for_update()
                ).scalars()
                recorded = {int(i) for i in held}
                rows = [
                    {
                        "b_id": o.delivery_id,
                        "b_status": o.status,
                        "b_error": _clip(o.error),
                        "b_next": o.next_attempt_at,
                    }
                    for o in outcomes
                    if o.delivery_id in recorded
                ]
                if rows:
                    conn.execute(_FINISH.values(updated_at=now), rows)
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("record attempts", exc) from exc
        return recorded

    def get(self, delivery_id: int, *, open_sealed: bool = True) -> StoredDelivery | None:
        try:
            with self._read() as conn:
                row = conn.execute(
                    sa.select(deliveries).where(deliveries.c.id == delivery_id)
                ).first()
                if row is None:
                    return None
                done = self._done_handlers(conn, [delivery_id])
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("read a delivery", exc) from exc
        return self._row(row, done=done.get(delivery_id, frozenset()), open_sealed=open_sealed)

    def _where(self, where: DeliveryFilter) -> Any:
        clauses: list[Any] = []
        if where.status is not None:
            clauses.append(deliveries.c.status == where.status)
        if where.store_id is not None:
            clauses.append(deliveries.c.store_id == where.store_id)
        if where.since is not None:
            clauses.append(deliveries.c.received_at >= where.since)
        if where.event is not None:
            if where.event == "*":
                pass
            elif where.event.endswith(".*"):
                prefix = where.event[:-1].replace("\\", "\\\\").replace("%", "\\%")
                prefix = prefix.replace("_", "\\_")
                clauses.append(deliveries.c.event.like(prefix + "%", escape="\\"))
            else:
                clauses.append(deliveries.c.event == where.event)
        return sa.and_(sa.true(), *clauses)

    def search(self, where: DeliveryFilter) -> list[StoredDelivery]:
        query = (
            sa.select(*_SUMMARY_COLUMNS).where(self._where(where)).order_by(deliveries.c.id.desc())
        )
        if where.limit is not None:
            query = query.limit(where.limit)
        try:
            with self._read() as conn:
                rows = conn.execute(query).all()
                done = self._done_handlers(conn, [int(r._mapping["id"]) for r in rows])
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("list deliveries", exc) from exc
        return [self._row(r, done=done.get(int(r._mapping["id"]), frozenset())) for r in rows]

    def counts(self) -> dict[str, int]:
        try:
            with self._read() as conn:
                rows = conn.execute(
                    sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status)
                ).all()
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("count deliveries", exc) from exc
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    def replay(
        self,
        *,
        ids: Sequence[int] | None = None,
        where: DeliveryFilter | None = None,
        now: float,
        rerun_succeeded: bool = False,
    ) -> list[int]:
        if (ids is None) == (where is None):
            raise ConfigurationError("replay takes either ids or a filter")
        condition = (
            deliveries.c.id.in_(list(ids)) if ids is not None else self._where(where)  # type: ignore[arg-type]
        )
        condition = condition & (deliveries.c.status != "processing")
        try:
            with self._write() as conn:
                query = sa.select(deliveries.c.id).where(condition).order_by(deliveries.c.id)
                if ids is None and where is not None and where.limit is not None:
                    query = query.limit(where.limit)
                chosen = [int(i) for i in conn.execute(query).scalars()]
                if not chosen:
                    return []
                conn.execute(
                    sa.update(deliveries)
                    .where(deliveries.c.id.in_(chosen))
                    .values(
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        lease_owner=None,
                        lease_until=None,
                        updated_at=now,
                    )
                )
                if rerun_succeeded:
                    conn.execute(
                        sa.delete(handler_runs).where(handler_runs.c.delivery_id.in_(chosen))
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("replay deliveries", exc) from exc
        return chosen

    def set_paused(self, paused: bool, *, now: float) -> None:
        try:
            with self._write() as conn:
                updated = conn.execute(
                    sa.update(switches)
                    .where(switches.c.name == _PAUSED)
                    .values(value="1" if paused else "0", updated_at=now)
                ).rowcount
                if not updated:
                    conn.execute(
                        switches.insert().values(
                            name=_PAUSED, value="1" if paused else "0", updated_at=now
                        )
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("pause or resume", exc) from exc

    def is_paused(self) -> bool:
        try:
            with self._read() as conn:
                value = conn.execute(
                    sa.select(switches.c.value).where(switches.c.name == _PAUSED)
                ).scalar_one_or_none()
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error("read the pause switch", exc) from exc
        return value == "1"


# ------------------------------------------------------------------------------ in memory


class _MemoryHandlerRun:
    def __init__(self, inbox: MemoryInbox, delivery_id: int, handler: str) -> None:
        self._inbox = inbox
        self._key = (delivery_id, handler)

    @property
    def connection(self) -> Connection:
        raise ConfigurationError(
            "the in-memory inbox has no database session: use SQLInbox for transactional handlers"
        )

    @property
    def opened(self) -> bool:
        return False

    def succeed(self, now: float) -> bool:
        with self._inbox._lock:
            if self._key in self._inbox._runs:
                return False
            self._inbox._runs[self._key] = now
            return True

    def fail(self) -> None:
        return None


class MemoryInbox(_Sealing):
    """The in-memory twin of :class:`SQLInbox` (same rules, nothing survives the process)."""

    def __init__(self, *, cipher: BodyCipher | None = None) -> None:
        super().__init__(cipher)
        self._lock = threading.Lock()
        self._rows: dict[int, StoredDelivery] = {}
        self._keys: dict[tuple[int, str, str], int] = {}
        self._runs: dict[tuple[int, str], float] = {}
        self._paused = False
        self._next_id = 1

    def __repr__(self) -> str:
        return f"MemoryInbox({len(self._rows)} deliveries)"

    def add(self, items: Sequence[NewDelivery]) -> list[Accepted]:
        prepared = [(item, *self._seal(item)) for item in items]
        out: list[Accepted] = []
        with self._lock:
            for item, body, sealed in prepared:
                key = (item.store_id, item.event, item.digest)
                existing = self._keys.get(key)
                if existing is not None:
                    row = self._rows[existing]
                    self._rows[existing] = replace(row, duplicates=row.duplicates + 1)
                    out.append(Accepted(existing, duplicate=True))
                    continue
                new_id = self._next_id
                self._next_id += 1
                self._keys[key] = new_id
                self._rows[new_id] = StoredDelivery(
                    id=new_id,
                    store_id=item.store_id,
                    event=item.event,
                    digest=item.digest,
                    received_at=item.received_at,
                    status="pending",
                    attempts=0,
                    next_attempt_at=item.received_at,
                    last_error=None,
                    updated_at=item.received_at,
                    duplicates=0,
                    headers=dict(item.headers),
                    sealed=sealed,
                    body=body,
                )
                out.append(Accepted(new_id, duplicate=False))
        return out

    def _done(self, delivery_id: int) -> frozenset[str]:
        return frozenset(h for (d, h) in self._runs if d == delivery_id)

    def _loaded(self, row: StoredDelivery, *, with_body: bool = True) -> StoredDelivery:
        body = self._open(row.body, row.sealed) if with_body and row.body is not None else None
        return replace(row, body=body, handlers_done=self._done(row.id))

    def claim(
        self, *, owner: str, limit: int, lease_seconds: float, now: float
    ) -> list[StoredDelivery]:
        with self._lock:
            due = [
                r
                for r in self._rows.values()
                if (r.status in ("pending", "failed") and r.next_attempt_at <= now)
                or (r.status == "processing" and (r.lease_until or 0) < now)
            ]
            due.sort(key=lambda r: (r.next_attempt_at, r.id))
            claimed = []
            for row in due[:limit]:
                updated = replace(
                    row,
                    status="processing",
                    lease_owner=owner,
                    lease_until=now + lease_seconds,
                    attempts=row.attempts + 1,
                    updated_at=now,
                )
                self._rows[row.id] = updated
                claimed.append(updated)
            return [self._loaded(r) for r in claimed]

    def renew(self, ids: Sequence[int], *, owner: str, lease_until: float) -> None:
        with self._lock:
            for delivery_id in ids:
                row = self._rows.get(delivery_id)
                if row is not None and row.lease_owner == owner and row.status == "processing":
                    self._rows[delivery_id] = replace(row, lease_until=lease_until)

    def run_handler(self, delivery_id: int, handler: str) -> HandlerRun:
        return _MemoryHandlerRun(self, delivery_id, handler)

    def finish_many(self, outcomes: Sequence[Outcome], *, owner: str, now: float) -> set[int]:
        recorded: set[int] = set()
        with self._lock:
            for outcome in outcomes:
                for handler in outcome.handlers_succeeded:
                    self._runs.setdefault((outcome.delivery_id, handler), now)
                row = self._rows.get(outcome.delivery_id)
                if row is None or row.lease_owner != owner or row.status != "processing":
                    continue
                self._rows[row.id] = replace(
                    row,
                    status=outcome.status,
                    lease_owner=None,
                    lease_until=None,
                    last_error=_clip(outcome.error),
                    next_attempt_at=outcome.next_attempt_at,
                    updated_at=now,
                )
                recorded.add(row.id)
        return recorded

    def get(self, delivery_id: int, *, open_sealed: bool = True) -> StoredDelivery | None:
        with self._lock:
            row = self._rows.get(delivery_id)
            if row is None:
                return None
            return self._loaded(row, with_body=open_sealed or not row.sealed)

    def _matching(self, where: DeliveryFilter) -> Iterator[StoredDelivery]:
        for row in sorted(self._rows.values(), key=lambda r: -r.id):
            if where.status is not None and row.status != where.status:
                continue
            if where.store_id is not None and row.store_id != where.store_id:
                continue
            if where.since is not None and row.received_at < where.since:
                continue
            if where.event is not None and not matches(where.event, row.event):
                continue
            yield row

    def search(self, where: DeliveryFilter) -> list[StoredDelivery]:
        with self._lock:
            rows = list(self._matching(where))
            if where.limit is not None:
                rows = rows[: where.limit]
            return [self._loaded(r, with_body=False) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
            for row in self._rows.values():
                counts[row.status] += 1
            return counts

    def replay(
        self,
        *,
        ids: Sequence[int] | None = None,
        where: DeliveryFilter | None = None,
        now: float,
        rerun_succeeded: bool = False,
    ) -> list[int]:
        if (ids is None) == (where is None):
            raise ConfigurationError("replay takes either ids or a filter")
        with self._lock:
            if ids is not None:
                rows = [self._rows[i] for i in sorted(set(ids)) if i in self._rows]
            else:
                assert where is not None
                rows = sorted(self._matching(where), key=lambda r: r.id)
            rows = [r for r in rows if r.status != "processing"]
            if ids is None and where is not None and where.limit is not None:
                rows = rows[: where.limit]
            for row in rows:
                self._rows[row.id] = replace(
                    row,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
                if rerun_succeeded:
                    for key in [k for k in self._runs if k[0] == row.id]:
                        del self._runs[key]
            return [r.id for r in rows]

    def set_paused(self, paused: bool, *, now: float) -> None:
        with self._lock:
            self._paused = paused

    def is_paused(self) -> bool:
        with self._lock:
            return self._paused
