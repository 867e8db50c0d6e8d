"""Engine creation: one code path for SQLite (the default) and PostgreSQL.

SQLite runs in WAL mode (readers never block the writer) with a generous busy timeout, and
pysqlite's own implicit transaction handling is switched off so that sallakit decides how each
transaction begins: :func:`write_transaction` starts with ``BEGIN IMMEDIATE``, which takes the
write lock up front. A deferred transaction that reads and later writes can fail with
``SQLITE_BUSY`` without waiting, because SQLite cannot upgrade two readers to writers; taking the
lock first makes writers queue on the busy timeout instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from sallakit._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "create_engine",
    "is_sqlite",
    "read_transaction",
    "write_transaction",
]

#: Seconds a SQLite writer waits for the lock before giving up. Token refreshes keep their write
#: transactions to a few milliseconds, but a busy webhook receiver shares the same file.
DEFAULT_BUSY_TIMEOUT = 60.0

IMMEDIATE_OPTION = "sallakit_immediate"
_IMMEDIATE = IMMEDIATE_OPTION
#: Vault transactions on PostgreSQL run at this level whatever the engine's default: the lease
#: protocol re-reads a row after locking it and must see the latest committed version.
POSTGRES_ISOLATION = "READ COMMITTED"


def _normalise_url(url: str) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() in ("", "psycopg2", "psycopg"):
        # Plain postgresql:// means psycopg 3 here, the driver sallakit ships with.
        return parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"unsupported database backend {backend!r}")
    return parsed


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def create_engine(
    url: str,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    echo: bool = False,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float | None = None,
    pool_recycle: int | None = None,
) -> Engine:
    """Create an engine for ``url`` configured the way sallakit needs it.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql://user@host:5432/db`` (psycopg 3).
        busy_timeout: seconds a SQLite writer waits for another writer.
        echo: log every SQL statement (never enable where logs are shipped: no statement
            carries a clear token, but it is noisy).
        pool_size: PostgreSQL: connections the pool keeps open (None: SQLAlchemy's 5).
        max_overflow: PostgreSQL: connections opened beyond ``pool_size`` under load.
        pool_timeout: PostgreSQL: seconds to wait for a free connection.
        pool_recycle: PostgreSQL: seconds after which a connection is replaced (-1: never).
            The pool options are ignored on SQLite, whose connections are cheap file handles.

    Returns:
        A SQLAlchemy engine.

    Raises:
        ConfigurationError: the URL is malformed or names an unsupported backend.
    """
    parsed = _normalise_url(url)
    # hide_parameters: statement parameters (sealed tokens, merchant data) never appear in
    # SQLAlchemy's error text.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ConfigurationError(
                "an in-memory SQLite database cannot be shared between connections; use a file path"
            )
        # Connections move between threads when async code runs them with to_thread.
        kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        pool = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
            "pool_recycle": pool_recycle,
        }
        kwargs.update({name: value for name, value in pool.items() if value is not None})
    engine = sa.create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine, busy_timeout)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (the "begin" hook below) emit BEGIN instead of pysqlite.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            # NORMAL is durable in WAL mode across process crashes (only an OS crash or power
            # loss may roll back the last commits), which is the failure model of a refresh.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine, *, lock_timeout: float | None = None) -> Iterator[Connection]:
    """A transaction that will write: ``BEGIN IMMEDIATE`` on SQLite, plain ``BEGIN`` elsewhere.

    Row locks on PostgreSQL are taken by the statements (``SELECT ... FOR UPDATE``), and the
    transaction is pinned to READ COMMITTED even when the engine (or the database's
    ``default_transaction_isolation``) says otherwise: under REPEATABLE READ a worker that
    waited for a row lock would keep reading its older snapshot of other rows.
    Commits on success, rolls back on error.

    ``lock_timeout`` (seconds) bounds how long this transaction waits for a lock: SQLite's
    busy timeout for this connection (restored afterwards), PostgreSQL's ``SET LOCAL
    lock_timeout``.
    """
    with engine.connect() as conn:
        saved: int | None = None
        if is_sqlite(engine):
            conn.execution_options(**{_IMMEDIATE: True})
            if lock_timeout is not None:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                try:
                    saved = int(cursor.execute("PRAGMA busy_timeout").fetchone()[0])
                    cursor.execute(f"PRAGMA busy_timeout={_millis(lock_timeout)}")
                finally:
                    cursor.close()
        else:
            conn.execution_options(isolation_level=POSTGRES_ISOLATION)
        try:
            with conn.begin():
                if lock_timeout is not None and not is_sqlite(engine):
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {_millis(lock_timeout)}")
                yield conn
        finally:
            if saved is not None:
                raw = conn.connection.dbapi_connection
                if raw is not None:
                    cursor = raw.cursor()
                    try:
                        cursor.execute(f"PRAGMA busy_timeout={saved}")
                    finally:
                        cursor.close()


def _millis(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (never takes SQLite's write lock; READ COMMITTED on PostgreSQL)."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level=POSTGRES_ISOLATION)
        with conn.begin():
            yield conn
