"""The refresh coordinator: token providers that refresh at most once per store at a time.

Two thin shells (blocking and async) over the same steps of :class:`TokenVault`:

0. the fast path: an unlocked read returns the stored token when it is fresh and no refresh is
   under way (most calls end here);
1. take the in-process per-store lock (a ``threading.Lock`` / an ``anyio.Lock`` per event loop),
   so that threads and tasks of one process queue in memory instead of contending for the
   database;
2. ``vault.leases.begin``: a short locked transaction that re-reads the row and either hands
   back the stored token or takes the lease on the store row (compare-and-set) and commits it;
3. ``vault.leases.confirm`` re-checks the lease immediately before the refresh token is sent,
   and the OAuth client checks the attempt's send deadline again right before the request
   leaves: a holder stalled (SIGSTOP, a frozen VM) past half the lease timeout never sends;
4. call Salla once, within the OAuth client's overall deadline;
5. ``vault.leases.finish`` stores both new tokens and clears the lease in one transaction,
   retried with backoff for ``commit_budget`` seconds while the tokens are held in memory; or
   ``vault.leases.fail`` records why it failed.

In the async shell steps 2-5 run in a cancel-shielded scope bounded by the OAuth deadline plus
the commit budget (well under the lease timeout): a cancelled caller never loses tokens Salla
already issued; the cancellation is re-raised once they are stored.

Waiting for another worker's lease polls the database with a growing delay; the lease is
bounded by the vault's ``lease_timeout`` (database clock) so a dead owner cannot block a store
forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.lowlevel

from sallakit._exceptions import (
    ConfigurationError,
    RefreshInterruptedError,
    ReinstallRequiredError,
    StoreNotFoundError,
    TokenVaultError,
)
from sallakit.auth._refresh import Action
from sallakit.auth._tokens import refresh_outcome

if TYPE_CHECKING:
    from sallakit.auth._leases import RefreshAttempt as _Begin
    from sallakit.auth._tokens import TokenSet
    from sallakit.auth._vault import TokenVault

__all__ = ["AsyncStoreTokenProvider", "StoreTokenProvider"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_POLL_START = 0.02
_POLL_MAX = 0.5
_COMMIT_RETRY_START = 0.05
_COMMIT_RETRY_MAX = 2.0

COMMIT_FAILED_MESSAGE = (
    "Salla issued new tokens for store {store_id} but they could not be stored for {budget:g} s "
    "({error}). The refresh token sent is consumed, so the store will be reported as "
    "refresh_interrupted; fix the database, then try once with `sallakit stores refresh "
    "{store_id}` (if Salla answers invalid_grant the merchant must reinstall the app)."
)


class _Retry(Exception):
    """The refresh was superseded by newer tokens: start over (they will be used)."""


async def _shielded(
    fn: Callable[[str | None, bool], Awaitable[_T]], rejected: str | None, force: bool
) -> _T:
    """Run ``fn`` to completion whatever happens to the caller, then deliver any cancellation.

    An anyio cancel scope (``fail_after``, a cancelled task group) is held off by a shielded
    scope; a native asyncio cancellation (``asyncio.wait_for``, ``task.cancel()``), which a
    shielded scope does not stop, by running ``fn`` in its own task behind ``asyncio.shield``.
    ``fn`` is bounded by the OAuth client's deadline plus the commit budget.
    """
    loop = anyio.lowlevel.current_token().native_token
    if not isinstance(loop, asyncio.AbstractEventLoop):
        with anyio.CancelScope(shield=True):
            result = await fn(rejected, force)
        await anyio.lowlevel.checkpoint_if_cancelled()
        return result
    task = asyncio.ensure_future(fn(rejected, force))
    cancelled = False
    with anyio.CancelScope(shield=True):
        while True:
            try:
                result = await asyncio.shield(task)
                break
            except asyncio.CancelledError:
                if task.done():
                    raise
                cancelled = True  # remembered; the work goes on
    if cancelled:
        raise asyncio.CancelledError
    await anyio.lowlevel.checkpoint_if_cancelled()
    return result


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
        if begin.action in (Action.INTERRUPTED, Action.TOO_SOON):
            raise RefreshInterruptedError(begin.detail)
        raise self.vault.leases.unavailable(self.store_id, begin)

    def _failed(self, begin: _Begin, exc: BaseException) -> BaseException:
        """Record a failed refresh call; the exception to raise (``_Retry`` if superseded)."""
        outcome = refresh_outcome(exc)
        superseded, detail = self.vault.leases.fail(
            self.store_id, begin, outcome=outcome, detail=f"{type(exc).__name__}: {exc}"
        )
        if superseded:
            return _Retry()
        if outcome == "reinstall":
            assert isinstance(exc, ReinstallRequiredError)
            return ReinstallRequiredError(
                detail, store_id=self.store_id, description=exc.description
            )
        if outcome == "unknown" and isinstance(exc, Exception):
            return RefreshInterruptedError(detail)
        return exc

    def _check_wait(self, since: float) -> None:
        """Give up waiting for another process's lease after the vault's ``lease_wait``."""
        waited = time.monotonic() - since
        if waited > self.vault.lease_wait:
            raise TokenVaultError(
                f"store {self.store_id}: a refresh is in progress elsewhere (another process "
                f"holds the refresh lease); gave up waiting after {waited:.0f} s (lease_wait). "
                "Retry later; `sallakit stores show` tells whether it finished"
            )

    def _commit_failed(self, exc: BaseException) -> TokenVaultError:
        message = COMMIT_FAILED_MESSAGE.format(
            store_id=self.store_id, budget=self.vault.commit_budget, error=type(exc).__name__
        )
        # Operator-level, and never the tokens: only the store and the error's type.
        logger.critical(
            message, extra={"action": "refresh_commit_failed", "store_id": self.store_id}
        )
        return TokenVaultError(message)


class StoreTokenProvider(_Base):
    """Blocking token provider (``sallakit.api.TokenProvider``) backed by a vault."""

    def get_token(self) -> str:
        """The store's access token, refreshed first if it expires within the margin."""
        token = self.vault.leases.peek(self.store_id)
        if token is not None:
            return token
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
        since = time.monotonic()
        with self.vault.locks.thread_lock(self.store_id):
            while True:
                begin = self.vault.leases.begin(self.store_id, rejected, force)
                if begin.action is Action.REFRESH:
                    try:
                        return self._refresh(begin)
                    except _Retry:
                        force = False
                        continue
                token = self._settle(begin)
                if token is not None:
                    return token
                self._check_wait(since)
                time.sleep(delay)
                delay = min(delay * 2, _POLL_MAX)

    def _refresh(self, begin: _Begin) -> str:
        try:
            oauth = self.vault.oauth
            assert begin.refresh_token is not None
            try:
                if oauth is None:
                    raise ConfigurationError("the vault has no OAuthClient to refresh tokens with")
                self.vault.leases.confirm(self.store_id, begin)
                tokens: TokenSet = oauth.refresh(
                    begin.refresh_token, send_deadline=begin.send_deadline
                )
            except BaseException as exc:
                failure = self._failed(begin, exc)
                if failure is exc:
                    raise
                raise failure from exc
            return self._finish(begin, tokens)
        finally:
            self.vault.leases.release(begin)

    def _finish(self, begin: _Begin, tokens: TokenSet) -> str:
        deadline = time.monotonic() + self.vault.commit_budget
        delay = _COMMIT_RETRY_START
        while True:
            try:
                return self.vault.leases.finish(self.store_id, begin, tokens, _remaining(deadline))
            except StoreNotFoundError:
                raise
            except (RefreshInterruptedError, ReinstallRequiredError):
                raise
            except TokenVaultError as exc:
                if time.monotonic() + delay > deadline:
                    raise self._commit_failed(exc) from None
                time.sleep(delay)
                delay = min(delay * 2, _COMMIT_RETRY_MAX)


