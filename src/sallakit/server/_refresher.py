"""The daily refresh of tokens that would otherwise expire unused.

A store whose app makes no call for a while (a quiet shop, a paused sync) still has to keep its
grant alive: an access token that expires unused is fine, but Salla's refresh token expires too
(a month after it was issued), after which only a reinstall brings the store back. Once per
``period`` the service refreshes every active store whose access token would expire before the
next check plus the vault's refresh margin. The refresh coordinator makes this safe to run in
every process at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import anyio

from sallakit._exceptions import SallaError
from sallakit.auth import StoredStore, StoreStatus

if TYPE_CHECKING:
    from sallakit.auth import TokenVault

__all__ = ["DEFAULT_REFRESH_PERIOD", "due_for_refresh", "refresh_due", "run_refresher"]

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_PERIOD = 86_400.0


def due_for_refresh(
    stores: Iterable[StoredStore], *, now: float, margin: float, period: float
) -> list[int]:
    """Active stores whose token expires before the next check plus ``margin`` (pure)."""
    return [
        s.store_id
        for s in stores
        if s.status == StoreStatus.ACTIVE
        and s.has_tokens
        and s.expires_at is not None
        and s.expires_at - now <= margin + period
    ]


async def refresh_due(
    vault: TokenVault, *, period: float = DEFAULT_REFRESH_PERIOD, now: float | None = None
) -> dict[int, str]:
    """Refresh every due store once; returns ``{store_id: "refreshed" | error class}``."""
    stores = await anyio.to_thread.run_sync(vault.list_stores)
    moment = vault.now() if now is None else now
    outcomes: dict[int, str] = {}
    for store_id in due_for_refresh(stores, now=moment, margin=vault.refresh_margin, period=period):
        try:
            await vault.async_token_provider(store_id).force_refresh()
            outcomes[store_id] = "refreshed"
        except SallaError as exc:
            # The vault already logged it (and the metrics counted it); the dashboard and
            # `sallakit doctor` show the store's state and what to do.
            outcomes[store_id] = type(exc).__name__
    if outcomes:
        logger.info(
            "scheduled token refresh: %s",
            outcomes,
            extra={"action": "scheduled_refresh", "stores": len(outcomes)},
        )
    return outcomes


async def run_refresher(
    vault: TokenVault,
    *,
    period: float = DEFAULT_REFRESH_PERIOD,
    sleep: Callable[[float], object] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Refresh due stores now and every ``period`` seconds, until cancelled."""
    while True:
        started = clock()
        try:
            await refresh_due(vault, period=period)
        except SallaError:
            logger.exception(
                "scheduled token refresh failed", extra={"action": "scheduled_refresh"}
            )
        await sleep(max(1.0, period - (clock() - started)))  # type: ignore[misc]
