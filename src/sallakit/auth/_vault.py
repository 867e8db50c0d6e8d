"""The token vault: per-store tokens encrypted at rest in the project database.

All database access is synchronous SQLAlchemy Core in short transactions; the async coordinator
runs each of them in a worker thread, so one code path serves both SQLite and PostgreSQL, sync
and async callers. Every SQLAlchemy and cryptography error is translated into
:class:`TokenVaultError` (or a subclass) here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from sallakit._exceptions import (
    ConfigurationError,
    RefreshInterruptedError,
    ReinstallRequiredError,
    SallaError,
    StoreNotFoundError,
    TokenVaultError,
)
from sallakit.auth._crypto import TokenCipher
from sallakit.auth._oauth import DEFAULT_OAUTH_TIMEOUT
from sallakit.auth._refresh import (
    DEFAULT_COMMIT_BUDGET,
    DEFAULT_LEASE_TIMEOUT,
    INTERRUPTED_MESSAGE,
    Action,
    Lease,
    Snapshot,
    StoreStatus,
    decide,
    lease_is_dead,
)
from sallakit.auth._tokens import DEFAULT_EXPIRY, TokenSet, parse_scopes
from sallakit.db import (
    create_engine,
    create_schema,
    is_sqlite,
    read_transaction,
    write_transaction,
)
from sallakit.db._schema import app_events, oauth_states, refresh_journal, store_history, stores

if TYPE_CHECKING:
    from sallakit.api import AsyncSalla, Salla
    from sallakit.auth._coordinator import AsyncStoreTokenProvider, StoreTokenProvider
    from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient

__all__ = ["DEFAULT_REFRESH_MARGIN", "InterruptedRefresh", "StoredStore", "TokenVault"]

logger = logging.getLogger(__name__)

#: Refresh one day before the access token expires, as Salla's own guidance suggests.
DEFAULT_REFRESH_MARGIN = 86_400.0

#: How many hashes of retired refresh tokens are kept per store.
_RETIRED_KEEP = 64

REINSTALL_MESSAGE = (
    "Salla answered invalid_grant for store {store_id}: the grant is revoked (the refresh token "
    "was already used, or the merchant removed the app). The merchant must reinstall the app; "
    "its app.store.authorize event (Easy mode) or a new `sallakit connect` (Custom mode) "
    "reactivates the store."
)


@dataclass(frozen=True, slots=True)
class StoredStore:
    """What the vault knows about a store. Never carries a token."""

    store_id: int
    status: StoreStatus
    status_detail: str | None
    expires_at: float | None
    scopes: tuple[str, ...]
    merchant: dict[str, Any] | None
    user: dict[str, Any] | None
    app: dict[str, Any] | None
    generation: int
    connected_via: str | None
    has_tokens: bool
    created_at: float
    updated_at: float
    refreshed_at: float | None
    uninstalled_at: float | None

    @property
    def name(self) -> str | None:
        """The store's name from the merchant info, when known."""
        value = (self.merchant or {}).get("name")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class InterruptedRefresh:
    """A refresh found abandoned: its outcome at Salla is unknown."""

    store_id: int
    journal_id: int
    generation: int
    started_at: float
    pid: int
    host: str
    message: str


@dataclass(frozen=True, slots=True)
class _Begin:
    """The outcome of the first locked transaction of a refresh (its repr shows no token)."""

    action: Action
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    journal_id: int | None = None
    lease_id: str | None = None
    generation: int = 0
    status: StoreStatus = StoreStatus.ACTIVE
    detail: str | None = None


class _LeaseLost(Exception):
    """The compare-and-set that takes the lease matched no row (rolled back; wait and retry)."""


@dataclass(frozen=True, slots=True)
class _Proc:
    """This process's identity in leases: a random owner id, plus pid and node for operators.

    ``node`` is ``boot id | PID namespace | start ticks``: a pid is only checked for liveness
    when the lease was written by a process of the same PID namespace on the same boot.
    """

    pid: int
    owner: str
    node: str


_proc_guard = threading.Lock()
_proc_state: list[_Proc] = []
_inflight_ids: set[str] = set()


