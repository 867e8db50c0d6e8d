"""The daily refresh of tokens that would otherwise expire unused.

A store whose app makes no call for a while still has to keep its grant alive: Salla's refresh
token expires when unused, after which only a reinstall brings the store back. Once per
``period`` the service asks the vault to refresh every store that is due
(:meth:`TokenVault.arefresh_due`: tokens expiring within the margin, refresh tokens that would
otherwise expire unused, unclaimed installs). The refresh coordinator makes this safe to run in
every process at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from sallakit._exceptions import SallaError

if TYPE_CHECKING:
    from sallakit.auth import TokenVault

__all__ = ["DEFAULT_REFRESH_PERIOD", "run_refresher"]

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_PERIOD = 86_400.0


async def run_refresher(
    vault: TokenVault,
    *,
    period: float = DEFAULT_REFRESH_PERIOD,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rounds: int | None = None,
) -> None:
    """Refresh due stores now and every ``period`` seconds, until cancelled (or ``rounds``)."""
    done = 0
    while rounds is None or done < rounds:
        started = clock()
        try:
            reports = await vault.arefresh_due()
            failed = [r for r in reports if not r.ok]
            if reports:
                logger.info(
                    "scheduled token refresh: %d refreshed, %d failed",
                    len(reports) - len(failed),
                    len(failed),
                    extra={"action": "scheduled_refresh", "stores": len(reports)},
                )
        except SallaError:
            # The next round tries again; the dashboard and `sallakit doctor` show the stores.
            logger.exception(
                "scheduled token refresh failed", extra={"action": "scheduled_refresh"}
            )
        done += 1
        if rounds is not None and done >= rounds:
            return
        await sleep(max(1.0, period - (clock() - started)))
