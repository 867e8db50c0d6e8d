"""The SQL token store: SQLite or PostgreSQL through SQLAlchemy Core.

All access is synchronous, in short transactions; async callers run them in worker threads.
Every SQLAlchemy error is translated here into :class:`TokenVaultError` with a message naming
only the error's class (a driver's text or a statement's parameters can carry sealed tokens),
except for the two an operator can act on: a locked database and a read-only one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from sallakit._exceptions import ConfigurationError, SallaError, TokenVaultError
from sallakit.auth._store import (
    STORE_FIELDS,
    HistoryRecord,
    JournalRecord,
    LeaseFields,
    StoreRow,
    TokenStoreTransaction,
)
from sallakit.db import create_engine, create_schema, is_sqlite, read_transaction
from sallakit.db import write_transaction as sql_write_transaction
from sallakit.db._schema import app_events, oauth_states, refresh_journal, store_history, stores

__all__ = ["SqlTokenStore", "database_error"]

_LOCKED_HINTS = ("database is locked", "database is busy", "lock timeout", "locknotavailable")
_READ_ONLY_HINTS = ("readonly database", "read-only", "unable to open database file")


def database_error(exc: sa.exc.SQLAlchemyError) -> TokenVaultError:
    """The vault error for a database failure.

    Only the error's class is named (a driver's message can carry sealed tokens and merchant
    data; the chained exception keeps the details for a debugger), except for a locked or a
    read-only database, which get a sentence saying what to do.
    """
    orig = getattr(exc, "orig", None)
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    text = f"{name} {orig if orig is not None else exc}".lower()
    if any(hint in text for hint in _LOCKED_HINTS):
        return TokenVaultError(
            "the token vault database is locked by another writer and stayed locked past the "
            "wait limit; retry, and if it persists find the process holding it"
        )
    if any(hint in text for hint in _READ_ONLY_HINTS):
        return TokenVaultError(
            "the token vault database cannot be written by this process (a read-only file or "
            "directory, or permissions); read-only commands still work"
        )
    return TokenVaultError(f"token vault database error ({name})")


def _db_now(engine: Engine) -> sa.ColumnElement[float]:
    """The database's clock as epoch seconds, evaluated in SQL (never this host's clock)."""
    if is_sqlite(engine):
        return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Double)
    return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Double)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _row(data: Any) -> StoreRow:
    def opt_int(name: str) -> int | None:
        value = data[name]
        return None if value is None else int(value)

    return StoreRow(
        store_id=int(data["store_id"]),
        status=str(data["status"]),
        status_detail=data["status_detail"],
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
        expires_at=_float(data["expires_at"]),
        scopes=data["scopes"] or "",
        merchant=data["merchant"] if isinstance(data["merchant"], dict) else None,
        user_info=data["user_info"] if isinstance(data["user_info"], dict) else None,
        app=data["app"] if isinstance(data["app"], dict) else None,
        generation=int(data["generation"] or 0),
        connected_via=data["connected_via"],
        created_at=float(data["created_at"] or 0.0),
        updated_at=float(data["updated_at"] or 0.0),
        refreshed_at=_float(data["refreshed_at"]),
        uninstalled_at=_float(data["uninstalled_at"]),
        lease_id=data["lease_id"],
        lease_owner=data["lease_owner"],
        lease_pid=opt_int("lease_pid"),
        lease_host=data["lease_host"],
        lease_node=data["lease_node"],
        lease_started_at=_float(data["lease_started_at"]),
        lease_journal_id=opt_int("lease_journal_id"),
        authorize_created_at=_float(data["authorize_created_at"]),
        authorize_expires=_float(data["authorize_expires"]),
        account=data["account"],
        pending_since=_float(data["pending_since"]),
        tokens_at=_float(data["tokens_at"]),
        db_now=float(data["db_now"]),
    )


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL accepts 'Infinity' in DOUBLE columns; SQLite stores inf as well. Neither is an
    # expiry anyone can act on, and callers validate first: this is the last line of defence.
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise TokenVaultError(f"refusing to store a non-finite {key}")
    return values


class _SqlTransaction:
    def __init__(self, conn: Connection, engine: Engine, *, empty: bool = False) -> None:
        self.conn = conn
        self._sqlite = is_sqlite(engine)
        self._now_expr = _db_now(engine)
        self._empty = empty  # read-only on a database without the tables yet

    def _insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table) if self._sqlite else postgresql_insert(table)

    def _select(self, *, lock: bool) -> sa.Select[Any]:
        query = sa.select(stores, self._now_expr.label("db_now"))
        if lock and not self._sqlite:
            # SQLite already holds the database write lock (BEGIN IMMEDIATE).
            query = query.with_for_update(of=stores)
        return query

    def now(self) -> float:
        return float(self.conn.execute(sa.select(self._now_expr)).scalar_one())

    def get(self, store_id: int, *, lock: bool = False) -> StoreRow | None:
        if self._empty:
            return None
        query = self._select(lock=lock).where(stores.c.store_id == store_id)
        found = self.conn.execute(query).mappings().first()
        return None if found is None else _row(found)

    def all(self) -> list[StoreRow]:
        if self._empty:
            return []
        query = self._select(lock=False).order_by(stores.c.store_id)
        return [_row(r) for r in self.conn.execute(query).mappings().all()]

    def leased(self, *, lock: bool = False) -> list[StoreRow]:
        if self._empty:
            return []
        query = self._select(lock=lock).where(stores.c.lease_id.is_not(None))
        return [_row(r) for r in self.conn.execute(query.order_by(stores.c.store_id)).mappings()]

    def insert_pending(self, store_id: int, *, generation: int, now: float) -> bool:
        insert = self._insert(stores).values(
            store_id=store_id,
            generation=generation,
            status="pending",
            scopes="",
            created_at=now,
            updated_at=now,
        )
        # RETURNING, not rowcount: psycopg reports no row count for ON CONFLICT DO NOTHING.
        done = self.conn.execute(
            insert.on_conflict_do_nothing(index_elements=[stores.c.store_id]).returning(
                stores.c.store_id
            )
        )
        return done.first() is not None

    def update(
        self, store_id: int, values: Mapping[str, Any], *, bump_generation: bool = False
    ) -> int:
        unknown = set(values) - STORE_FIELDS
        if unknown:
            raise ConfigurationError(f"unknown store fields {sorted(unknown)}")
        changes: dict[str, Any] = _finite(dict(values))
        if bump_generation:
            changes["generation"] = stores.c.generation + 1
        if not changes:
            return 0
        result = self.conn.execute(
            stores.update().where(stores.c.store_id == store_id).values(**changes)
        )
        return int(result.rowcount)

    def take_lease(
        self, store_id: int, *, generation: int, replacing: str | None, lease: LeaseFields
    ) -> bool:
        held: sa.ColumnElement[bool] = stores.c.lease_id.is_(None)
        if replacing is not None:
            held = held | (stores.c.lease_id == replacing)
        taken = self.conn.execute(
            stores.update()
            .where(stores.c.store_id == store_id)
            .where(stores.c.generation == generation)
            .where(held)
            .values(
                lease_id=lease.lease_id,
                lease_owner=lease.owner,
                lease_pid=lease.pid,
                lease_host=lease.host,
                lease_node=lease.node,
                lease_started_at=self._now_expr,
                lease_journal_id=lease.journal_id,
            )
        ).rowcount
        return bool(taken == 1)

    def set_status_if_leased(
        self, store_id: int, lease_id: str, *, status: str, detail: str, now: float
    ) -> None:
        self.conn.execute(
            stores.update()
            .where(stores.c.store_id == store_id)
            .where(stores.c.lease_id == lease_id)
            .where(stores.c.status == "active")
            .values(status=status, status_detail=detail, updated_at=now)
        )

    def delete(self, store_id: int) -> None:
        self.conn.execute(stores.delete().where(stores.c.store_id == store_id))

    def history(self, store_id: int) -> HistoryRecord:
        insert = self._insert(store_history).values(
            store_id=store_id, generation=0, retired_refresh=""
        )
        self.conn.execute(insert.on_conflict_do_nothing(index_elements=[store_history.c.store_id]))
        query = sa.select(store_history).where(store_history.c.store_id == store_id)
        if not self._sqlite:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().one()
        return HistoryRecord(
            store_id=store_id,
            uninstall_event_at=_float(row["uninstall_event_at"]),
            generation=int(row["generation"] or 0),
            retired_refresh=tuple(str(row["retired_refresh"] or "").split()),
        )

    def save_history(self, record: HistoryRecord) -> None:
        self.conn.execute(
            store_history.update()
            .where(store_history.c.store_id == record.store_id)
            .values(
                uninstall_event_at=record.uninstall_event_at,
                generation=record.generation,
                retired_refresh=" ".join(record.retired_refresh),
            )
        )

    def open_journal(
        self, *, store_id: int, generation: int, started_at: float, pid: int, host: str, worker: str
    ) -> int:
        journal_id = self.conn.execute(
            refresh_journal.insert()
            .values(
                store_id=store_id,
                generation=generation,
                state="started",
                started_at=started_at,
                pid=pid,
                host=host,
                worker=worker,
            )
            .returning(refresh_journal.c.id)
        ).scalar_one()
        return int(journal_id)

    def close_journal(
        self,
        journal_id: int,
        *,
        state: str,
        finished_at: float,
        detail: str | None = None,
        only_started: bool = False,
    ) -> None:
        query = refresh_journal.update().where(refresh_journal.c.id == journal_id)
        if only_started:
            query = query.where(refresh_journal.c.state == "started")
        self.conn.execute(
            query.values(
                state=state, finished_at=finished_at, detail=detail[:1000] if detail else None
            )
        )

    def supersede_journal(self, store_id: int, *, finished_at: float) -> None:
        self.conn.execute(
            refresh_journal.update()
            .where(refresh_journal.c.store_id == store_id)
            .where(refresh_journal.c.state == "started")
            .values(state="superseded", finished_at=finished_at)
        )

    def delete_journal(self, store_id: int) -> None:
        self.conn.execute(refresh_journal.delete().where(refresh_journal.c.store_id == store_id))

    def journal(self, store_id: int) -> list[JournalRecord]:
        if self._empty:
            return []
        rows = self.conn.execute(
            sa.select(refresh_journal)
            .where(refresh_journal.c.store_id == store_id)
            .order_by(refresh_journal.c.id)
        ).mappings()
        return [
            JournalRecord(
                id=int(r["id"]),
                store_id=int(r["store_id"]),
                generation=int(r["generation"]),
                state=str(r["state"]),
                started_at=float(r["started_at"]),
                finished_at=_float(r["finished_at"]),
                pid=int(r["pid"]),
                host=str(r["host"]),
                worker=str(r["worker"]),
                detail=r["detail"],
            )
            for r in rows
        ]

    def open_journal_count(self) -> int:
        if self._empty:
            return 0
        return int(
            self.conn.execute(
                sa.select(sa.func.count())
                .select_from(refresh_journal)
                .where(refresh_journal.c.state == "started")
            ).scalar_one()
        )

    def event_seen(self, digest: str) -> bool:
        if self._empty:
            return False
        found = self.conn.execute(
            sa.select(app_events.c.digest).where(app_events.c.digest == digest)
        ).first()
        return found is not None

    def record_event(self, digest: str, *, store_id: int, event: str, received_at: float) -> None:
        self.conn.execute(
            app_events.insert().values(
                digest=digest, store_id=store_id, event=event, received_at=received_at
            )
        )

    def consume_nonce(self, nonce: str, *, used_at: float, expires_at: float) -> bool:
        self.conn.execute(oauth_states.delete().where(oauth_states.c.expires_at < used_at - 86_400))
        insert = self._insert(oauth_states).values(
            nonce=nonce, used_at=used_at, expires_at=expires_at
        )
        done = self.conn.execute(
            insert.on_conflict_do_nothing(index_elements=[oauth_states.c.nonce]).returning(
                oauth_states.c.nonce
            )
        )
        return done.first() is not None


class SqlTokenStore:
    """A :class:`~sallakit.auth.TokenStore` on SQLite or PostgreSQL.

    Args:
        engine: an engine from :func:`sallakit.db.create_engine`, or a database URL.
    """

    def __init__(self, engine: Engine | str) -> None:
        self._engine = create_engine(engine) if isinstance(engine, str) else engine
        self._tables_seen = False

    def __repr__(self) -> str:
        return f"SqlTokenStore({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for the application's own use; the vault never needs it)."""
        return self._engine

    @contextmanager
    def write(self, lock_timeout: float | None = None) -> Iterator[TokenStoreTransaction]:
        try:
            with sql_write_transaction(self._engine, lock_timeout=lock_timeout) as conn:
                yield _SqlTransaction(conn, self._engine)
        except SallaError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(exc) from exc

    @contextmanager
    def read(self) -> Iterator[TokenStoreTransaction]:
        try:
            with read_transaction(self._engine) as conn:
                empty = False
                if not self._tables_seen:
                    # A database nothing was ever connected to: reads find nothing rather than
                    # fail, and a read-only command never creates tables (that needs a write).
                    empty = not sa.inspect(conn).has_table(stores.name)
                    self._tables_seen = not empty
                yield _SqlTransaction(conn, self._engine, empty=empty)
        except SallaError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(exc) from exc

    def ensure_schema(self) -> None:
        create_schema(self._engine)
        self._tables_seen = True

    def close(self) -> None:
        self._engine.dispose()
