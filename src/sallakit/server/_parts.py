"""The pieces a running service is made of, built once at start and shared by every route.

Routes reach them through ``request.app.state.parts``; nothing here is global.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sallakit.server._auth import Credentials, SessionCodec
from sallakit.server._metrics import ServiceMetrics
from sallakit.server.dashboard._assets import Htmx

if TYPE_CHECKING:
    from sallakit.auth import CustomMode, TokenVault
    from sallakit.server.dashboard._sources import InboxSource, MirrorSource
    from sallakit.settings import Settings

__all__ = ["ReadinessCheck", "ServiceParts"]

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else what is wrong (one line)."""


@dataclass
class ServiceParts:
    """Everything the dashboard, the JSON API and the health checks use."""

    settings: Settings
    vault: TokenVault
    sessions: SessionCodec
    credentials: Credentials
    metrics: ServiceMetrics
    inbox: InboxSource
    mirror: MirrorSource
    custom_mode: CustomMode | None = None
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    htmx: Htmx | None = None
    """The installed htmx the dashboard serves (None: not installed)."""
    clock: Callable[[], float] = time.time

    @property
    def secure_cookies(self) -> bool:
        """Cookies get ``Secure`` when the public URL is https."""
        return (self.settings.public_url or "").startswith("https://")
