"""The token vault: a small facade over the token store, the lease book and the install book.

Per-store Salla tokens are encrypted at rest (:class:`TokenCipher`) in a :class:`TokenStore`
(SQL by default, in memory for tests); refreshes are coordinated by the lease book
(``_leases.py``) and the token providers (``_coordinator.py``); installs, uninstalls and claims
go through the install book (``_installs.py``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sallakit._exceptions import ConfigurationError, StoreNotFoundError
from sallakit.auth._claims import DEFAULT_CLAIM_TTL, claim_url, sign_claim, verify_claim
from sallakit.auth._crypto import BodyCipher, TokenCipher
from sallakit.auth._identity import LeaseOwners, ProcessIdentity
from sallakit.auth._installs import InstallBook
from sallakit.auth._leases import REINSTALL_MESSAGE, LeaseBook
from sallakit.auth._lifecycle import (
    LifecycleCallback,
    LifecycleHooks,
    LifecycleKind,
    RefreshCallback,
)
from sallakit.auth._locks import StoreLocks
from sallakit.auth._maintenance import (
    DEFAULT_REFRESH_TOKEN_LIFETIME,
    DueRefresh,
    RefreshReport,
    arefresh_due,
    due_for_refresh,
    refresh_due,
    rotate_keys,
    vault_from_settings,
)
from sallakit.auth._oauth import DEFAULT_OAUTH_TIMEOUT
from sallakit.auth._records import InterruptedRefresh, StoredStore, to_record
from sallakit.auth._refresh import (
    DEFAULT_COMMIT_BUDGET,
    DEFAULT_LEASE_TIMEOUT,
    REFRESH_POLICIES,
    RefreshPolicy,
    StoreStatus,
)
from sallakit.auth._store import JournalRecord, TokenStore, check_store_id
from sallakit.auth._tokens import TokenSet, parse_scopes

if TYPE_CHECKING:
    from sallakit.api import AsyncSalla, Salla
    from sallakit.auth._coordinator import AsyncStoreTokenProvider, StoreTokenProvider
    from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient
    from sallakit.settings import Settings

__all__ = ["DEFAULT_REFRESH_MARGIN", "InterruptedRefresh", "StoredStore", "TokenVault"]

logger = logging.getLogger(__name__)

#: Refresh one day before the access token expires, as Salla's own guidance suggests.
DEFAULT_REFRESH_MARGIN = 86_400.0

_PROCESS = ProcessIdentity()  # one process, one identity: every vault of it shares this one


def _seconds(name: str, value: float | None, *, minimum: float = 0.0, open_: bool = False) -> None:
    """Refuse NaN, infinities and values below ``minimum`` (or equal to it with ``open_``)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a finite number of seconds, not {value!r}")
    if value < minimum or (open_ and value == minimum):
        raise ConfigurationError(f"{name} must be {'>' if open_ else '>='} {minimum:g} s")


def _as_store(store: TokenStore | str | Any) -> TokenStore:
    if isinstance(store, TokenStore):
        return store
    from sallakit.auth._sqlstore import SqlTokenStore

    return SqlTokenStore(store)  # a URL, or a SQLAlchemy engine (accepted for compatibility)


def _warn_if_cannot_refresh(store_id: int, oauth: object) -> None:
    # Without an OAuth client everything works until the first refresh, days later; say it
    # now, when the client is built, rather than then.
    if oauth is None:
        logger.warning(
            "the vault has no OAuth client: the tokens of store %s cannot be refreshed and "
            "calls will fail once its access token expires (pass oauth=/async_oauth=, or set "
            "SALLAKIT_CLIENT_ID and SALLAKIT_CLIENT_SECRET for TokenVault.from_settings)",
            store_id,
            extra={"action": "vault_cannot_refresh", "store_id": store_id},
        )


