"""The lease book: the refresh lease's transactions, which the coordinator calls in order.

``begin`` (take the lease, or say why not) -> ``confirm`` (re-check it right before the refresh
token leaves) -> ``finish`` (store Salla's answer, clear the lease) or ``fail`` (record why it
failed) -> ``release``. :class:`AbandonedLeases` tells dead holders from live ones and serves
operators (``recover_interrupted``, ``find_interrupted``). The
decision itself is the pure :func:`sallakit.auth._refresh.decide`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sallakit._exceptions import (
    RefreshInterruptedError,
    ReinstallRequiredError,
    SallaError,
    StoreNotFoundError,
    TokenExchangeError,
)
from sallakit.auth._crypto import TokenCipher
from sallakit.auth._identity import LeaseOwners
from sallakit.auth._lifecycle import (
    FAILURE_OUTCOMES,
    LifecycleEvent,
    LifecycleHooks,
    LifecycleKind,
    RefreshOutcome,
)
from sallakit.auth._records import InterruptedRefresh, iso_time, sane_epoch
from sallakit.auth._refresh import (
    INTERRUPTED_MESSAGE,
    Action,
    Lease,
    RefreshPolicy,
    Snapshot,
    StoreStatus,
    boot_clock,
    decide,
    lease_is_dead,
    send_window,
)
from sallakit.auth._store import (
    LEASE_CLEARED,
    LeaseFields,
    StoreRow,
    TokenStore,
    TokenStoreTransaction,
    retire_refresh,
)
from sallakit.auth._tokens import CONNECT_FAILED, DEFAULT_EXPIRY, TokenSet

__all__ = ["REINSTALL_MESSAGE", "AbandonedLeases", "LeaseBook", "RefreshAttempt"]

logger = logging.getLogger(__name__)

REINSTALL_MESSAGE = (
    "Salla answered invalid_grant for store {store_id}: the grant is revoked (the refresh token "
    "was already used, or the merchant removed the app). The merchant must reinstall the app; "
    "its app.store.authorize event (Easy mode) or a new `sallakit connect` (Custom mode) "
    "reactivates the store."
)

Outcome = Literal["reinstall", "unknown", "failed", "connect_failed"]


@dataclass(frozen=True, slots=True)
class RefreshAttempt:
    """The outcome of :meth:`LeaseBook.begin` (its repr shows no token).

    With ``action == REFRESH`` this process holds the lease and may send ``refresh_token``
    until ``send_deadline`` (on :func:`~sallakit.auth._refresh.boot_clock`).
    """

    action: Action
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    journal_id: int | None = None
    lease_id: str | None = None
    generation: int = 0
    status: StoreStatus = StoreStatus.ACTIVE
    detail: str | None = None
    send_deadline: float = 0.0


class _LeaseLost(Exception):
    """The compare-and-set that takes the lease matched no row (rolled back; wait and retry)."""


def lease_of(row: StoreRow) -> Lease | None:
    """The lease held on ``row``, aged by the database clock read with it."""
    if row.lease_id is None:
        return None
    started = float(row.lease_started_at or 0.0)
    return Lease(
        lease_id=row.lease_id,
        owner=row.lease_owner or "",
        journal_id=int(row.lease_journal_id or 0),
        started_at=started,
        age=row.db_now - started,
        pid=int(row.lease_pid or 0),
        host=row.lease_host or "?",
        node=row.lease_node or "",
    )


def _log_answer(store_id: int, tokens: TokenSet, generation: int) -> None:
    if tokens.expiry_assumed:
        logger.warning(
            "Salla's token answer for store %s had no usable expiry; assuming %d days",
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
        generation,
        extra={"action": "token_refreshed", "store_id": store_id},
    )


class LeaseBook:
    """The refresh lease of every store, over a :class:`TokenStore`.

    Args:
        store: where rows live.
        cipher: opens and seals tokens.
        owners: this process's identity and what it can know about other lease holders.
        hooks: lifecycle callbacks (reinstall required, interrupted, recovered).
        clock: epoch seconds, for token expiry (lease ages use the database's clock).
        refresh_margin: refresh this many seconds before the access token expires.
        lease_timeout: age (database clock) after which a lease counts as abandoned.
        policy: who refreshes (see :data:`~sallakit.auth._refresh.RefreshPolicy`).
    """

    def __init__(
        self,
        store: TokenStore,
        cipher: TokenCipher,
        owners: LeaseOwners,
        hooks: LifecycleHooks,
        *,
        clock: Callable[[], float],
        refresh_margin: float,
        lease_timeout: float,
        policy: RefreshPolicy,
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.owners = owners
        self.hooks = hooks
        self.clock = clock
        self.refresh_margin = refresh_margin
        self.lease_timeout = lease_timeout
        self.policy: RefreshPolicy = policy
        self.abandoned = AbandonedLeases(
            store, owners, hooks, clock=clock, lease_timeout=lease_timeout
        )

    # ----------------------------------------------------------------- the fast path

    def peek(self, store_id: int) -> str | None:
        """The stored access token when it is fresh and no refresh is under way (an unlocked
        read); None means "take the locked path"."""
        with self.store.read() as tx:
            row = tx.get(store_id)
        if row is None or row.status != StoreStatus.ACTIVE.value or row.lease_id is not None:
            return None
        expires_at = sane_epoch(row.expires_at)
        if row.access_token is None or expires_at is None:
            return None
        margin = self.refresh_margin if self.policy == "pull" else 0.0
        if expires_at - self.clock() <= margin:
            return None
        return self.cipher.open(store_id, "access", row.access_token)

    # ------------------------------------------------------------------------ begin

    def begin(self, store_id: int, rejected: str | None, force: bool) -> RefreshAttempt:
        """Decide in a short locked transaction; with REFRESH the lease is committed first."""
        lease_id = uuid.uuid4().hex
        self.owners.track(lease_id, True)  # before the commit: a lease of ours is never "dead"
        started = boot_clock()  # before the lease's database time: the window errs early
        events: list[LifecycleEvent] = []
        try:
            attempt = self._begin(store_id, rejected, force, lease_id, started, events)
        except _LeaseLost:
            attempt = RefreshAttempt(Action.WAIT)
        except BaseException:
            self.owners.track(lease_id, False)
            raise
        if attempt.action is not Action.REFRESH:
            self.owners.track(lease_id, False)
        self.hooks.emit(events)
        return attempt

    def _begin(
        self,
        store_id: int,
        rejected: str | None,
        force: bool,
        lease_id: str,
        started: float,
        events: list[LifecycleEvent],
    ) -> RefreshAttempt:
        with self.store.write() as tx:
            row = tx.get(store_id, lock=True)
            if row is None:
                raise StoreNotFoundError(f"no store {store_id} in the token vault")
            try:
                status = StoreStatus(row.status)
            except ValueError:
                status = StoreStatus.UNREADABLE
            access = (
                self.cipher.open(store_id, "access", row.access_token)
                if row.access_token is not None
                else None
            )
            lease = lease_of(row)
            snap = Snapshot(
                status=status,
                access_token=access,
                has_refresh_token=row.refresh_token is not None,
                expires_at=sane_epoch(row.expires_at),
                generation=row.generation,
                lease=lease,
            )
            action = decide(
                snap,
                now=self.clock(),
                margin=self.refresh_margin,
                rejected_token=rejected,
                force=force,
                lease_dead=lease is not None and self.abandoned.lease_dead(lease),
                lease_expired=lease is not None
                and (lease.age > self.lease_timeout or self.owners.owner_alive(lease) is False),
                policy=self.policy,
            )
            if action is Action.INTERRUPTED:
                assert lease is not None
                detail = self.abandoned.mark_interrupted(tx, store_id, lease, events)
                return RefreshAttempt(action, generation=row.generation, detail=detail)
            if action is Action.TOO_SOON:
                assert lease is not None
                wait = max(1, int(self.lease_timeout - lease.age) + 1)
                detail = (
                    f"store {store_id}: the abandoned refresh (pid {lease.pid} on {lease.host}) "
                    f"started only {lease.age:.0f} s ago and its worker cannot be checked from "
                    "here; it may still be waiting for Salla's answer, and sending the refresh "
                    f"token now could be its second use. Retry `sallakit stores refresh "
                    f"{store_id}` in {wait} s."
                )
                return RefreshAttempt(action, generation=row.generation, detail=detail)
            if action is not Action.REFRESH:
                return RefreshAttempt(
                    action,
                    access_token=access,
                    generation=row.generation,
                    status=status,
                    detail=row.status_detail,
                )
            assert row.refresh_token is not None
            refresh = self.cipher.open(store_id, "refresh", row.refresh_token)
            me = self.owners.current()
            journal_id = tx.open_journal(
                store_id=store_id,
                generation=row.generation,
                started_at=row.db_now,
                pid=me.pid,
                host=me.host,
                worker=me.owner[:64],
            )
            taken = tx.take_lease(
                store_id,
                generation=row.generation,
                replacing=lease.lease_id if lease is not None else None,
                lease=LeaseFields(lease_id, me.owner, me.pid, me.host, me.node, journal_id),
            )
            if not taken:
                raise _LeaseLost
        # Committed: the lease is durable before the refresh token leaves the process.
        return RefreshAttempt(
            action,
            access_token=access,
            refresh_token=refresh,
            journal_id=journal_id,
            lease_id=lease_id,
            generation=row.generation,
            send_deadline=started + send_window(self.lease_timeout),
        )

    # ---------------------------------------------------------------------- confirm

    def confirm(self, store_id: int, attempt: RefreshAttempt) -> None:
        """Re-check the lease immediately before the refresh token is sent.

        Raises:
            TokenExchangeError: (``error == "connect_failed"``: nothing was sent) the send
                window has passed, or the lease is no longer this attempt's (the operator
                recovered the store, new tokens arrived): sending now could be a second use.
        """
        why: str | None = None
        if boot_clock() > attempt.send_deadline:
            why = "its send window passed (the process was stalled)"
        else:
            with self.store.read() as tx:
                row = tx.get(store_id)
            if row is None or row.lease_id != attempt.lease_id:
                why = "its lease was taken over or cleared"
            elif row.generation != attempt.generation:
                why = "the store changed meanwhile"
            elif row.db_now - float(row.lease_started_at or 0.0) > send_window(self.lease_timeout):
                why = "its lease is older than the send window"
        if why is not None:
            raise TokenExchangeError(
                f"store {store_id}: the refresh token was not sent: {why}",
                error=CONNECT_FAILED,
            )

    # ----------------------------------------------------------------------- finish

    def finish(
        self,
        store_id: int,
        attempt: RefreshAttempt,
        tokens: TokenSet,
        lock_timeout: float | None = None,
    ) -> str:
        """Store Salla's answer and close the lease in one transaction; the access token.

        ``lock_timeout`` bounds this attempt's wait for the database lock.
        """
        now = self.clock()
        events: list[LifecycleEvent] = []
        kept: str | None = None
        with self.store.write(lock_timeout) as tx:
            row = tx.get(store_id, lock=True)
            if row is None:
                self._close(tx, attempt, "superseded", "store removed")
                raise StoreNotFoundError(f"store {store_id} was removed during a refresh")
            ours = row.lease_id == attempt.lease_id
            retire_refresh(tx, store_id, attempt.refresh_token)
            if row.generation != attempt.generation:
                # New tokens were installed (or the store uninstalled) while we refreshed; those
                # are authoritative. Ours came from the older grant and are dropped.
                self._close(tx, attempt, "superseded", "newer tokens arrived")
                if ours:
                    tx.update(store_id, LEASE_CLEARED)
                if row.status != StoreStatus.ACTIVE.value or row.access_token is None:
                    raise self.unavailable(
                        store_id,
                        RefreshAttempt(
                            Action.UNAVAILABLE, status=_status(row), detail=row.status_detail
                        ),
                    )
                kept = row.access_token
            else:
                # Salla rotated the refresh token: the one we sent is consumed. Store the new
                # one, or NULL when the answer carried none; never keep the used one.
                values: dict[str, object] = {
                    "access_token": self.cipher.seal(store_id, "access", tokens.access_token),
                    "refresh_token": (
                        self.cipher.seal(store_id, "refresh", tokens.refresh_token)
                        if tokens.refresh_token
                        else None
                    ),
                    "expires_at": tokens.expires_at,
                    "generation": attempt.generation + 1,
                    "status": StoreStatus.ACTIVE.value,
                    "status_detail": None,
                    "refreshed_at": now,
                    "updated_at": now,
                    "tokens_at": now,
                }
                if ours:
                    values.update(LEASE_CLEARED)
                if tokens.scopes:
                    values["scopes"] = " ".join(tokens.scopes)
                tx.update(store_id, values)
                self._close(tx, attempt, "committed")
                if row.status == StoreStatus.REFRESH_INTERRUPTED.value:
                    events.append(LifecycleEvent(store_id, LifecycleKind.RECOVERED, None, now))
        if kept is not None:
            self.hooks.emit_refresh(RefreshOutcome(store_id, "superseded", now))
            return self.cipher.open(store_id, "access", kept)
        self.hooks.emit(events)
        self.hooks.emit_refresh(RefreshOutcome(store_id, "refreshed", now))
        _log_answer(store_id, tokens, attempt.generation + 1)
        return tokens.access_token

    # ------------------------------------------------------------------------- fail

    def fail(
        self, store_id: int, attempt: RefreshAttempt, *, outcome: Outcome, detail: str
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
        superseded, message, events = self._fail(store_id, attempt, outcome, detail)
        self.hooks.emit(events)
        name = "superseded" if superseded else FAILURE_OUTCOMES[outcome]
        self.hooks.emit_refresh(RefreshOutcome(store_id, name, self.clock()))
        return superseded, message

    def _fail(
        self, store_id: int, attempt: RefreshAttempt, outcome: Outcome, detail: str
    ) -> tuple[bool, str | None, list[LifecycleEvent]]:
        """:meth:`fail`'s transaction; the events to emit once it committed."""
        journal_state = {"reinstall": "failed", "unknown": "interrupted"}.get(outcome, "failed")
        message: str | None = None
        events: list[LifecycleEvent] = []
        with self.store.write() as tx:
            row = tx.get(store_id, lock=True)
            if row is None:
                self._close(tx, attempt, "superseded", "store removed")
                return True, None, []
            ours = row.lease_id == attempt.lease_id
            if outcome != "connect_failed":
                retire_refresh(tx, store_id, attempt.refresh_token)
            values: dict[str, object] = dict(LEASE_CLEARED) if ours else {}
            if row.generation != attempt.generation or row.status == "uninstalled":
                # The answer is about the older grant (an app update or a reinstall delivered new
                # tokens meanwhile, which also revokes the old grant): the store is fine.
                self._close(tx, attempt, "superseded", f"{outcome}: {detail} (newer tokens)")
                if values:
                    tx.update(store_id, values)
                return True, None, []
            self._close(tx, attempt, journal_state, detail)
            now = self.clock()
            if outcome == "reinstall":
                message = REINSTALL_MESSAGE.format(store_id=store_id)
                values.update(status=StoreStatus.REINSTALL_REQUIRED.value, status_detail=message)
                logger.error(message, extra={"action": "reinstall_required", "store_id": store_id})
                events.append(
                    LifecycleEvent(store_id, LifecycleKind.REINSTALL_REQUIRED, message, now)
                )
            elif outcome == "unknown":
                lease = lease_of(row)
                me = self.owners.current()
                message = INTERRUPTED_MESSAGE.format(
                    store_id=store_id,
                    started_at=iso_time(lease.started_at if lease else now),
                    pid=me.pid,
                    host=me.host,
                    why="Salla's answer was lost or unusable",
                )
                values.update(status=StoreStatus.REFRESH_INTERRUPTED.value, status_detail=message)
                logger.error(message, extra={"action": "refresh_interrupted", "store_id": store_id})
                events.append(
                    LifecycleEvent(store_id, LifecycleKind.REFRESH_INTERRUPTED, message, now)
                )
            if values:
                values["updated_at"] = now
                tx.update(store_id, values)
        return False, message, events

    def release(self, attempt: RefreshAttempt) -> None:
        """This process no longer works on ``attempt``'s lease (finished, failed or gave up)."""
        if attempt.lease_id is not None:
            self.owners.track(attempt.lease_id, False)

    def unavailable(self, store_id: int, attempt: RefreshAttempt) -> SallaError:
        """The error for a store whose status (or policy) forbids handing out a token."""
        if attempt.status is StoreStatus.REINSTALL_REQUIRED:
            return ReinstallRequiredError(
                attempt.detail or REINSTALL_MESSAGE.format(store_id=store_id), store_id=store_id
            )
        if attempt.status is StoreStatus.REFRESH_INTERRUPTED:
            return RefreshInterruptedError(
                attempt.detail or f"store {store_id}: refresh interrupted"
            )
        if attempt.status is StoreStatus.ACTIVE and self.policy == "push-only":
            return StoreNotFoundError(
                f"store {store_id}: the access token expired and the refresh policy is "
                "push-only: waiting for Salla's app.store.authorize with new tokens"
            )
        if attempt.status is StoreStatus.ACTIVE:
            return ReinstallRequiredError(
                f"store {store_id} has no refresh token (the app lacks offline_access, or Salla's "
                "last answer carried none) and its access token expired; the merchant must "
                "reinstall",
                store_id=store_id,
            )
        return StoreNotFoundError(
            f"store {store_id} has no usable tokens (status {attempt.status.value})"
        )

    def _close(
        self,
        tx: TokenStoreTransaction,
        attempt: RefreshAttempt,
        state: str,
        detail: str | None = None,
    ) -> None:
        if attempt.journal_id is not None:
            tx.close_journal(
                attempt.journal_id, state=state, finished_at=self.clock(), detail=detail
            )


