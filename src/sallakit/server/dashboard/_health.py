"""Token health of a store, as the dashboard shows it (pure: no I/O, the clock is an argument)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sallakit.auth import InterruptedRefresh, StoredStore, StoreStatus

__all__ = ["TokenHealth", "token_health"]

Level = Literal["ok", "warn", "bad"]


@dataclass(frozen=True, slots=True)
class TokenHealth:
    """A store's token state in one word (``level``), a label key and what to do about it."""

    level: Level
    label: str
    advice: str | None = None


def token_health(
    store: StoredStore,
    *,
    now: float,
    refresh_margin: float,
    interrupted: InterruptedRefresh | None = None,
) -> TokenHealth:
    """How healthy the store's tokens are and what an operator should do.

    Args:
        store: the vault's record.
        now: the current time (epoch seconds).
        refresh_margin: the vault refreshes this long before expiry.
        interrupted: an abandoned refresh found for the store, if any.
    """
    if interrupted is not None or store.status == StoreStatus.REFRESH_INTERRUPTED:
        message = interrupted.message if interrupted is not None else store.status_detail
        return TokenHealth(
            "bad",
            "refresh_interrupted",
            message or f"run `sallakit stores refresh {store.store_id}` once",
        )
    if store.status == StoreStatus.REINSTALL_REQUIRED:
        return TokenHealth(
            "bad",
            "reinstall_required",
            "the grant is revoked: the merchant must reinstall the app from the Salla App Store",
        )
    if store.status == StoreStatus.UNINSTALLED:
        return TokenHealth("warn", "uninstalled", "the merchant removed the app")
    if store.status == StoreStatus.PENDING or not store.has_tokens:
        return TokenHealth(
            "warn", "pending", "installed, waiting for the app.store.authorize event with tokens"
        )
    if store.expires_at is not None and store.expires_at <= now:
        return TokenHealth(
            "warn",
            "expired",
            "the access token expired; the next call refreshes it "
            f"(or run `sallakit stores refresh {store.store_id}`)",
        )
    if store.expires_at is not None and store.expires_at - now <= refresh_margin:
        return TokenHealth("ok", "refresh_due", None)
    return TokenHealth("ok", "active", None)
