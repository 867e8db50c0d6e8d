"""The refresh coordinator: token providers that refresh at most once per store at a time.

Two thin shells (blocking and async) over the same steps of :class:`TokenVault`:

1. take the in-process per-store lock (a ``threading.Lock`` / ``anyio.Lock``), so that threads
   and tasks of one process queue in memory instead of contending for the database;
2. ``_begin_refresh``: a short locked transaction that re-reads the row and either hands back
   the stored token or opens a journal entry (the cross-process lease) and commits it;
3. call Salla once with the refresh token;
4. ``_finish_refresh`` stores both new tokens and closes the entry in one transaction, or
   ``_fail_refresh`` records why it failed.

Waiting for another process's lease polls the database with a growing delay; the lease is
bounded by the vault's ``lease_timeout`` so a dead owner cannot block a store forever.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio

from sallakit._exceptions import (
    ConfigurationError,
    RefreshInterruptedError,
    ReinstallRequiredError,
    TokenExchangeError,
)
from sallakit.auth._refresh import Action

if TYPE_CHECKING:
    from sallakit.auth._tokens import TokenSet
    from sallakit.auth._vault import TokenVault, _Begin

__all__ = ["AsyncStoreTokenProvider", "StoreTokenProvider"]

_POLL_START = 0.02
_POLL_MAX = 0.5


def _unknown_outcome(exc: TokenExchangeError) -> bool:
    # No HTTP answer after the request may have been sent: Salla may have rotated the token.
    return exc.status_code is None and exc.error != "connect_failed"


class _Base:
    def __init__(self, vault: TokenVault, store_id: int) -> None:
        self.vault = vault
        self.store_id = int(store_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store_id={self.store_id})"

    def _settle(self, begin: _Begin) -> str | None:
        """The token to return for a non-refresh decision, or None to wait and retry."""
        if begin.action is Action.USE_STORED:
            assert begin.access_token is not None
            return begin.access_token
        if begin.action is Action.WAIT:
            return None
        if begin.action is Action.INTERRUPTED:
            raise RefreshInterruptedError(begin.detail)
        raise self.vault._unavailable(self.store_id, begin)

    def _failed(self, begin: _Begin, exc: Exception) -> Exception:
        assert begin.journal_id is not None
        if isinstance(exc, ReinstallRequiredError):
            detail = self.vault._fail_refresh(
                self.store_id, begin.journal_id, outcome="reinstall", detail="invalid_grant"
            )
            return ReinstallRequiredError(
                detail, store_id=self.store_id, description=exc.description
            )
        if isinstance(exc, TokenExchangeError) and _unknown_outcome(exc):
            detail = self.vault._fail_refresh(
                self.store_id, begin.journal_id, outcome="unknown", detail=str(exc)
            )
            return RefreshInterruptedError(detail)
        self.vault._fail_refresh(self.store_id, begin.journal_id, outcome="failed", detail=str(exc))
        return exc


class StoreTokenProvider(_Base):
    """Blocking token provider (``sallakit.api.TokenProvider``) backed by a vault."""

    def get_token(self) -> str:
        """The store's access token, refreshed first if it expires within the margin."""
        return self._run(None, force=False)

    def refresh_token(self, rejected_token: str) -> str:
        """A token other than ``rejected_token`` (which the API answered 401 for)."""
        return self._run(rejected_token, force=False)

    def force_refresh(self) -> str:
        """Refresh now, even if the token looks fresh; the single operator retry after an
        interrupted refresh also goes through here."""
        return self._run(None, force=True)

    def _run(self, rejected: str | None, *, force: bool) -> str:
        delay = _POLL_START
        with self.vault._thread_lock(self.store_id):
            while True:
                begin = self.vault._begin_refresh(self.store_id, rejected, force)
                if begin.action is Action.REFRESH:
                    return self._refresh(begin)
                token = self._settle(begin)
                if token is not None:
                    return token
                time.sleep(delay)
                delay = min(delay * 2, _POLL_MAX)

    def _refresh(self, begin: _Begin) -> str:
        oauth = self.vault.oauth
        assert begin.refresh_token is not None and begin.journal_id is not None
        try:
            if oauth is None:
                raise ConfigurationError("the vault has no OAuthClient to refresh tokens with")
            tokens: TokenSet = oauth.refresh(begin.refresh_token)
        except BaseException as exc:
            if isinstance(exc, Exception):
                failure = self._failed(begin, exc)
                if failure is exc:
                    raise
                raise failure from exc
            # KeyboardInterrupt / SystemExit mid-call: the outcome at Salla is unknown.
            self.vault._fail_refresh(
                self.store_id, begin.journal_id, outcome="unknown", detail=repr(exc)
            )
            raise
        return self.vault._finish_refresh(self.store_id, begin.journal_id, begin.generation, tokens)


class AsyncStoreTokenProvider(_Base):
    """Async token provider (``sallakit.api.AsyncTokenProvider``) backed by a vault.

    Database steps run in worker threads; the refresh call runs on the event loop.
    """

    async def get_token(self) -> str:
        """The store's access token, refreshed first if it expires within the margin."""
        return await self._run(None, force=False)

    async def refresh_token(self, rejected_token: str) -> str:
        """A token other than ``rejected_token`` (which the API answered 401 for)."""
        return await self._run(rejected_token, force=False)

    async def force_refresh(self) -> str:
        """Refresh now, even if the token looks fresh (see the blocking twin)."""
        return await self._run(None, force=True)

    async def _run(self, rejected: str | None, *, force: bool) -> str:
        delay = _POLL_START
        async with self.vault._task_lock(self.store_id):
            while True:
                begin = await anyio.to_thread.run_sync(
                    self.vault._begin_refresh, self.store_id, rejected, force
                )
                if begin.action is Action.REFRESH:
                    return await self._refresh(begin)
                token = self._settle(begin)
                if token is not None:
                    return token
                await anyio.sleep(delay)
                delay = min(delay * 2, _POLL_MAX)

    async def _refresh(self, begin: _Begin) -> str:
        oauth = self.vault.async_oauth
        assert begin.refresh_token is not None and begin.journal_id is not None
        try:
            if oauth is None:
                raise ConfigurationError("the vault has no AsyncOAuthClient to refresh tokens with")
            tokens = await oauth.refresh(begin.refresh_token)
        except BaseException as exc:
            # Shielded: a cancelled task must still close its journal entry, or the store would
            # wait for a lease nobody holds.
            with anyio.CancelScope(shield=True):
                if isinstance(exc, Exception):
                    failure = await anyio.to_thread.run_sync(self._failed, begin, exc)
                    if failure is exc:
                        raise
                    raise failure from exc
                detail = repr(exc)
                await anyio.to_thread.run_sync(
                    lambda: self.vault._fail_refresh(
                        self.store_id, begin.journal_id or 0, outcome="unknown", detail=detail
                    )
                )
            raise
        # Shielded: the new tokens exist only in this task now; losing them to a cancellation
        # would leave the store with a consumed refresh token.
        with anyio.CancelScope(shield=True):
            token: str = await anyio.to_thread.run_sync(
                self.vault._finish_refresh,
                self.store_id,
                begin.journal_id,
                begin.generation,
                tokens,
            )
        return token
