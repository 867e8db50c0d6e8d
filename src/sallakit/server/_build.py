"""Building the service's parts from settings, and the app that serves them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import sqlalchemy as sa
from fastapi import FastAPI

from sallakit.server._auth import Credentials, SessionCodec
from sallakit.server._metrics import ServiceMetrics, StateSource
from sallakit.server._parts import ReadinessCheck, ServiceParts
from sallakit.server._routes import install_service
from sallakit.server.dashboard._assets import load_htmx

if TYPE_CHECKING:
    from sallakit.auth import AsyncOAuthClient, TokenVault
    from sallakit.server.dashboard._sources import InboxSource, MirrorSource
    from sallakit.settings import Settings

__all__ = ["build_parts", "database_check", "service_app"]


def database_check(vault: TokenVault) -> ReadinessCheck:
    """A readiness check: the database answers and every migration is applied."""
    from sallakit.db import pending_revisions

    def probe() -> str | None:
        try:
            with vault.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            return f"database unreachable ({type(orig or exc).__name__})"
        pending = pending_revisions(vault.engine)
        if pending:
            return f"migrations not applied: {', '.join(pending)}"
        return None

    async def check() -> str | None:
        return await anyio.to_thread.run_sync(probe)

    return check


def build_parts(
    settings: Settings,
    vault: TokenVault,
    *,
    inbox: InboxSource,
    mirror: MirrorSource,
    source: StateSource | None = None,
    oauth: AsyncOAuthClient | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
    clock: Callable[[], float] = time.time,
) -> ServiceParts:
    """The parts of a service from validated ``settings`` and its vault.

    Custom mode (the OAuth callback) is on when ``SALLAKIT_REDIRECT_URI`` is set and ``oauth``
    is given.
    """
    from sallakit.auth import CustomMode

    assert settings.session_secret is not None  # require_valid() checked it
    sessions = SessionCodec(
        settings.session_secret.get_secret_value(),
        max_age=settings.session_max_age_seconds,
        clock=clock,
    )
    credentials = Credentials(
        settings.admin_password.get_secret_value() if settings.admin_password else None,
        settings.admin_token.get_secret_value() if settings.admin_token else None,
    )
    custom = None
    if settings.redirect_uri and settings.state_secret and oauth is not None:
        custom = CustomMode(
            vault,
            oauth,
            redirect_uri=settings.redirect_uri,
            state_secret=settings.state_secret.get_secret_value(),
        )
    checks = {"database": database_check(vault)}
    checks.update(readiness or {})
    return ServiceParts(
        settings=settings,
        vault=vault,
        sessions=sessions,
        credentials=credentials,
        metrics=ServiceMetrics(source, clock=clock),
        inbox=inbox,
        mirror=mirror,
        custom_mode=custom,
        readiness=checks,
        htmx=load_htmx(),
        clock=clock,
    )


def service_app(parts: ServiceParts) -> FastAPI:
    """A FastAPI app serving ``parts``; the vault's clients and refreshes feed the metrics
    while its lifespan runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        detach = parts.metrics.instrument(vault=parts.vault)
        try:
            yield
        finally:
            detach()

    app = FastAPI(
        title="sallakit service",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_service(app, parts)
    return app
