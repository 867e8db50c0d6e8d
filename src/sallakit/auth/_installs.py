"""The install book: tokens arriving (connect, Easy mode), stores leaving, claims.

Ordering rule between a pushed grant (``app.store.authorize``) and a refresh of the same store:

- A pushed grant applied while a refresh holds the lease wins: it bumps the store's
  generation and ends the lease; when the refresh's answer comes back it finds a newer
  generation, drops its own tokens (their refresh token is retired) and hands out the pushed
  ones. A refresh's failure (even ``invalid_grant``) is then about the older grant and leaves
  the store active.
- A pushed grant arriving after a refresh committed is applied unless it carries a refresh
  token the vault already retired (the very token that refresh consumed: an older grant) or is
  older, by ``created_at`` then ``expires``, than the last applied push. So a refresh's result
  is never overwritten by the grant it replaced, and a newer push always lands.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sallakit._exceptions import SallaError, StoreNotFoundError
from sallakit.auth._crypto import TokenCipher
from sallakit.auth._lifecycle import LifecycleEvent, LifecycleHooks, LifecycleKind
from sallakit.auth._records import StoredStore, to_record
from sallakit.auth._refresh import StoreStatus
from sallakit.auth._store import (
    LEASE_CLEARED,
    TokenStore,
    TokenStoreTransaction,
    retire_refresh,
    token_hash,
)
from sallakit.auth._tokens import TokenSet

__all__ = ["InstallBook"]

logger = logging.getLogger(__name__)

_UNHEALTHY = (
    StoreStatus.REINSTALL_REQUIRED.value,
    StoreStatus.REFRESH_INTERRUPTED.value,
    StoreStatus.UNINSTALLED.value,
)


class InstallBook:
    """Writes that install, replace or erase a store's tokens (see the module docstring)."""

    def __init__(
        self,
        store: TokenStore,
        cipher: TokenCipher,
        hooks: LifecycleHooks,
        *,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.hooks = hooks
        self.clock = clock

    # ------------------------------------------------------------------ tokens in

    def save_tokens(
        self,
        store_id: int,
        tokens: TokenSet,
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
        connected_via: str | None = None,
        account: str | None = None,
    ) -> StoredStore:
        """Store a new token pair (insert or replace), bumping the generation."""
        events: list[LifecycleEvent] = []
        with self.store.write() as tx:
            self._save(
                tx,
                store_id,
                tokens,
                events,
                merchant=merchant,
                user=user,
                connected_via=connected_via,
                account=account,
            )
            row = tx.get(store_id)
        assert row is not None
        self.hooks.emit(events)
        logger.info(
            "stored tokens for store %s",
            store_id,
            extra={"action": "vault_save_tokens", "store_id": store_id},
        )
        return to_record(row)

    def _save(
        self,
        tx: TokenStoreTransaction,
        store_id: int,
        tokens: TokenSet,
        events: list[LifecycleEvent],
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
        connected_via: str | None = None,
        account: str | None = None,
        pending: bool = False,
    ) -> None:
        now = self.clock()
        self._ensure_row(tx, store_id, now)
        row = tx.get(store_id, lock=True)
        assert row is not None
        replaced: str | None = None
        if row.refresh_token is not None:
            try:
                old = self.cipher.open(store_id, "refresh", row.refresh_token)
                replaced = None if old == tokens.refresh_token else old
            except SallaError:
                replaced = None  # sealed under a key no longer configured: nothing to compare
        values: dict[str, Any] = {
            "status": StoreStatus.ACTIVE.value,
            "status_detail": None,
            "access_token": self.cipher.seal(store_id, "access", tokens.access_token),
            "refresh_token": (
                self.cipher.seal(store_id, "refresh", tokens.refresh_token)
                if tokens.refresh_token
                else None
            ),
            "expires_at": tokens.expires_at,
            "scopes": " ".join(tokens.scopes),
            "updated_at": now,
            "tokens_at": now,
            "uninstalled_at": None,
            # New tokens end any refresh in flight for the old pair: its lease is moot, and its
            # worker finds a newer generation when it comes back.
            **LEASE_CLEARED,
        }
        if merchant is not None:
            values["merchant"] = dict(merchant)
        if user is not None:
            values["user_info"] = dict(user)
        if connected_via is not None:
            values["connected_via"] = connected_via
        if account is not None:
            values.update(account=account, pending_since=None)
        elif pending and row.account is None and row.pending_since is None:
            values["pending_since"] = now
        tx.update(store_id, values, bump_generation=True)
        retire_refresh(tx, store_id, replaced)
        tx.supersede_journal(store_id, finished_at=now)
        if row.status in _UNHEALTHY:
            events.append(LifecycleEvent(store_id, LifecycleKind.RECOVERED, row.status, now))

    def _ensure_row(self, tx: TokenStoreTransaction, store_id: int, now: float) -> bool:
        """Create a ``pending`` row for a new store at its generation high-water mark (a purged
        store never reuses a generation number); True when this call created it."""
        if tx.get(store_id) is not None:
            return False
        return tx.insert_pending(store_id, generation=tx.history(store_id).generation, now=now)

    def authorize(
        self,
        digest: str | None,
        store_id: int,
        tokens: TokenSet,
        *,
        created_at: float | None,
        expires: float | None,
    ) -> bool:
        """Apply an ``app.store.authorize`` at most once (by ``digest``) and only if it is not
        older than what the vault holds (see the module docstring). False when ignored."""
        events: list[LifecycleEvent] = []
        applied = self._once(
            digest,
            store_id,
            "app.store.authorize",
            lambda tx: self._authorize(tx, store_id, tokens, created_at, expires, events),
        )
        self.hooks.emit(events)
        return applied

    def _authorize(
        self,
        tx: TokenStoreTransaction,
        store_id: int,
        tokens: TokenSet,
        created_at: float | None,
        expires: float | None,
        events: list[LifecycleEvent],
    ) -> bool:
        # Insert-if-absent first, so that the lock below exists to wait on even for a new store
        # (two deliveries for a store with no row yet are then ordered, not both applied).
        inserted = self._ensure_row(tx, store_id, self.clock())
        row = tx.get(store_id, lock=True)
        assert row is not None
        history = tx.history(store_id)
        old_at, old_exp = row.authorize_created_at, row.authorize_expires
        stale: str | None = None
        if created_at is not None and old_at is not None and created_at != old_at:
            if created_at < old_at:
                stale = "older than the one applied"
        elif expires is not None and old_exp is not None and expires < old_exp:
            stale = "older than the one applied"
        gone = history.uninstall_event_at
        if stale is None and created_at is not None and gone is not None and created_at < gone:
            stale = "created before the app was uninstalled"
        # An equal ordering key is no proof of age; a retired refresh token is: an authorize
        # whose refresh token was used or replaced is never applied.
        if (
            stale is None
            and tokens.refresh_token
            and token_hash(store_id, tokens.refresh_token) in history.retired_refresh
        ):
            stale = "carrying a refresh token already used"
        if stale is not None:
            if inserted:
                tx.delete(store_id)
            logger.warning(
                "ignored an app.store.authorize for store %s %s",
                store_id,
                stale,
                extra={"action": "easy_mode_stale_authorize", "store_id": store_id},
            )
            return False
        self._save(tx, store_id, tokens, events, connected_via="easy", pending=True)
        order = {"authorize_created_at": created_at, "authorize_expires": expires}
        tx.update(store_id, {k: v for k, v in order.items() if v is not None})
        return True

    def record_install(
        self, store_id: int, app: Mapping[str, Any], *, digest: str | None = None
    ) -> bool:
        """Remember an ``app.installed`` / ``app.updated`` event's app details (a new store
        stays ``pending`` until its tokens arrive)."""

        def apply(tx: TokenStoreTransaction) -> bool:
            now = self.clock()
            self._ensure_row(tx, store_id, now)
            tx.get(store_id, lock=True)
            tx.update(store_id, {"app": dict(app), "updated_at": now})
            return True

        return self._once(digest, store_id, "app.installed", apply)

    def _once(
        self,
        digest: str | None,
        store_id: int,
        event: str,
        apply: Callable[[TokenStoreTransaction], bool],
    ) -> bool:
        """Run ``apply`` in one write transaction; with a ``digest`` at most once (a redelivered
        event must never put back consumed tokens, nor erase a later reinstall's)."""
        with self.store.write() as tx:
            if digest is not None and tx.event_seen(digest):
                return False
            applied = apply(tx)
            if digest is not None:
                tx.record_event(digest, store_id=store_id, event=event, received_at=self.clock())
        return applied

    # ----------------------------------------------------------------- tokens out

    def uninstall(
        self,
        store_id: int,
        *,
        purge: bool = False,
        detail: str | None = None,
        created_at: float | None = None,
        digest: str | None = None,
        kind: LifecycleKind = LifecycleKind.UNINSTALLED,
    ) -> bool:
        """Erase a store's tokens (and with ``purge`` its row); idempotent.

        With ``created_at`` (an ``app.uninstalled`` event's time) an uninstall older than the
        newest applied authorize is ignored (a late retry, a replay after a reinstall): False.
        """
        events: list[LifecycleEvent] = []

        def apply(tx: TokenStoreTransaction) -> bool:
            return self._uninstall(tx, store_id, purge, detail, created_at, events, kind)

        done = self._once(digest, store_id, "app.uninstalled", apply)
        self.hooks.emit(events)
        return done

    def _uninstall(
        self,
        tx: TokenStoreTransaction,
        store_id: int,
        purge: bool,
        detail: str | None,
        created_at: float | None,
        events: list[LifecycleEvent],
        kind: LifecycleKind,
    ) -> bool:
        now = self.clock()
        row = tx.get(store_id, lock=True)
        if created_at is not None and row is not None:
            newest = row.authorize_created_at
            if newest is not None and created_at < newest:
                logger.warning(
                    "ignored an app.uninstalled for store %s older than its latest authorize",
                    store_id,
                    extra={"action": "easy_mode_stale_uninstall", "store_id": store_id},
                )
                return False
        # The history survives a purge: the uninstall event's time (an older authorize
        # delivered late must not revive the store) and the generation high-water mark.
        history = tx.history(store_id)
        changed = history
        if created_at is not None and (
            history.uninstall_event_at is None or created_at > history.uninstall_event_at
        ):
            changed = dataclasses.replace(changed, uninstall_event_at=created_at)
        if row is not None:
            changed = dataclasses.replace(
                changed, generation=max(history.generation, row.generation + 1)
            )
        if changed != history:
            tx.save_history(changed)
        if purge:
            # The app events' digests stay (part of the history): a redelivery stays a no-op.
            tx.delete_journal(store_id)
            tx.delete(store_id)
        else:
            tx.update(
                store_id,
                {
                    "status": StoreStatus.UNINSTALLED.value,
                    "status_detail": detail or "the app was uninstalled",
                    "access_token": None,
                    "refresh_token": None,
                    "updated_at": now,
                    "uninstalled_at": now,
                    "pending_since": None,
                    **LEASE_CLEARED,
                },
                bump_generation=True,
            )
            tx.supersede_journal(store_id, finished_at=now)
        if row is not None and row.status != StoreStatus.UNINSTALLED.value:
            events.append(LifecycleEvent(store_id, kind, detail, now))
        logger.info(
            "store %s revoked locally (%s)",
            store_id,
            "purged" if purge else "kept",
            extra={"action": "vault_uninstall", "store_id": store_id, "purge": purge},
        )
        return True

    def set_status(self, store_id: int, status: StoreStatus, detail: str | None) -> None:
        """Set a store's status (an operator's decision)."""
        now = self.clock()
        with self.store.write() as tx:
            row = tx.get(store_id, lock=True)
            tx.update(
                store_id, {"status": status.value, "status_detail": detail, "updated_at": now}
            )
        if row is not None and status is StoreStatus.REINSTALL_REQUIRED:
            self.hooks.emit(
                [LifecycleEvent(store_id, LifecycleKind.REINSTALL_REQUIRED, detail, now)]
            )

    def update_profile(
        self,
        store_id: int,
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
    ) -> None:
        """Update the merchant / user info shown by ``sallakit stores``."""
        values: dict[str, Any] = {"updated_at": self.clock()}
        if merchant is not None:
            values["merchant"] = dict(merchant)
        if user is not None:
            values["user_info"] = dict(user)
        with self.store.write() as tx:
            tx.update(store_id, values)

    # --------------------------------------------------------------------- claims

    def claim(self, store_id: int, account: str) -> StoredStore:
        """Bind a store to one of the app's accounts (it is no longer pending)."""
        now = self.clock()
        with self.store.write() as tx:
            row = tx.get(store_id, lock=True)
            if row is None or row.status == StoreStatus.UNINSTALLED.value:
                raise StoreNotFoundError(f"store {store_id} is not installed; nothing to claim")
            tx.update(store_id, {"account": account, "pending_since": None, "updated_at": now})
            row = tx.get(store_id)
        assert row is not None
        self.hooks.emit([LifecycleEvent(store_id, LifecycleKind.CLAIMED, account, now)])
        return to_record(row)

    def expired_pending(self, ttl: float) -> list[int]:
        """Stores pending for longer than ``ttl`` seconds."""
        now = self.clock()
        with self.store.read() as tx:
            return [
                r.store_id
                for r in tx.all()
                if r.account is None and r.pending_since is not None and now - r.pending_since > ttl
            ]
