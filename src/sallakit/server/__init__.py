"""The sallakit server: one ASGI app (webhooks, health) run by ``sallakit serve``."""

from __future__ import annotations

from sallakit.server._app import WEBHOOK_PATH, create_app, load_handlers
from sallakit.server._cipher import FernetBodyCipher

__all__ = ["FernetBodyCipher", "WEBHOOK_PATH", "create_app", "load_handlers"]
