"""The sallakit server: one ASGI app for everything a Salla app receives.

``create_app(settings)`` mounts the webhook receiver at ``POST /webhooks/salla`` with its worker
running in-process (the app's lifespan), and ``GET /healthz``. ``sallakit serve`` runs it with
uvicorn.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sallakit._config import require_valid
from sallakit._exceptions import ConfigurationError
from sallakit.settings import Settings
from sallakit.webhooks import Handlers, Inbox, RetryPolicy, SQLInbox, WebhookReceiver

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["WEBHOOK_PATH", "create_app", "load_handlers"]

#: Where Salla posts every event of the app (the app's webhook URL ends with this path).
WEBHOOK_PATH = "/webhooks/salla"


def load_handlers(spec: str | None) -> Handlers:
    """Handlers named by ``module:attribute`` entries (comma-separated).

    An attribute is a :class:`~sallakit.webhooks.Handlers` (its handlers are included) or a
    function taking a :class:`~sallakit.webhooks.Handlers` to register on.

    Raises:
        ConfigurationError: an entry that cannot be imported or is neither.
    """
    handlers = Handlers()
    for entry in (part.strip() for part in (spec or "").split(",")):
        if not entry:
            continue
        module_name, sep, attr = entry.partition(":")
        if not sep or not module_name or not attr:
            raise ConfigurationError(f"webhook handlers {entry!r}: expected module:attribute")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(f"webhook handlers {entry!r}: cannot import: {exc}") from exc
        target: Any = getattr(module, attr, None)
        if isinstance(target, Handlers):
            handlers.include(target)
        elif callable(target):
            target(handlers)
        else:
            raise ConfigurationError(
                f"webhook handlers {entry!r} is neither a Handlers nor a function"
            )
    return handlers


def _inbox(settings: Settings) -> Inbox:
    cipher = None
    keys = settings.token_key_list()
    if keys:
        from sallakit.server._cipher import FernetBodyCipher

        cipher = FernetBodyCipher(keys)
    from sallakit._config import engine_options
    from sallakit.db import create_engine, migrate

    engine = create_engine(settings.database_url, **engine_options(settings))
    migrate(engine)
    return SQLInbox(engine, cipher=cipher)


def create_app(
    settings: Settings | None = None,
    *,
    handlers: Handlers | None = None,
    inbox: Inbox | None = None,
) -> FastAPI:
    """The server's ASGI app.

    Args:
        settings: configuration (default: read from ``SALLAKIT_*`` and ``.env``).
        handlers: webhook handlers, added to those named by ``settings.webhook_handlers``.
        inbox: the webhook inbox (default: the settings' database, migrated, with bodies of
            token events sealed under ``SALLAKIT_TOKEN_KEYS``).

    Raises:
        ConfigurationError: no webhook secret, an unreachable database, bad handlers.
    """
    from fastapi import FastAPI
    from starlette.routing import Route

    settings = settings if settings is not None else Settings()
    # Every problem at once, one line each, before anything is built.
    require_valid(settings, purpose="serve")
    secrets = settings.webhook_secrets()
    if not secrets:
        raise ConfigurationError(
            "the server needs the app's webhook secret: set SALLAKIT_WEBHOOK_SECRET"
        )
    all_handlers = load_handlers(settings.webhook_handlers)
    if handlers is not None:
        all_handlers.include(handlers)
    receiver = WebhookReceiver(
        inbox if inbox is not None else _inbox(settings),
        secrets,
        strategy=settings.webhook_strategy,
        handlers=all_handlers,
        max_body_size=settings.webhook_max_body_size,
        retry=RetryPolicy(max_attempts=settings.webhook_max_attempts),
        lease_seconds=settings.webhook_lease_seconds,
    )

    from sallakit.server._wiring import wire_service

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service.running():
            if settings.worker == "in-process":
                async with receiver.running():
                    yield
            else:
                # Deliveries are stored here and processed by `sallakit worker` processes.
                yield

    app = FastAPI(title="sallakit", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.receiver = receiver
    service = wire_service(app, settings, receiver)
    app.state.service = service
    # A plain ASGI route: the receiver reads the raw body itself (the signature covers bytes).
    # The trailing-slash spelling too: Salla does not follow the redirect Starlette would send.
    app.router.routes.append(Route(WEBHOOK_PATH, receiver, methods=["POST"]))
    app.router.routes.append(Route(WEBHOOK_PATH + "/", receiver, methods=["POST"]))

    return app