def _remaining(deadline: float) -> float:
    """What is left of the commit budget for one attempt's lock wait (never zero: a wait of
    zero would fail even an uncontended commit on a busy database)."""
    return max(0.05, deadline - time.monotonic())


class AsyncStoreTokenProvider(_Base):
    """Async token provider (``sallakit.api.AsyncTokenProvider``) backed by a vault.

    Database steps run in worker threads; the refresh call runs on the event loop.
    """

    async def get_token(self) -> str:
        """The store's access token, refreshed first if it expires within the margin."""
        token = await anyio.to_thread.run_sync(self.vault.leases.peek, self.store_id)
        if token is not None:
            return token
        return await self._run(None, force=False)

    async def refresh_token(self, rejected_token: str) -> str:
        """A token other than ``rejected_token`` (which the API answered 401 for)."""
        return await self._run(rejected_token, force=False)

    async def force_refresh(self) -> str:
        """Refresh now, even if the token looks fresh (see the blocking twin)."""
        return await self._run(None, force=True)

    async def _run(self, rejected: str | None, *, force: bool) -> str:
        delay = _POLL_START
        since = time.monotonic()
        async with self.vault.locks.task_lock(self.store_id):
            while True:
                # Shielded from taking the lease to storing the answer: once the lease is
                # committed, the refresh token may leave the process and its answer must land.
                begin, token = await _shielded(self._attempt, rejected, force)
                if begin.action is Action.REFRESH:
                    if token is not None:
                        return token
                    force = False  # superseded by newer tokens: use them
                    continue
                token = self._settle(begin)
                if token is not None:
                    return token
                self._check_wait(since)
                await anyio.sleep(delay)
                delay = min(delay * 2, _POLL_MAX)

    async def _attempt(self, rejected: str | None, force: bool) -> tuple[_Begin, str | None]:
        begin = await anyio.to_thread.run_sync(
            self.vault.leases.begin, self.store_id, rejected, force
        )
        if begin.action is not Action.REFRESH:
            return begin, None
        try:
            return begin, await self._refresh(begin)
        except _Retry:
            return begin, None

    async def _refresh(self, begin: _Begin) -> str:
        oauth = self.vault.async_oauth
        try:
            assert begin.refresh_token is not None
            if oauth is None:
                raise ConfigurationError("the vault has no AsyncOAuthClient to refresh tokens with")
            # The OAuth client bounds the call itself (overall deadline); this outer bound only
            # guards against a client without one.
            await anyio.to_thread.run_sync(self.vault.leases.confirm, self.store_id, begin)
            with anyio.fail_after(oauth.timeout + 5):
                tokens = await oauth.refresh(begin.refresh_token, send_deadline=begin.send_deadline)
        except BaseException as exc:
            try:
                failure = await anyio.to_thread.run_sync(self._failed, begin, exc)
            finally:
                self.vault.leases.release(begin)
            if failure is exc:
                raise
            raise failure from exc
        try:
            return await self._finish(begin, tokens)
        finally:
            self.vault.leases.release(begin)

    async def _finish(self, begin: _Begin, tokens: TokenSet) -> str:
        deadline = time.monotonic() + self.vault.commit_budget
        delay = _COMMIT_RETRY_START
        while True:
            try:
                token: str = await anyio.to_thread.run_sync(
                    self.vault.leases.finish, self.store_id, begin, tokens, _remaining(deadline)
                )
                return token
            except (StoreNotFoundError, RefreshInterruptedError, ReinstallRequiredError):
                raise
            except TokenVaultError as exc:
                if time.monotonic() + delay > deadline:
                    raise self._commit_failed(exc) from None
                await anyio.sleep(delay)
                delay = min(delay * 2, _COMMIT_RETRY_MAX)
