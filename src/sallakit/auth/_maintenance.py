"""Scheduled upkeep of the vault: which stores are due for a refresh (pure), key rotation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sallakit._exceptions import SallaError
from sallakit.auth._crypto import TokenCipher
from sallakit.auth._records import sane_epoch
from sallakit.auth._refresh import RefreshPolicy, StoreStatus
from sallakit.auth._store import StoreRow, TokenStore

if TYPE_CHECKING:
    from sallakit.auth._vault import TokenVault
    from sallakit.settings import Settings

    V = TypeVar("V", bound=TokenVault)

__all__ = [
    "DEFAULT_IDLE_MARGIN",
    "DEFAULT_REFRESH_TOKEN_LIFETIME",
    "DueRefresh",
    "RefreshReport",
    "arefresh_due",
    "due_for_refresh",
    "refresh_due",
    "rotate_keys",
    "vault_from_settings",
]

logger = logging.getLogger(__name__)

#: How long a refresh token lives unused at Salla (a field report; 30 days in the emulator).
DEFAULT_REFRESH_TOKEN_LIFETIME = 30 * 86_400.0
#: Refresh an idle store this long before its refresh token would expire unused.
DEFAULT_IDLE_MARGIN = 7 * 86_400.0

Reason = Literal["expiring", "idle"]


@dataclass(frozen=True, slots=True)
class DueRefresh:
    """A store :meth:`TokenVault.refresh_due` will refresh, and why."""

    store_id: int
    reason: Reason


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What :meth:`TokenVault.refresh_due` did for one store."""

    store_id: int
    reason: Reason
    ok: bool
    detail: str | None = None


def due_for_refresh(
    rows: Sequence[StoreRow],
    *,
    now: float,
    margin: float,
    policy: RefreshPolicy,
    refresh_token_lifetime: float | None,
    idle_margin: float = DEFAULT_IDLE_MARGIN,
) -> list[DueRefresh]:
    """The active stores to refresh now.

    ``expiring``: the access token expires within ``margin`` (``pull``) or has expired
    (``hybrid``). ``idle``: the refresh token was issued more than ``refresh_token_lifetime``
    minus ``idle_margin`` ago and would expire unused. ``push-only`` refreshes nothing. Stores
    whose refresh is under way (a lease) are left to it.
    """
    if policy == "push-only":
        return []
    due: list[DueRefresh] = []
    for row in rows:
        if row.status != StoreStatus.ACTIVE.value or row.refresh_token is None:
            continue
        if row.lease_id is not None:
            continue
        expires_at = sane_epoch(row.expires_at)
        window = margin if policy == "pull" else 0.0
        if expires_at is None or expires_at - now <= window:
            due.append(DueRefresh(row.store_id, "expiring"))
            continue
        issued = sane_epoch(row.tokens_at) or sane_epoch(row.refreshed_at) or row.created_at
        if refresh_token_lifetime is not None and now - issued >= max(
            0.0, refresh_token_lifetime - idle_margin
        ):
            due.append(DueRefresh(row.store_id, "idle"))
    return due


def rotate_keys(store: TokenStore, cipher: TokenCipher) -> int:
    """Re-encrypt every stored token under the newest key in one transaction (atomic, and
    serialised with refreshes); the number of stores changed.

    Raises:
        TokenDecryptionError: a row no configured key opens (nothing is changed).
    """
    changed = 0
    with store.write() as tx:
        for listed in tx.all():
            # Re-read under the row lock: a refresh may have committed since the listing.
            row = tx.get(listed.store_id, lock=True)
            if row is None:
                continue
            values: dict[str, str] = {}
            if row.access_token is not None and cipher.needs_rotation(row.access_token):
                values["access_token"] = cipher.rotate(row.store_id, "access", row.access_token)
            if row.refresh_token is not None and cipher.needs_rotation(row.refresh_token):
                values["refresh_token"] = cipher.rotate(row.store_id, "refresh", row.refresh_token)
            if values:
                tx.update(row.store_id, values)
                changed += 1
    logger.info(
        "re-encrypted the tokens of %d stores", changed, extra={"action": "vault_rotate_keys"}
    )
    return changed


def vault_from_settings(cls: type[V], settings: Settings | None = None, **kwargs: Any) -> V:
    """The body of :meth:`TokenVault.from_settings` (see there)."""
    from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient
    from sallakit.settings import Settings

    settings = Settings() if settings is None else settings
    options: dict[str, Any] = {"refresh_margin": settings.refresh_margin_seconds}
    if settings.client_id and settings.client_secret is not None:
        secret = settings.client_secret.get_secret_value()
        options["oauth"] = OAuthClient(
            settings.client_id, secret, accounts_url=settings.accounts_url
        )
        options["async_oauth"] = AsyncOAuthClient(
            settings.client_id, secret, accounts_url=settings.accounts_url
        )
    options.update(kwargs)
    vault = cls(settings.database_url, settings.token_key_list(), **options)
    vault.client_defaults["base_url"] = settings.api_base_url
    return vault


def refresh_due(vault: TokenVault) -> list[RefreshReport]:
    """The body of :meth:`TokenVault.refresh_due` (see there)."""
    vault.expire_pending()
    reports: list[RefreshReport] = []
    for due in vault.due_for_refresh():
        provider = vault.token_provider(due.store_id)
        try:
            provider.force_refresh() if due.reason == "idle" else provider.get_token()
            reports.append(RefreshReport(due.store_id, due.reason, True))
        except SallaError as exc:
            reports.append(RefreshReport(due.store_id, due.reason, False, exc.message))
    return reports


async def arefresh_due(vault: TokenVault) -> list[RefreshReport]:
    """The body of :meth:`TokenVault.arefresh_due` (see there)."""
    import anyio

    await anyio.to_thread.run_sync(vault.expire_pending)
    reports: list[RefreshReport] = []
    for due in await anyio.to_thread.run_sync(vault.due_for_refresh):
        provider = vault.async_token_provider(due.store_id)
        try:
            if due.reason == "idle":
                await provider.force_refresh()
            else:
                await provider.get_token()
            reports.append(RefreshReport(due.store_id, due.reason, True))
        except SallaError as exc:
            reports.append(RefreshReport(due.store_id, due.reason, False, exc.message))
    return reports
