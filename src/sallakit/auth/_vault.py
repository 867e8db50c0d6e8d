"""The token vault: per-store tokens encrypted at rest in the project database.

All database access is synchronous SQLAlchemy Core in short transactions; the async coordinator
runs each of them in a worker thread, so one code path serves both SQLite and PostgreSQL, sync
and async callers. Every SQLAlchemy and cryptography error is translated into
:class:`TokenVaultError` (or a subclass) here.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import sqlalchemy as sa
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
from sallakit.auth._refresh import (
    DEFAULT_LEASE_TIMEOUT,
    INTERRUPTED_MESSAGE,
    Action,
    Lease,
    Snapshot,
    StoreStatus,
    decide,
    lease_is_dead,
)
from sallakit.auth._tokens import TokenSet, parse_scopes
from sallakit.db import create_engine, create_schema, is_sqlite, write_transaction
from sallakit.db._schema import app_events, oauth_states, refresh_journal, stores

if TYPE_CHECKING:
    from sallakit.api import AsyncSalla, Salla
    from sallakit.auth._coordinator import AsyncStoreTokenProvider, StoreTokenProvider
    from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient

__all__ = ["DEFAULT_REFRESH_MARGIN", "InterruptedRefresh", "StoredStore", "TokenVault"]

logger = logging.getLogger(__name__)

#: Refresh one day before the access token expires, as Salla's own guidance suggests.
DEFAULT_REFRESH_MARGIN = 86_400.0

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
    """The outcome of the first locked transaction of a refresh."""

    action: Action
    access_token: str | None = None
    refresh_token: str | None = None
    journal_id: int | None = None
    generation: int = 0
    status: StoreStatus = StoreStatus.ACTIVE
    detail: str | None = None


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
        lease_timeout: after this many seconds an unfinished refresh is considered abandoned.
        clock: the current time in epoch seconds (injectable for tests).
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
        clock: Callable[[], float] = time.time,
        create_tables: bool = True,
    ) -> None:
        if refresh_margin < 0:
            raise ConfigurationError("refresh_margin must be >= 0")
        self._engine = engine
        self._cipher = keys if isinstance(keys, TokenCipher) else TokenCipher(keys)
        self.oauth = oauth
        self.async_oauth = async_oauth
        self.refresh_margin = refresh_margin
        self.lease_timeout = lease_timeout
        self._clock = clock
        self._host = socket.gethostname()[:255]
        self._pid = os.getpid()
        self._worker = f"{self._pid}-{_process_start_ticks(self._pid)}"[:64]
        # In-process serialisation, so that tasks and threads of one process queue here rather
        # than all contending for the database lock. Keyed by store; created on demand.
        self._locks_guard = threading.Lock()
        self._thread_locks: dict[int, threading.Lock] = {}
        self._task_locks: dict[int, anyio.Lock] = {}
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
    def _write(self) -> Iterator[Connection]:
        try:
            with write_transaction(self._engine) as conn:
                yield conn
        except SallaError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise TokenVaultError(f"token vault database error: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn, conn.begin():
                yield conn
        except SallaError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise TokenVaultError(f"token vault database error: {exc}") from exc

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
        row = self._select_store(conn, store_id, lock=True)
        if row is None:
            conn.execute(
                stores.insert().values(
                    store_id=store_id,
                    generation=1 if bump else 0,
                    created_at=now,
                    **{"status": StoreStatus.PENDING.value, "scopes": "", **values},
                )
            )
        else:
            update = dict(values)
            if bump:
                update["generation"] = stores.c.generation + 1
            conn.execute(stores.update().where(stores.c.store_id == store_id).values(**update))

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
        self, conn: Connection, store_id: int, *, purge: bool = False, detail: str | None = None
    ) -> None:
        """Like :meth:`uninstall` inside a caller's transaction (see :meth:`apply_app_event`)."""
        now = self._clock()
        if purge:
            for table in (refresh_journal, app_events):
                conn.execute(table.delete().where(table.c.store_id == store_id))
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
        apply: Callable[[Connection], None],
    ) -> bool:
        """Run ``apply`` in one write transaction and, with a ``digest``, record it there too.

        With a digest the event is applied at most once: a redelivered ``app.store.authorize``
        must never put back tokens that a refresh has since consumed. Idempotent events pass
        ``None`` (two genuine uninstalls within a second have identical bodies).

        Returns:
            ``False`` when the digest was recorded before (nothing done).
        """
        with self._write() as conn:
            if digest is not None:
                seen = conn.execute(
                    sa.select(app_events.c.digest).where(app_events.c.digest == digest)
                ).first()
                if seen is not None:
                    return False
            apply(conn)
            if digest is not None:
                conn.execute(
                    app_events.insert().values(
                        digest=digest, store_id=store_id, event=event, received_at=self._clock()
                    )
                )
        return True

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
        }
        if merchant is not None:
            values["merchant"] = dict(merchant)
        if user is not None:
            values["user_info"] = dict(user)
        if connected_via is not None:
            values["connected_via"] = connected_via
        self._upsert(conn, store_id, values, bump=True, now=now)
        # New tokens end any refresh in flight for the old pair: its lease is moot.
        conn.execute(
            refresh_journal.update()
            .where(refresh_journal.c.store_id == store_id)
            .where(refresh_journal.c.state == "started")
            .values(state="superseded", finished_at=now)
        )

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

    def _lease_dead(self, lease: Lease, now: float) -> bool:
        owner_alive: bool | None = None
        if lease.host == self._host:
            owner_alive = _pid_alive(lease.pid) and (
                lease.worker == f"{lease.pid}-{_process_start_ticks(lease.pid)}"
            )
        return lease_is_dead(
            lease,
            now=now,
            host=self._host,
            owner_alive=owner_alive,
            lease_timeout=self.lease_timeout,
        )

    def _open_lease(self, conn: Connection, store_id: int) -> Lease | None:
        row = (
            conn.execute(
                sa.select(refresh_journal)
                .where(refresh_journal.c.store_id == store_id)
                .where(refresh_journal.c.state == "started")
                .order_by(refresh_journal.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Lease(
            journal_id=int(row["id"]),
            generation=int(row["generation"]),
            started_at=float(row["started_at"]),
            pid=int(row["pid"]),
            host=str(row["host"]),
            worker=str(row["worker"]),
        )

    def _mark_interrupted(self, conn: Connection, store_id: int, lease: Lease) -> str:
        message = INTERRUPTED_MESSAGE.format(
            store_id=store_id, started_at=_iso(lease.started_at), pid=lease.pid, host=lease.host
        )
        now = self._clock()
        conn.execute(
            refresh_journal.update()
            .where(refresh_journal.c.id == lease.journal_id)
            .values(state="interrupted", finished_at=now, detail="owner gone before commit")
        )
        conn.execute(
            stores.update()
            .where(stores.c.store_id == store_id)
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

    def recover_interrupted(self) -> list[InterruptedRefresh]:
        """Find refreshes abandoned by a dead process; mark their stores and report them.

        Call it when a process starts (the CLI and server do). A refresh whose worker died
        between sending the refresh token and committing the answer leaves the store in an
        unknown state; the store becomes ``refresh_interrupted`` and each returned item's
        ``message`` tells the operator what to do.
        """
        found: list[InterruptedRefresh] = []
        with self._write() as conn:
            rows = (
                conn.execute(sa.select(refresh_journal).where(refresh_journal.c.state == "started"))
                .mappings()
                .all()
            )
            now = self._clock()
            for row in rows:
                lease = Lease(
                    journal_id=int(row["id"]),
                    generation=int(row["generation"]),
                    started_at=float(row["started_at"]),
                    pid=int(row["pid"]),
                    host=str(row["host"]),
                    worker=str(row["worker"]),
                )
                if not self._lease_dead(lease, now):
                    continue
                sid = int(row["store_id"])
                message = self._mark_interrupted(conn, sid, lease)
                found.append(
                    InterruptedRefresh(
                        store_id=sid,
                        journal_id=lease.journal_id,
                        generation=lease.generation,
                        started_at=lease.started_at,
                        pid=lease.pid,
                        host=lease.host,
                        message=message,
                    )
                )
        return found

    # ------------------------------------------------------- refresh protocol (coordinator)

    def _begin_refresh(self, store_id: int, rejected: str | None, force: bool) -> _Begin:
        with self._write() as conn:
            row = self._select_store(conn, store_id, lock=True)
            if row is None:
                raise StoreNotFoundError(f"no store {store_id} in the token vault")
            status = StoreStatus(row["status"])
            access = (
                self._cipher.open(store_id, "access", row["access_token"])
                if row["access_token"] is not None
                else None
            )
            lease = self._open_lease(conn, store_id)
            now = self._clock()
            dead = lease is not None and self._lease_dead(lease, now)
            snap = Snapshot(
                status=status,
                access_token=access,
                has_refresh_token=row["refresh_token"] is not None,
                expires_at=row["expires_at"],
                generation=int(row["generation"]),
                lease=lease,
            )
            action = decide(
                snap,
                now=now,
                margin=self.refresh_margin,
                rejected_token=rejected,
                force=force,
                lease_dead=dead,
            )
            generation = int(row["generation"])
            if action is Action.INTERRUPTED:
                assert lease is not None
                detail = self._mark_interrupted(conn, store_id, lease)
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
                    started_at=now,
                    pid=self._pid,
                    host=self._host,
                    worker=self._worker,
                )
                .returning(refresh_journal.c.id)
            ).scalar_one()
        # Committed: the journal entry is durable before the refresh token leaves the process.
        return _Begin(
            action,
            access_token=access,
            refresh_token=refresh,
            journal_id=int(journal_id),
            generation=generation,
        )

    def _finish_refresh(
        self, store_id: int, journal_id: int, generation: int, tokens: TokenSet
    ) -> str:
        now = self._clock()
        with self._write() as conn:
            row = self._select_store(conn, store_id, lock=True)
            if row is None or int(row["generation"]) != generation:
                # New tokens were installed (or the store removed) while we refreshed; those are
                # authoritative. Ours came from the older grant and are dropped.
                conn.execute(
                    refresh_journal.update()
                    .where(refresh_journal.c.id == journal_id)
                    .values(state="superseded", finished_at=now)
                )
                if row is None or row["access_token"] is None:
                    raise StoreNotFoundError(f"store {store_id} was removed during a refresh")
                return self._cipher.open(store_id, "access", row["access_token"])
            # The new refresh token replaces the old one only if Salla sent one; keeping the
            # consumed one would be useless, but Salla always rotates, so this is defensive.
            values: dict[str, Any] = {
                "access_token": self._cipher.seal(store_id, "access", tokens.access_token),
                "expires_at": tokens.expires_at,
                "generation": generation + 1,
                "status": StoreStatus.ACTIVE.value,
                "status_detail": None,
                "refreshed_at": now,
                "updated_at": now,
            }
            if tokens.refresh_token:
                values["refresh_token"] = self._cipher.seal(
                    store_id, "refresh", tokens.refresh_token
                )
            if tokens.scopes:
                values["scopes"] = " ".join(tokens.scopes)
            conn.execute(stores.update().where(stores.c.store_id == store_id).values(**values))
            conn.execute(
                refresh_journal.update()
                .where(refresh_journal.c.id == journal_id)
                .values(state="committed", finished_at=now)
            )
        logger.info(
            "refreshed the tokens of store %s (generation %d)",
            store_id,
            generation + 1,
            extra={"action": "token_refreshed", "store_id": store_id},
        )
        return tokens.access_token

    def _fail_refresh(
        self, store_id: int, journal_id: int, *, outcome: str, detail: str
    ) -> str | None:
        """Close a journal entry after a failed refresh; returns the store's new status detail.

        ``outcome`` is ``reinstall`` (invalid_grant), ``unknown`` (no answer: the token may be
        consumed) or ``failed`` (a definite answer that consumed nothing).
        """
        now = self._clock()
        message: str | None = None
        with self._write() as conn:
            state = {"reinstall": "failed", "unknown": "interrupted", "failed": "failed"}[outcome]
            conn.execute(
                refresh_journal.update()
                .where(refresh_journal.c.id == journal_id)
                .values(state=state, finished_at=now, detail=detail[:1000])
            )
            if outcome == "reinstall":
                message = REINSTALL_MESSAGE.format(store_id=store_id)
                self._set_status(conn, store_id, StoreStatus.REINSTALL_REQUIRED, message)
                logger.error(message, extra={"action": "reinstall_required", "store_id": store_id})
            elif outcome == "unknown":
                row = (
                    conn.execute(
                        sa.select(refresh_journal).where(refresh_journal.c.id == journal_id)
                    )
                    .mappings()
                    .one()
                )
                message = INTERRUPTED_MESSAGE.format(
                    store_id=store_id,
                    started_at=_iso(float(row["started_at"])),
                    pid=row["pid"],
                    host=row["host"],
                )
                self._set_status(conn, store_id, StoreStatus.REFRESH_INTERRUPTED, message)
                logger.error(message, extra={"action": "refresh_interrupted", "store_id": store_id})
        return message

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
                f"store {store_id} has no refresh token (the app lacks offline_access) and its "
                "access token expired; the merchant must reinstall",
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
        with self._locks_guard:
            lock = self._task_locks.get(store_id)
            if lock is None:
                lock = self._task_locks[store_id] = anyio.Lock()
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