def _read_first_line(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.readline().strip() or "?"
    except OSError:
        return "?"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "?"


def _process() -> _Proc:
    """This process's identity, renewed after a fork (read per lease, never cached across it)."""
    pid = os.getpid()
    with _proc_guard:
        if not _proc_state or _proc_state[0].pid != pid:
            node = "|".join(
                (
                    _read_first_line("/proc/sys/kernel/random/boot_id"),
                    _pid_namespace(),
                    _process_start_ticks(pid),
                )
            )
            _proc_state[:] = [_Proc(pid=pid, owner=uuid.uuid4().hex, node=node[:160])]
            _inflight_ids.clear()  # a forked child runs none of its parent's refreshes
        return _proc_state[0]


def _track(lease_id: str, running: bool) -> None:
    _process()
    with _proc_guard:
        if running:
            _inflight_ids.add(lease_id)
        else:
            _inflight_ids.discard(lease_id)


def _inflight(lease_id: str) -> bool:
    _process()
    with _proc_guard:
        return lease_id in _inflight_ids


def _proc_stat(pid: int) -> list[str] | None:
    # Fields of /proc/<pid>/stat after the command name (Linux); None where unavailable.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start_ticks(pid: int) -> str:
    # The start time of a process, so that a pid reused after a crash, e.g. pid 1 in a restarted
    # container, is not mistaken for the process that opened a lease.
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else "?"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    fields = _proc_stat(pid)
    # A zombie has exited; only its parent has not collected it yet.
    return not (fields and fields[0] in ("Z", "X"))


def _db_error(exc: sa.exc.SQLAlchemyError) -> str:
    """The error text for a database failure: its class only. A driver's message or the
    statement's parameters can carry sealed tokens and merchant data (the chained exception
    keeps the details for a debugger)."""
    orig = getattr(exc, "orig", None)
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"token vault database error ({name})"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


class TokenVault:
    """Per-store Salla tokens, encrypted at rest, with a refresh coordinator.

    Args:
        engine: a SQLAlchemy engine from :func:`sallakit.db.create_engine`.
        keys: Fernet keys, newest first (or a ready :class:`TokenCipher`).
        oauth: the blocking OAuth client used by sync token providers to refresh.
        async_oauth: the async OAuth client used by async token providers to refresh.
        refresh_margin: refresh this many seconds before the access token expires.
        lease_timeout: after this many seconds (database clock) an unfinished refresh is
            considered abandoned; must exceed the OAuth deadline plus ``commit_budget``.
        commit_budget: seconds to keep retrying the commit of tokens Salla already issued.
        lease_wait: the longest a caller waits for another process's refresh of the same store
            before giving up with :class:`TokenVaultError` ("refresh in progress elsewhere");
            by default the OAuth deadline plus ``commit_budget`` plus 10 s, the time a live
            owner needs at most. A lease left by a failed commit or a dead owner stays until
            ``lease_timeout``; callers stop waiting for it long before.
        clock: the current time in epoch seconds, for token expiry (injectable for tests);
            lease ages always use the database's clock.
        create_tables: create the tables on construction (idempotent).
    """

    def __init__(
        self,
        engine: Engine,
        keys: Sequence[str | bytes] | TokenCipher,
        *,
        oauth: OAuthClient | None = None,
        async_oauth: AsyncOAuthClient | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        lease_timeout: float = DEFAULT_LEASE_TIMEOUT,
        commit_budget: float = DEFAULT_COMMIT_BUDGET,
        lease_wait: float | None = None,
        clock: Callable[[], float] = time.time,
        create_tables: bool = True,
    ) -> None:
        if refresh_margin < 0:
            raise ConfigurationError("refresh_margin must be >= 0")
        if commit_budget < 0:
            raise ConfigurationError("commit_budget must be >= 0")
        deadlines = [c.timeout for c in (oauth, async_oauth) if c is not None]
        slowest = max(deadlines, default=DEFAULT_OAUTH_TIMEOUT)
        if lease_timeout <= slowest + commit_budget:
            logger.warning(
                "lease_timeout (%g s) should exceed the OAuth deadline (%g s) plus commit_budget "
                "(%g s) by a wide margin, or a live refresh could be declared abandoned",
                lease_timeout,
                slowest,
                commit_budget,
                extra={"action": "vault_lease_timeout_short"},
            )
        self._engine = engine
        self._cipher = keys if isinstance(keys, TokenCipher) else TokenCipher(keys)
        self.oauth = oauth
        self.async_oauth = async_oauth
        self.refresh_margin = refresh_margin
        self.lease_timeout = lease_timeout
        self.commit_budget = commit_budget
        self.lease_wait = slowest + commit_budget + 10.0 if lease_wait is None else lease_wait
        if self.lease_wait < 0:
            raise ConfigurationError("lease_wait must be >= 0")
        self._clock = clock
        self._host = socket.gethostname()[:255]
        # In-process serialisation, so that tasks and threads of one process queue here rather
        # than all contending for the database lock. Keyed by store (and event loop for tasks);
        # created on demand.
        self._locks_guard = threading.Lock()
        self._thread_locks: dict[int, threading.Lock] = {}
        self._task_locks: weakref.WeakKeyDictionary[Any, dict[int, anyio.Lock]] = (
            weakref.WeakKeyDictionary()
        )
        self._strong_task_locks: dict[int, dict[int, anyio.Lock]] = {}
        if create_tables:
            create_schema(engine)

    @classmethod
    def from_url(cls, url: str, keys: Sequence[str | bytes], **kwargs: Any) -> TokenVault:
        """A vault on the database at ``url`` (see :func:`sallakit.db.create_engine`)."""
        return cls(create_engine(url), keys, **kwargs)

    def __repr__(self) -> str:
        return f"TokenVault({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        """The database engine."""
        return self._engine

    def now(self) -> float:
        """The vault's clock."""
        return self._clock()

    # ------------------------------------------------------------------------ transactions

    @contextmanager
    def _write(self, lock_timeout: float | None = None) -> Iterator[Connection]:
        try:
            with write_transaction(self._engine, lock_timeout=lock_timeout) as conn:
                yield conn
        except SallaError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise TokenVaultError(_db_error(exc)) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with read_transaction(self._engine) as conn:
                yield conn
        except SallaError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise TokenVaultError(_db_error(exc)) from exc

    def _select_store(self, conn: Connection, store_id: int, *, lock: bool) -> Any:
        query = sa.select(stores).where(stores.c.store_id == store_id)
        if lock and not is_sqlite(self._engine):
            # SQLite already holds the database write lock (BEGIN IMMEDIATE).
            query = query.with_for_update()
        return conn.execute(query).mappings().first()

    def _to_record(self, row: Any) -> StoredStore:
        return StoredStore(
            store_id=int(row["store_id"]),
            status=StoreStatus(row["status"]),
            status_detail=row["status_detail"],
            expires_at=row["expires_at"],
            scopes=parse_scopes(row["scopes"]),
            merchant=row["merchant"],
            user=row["user_info"],
            app=row["app"],
            generation=int(row["generation"]),
            connected_via=row["connected_via"],
            has_tokens=row["access_token"] is not None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            refreshed_at=row["refreshed_at"],
            uninstalled_at=row["uninstalled_at"],
        )

    # ---------------------------------------------------------------------------- reading

    def get(self, store_id: int) -> StoredStore:
        """The store's record (no tokens).

        Raises:
            StoreNotFoundError: the vault has no row for this store.
        """
        with self._read() as conn:
            row = self._select_store(conn, store_id, lock=False)
        if row is None:
            raise StoreNotFoundError(f"no store {store_id} in the token vault")
        return self._to_record(row)

    def list_stores(self) -> list[StoredStore]:
        """Every store in the vault, by id."""
        with self._read() as conn:
            rows = conn.execute(sa.select(stores).order_by(stores.c.store_id)).mappings().all()
        return [self._to_record(r) for r in rows]

    def tokens(self, store_id: int) -> TokenSet:
        """The store's current tokens, decrypted, as stored (no refresh).

        Raises:
            StoreNotFoundError: unknown store, or its tokens were erased (uninstalled).
            TokenDecryptionError: no configured key opens them, or they belong to another store.
        """
        with self._read() as conn:
            row = self._select_store(conn, store_id, lock=False)
        if row is None or row["access_token"] is None:
            raise StoreNotFoundError(f"no tokens for store {store_id} in the token vault")
        refresh = row["refresh_token"]
        return TokenSet(
            access_token=self._cipher.open(store_id, "access", row["access_token"]),
            refresh_token=self._cipher.open(store_id, "refresh", refresh) if refresh else None,
            expires_at=row["expires_at"],
            scopes=parse_scopes(row["scopes"]),
        )

    # ---------------------------------------------------------------------------- writing

    def save_tokens(
        self,
        store_id: int,
        tokens: TokenSet,
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
        connected_via: str | None = None,
    ) -> StoredStore:
        """Store a new token pair for a store (insert or replace), bumping its generation.

        Used by both connection modes; the store becomes ``active`` whatever it was before.
        """
        with self._write() as conn:
            self.save_tokens_in(
                conn, store_id, tokens, merchant=merchant, user=user, connected_via=connected_via
            )
            row = self._select_store(conn, store_id, lock=False)
        logger.info(
            "stored tokens for store %s",
            store_id,
            extra={"action": "vault_save_tokens", "store_id": store_id},
        )
        return self._to_record(row)

    def _upsert(
        self, conn: Connection, store_id: int, values: dict[str, Any], *, bump: bool, now: float
    ) -> None:
        # INSERT ... ON CONFLICT DO NOTHING, then lock: two workers seeing a new store at once
        # (app.installed and app.store.authorize back to back) both succeed, one after the other.
        self._insert_if_absent(conn, store_id, now)
        self._select_store(conn, store_id, lock=True)
        update = dict(values)
        if bump:
            update["generation"] = stores.c.generation + 1
        conn.execute(stores.update().where(stores.c.store_id == store_id).values(**update))

    def _insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table) if is_sqlite(self._engine) else postgresql_insert(table)

    def _insert_if_absent(self, conn: Connection, store_id: int, now: float) -> bool:
        """Create a ``pending`` row for a new store; ``True`` when this call created it.

        A store purged before starts at its old generation high-water mark (kept in the
        tombstone), so a generation number is never reused for a store id.
        """
        floor = conn.execute(
            sa.select(store_history.c.generation).where(store_history.c.store_id == store_id)
        ).scalar_one_or_none()
        insert = self._insert(stores).values(
            store_id=store_id,
            generation=int(floor or 0),
            status=StoreStatus.PENDING.value,
            scopes="",
            created_at=now,
            updated_at=now,
        )
        done = conn.execute(insert.on_conflict_do_nothing(index_elements=[stores.c.store_id]))
        return bool(done.rowcount == 1)

    def _history(self, conn: Connection, store_id: int) -> Any:
        """The store's tombstone row, created if absent and locked (after the store row)."""
        insert = self._insert(store_history).values(
            store_id=store_id, generation=0, retired_refresh=""
        )
        conn.execute(insert.on_conflict_do_nothing(index_elements=[store_history.c.store_id]))
        query = sa.select(store_history).where(store_history.c.store_id == store_id)
        if not is_sqlite(self._engine):
            query = query.with_for_update()
        return conn.execute(query).mappings().one()

    def _replaced_refresh(self, conn: Connection, store_id: int, new: str | None) -> str | None:
        """The stored refresh token that ``new`` replaces (it is retired), if readable."""
        row = self._select_store(conn, store_id, lock=True)
        if row is None or row["refresh_token"] is None:
            return None
        try:
            old = self._cipher.open(store_id, "refresh", row["refresh_token"])
        except SallaError:
            return None  # sealed under a key no longer configured: nothing to compare
        return None if old == new else old

    @staticmethod
    def _token_hash(store_id: int, token: str) -> str:
        return hashlib.sha256(f"{store_id}:{token}".encode()).hexdigest()[:32]

    def _retire(self, conn: Connection, store_id: int, refresh_token: str | None) -> None:
        """Remember a refresh token that was sent to Salla: it must never be stored again."""
        if not refresh_token:
            return
        hashes = self._history(conn, store_id)["retired_refresh"].split()
        digest = self._token_hash(store_id, refresh_token)
        if digest in hashes:
            return
        hashes.append(digest)
        conn.execute(
            store_history.update()
            .where(store_history.c.store_id == store_id)
            .values(retired_refresh=" ".join(hashes[-_RETIRED_KEEP:]))
        )

    def record_install(self, store_id: int, app: Mapping[str, Any]) -> StoredStore:
        """Remember an ``app.installed`` / ``app.updated`` event's app details.

        A store seen for the first time stays ``pending`` until its tokens arrive.
        """
        with self._write() as conn:
            self.record_install_in(conn, store_id, app)
            row = self._select_store(conn, store_id, lock=False)
        return self._to_record(row)

    def uninstall(self, store_id: int, *, purge: bool = False, detail: str | None = None) -> None:
        """Revoke a store locally: erase its tokens, and with ``purge`` every row about it.

        Idempotent: an unknown store is not an error (uninstall events are redelivered).
        """
        with self._write() as conn:
            self.uninstall_in(conn, store_id, purge=purge, detail=detail)

    def uninstall_in(
        self,
        conn: Connection,
        store_id: int,
        *,
        purge: bool = False,
        detail: str | None = None,
        created_at: float | None = None,
    ) -> bool:
        """Like :meth:`uninstall` inside a caller's transaction (see :meth:`apply_app_event`).

        With ``created_at`` (an ``app.uninstalled`` event's time), an uninstall older than the
        newest applied ``app.store.authorize`` is ignored (a late retry or a replay after a
        reinstall) and ``False`` is returned.
        """
        now = self._clock()
        row = self._select_store(conn, store_id, lock=True)
        if created_at is not None:
            newest = row["authorize_created_at"] if row is not None else None
            if newest is not None and created_at < newest:
                logger.warning(
                    "ignored an app.uninstalled for store %s older than its latest authorize",
                    store_id,
                    extra={"action": "easy_mode_stale_uninstall", "store_id": store_id},
                )
                return False
        # The tombstone survives a purge: the uninstall event's time (an older authorize
        # delivered late must not revive the store) and the generation high-water mark.
        history = self._history(conn, store_id)
        tomb: dict[str, Any] = {}
        if created_at is not None and (
            history["uninstall_event_at"] is None or created_at > history["uninstall_event_at"]
        ):
            tomb["uninstall_event_at"] = created_at
        if row is not None:
            tomb["generation"] = max(int(history["generation"]), int(row["generation"]) + 1)
        if tomb:
            conn.execute(
                store_history.update().where(store_history.c.store_id == store_id).values(**tomb)
            )
        if purge:
            # The app events' digests stay (part of the tombstone): a redelivery stays a no-op.
            conn.execute(refresh_journal.delete().where(refresh_journal.c.store_id == store_id))
            conn.execute(stores.delete().where(stores.c.store_id == store_id))
        else:
            conn.execute(
                stores.update()
                .where(stores.c.store_id == store_id)
                .values(
                    status=StoreStatus.UNINSTALLED.value,
                    status_detail=detail or "the app was uninstalled",
                    access_token=None,
                    refresh_token=None,
                    updated_at=now,
                    uninstalled_at=now,
                    generation=stores.c.generation + 1,
                    **self._LEASE_CLEARED,
                )
            )
            conn.execute(
                refresh_journal.update()
                .where(refresh_journal.c.store_id == store_id)
                .where(refresh_journal.c.state == "started")
                .values(state="superseded", finished_at=now)
            )
        logger.info(
            "store %s revoked locally (%s)",
            store_id,
            "purged" if purge else "kept",
            extra={"action": "vault_uninstall", "store_id": store_id, "purge": purge},
        )
        return True

    def record_install_in(self, conn: Connection, store_id: int, app: Mapping[str, Any]) -> None:
        """Like :meth:`record_install` inside a caller's transaction."""
        now = self._clock()
        self._upsert(conn, store_id, {"app": dict(app), "updated_at": now}, bump=False, now=now)

    def mark_reinstall_required(self, store_id: int, detail: str | None = None) -> None:
        """Flag a store whose grant is gone; its tokens are kept only for forensics."""
        with self._write() as conn:
            self._set_status(
                conn,
                store_id,
                StoreStatus.REINSTALL_REQUIRED,
                detail or REINSTALL_MESSAGE.format(store_id=store_id),
            )

    def _set_status(
        self, conn: Connection, store_id: int, status: StoreStatus, detail: str | None
    ) -> None:
        conn.execute(
            stores.update()
            .where(stores.c.store_id == store_id)
            .values(status=status.value, status_detail=detail, updated_at=self._clock())
        )

    def apply_app_event(
        self,
        digest: str | None,
        store_id: int,
        event: str,
        apply: Callable[[Connection], bool | None],
    ) -> bool:
        """Run ``apply`` in one write transaction and, with a ``digest``, record it there too.

        With a digest the event is applied at most once: a redelivered ``app.store.authorize``
        must never put back tokens that a refresh has since consumed, nor a redelivered
        ``app.uninstalled`` erase the tokens of a later reinstall. ``apply`` returns ``False``
        when it ignored the event as out of date (the digest is recorded all the same).

        Returns:
            ``False`` when the digest was recorded before or ``apply`` ignored the event.
        """
        with self._write() as conn:
            if digest is not None:
                seen = conn.execute(
                    sa.select(app_events.c.digest).where(app_events.c.digest == digest)
                ).first()
                if seen is not None:
                    return False
            applied = apply(conn) is not False
            if digest is not None:
                conn.execute(
                    app_events.insert().values(
                        digest=digest, store_id=store_id, event=event, received_at=self._clock()
                    )
                )
        return applied

    def save_tokens_in(
        self,
        conn: Connection,
        store_id: int,
        tokens: TokenSet,
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
        connected_via: str | None = None,
    ) -> None:
        """Like :meth:`save_tokens` inside a caller's transaction (see :meth:`apply_app_event`)."""
        now = self._clock()
        replaced = self._replaced_refresh(conn, store_id, tokens.refresh_token)
        values: dict[str, Any] = {
            "status": StoreStatus.ACTIVE.value,
            "status_detail": None,
            "access_token": self._cipher.seal(store_id, "access", tokens.access_token),
            "refresh_token": (
                self._cipher.seal(store_id, "refresh", tokens.refresh_token)
                if tokens.refresh_token
                else None
            ),
            "expires_at": tokens.expires_at,
            "scopes": " ".join(tokens.scopes),
            "updated_at": now,
            "uninstalled_at": None,
            # New tokens end any refresh in flight for the old pair: its lease is moot, and its
            # worker finds a newer generation when it comes back.
            **self._LEASE_CLEARED,
        }
        if merchant is not None:
            values["merchant"] = dict(merchant)
        if user is not None:
            values["user_info"] = dict(user)
        if connected_via is not None:
            values["connected_via"] = connected_via
        self._upsert(conn, store_id, values, bump=True, now=now)
        if replaced is not None:
            self._retire(conn, store_id, replaced)
        conn.execute(
            refresh_journal.update()
            .where(refresh_journal.c.store_id == store_id)
            .where(refresh_journal.c.state == "started")
            .values(state="superseded", finished_at=now)
        )

    def save_authorize_in(
        self,
        conn: Connection,
        store_id: int,
        tokens: TokenSet,
        *,
        created_at: float | None,
        expires: float | None,
    ) -> bool:
        """Apply an ``app.store.authorize`` unless an equal or newer one was applied before.

        Deliveries are ordered by the event's ``created_at``, then by ``data.expires``; an older
        one (a retry of a failed delivery arriving after the app was updated) would put back
        revoked tokens, so it is ignored and ``False`` returned.
        """
        # Insert-if-absent first, so that the lock below exists to wait on even for a new store
        # (two deliveries for a store with no row yet are then ordered, not both applied).
        inserted = self._insert_if_absent(conn, store_id, self._clock())
        row = self._select_store(conn, store_id, lock=True)
        history = self._history(conn, store_id)
        old_at, old_exp = row["authorize_created_at"], row["authorize_expires"]
        stale: str | None = None
        if created_at is not None and old_at is not None and created_at != old_at:
            if created_at < old_at:
                stale = "older than the one applied"
        elif expires is not None and old_exp is not None and expires < old_exp:
            stale = "older than the one applied"
        # An equal ordering key is no proof of age; the retired-token check below is: an
        # authorize whose refresh token was used or replaced is never applied.
        gone = history["uninstall_event_at"]
        if stale is None and created_at is not None and gone is not None and created_at < gone:
            stale = "created before the app was uninstalled"
        if (
            stale is None
            and tokens.refresh_token
            and self._token_hash(store_id, tokens.refresh_token)
            in history["retired_refresh"].split()
        ):
            stale = "carrying a refresh token already used"
        if stale is not None:
            if inserted:
                conn.execute(stores.delete().where(stores.c.store_id == store_id))
            logger.warning(
                "ignored an app.store.authorize for store %s %s",
                store_id,
                stale,
                extra={"action": "easy_mode_stale_authorize", "store_id": store_id},
            )
            return False
        self.save_tokens_in(conn, store_id, tokens, connected_via="easy")
        order = {"authorize_created_at": created_at, "authorize_expires": expires}
        order = {k: v for k, v in order.items() if v is not None}
        if order:
            conn.execute(stores.update().where(stores.c.store_id == store_id).values(**order))
        return True

    def update_profile(
        self,
        store_id: int,
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
    ) -> None:
        """Update the merchant / user info shown by ``sallakit stores``."""
        values: dict[str, Any] = {"updated_at": self._clock()}
        if merchant is not None:
            values["merchant"] = dict(merchant)
        if user is not None:
            values["user_info"] = dict(user)
        with self._write() as conn:
            conn.execute(stores.update().where(stores.c.store_id == store_id).values(**values))

    # ---------------------------------------------------------------------- OAuth state

    def consume_state_nonce(self, nonce: str, expires_at: float) -> bool:
        """Record an OAuth state nonce as used; ``False`` if it was used before."""
        now = self._clock()
        try:
            with self._write() as conn:
                # Forget long-expired nonces: an expired state fails its signature check anyway.
                conn.execute(oauth_states.delete().where(oauth_states.c.expires_at < now - 86_400))
                if conn.execute(
                    sa.select(oauth_states.c.nonce).where(oauth_states.c.nonce == nonce)
                ).first():
                    return False
                conn.execute(
                    oauth_states.insert().values(nonce=nonce, used_at=now, expires_at=expires_at)
                )
        except TokenVaultError as exc:
            if isinstance(exc.__cause__, sa.exc.IntegrityError):
                return False  # a concurrent callback with the same state won the race
            raise
        return True

    # ---------------------------------------------------------------------- key rotation

    def rotate_keys(self) -> int:
        """Re-encrypt every stored token under the newest key.

        Runs in one transaction, so it is atomic and serialised with refreshes.

        Returns:
            The number of stores whose tokens were re-encrypted.

        Raises:
            TokenDecryptionError: a row no configured key opens (nothing is changed).
        """
        changed = 0
        with self._write() as conn:
            query = sa.select(stores.c.store_id, stores.c.access_token, stores.c.refresh_token)
            if not is_sqlite(self._engine):
                query = query.with_for_update()
            for row in conn.execute(query).mappings().all():
                sid = int(row["store_id"])
                values: dict[str, Any] = {}
                for kind, column in (("access", "access_token"), ("refresh", "refresh_token")):
                    sealed = row[column]
                    if sealed is not None and self._cipher.needs_rotation(sealed):
                        values[column] = self._cipher.rotate(sid, kind, sealed)  # type: ignore[arg-type]
                if values:
                    conn.execute(stores.update().where(stores.c.store_id == sid).values(**values))
                    changed += 1
        logger.info(
            "re-encrypted the tokens of %d stores", changed, extra={"action": "vault_rotate_keys"}
        )
        return changed

    # --------------------------------------------------------------- interrupted refreshes

    def _db_now(self) -> sa.ColumnElement[float]:
        """The database's clock as epoch seconds, evaluated in SQL (never this host's clock)."""
        if is_sqlite(self._engine):
            return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Double)
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Double)

    def _select_locked(self, conn: Connection, store_id: int) -> Any:
        """The store row, locked, with the database clock as ``db_now``."""
        query = sa.select(stores, self._db_now().label("db_now")).where(
            stores.c.store_id == store_id
        )
        if not is_sqlite(self._engine):
            query = query.with_for_update(of=stores)
        return conn.execute(query).mappings().first()

    @staticmethod
    def _lease_of(row: Any) -> Lease | None:
        if row["lease_id"] is None:
            return None
        started = float(row["lease_started_at"] or 0.0)
        return Lease(
            lease_id=str(row["lease_id"]),
            owner=str(row["lease_owner"] or ""),
            journal_id=int(row["lease_journal_id"] or 0),
            started_at=started,
            age=float(row["db_now"]) - started,
            pid=int(row["lease_pid"] or 0),
            host=str(row["lease_host"] or "?"),
            node=str(row["lease_node"] or ""),
        )

    def _owner_alive(self, lease: Lease) -> bool | None:
        """Whether the lease's owner still runs, when that can be known for certain."""
        if lease.owner == _process().owner:
            # Ours: alive exactly while this process is in the middle of that refresh.
            return _inflight(lease.lease_id)
        mine = _process().node.split("|")
        theirs = lease.node.split("|")
        same_namespace = (
            len(theirs) == 3 and "?" not in mine[:2] and "?" not in theirs[:2]
        ) and mine[:2] == theirs[:2]
        if not same_namespace:
            # Another machine, container or boot: a pid means nothing here; only age tells.
            return None
        if not _pid_alive(lease.pid):
            return False
        ticks = _process_start_ticks(lease.pid)
        if ticks == "?" or theirs[2] == "?":
            # /proc/<pid>/stat unreadable (hidepid, another user): the pid may be the owner.
            return None
        return ticks == theirs[2]

    def _lease_dead(self, lease: Lease) -> bool:
        return lease_is_dead(
            lease, owner_alive=self._owner_alive(lease), lease_timeout=self.lease_timeout
        )

    def _interrupted_message(self, store_id: int, lease: Lease, why: str) -> str:
        return INTERRUPTED_MESSAGE.format(
            store_id=store_id,
            started_at=_iso(lease.started_at),
            pid=lease.pid,
            host=lease.host,
            why=why,
        )

    def _why(self, lease: Lease) -> str:
        if lease.owner == _process().owner:
            return "this process could not store the answer"
        if lease.age > self.lease_timeout:
            return f"the lease is older than the lease timeout ({self.lease_timeout:g} s)"
        return "its process is gone"

    def _mark_interrupted(self, conn: Connection, store_id: int, lease: Lease) -> str:
        # The lease stays on the row: its age is what lets the operator's retry wait until a
        # possibly live owner can no longer be in flight.
        message = self._interrupted_message(store_id, lease, self._why(lease))
        now = self._clock()
        conn.execute(
            refresh_journal.update()
            .where(refresh_journal.c.id == lease.journal_id)
            .where(refresh_journal.c.state == "started")
            .values(state="interrupted", finished_at=now, detail="owner gone before commit")
        )
        conn.execute(
            stores.update()
            .where(stores.c.store_id == store_id)
            .where(stores.c.lease_id == lease.lease_id)
            .where(stores.c.status == StoreStatus.ACTIVE.value)
            .values(
                status=StoreStatus.REFRESH_INTERRUPTED.value, status_detail=message, updated_at=now
            )
        )
        logger.error(
            message,
            extra={"action": "refresh_interrupted", "store_id": store_id, "pid": lease.pid},
        )
        return message

    def _interrupted_item(self, store_id: int, generation: int, lease: Lease, message: str) -> Any:
        return InterruptedRefresh(
            store_id=store_id,
            journal_id=lease.journal_id,
            generation=generation,
            started_at=lease.started_at,
            pid=lease.pid,
            host=lease.host,
            message=message,
        )

    def _leased_rows(self, conn: Connection, *, lock: bool) -> list[Any]:
        query = sa.select(stores, self._db_now().label("db_now")).where(
            stores.c.lease_id.is_not(None)
        )
        if lock and not is_sqlite(self._engine):
            query = query.with_for_update(of=stores)
        return list(conn.execute(query.order_by(stores.c.store_id)).mappings().all())

    def find_interrupted(self) -> list[InterruptedRefresh]:
        """Refreshes that look abandoned, and stores already ``refresh_interrupted``: read-only.

        Nothing is marked (``sallakit stores list`` / ``show`` use this); see
        :meth:`recover_interrupted` for the marking variant.
        """
        found: list[InterruptedRefresh] = []
        with self._read() as conn:
            for row in self._leased_rows(conn, lock=False):
                lease = self._lease_of(row)
                assert lease is not None
                sid = int(row["store_id"])
                if row["status"] == StoreStatus.REFRESH_INTERRUPTED.value:
                    message = str(row["status_detail"] or "")
                elif self._lease_dead(lease):
                    message = self._interrupted_message(sid, lease, self._why(lease))
                else:
                    continue
                found.append(self._interrupted_item(sid, int(row["generation"]), lease, message))
        return found

    def recover_interrupted(self) -> list[InterruptedRefresh]:
        """Find refreshes abandoned by a dead process; mark their stores and report them.

        A refresh whose worker died between sending the refresh token and committing the answer
        leaves the store in an unknown state; the store becomes ``refresh_interrupted`` and
        each returned item's ``message`` tells the operator what to do. A lease counts as
        abandoned when it is older than ``lease_timeout`` by the database's clock, or when its
        owner is provably gone (this process, or a process of the same PID namespace and boot).
        """
        found: list[InterruptedRefresh] = []
        with self._write() as conn:
            for row in self._leased_rows(conn, lock=True):
                if row["status"] != StoreStatus.ACTIVE.value:
                    continue
                lease = self._lease_of(row)
                assert lease is not None
                if not self._lease_dead(lease):
                    continue
                sid = int(row["store_id"])
                message = self._mark_interrupted(conn, sid, lease)
                found.append(self._interrupted_item(sid, int(row["generation"]), lease, message))
        return found

    # ------------------------------------------------------- refresh protocol (coordinator)

    def _peek(self, store_id: int) -> str | None:
        """The fast path: the stored access token when it is fresh and no refresh is under way.

        An unlocked read; ``None`` means "take the locked path".
        """
        with self._read() as conn:
            row = conn.execute(
                sa.select(
                    stores.c.status,
                    stores.c.access_token,
                    stores.c.expires_at,
                    stores.c.lease_id,
                ).where(stores.c.store_id == store_id)
            ).first()
        if row is None or row.status != StoreStatus.ACTIVE.value or row.lease_id is not None:
            return None
        if row.access_token is None or row.expires_at is None:
            return None
        if row.expires_at - self._clock() <= self.refresh_margin:
            return None
        return self._cipher.open(store_id, "access", row.access_token)

    def _begin_refresh(self, store_id: int, rejected: str | None, force: bool) -> _Begin:
        lease_id = uuid.uuid4().hex
        proc = _process()
        _track(lease_id, True)  # before the commit: a committed lease of ours is never "dead"
        try:
            begin = self._begin_locked(store_id, rejected, force, lease_id, proc)
        except _LeaseLost:
            begin = _Begin(Action.WAIT)
        except BaseException:
            _track(lease_id, False)
            raise
        if begin.action is not Action.REFRESH:
            _track(lease_id, False)
        return begin

    def _begin_locked(
        self, store_id: int, rejected: str | None, force: bool, lease_id: str, proc: _Proc
    ) -> _Begin:
        with self._write() as conn:
            row = self._select_locked(conn, store_id)
            if row is None:
                raise StoreNotFoundError(f"no store {store_id} in the token vault")
            status = StoreStatus(row["status"])
            access = (
                self._cipher.open(store_id, "access", row["access_token"])
                if row["access_token"] is not None
                else None
            )
            lease = self._lease_of(row)
            generation = int(row["generation"])
            snap = Snapshot(
                status=status,
                access_token=access,
                has_refresh_token=row["refresh_token"] is not None,
                expires_at=row["expires_at"],
                generation=generation,
                lease=lease,
            )
            action = decide(
                snap,
                now=self._clock(),
                margin=self.refresh_margin,
                rejected_token=rejected,
                force=force,
                lease_dead=lease is not None and self._lease_dead(lease),
                lease_expired=lease is not None
                and (lease.age > self.lease_timeout or self._owner_alive(lease) is False),
            )
            if action is Action.INTERRUPTED:
                assert lease is not None
                detail = self._mark_interrupted(conn, store_id, lease)
                return _Begin(action, generation=generation, detail=detail)
            if action is Action.TOO_SOON:
                assert lease is not None
                wait = max(1, int(self.lease_timeout - lease.age) + 1)
                detail = (
                    f"store {store_id}: the abandoned refresh (pid {lease.pid} on {lease.host}) "
                    f"started only {lease.age:.0f} s ago and its worker cannot be checked from "
                    f"here; it may still be waiting for "
                    f"Salla's answer, and sending the refresh token now could be its second "
                    f"use. Retry `sallakit stores refresh {store_id}` in {wait} s."
                )
                return _Begin(action, generation=generation, detail=detail)
            if action is not Action.REFRESH:
                return _Begin(
                    action,
                    access_token=access,
                    generation=generation,
                    status=status,
                    detail=row["status_detail"],
                )
            refresh = self._cipher.open(store_id, "refresh", row["refresh_token"])
            journal_id = conn.execute(
                refresh_journal.insert()
                .values(
                    store_id=store_id,
                    generation=generation,
                    state="started",
                    started_at=float(row["db_now"]),
                    pid=proc.pid,
                    host=self._host,
                    worker=proc.owner[:64],
                )
                .returning(refresh_journal.c.id)
            ).scalar_one()
            # Compare-and-set on the store row: free (or the expired lease the operator's retry
            # takes over) and still the generation read above.
            held: sa.ColumnElement[bool] = stores.c.lease_id.is_(None)
            if lease is not None:
                held = held | (stores.c.lease_id == lease.lease_id)
            taken = conn.execute(
                stores.update()
                .where(stores.c.store_id == store_id)
                .where(stores.c.generation == generation)
                .where(held)
                .values(
                    lease_id=lease_id,
                    lease_owner=proc.owner,
                    lease_pid=proc.pid,
                    lease_host=self._host,
                    lease_node=proc.node,
                    lease_started_at=self._db_now(),
                    lease_journal_id=int(journal_id),
                )
            ).rowcount
            if taken != 1:
                raise _LeaseLost
        # Committed: the lease is durable before the refresh token leaves the process.
        return _Begin(
            action,
            access_token=access,
            refresh_token=refresh,
            journal_id=int(journal_id),
            lease_id=lease_id,
            generation=generation,
        )

    _LEASE_CLEARED: Mapping[str, Any] = {
        "lease_id": None,
        "lease_owner": None,
        "lease_pid": None,
        "lease_host": None,
        "lease_node": None,
        "lease_started_at": None,
        "lease_journal_id": None,
    }

    def _close_journal(
        self, conn: Connection, journal_id: int | None, state: str, detail: str | None = None
    ) -> None:
        if journal_id is None:
            return
        conn.execute(
            refresh_journal.update()
            .where(refresh_journal.c.id == journal_id)
            .values(
                state=state,
                finished_at=self._clock(),
                detail=detail[:1000] if detail else None,
            )
        )

    def _finish_refresh(
        self, store_id: int, begin: _Begin, tokens: TokenSet, lock_timeout: float | None = None
    ) -> str:
        """Store Salla's answer and close the lease in one transaction.

        ``lock_timeout`` bounds this attempt's wait for the database lock (the remaining
        ``commit_budget``).
        """
        now = self._clock()
        with self._write(lock_timeout) as conn:
            row = self._select_locked(conn, store_id)
            if row is None:
                self._close_journal(conn, begin.journal_id, "superseded", "store removed")
                raise StoreNotFoundError(f"store {store_id} was removed during a refresh")
            ours = row["lease_id"] == begin.lease_id
            self._retire(conn, store_id, begin.refresh_token)
            if int(row["generation"]) != begin.generation:
                # New tokens were installed (or the store uninstalled) while we refreshed; those
                # are authoritative. Ours came from the older grant and are dropped.
                self._close_journal(conn, begin.journal_id, "superseded", "newer tokens arrived")
                if ours:
                    conn.execute(
                        stores.update()
                        .where(stores.c.store_id == store_id)
                        .values(**self._LEASE_CLEARED)
                    )
                status = StoreStatus(row["status"])
                if status is StoreStatus.ACTIVE and row["access_token"] is not None:
                    return self._cipher.open(store_id, "access", row["access_token"])
                raise self._unavailable(
                    store_id, _Begin(Action.UNAVAILABLE, status=status, detail=row["status_detail"])
                )
            # Salla rotated the refresh token: the one we sent is consumed. Store the new one, or
            # NULL when the answer carried none; never keep the used one.
            values: dict[str, Any] = {
                "access_token": self._cipher.seal(store_id, "access", tokens.access_token),
                "refresh_token": (
                    self._cipher.seal(store_id, "refresh", tokens.refresh_token)
                    if tokens.refresh_token
                    else None
                ),
                "expires_at": tokens.expires_at,
                "generation": begin.generation + 1,
                "status": StoreStatus.ACTIVE.value,
                "status_detail": None,
                "refreshed_at": now,
                "updated_at": now,
            }
            if ours:
                values.update(self._LEASE_CLEARED)
            if tokens.scopes:
                values["scopes"] = " ".join(tokens.scopes)
            conn.execute(stores.update().where(stores.c.store_id == store_id).values(**values))
            self._close_journal(conn, begin.journal_id, "committed")
        if tokens.expiry_assumed:
            logger.warning(
                "Salla's token answer for store %s had no expiry; assuming %d days",
                store_id,
                int(DEFAULT_EXPIRY // 86400),
                extra={"action": "token_expiry_assumed", "store_id": store_id},
            )
        if not tokens.refresh_token:
            logger.warning(
                "Salla's token answer for store %s had no refresh_token: the store can be used "
                "until its access token expires, then the merchant must reinstall",
                store_id,
                extra={"action": "token_no_refresh_token", "store_id": store_id},
            )
        logger.info(
            "refreshed the tokens of store %s (generation %d)",
            store_id,
            begin.generation + 1,
            extra={"action": "token_refreshed", "store_id": store_id},
        )
        return tokens.access_token

    def _fail_refresh(
        self, store_id: int, begin: _Begin, *, outcome: str, detail: str
    ) -> tuple[bool, str | None]:
        """Close the lease after a failed refresh.

        ``outcome`` is ``reinstall`` (invalid_grant), ``unknown`` (no usable answer: the token
        may be consumed), ``failed`` (a definite refusal: nothing consumed) or
        ``connect_failed`` (nothing sent).

        Returns:
            ``(superseded, message)``: ``superseded`` when newer tokens arrived (or the store
            was uninstalled) during the refresh, so the failure must not touch the store;
            ``message`` is the store's new status detail, if it changed.
        """
        journal_state = {"reinstall": "failed", "unknown": "interrupted"}.get(outcome, "failed")
        message: str | None = None
        with self._write() as conn:
            row = self._select_locked(conn, store_id)
            if row is None:
                self._close_journal(conn, begin.journal_id, "superseded", "store removed")
                return True, None
            ours = row["lease_id"] == begin.lease_id
            if outcome != "connect_failed":
                self._retire(conn, store_id, begin.refresh_token)
            values: dict[str, Any] = dict(self._LEASE_CLEARED) if ours else {}
            status = StoreStatus(row["status"])
            if int(row["generation"]) != begin.generation or status is StoreStatus.UNINSTALLED:
                # The answer is about the older grant (an app update or a reinstall delivered new
                # tokens meanwhile, which also revokes the old grant): the store is fine.
                self._close_journal(
                    conn, begin.journal_id, "superseded", f"{outcome}: {detail} (newer tokens)"
                )
                if values:
                    conn.execute(
                        stores.update().where(stores.c.store_id == store_id).values(**values)
                    )
                return True, None
            self._close_journal(conn, begin.journal_id, journal_state, detail)
            now = self._clock()
            if outcome == "reinstall":
                message = REINSTALL_MESSAGE.format(store_id=store_id)
                values.update(status=StoreStatus.REINSTALL_REQUIRED.value, status_detail=message)
                logger.error(message, extra={"action": "reinstall_required", "store_id": store_id})
            elif outcome == "unknown":
                lease = self._lease_of(row)
                message = INTERRUPTED_MESSAGE.format(
                    store_id=store_id,
                    started_at=_iso(lease.started_at if lease else now),
                    pid=_process().pid,
                    host=self._host,
                    why="Salla's answer was lost or unusable",
                )
                values.update(status=StoreStatus.REFRESH_INTERRUPTED.value, status_detail=message)
                logger.error(message, extra={"action": "refresh_interrupted", "store_id": store_id})
            if values:
                values["updated_at"] = now
                conn.execute(stores.update().where(stores.c.store_id == store_id).values(**values))
        return False, message

    def _release(self, begin: _Begin) -> None:
        """This process no longer works on ``begin``'s lease (finished, failed or gave up)."""
        if begin.lease_id is not None:
            _track(begin.lease_id, False)

    def _unavailable(self, store_id: int, begin: _Begin) -> SallaError:
        """The error for a store whose status forbids handing out a token."""
        if begin.status is StoreStatus.REINSTALL_REQUIRED:
            return ReinstallRequiredError(
                begin.detail or REINSTALL_MESSAGE.format(store_id=store_id), store_id=store_id
            )
        if begin.status is StoreStatus.REFRESH_INTERRUPTED:
            return RefreshInterruptedError(begin.detail or f"store {store_id}: refresh interrupted")
        if begin.status is StoreStatus.ACTIVE:
            return ReinstallRequiredError(
                f"store {store_id} has no refresh token (the app lacks offline_access, or Salla's "
                "last answer carried none) and its access token expired; the merchant must "
                "reinstall",
                store_id=store_id,
            )
        return StoreNotFoundError(
            f"store {store_id} has no usable tokens (status {begin.status.value})"
        )

    # ------------------------------------------------------------------------- locks

    def _thread_lock(self, store_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._thread_locks.setdefault(store_id, threading.Lock())

    def _task_lock(self, store_id: int) -> anyio.Lock:
        # An anyio.Lock belongs to one event loop: keyed by (running loop, store), so a vault
        # used from several loops (threads each running their own) never shares one.
        loop = anyio.lowlevel.current_token().native_token
        with self._locks_guard:
            try:
                per_loop = self._task_locks.get(loop)
                if per_loop is None:
                    per_loop = self._task_locks[loop] = {}
            except TypeError:  # a loop object without weak references
                per_loop = self._strong_task_locks.setdefault(id(loop), {})
            lock = per_loop.get(store_id)
            if lock is None:
                lock = per_loop[store_id] = anyio.Lock()
            return lock

    # ------------------------------------------------------------------------ providers

    def token_provider(self, store_id: int) -> StoreTokenProvider:
        """A blocking token provider for ``store_id`` whose refreshes are coordinated."""
        from sallakit.auth._coordinator import StoreTokenProvider

        return StoreTokenProvider(self, store_id)

    def async_token_provider(self, store_id: int) -> AsyncStoreTokenProvider:
        """An async token provider for ``store_id`` whose refreshes are coordinated."""
        from sallakit.auth._coordinator import AsyncStoreTokenProvider

        return AsyncStoreTokenProvider(self, store_id)

    def async_client(self, store_id: int, **client_kwargs: Any) -> AsyncSalla:
        """An :class:`~sallakit.api.AsyncSalla` for ``store_id`` using this vault's tokens.

        ``client_kwargs`` go to the client (``base_url``, ``transport``...); ``store_id`` is
        passed so the per-store rate-limit governor is shared by every client of the store.
        """
        from sallakit.api import AsyncSalla

        return AsyncSalla(
            token_provider=self.async_token_provider(store_id), store_id=store_id, **client_kwargs
        )

    def client(self, store_id: int, **client_kwargs: Any) -> Salla:
        """A blocking :class:`~sallakit.api.Salla` for ``store_id`` using this vault's tokens."""
        from sallakit.api import Salla

        return Salla(
            token_provider=self.token_provider(store_id), store_id=store_id, **client_kwargs
        )