class AbandonedLeases:
    """Leases whose holder can no longer finish: how to tell, what to tell the operator.

    Args:
        store, owners, hooks, clock, lease_timeout: as for :class:`LeaseBook`.
    """

    def __init__(
        self,
        store: TokenStore,
        owners: LeaseOwners,
        hooks: LifecycleHooks,
        *,
        clock: Callable[[], float],
        lease_timeout: float,
    ) -> None:
        self.store = store
        self.owners = owners
        self.hooks = hooks
        self.clock = clock
        self.lease_timeout = lease_timeout

    def lease_dead(self, lease: Lease) -> bool:
        """Whether the lease's holder can no longer finish it (age, or provably gone)."""
        return lease_is_dead(
            lease, owner_alive=self.owners.owner_alive(lease), lease_timeout=self.lease_timeout
        )

    def _why(self, lease: Lease) -> str:
        if lease.owner == self.owners.current().owner:
            return "this process could not store the answer"
        if lease.age > self.lease_timeout:
            return f"the lease is older than the lease timeout ({self.lease_timeout:g} s)"
        return "its process is gone"

    def _message(self, store_id: int, lease: Lease) -> str:
        return INTERRUPTED_MESSAGE.format(
            store_id=store_id,
            started_at=iso_time(lease.started_at),
            pid=lease.pid,
            host=lease.host,
            why=self._why(lease),
        )

    def mark_interrupted(
        self,
        tx: TokenStoreTransaction,
        store_id: int,
        lease: Lease,
        events: list[LifecycleEvent],
    ) -> str:
        # The lease stays on the row: its age is what lets the operator's retry wait until a
        # possibly live owner can no longer be in flight.
        message = self._message(store_id, lease)
        now = self.clock()
        tx.close_journal(
            lease.journal_id,
            state="interrupted",
            finished_at=now,
            detail="owner gone before commit",
            only_started=True,
        )
        tx.set_status_if_leased(
            store_id,
            lease.lease_id,
            status=StoreStatus.REFRESH_INTERRUPTED.value,
            detail=message,
            now=now,
        )
        logger.error(
            message,
            extra={"action": "refresh_interrupted", "store_id": store_id, "pid": lease.pid},
        )
        events.append(LifecycleEvent(store_id, LifecycleKind.REFRESH_INTERRUPTED, message, now))
        return message

    def find_interrupted(self) -> list[InterruptedRefresh]:
        """Refreshes that look abandoned, and stores already ``refresh_interrupted``: read-only
        (nothing is marked; ``sallakit stores list`` / ``show`` use this)."""
        found: list[InterruptedRefresh] = []
        with self.store.read() as tx:
            for row in tx.leased():
                lease = lease_of(row)
                assert lease is not None
                if row.status == StoreStatus.REFRESH_INTERRUPTED.value:
                    message = row.status_detail or ""
                elif self.lease_dead(lease):
                    message = self._message(row.store_id, lease)
                else:
                    continue
                found.append(_item(row, lease, message))
        return found

    def recover_interrupted(self) -> list[InterruptedRefresh]:
        """Find refreshes abandoned by a dead process; mark their stores and report them.

        A lease counts as abandoned when it is older than ``lease_timeout`` by the database's
        clock, or when its owner is provably gone (this process, or a process of the same PID
        namespace and boot). Each store becomes ``refresh_interrupted``; the item's ``message``
        tells the operator what to do.
        """
        found: list[InterruptedRefresh] = []
        events: list[LifecycleEvent] = []
        with self.store.write() as tx:
            for row in tx.leased(lock=True):
                if row.status != StoreStatus.ACTIVE.value:
                    continue
                lease = lease_of(row)
                assert lease is not None
                if not self.lease_dead(lease):
                    continue
                message = self.mark_interrupted(tx, row.store_id, lease, events)
                found.append(_item(row, lease, message))
        self.hooks.emit(events)
        return found


def _status(row: StoreRow) -> StoreStatus:
    try:
        return StoreStatus(row.status)
    except ValueError:
        return StoreStatus.UNREADABLE


def _item(row: StoreRow, lease: Lease, message: str) -> InterruptedRefresh:
    return InterruptedRefresh(
        store_id=row.store_id,
        journal_id=lease.journal_id,
        generation=row.generation,
        started_at=lease.started_at,
        pid=lease.pid,
        host=lease.host,
        message=message,
    )