class TokenVault:
    """Per-store Salla tokens, encrypted at rest, with a refresh coordinator.

    Args:
        store: a :class:`TokenStore` (:class:`SqlTokenStore`, or
            :class:`~sallakit.testing.MemoryTokenStore` in tests), or a database URL; an engine
            from :func:`sallakit.db.create_engine` is accepted too.
        keys: Fernet keys, newest first (or a ready :class:`TokenCipher`).
        oauth: the blocking OAuth client used by sync token providers to refresh.
        async_oauth: the async OAuth client used by async token providers to refresh.
        refresh_margin: refresh this many seconds before the access token expires.
        lease_timeout: after this many seconds (database clock) an unfinished refresh counts as
            abandoned; a refresh token is only ever sent within the first half of it.
        commit_budget: seconds to keep retrying the commit of tokens Salla already issued.
        lease_wait: the longest a caller waits for another process's refresh of the same store
            (default: the OAuth deadline plus ``commit_budget`` plus 10 s).
        clock: the current time in epoch seconds, for token expiry (lease ages always use the
            database's clock).
        create_tables: create the tables on construction (idempotent; it takes the database's
            write lock, so read-only tools pass False).
        refresh_policy: ``pull`` (default), ``hybrid`` or ``push-only`` (see
            docs/operating-tokens.md).
        refresh_token_lifetime: how long a refresh token lives unused (``refresh_due``
            refreshes idle stores a week before); None disables the idle check.
        pending_ttl: seconds an unclaimed Easy-mode install may stay pending before
            :meth:`expire_pending` erases it; None keeps them.
        owners: this process's identity in leases (tests inject a fake).
        on_lifecycle: callbacks for lifecycle events (see :meth:`on_lifecycle`).
        on_refresh: callbacks for the outcome of every refresh (see :meth:`on_refresh`).
    """

    def __init__(
        self,
        store: TokenStore | str,
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
        refresh_policy: RefreshPolicy = "pull",
        refresh_token_lifetime: float | None = DEFAULT_REFRESH_TOKEN_LIFETIME,
        pending_ttl: float | None = None,
        owners: LeaseOwners | None = None,
        on_lifecycle: Iterable[LifecycleCallback] = (),
        on_refresh: Iterable[RefreshCallback] = (),
    ) -> None:
        _seconds("refresh_margin", refresh_margin)
        _seconds("commit_budget", commit_budget)
        _seconds("lease_timeout", lease_timeout, open_=True)
        _seconds("lease_wait", lease_wait)
        _seconds("refresh_token_lifetime", refresh_token_lifetime, open_=True)
        _seconds("pending_ttl", pending_ttl, open_=True)
        if refresh_policy not in REFRESH_POLICIES:
            raise ConfigurationError(f"refresh_policy must be one of {', '.join(REFRESH_POLICIES)}")
        slowest = max(
            (c.timeout for c in (oauth, async_oauth) if c is not None),
            default=DEFAULT_OAUTH_TIMEOUT,
        )
        if lease_timeout <= slowest + commit_budget:
            logger.warning(
                "lease_timeout (%g s) should exceed the OAuth deadline (%g s) plus commit_budget "
                "(%g s) by a wide margin, or a live refresh could be declared abandoned",
                lease_timeout,
                slowest,
                commit_budget,
                extra={"action": "vault_lease_timeout_short"},
            )
        self.store = _as_store(store)
        self._cipher = keys if isinstance(keys, TokenCipher) else TokenCipher(keys)
        self.oauth = oauth
        self.async_oauth = async_oauth
        self.commit_budget = commit_budget
        self.lease_wait = slowest + commit_budget + 10.0 if lease_wait is None else lease_wait
        self.refresh_token_lifetime = refresh_token_lifetime
        self.pending_ttl = pending_ttl
        self._clock = clock
        self.hooks = LifecycleHooks(on_lifecycle, on_refresh)
        self.locks = StoreLocks()
        self.leases = LeaseBook(
            self.store,
            self._cipher,
            owners or _PROCESS,
            self.hooks,
            clock=clock,
            refresh_margin=refresh_margin,
            lease_timeout=lease_timeout,
            policy=refresh_policy,
        )
        self.installs = InstallBook(self.store, self._cipher, self.hooks, clock=clock)
        # Defaults for the clients this vault builds (from_settings sets the API base URL).
        self.client_defaults: dict[str, Any] = {}
        if create_tables:
            self.store.ensure_schema()

    @classmethod
    def from_url(cls, url: str, keys: Sequence[str | bytes], **kwargs: Any) -> TokenVault:
        """A vault on the database at ``url`` (see :func:`sallakit.db.create_engine`)."""
        return cls(url, keys, **kwargs)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> TokenVault:
        """The vault the CLI and the service use, from :class:`~sallakit.settings.Settings`.

        Reads ``SALLAKIT_DATABASE_URL``, ``SALLAKIT_TOKEN_KEYS`` and
        ``SALLAKIT_REFRESH_MARGIN_SECONDS``; when ``SALLAKIT_CLIENT_ID`` and
        ``SALLAKIT_CLIENT_SECRET`` are set, builds both OAuth clients (``SALLAKIT_ACCOUNTS_URL``)
        so that tokens can be refreshed. Clients built by the vault use
        ``SALLAKIT_API_BASE_URL``. ``kwargs`` override the constructor's arguments.

        Args:
            settings: The settings; None reads them from the environment now.
        """
        return vault_from_settings(cls, settings, **kwargs)

    def __repr__(self) -> str:
        return f"TokenVault({self.store!r})"

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine of a SQL store, for the application's own database work
        (migrations, health checks); the vault itself never needs it.

        Raises:
            ConfigurationError: the store is not a SQL store.
        """
        engine = getattr(self.store, "engine", None)
        if engine is None:
            raise ConfigurationError(f"{self.store!r} has no database engine")
        return engine

    @property
    def refresh_margin(self) -> float:
        """Seconds before expiry at which tokens are refreshed."""
        return self.leases.refresh_margin

    @property
    def lease_timeout(self) -> float:
        """Seconds (database clock) after which an unfinished refresh counts as abandoned."""
        return self.leases.lease_timeout

    @property
    def refresh_policy(self) -> RefreshPolicy:
        """Who refreshes: ``pull``, ``hybrid`` or ``push-only``."""
        return self.leases.policy

    def now(self) -> float:
        """The vault's clock."""
        return self._clock()

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def on_lifecycle(self, callback: LifecycleCallback) -> Callable[[], None]:
        """Call ``callback(event)`` after a store becomes reinstall-required, interrupted,
        uninstalled, recovered, claimed or pending-expired; returns an unregister function."""
        return self.hooks.add(callback)

    def on_refresh(self, callback: RefreshCallback) -> Callable[[], None]:
        """Call ``callback(RefreshOutcome)`` after each refresh, once its result is stored (the
        hook of metrics); returns an unregister function."""
        return self.hooks.add_refresh(callback)

    def body_cipher(self, purpose: str = "webhook-body") -> BodyCipher:
        """A ``seal(bytes)``/``open(bytes)`` cipher on this vault's keys, bound to ``purpose``
        (the webhook inbox seals token-carrying bodies with it; it never opens a token)."""
        return self._cipher.body_cipher(purpose)

    # --------------------------------------------------------------------- reading

    def get(self, store_id: int) -> StoredStore:
        """The store's record (no tokens).

        Raises:
            StoreNotFoundError: no row for this store (or an id no store can have).
        """
        store_id = check_store_id(store_id)
        with self.store.read() as tx:
            row = tx.get(store_id)
        if row is None:
            raise StoreNotFoundError(f"no store {store_id} in the token vault")
        return to_record(row)

    def list_stores(self) -> list[StoredStore]:
        """Every store in the vault, by id (a damaged row reads as ``unreadable``)."""
        with self.store.read() as tx:
            return [to_record(row) for row in tx.all()]

    def journal(self, store_id: int) -> list[JournalRecord]:
        """The store's refresh history, oldest first."""
        store_id = check_store_id(store_id)
        with self.store.read() as tx:
            return tx.journal(store_id)

    def tokens(self, store_id: int) -> TokenSet:
        """The store's current tokens, decrypted, as stored (no refresh).

        Raises:
            StoreNotFoundError: unknown store, or its tokens were erased (uninstalled).
            TokenDecryptionError: no configured key opens them, or they belong to another store.
        """
        store_id = check_store_id(store_id)
        with self.store.read() as tx:
            row = tx.get(store_id)
        if row is None or row.access_token is None:
            raise StoreNotFoundError(f"no tokens for store {store_id} in the token vault")
        refresh = row.refresh_token
        return TokenSet(
            access_token=self._cipher.open(store_id, "access", row.access_token),
            refresh_token=self._cipher.open(store_id, "refresh", refresh) if refresh else None,
            expires_at=to_record(row).expires_at or 0.0,
            scopes=parse_scopes(row.scopes),
        )

    # --------------------------------------------------------------------- writing

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
        """Store a new token pair for a store (insert or replace), bumping its generation; the
        store becomes ``active`` whatever it was before. ``account`` claims it at once."""
        return self.installs.save_tokens(
            check_store_id(store_id),
            tokens,
            merchant=merchant,
            user=user,
            connected_via=connected_via,
            account=account,
        )

    def record_install(self, store_id: int, app: Mapping[str, Any]) -> StoredStore:
        """Remember an ``app.installed`` / ``app.updated`` event's app details (a store seen
        for the first time stays ``pending`` until its tokens arrive)."""
        store_id = check_store_id(store_id)
        self.installs.record_install(store_id, app)
        return self.get(store_id)

    def uninstall(self, store_id: int, *, purge: bool = False, detail: str | None = None) -> None:
        """Revoke a store locally: erase its tokens, and with ``purge`` every row about it.
        Idempotent: an unknown store is not an error (uninstall events are redelivered)."""
        self.installs.uninstall(check_store_id(store_id), purge=purge, detail=detail)

    def mark_reinstall_required(self, store_id: int, detail: str | None = None) -> None:
        """Flag a store whose grant is gone; its tokens are kept only for forensics."""
        store_id = check_store_id(store_id)
        message = detail or REINSTALL_MESSAGE.format(store_id=store_id)
        self.installs.set_status(store_id, StoreStatus.REINSTALL_REQUIRED, message)

    def update_profile(
        self,
        store_id: int,
        *,
        merchant: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
    ) -> None:
        """Update the merchant / user info shown by ``sallakit stores``."""
        self.installs.update_profile(check_store_id(store_id), merchant=merchant, user=user)

    def consume_state_nonce(self, nonce: str, expires_at: float) -> bool:
        """Record an OAuth state nonce as used; ``False`` if it was used before."""
        with self.store.write() as tx:
            return tx.consume_nonce(nonce, used_at=self._clock(), expires_at=expires_at)

    def rotate_keys(self) -> int:
        """Re-encrypt every stored token under the newest key; the number of stores changed."""
        return rotate_keys(self.store, self._cipher)

    # ----------------------------------------------------------------------- claims

    def claim(self, store_id: int, *, account: str) -> StoredStore:
        """Bind a store (typically a pending Easy-mode install) to one of the app's accounts."""
        if not account:
            raise ConfigurationError("claim needs the account to bind the store to")
        return self.installs.claim(check_store_id(store_id), str(account))

    def claim_link(
        self, store_id: int, *, base_url: str, secret: str, ttl: float = DEFAULT_CLAIM_TTL
    ) -> str:
        """A signed, expiring link for the merchant to claim ``store_id`` (single use)."""
        token = sign_claim(secret, check_store_id(store_id), now=self._clock(), ttl=ttl)
        return claim_url(base_url, token)

    def redeem_claim(self, token: str, *, secret: str, account: str) -> StoredStore:
        """Check a claim link's token (signature, expiry, single use) and claim its store.

        Raises:
            InvalidStateError: forged, expired or already used.
        """
        from sallakit._exceptions import InvalidStateError

        verified = verify_claim(secret, token, now=self._clock())
        if not self.consume_state_nonce(verified.nonce, float(verified.expires_at)):
            raise InvalidStateError("this claim link was already used")
        return self.claim(verified.store_id, account=account)

    def expire_pending(self) -> list[int]:
        """Erase the tokens of installs pending for longer than ``pending_ttl``; their ids."""
        if self.pending_ttl is None:
            return []
        expired = self.installs.expired_pending(self.pending_ttl)
        for store_id in expired:
            self.installs.uninstall(
                store_id,
                detail="the install was not claimed in time",
                kind=LifecycleKind.PENDING_EXPIRED,
            )
        return expired

    # ------------------------------------------------------ refreshes and recovery

    def find_interrupted(self) -> list[InterruptedRefresh]:
        """Refreshes that look abandoned, and stores already ``refresh_interrupted``
        (read-only: nothing is marked)."""
        return self.leases.abandoned.find_interrupted()

    def recover_interrupted(self) -> list[InterruptedRefresh]:
        """Mark the stores of refreshes abandoned by a dead process ``refresh_interrupted``
        and report them (see docs/operating-tokens.md)."""
        return self.leases.abandoned.recover_interrupted()

    def due_for_refresh(self) -> list[DueRefresh]:
        """The stores :meth:`refresh_due` would refresh now, and why."""
        with self.store.read() as tx:
            rows = tx.all()
        return due_for_refresh(
            rows,
            now=self._clock(),
            margin=self.refresh_margin,
            policy=self.refresh_policy,
            refresh_token_lifetime=self.refresh_token_lifetime,
        )

    def refresh_due(self) -> list[RefreshReport]:
        """Refresh every store whose access token expires within the margin or whose refresh
        token would otherwise expire unused (run it daily); one report per store tried. Also
        expires unclaimed installs (see ``pending_ttl``)."""
        return refresh_due(self)

    async def arefresh_due(self) -> list[RefreshReport]:
        """:meth:`refresh_due` for async applications (refreshes run on the event loop)."""
        return await arefresh_due(self)

    # --------------------------------------------------------------- providers

    def token_provider(self, store_id: int) -> StoreTokenProvider:
        """A blocking token provider for ``store_id`` whose refreshes are coordinated."""
        from sallakit.auth._coordinator import StoreTokenProvider

        return StoreTokenProvider(self, check_store_id(store_id))

    def async_token_provider(self, store_id: int) -> AsyncStoreTokenProvider:
        """An async token provider for ``store_id`` whose refreshes are coordinated."""
        from sallakit.auth._coordinator import AsyncStoreTokenProvider

        return AsyncStoreTokenProvider(self, check_store_id(store_id))

    def async_client(self, store_id: int, **client_kwargs: Any) -> AsyncSalla:
        """An :class:`~sallakit.api.AsyncSalla` for ``store_id`` using this vault's tokens.

        ``client_kwargs`` go to the client (``base_url``, ``transport``...); ``store_id`` is
        passed so the per-store rate-limit governor is shared by every client of the store.
        """
        from sallakit.api import AsyncSalla

        _warn_if_cannot_refresh(store_id, self.async_oauth)
        return AsyncSalla(
            token_provider=self.async_token_provider(store_id),
            store_id=store_id,
            **{**self.client_defaults, **client_kwargs},
        )

    def client(self, store_id: int, **client_kwargs: Any) -> Salla:
        """A blocking :class:`~sallakit.api.Salla` for ``store_id`` using this vault's tokens."""
        from sallakit.api import Salla

        _warn_if_cannot_refresh(store_id, self.oauth)
        return Salla(
            token_provider=self.token_provider(store_id),
            store_id=store_id,
            **{**self.client_defaults, **client_kwargs},
        )
