"""What the vault shows about stores: records without tokens, read tolerantly (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sallakit.auth._refresh import StoreStatus
from sallakit.auth._store import StoreRow
from sallakit.auth._tokens import parse_scopes

__all__ = ["InterruptedRefresh", "StoredStore", "iso_time", "sane_epoch", "to_record"]

#: The latest time a stored timestamp may name (the end of year 9999, what datetime can show).
MAX_EPOCH = 253_402_300_799.0


def sane_epoch(value: float | None) -> float | None:
    """``value`` when it is a time that can exist (finite, 0 to year 9999), else None."""
    if value is None or not math.isfinite(value) or not 0 <= value <= MAX_EPOCH:
        return None
    return value


def iso_time(epoch: float) -> str:
    """An epoch as ISO 8601 UTC to the second (``?`` for an impossible time)."""
    sane = sane_epoch(epoch)
    if sane is None:
        return "?"
    return datetime.fromtimestamp(sane, tz=UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class StoredStore:
    """What the vault knows about a store. Never carries a token.

    ``status`` is :attr:`StoreStatus.UNREADABLE` for a damaged row (an unknown status, an
    impossible expiry), with ``status_detail`` saying what is wrong: one damaged row never
    stops the others from being listed.
    """

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
    account: str | None = None
    pending_since: float | None = None

    @property
    def name(self) -> str | None:
        """The store's name from the merchant info, when known."""
        value = (self.merchant or {}).get("name")
        return str(value) if value is not None else None

    @property
    def pending(self) -> bool:
        """Installed through Easy mode and not yet claimed by one of the app's accounts."""
        return self.pending_since is not None and self.account is None


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


def _status(row: StoreRow) -> tuple[StoreStatus, str | None]:
    try:
        status = StoreStatus(row.status)
    except ValueError:
        return StoreStatus.UNREADABLE, (
            f"the stored status {row.status[:40]!r} is unknown to this sallakit (a newer "
            "version, or a manual edit); the store is left alone until it is fixed"
        )
    if status is StoreStatus.UNREADABLE:
        return status, row.status_detail
    if row.expires_at is not None and sane_epoch(row.expires_at) is None:
        return StoreStatus.UNREADABLE, (
            "the stored access-token expiry is not a possible time; a refresh "
            f"(`sallakit stores refresh {row.store_id}`) or a reconnect replaces it"
        )
    return status, row.status_detail


def to_record(row: StoreRow) -> StoredStore:
    """The record of a row; never raises for a damaged row (see :class:`StoredStore`)."""
    status, detail = _status(row)
    return StoredStore(
        store_id=row.store_id,
        status=status,
        status_detail=detail,
        expires_at=sane_epoch(row.expires_at),
        scopes=parse_scopes(row.scopes),
        merchant=row.merchant,
        user=row.user_info,
        app=row.app,
        generation=row.generation,
        connected_via=row.connected_via,
        has_tokens=row.access_token is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        refreshed_at=sane_epoch(row.refreshed_at),
        uninstalled_at=sane_epoch(row.uninstalled_at),
        account=row.account,
        pending_since=sane_epoch(row.pending_since),
    )
