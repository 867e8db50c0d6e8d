"""The sallakit service: one ASGI app with the webhook receiver, the OAuth callback, the
dashboard, health checks and Prometheus metrics (``sallakit serve``)."""

from __future__ import annotations

from sallakit._extras import require_extra

require_extra("server", "sallakit.server")

from sallakit.server._app import WEBHOOK_PATH, create_app, load_handlers
from sallakit.server._cipher import FernetBodyCipher

__all__ = ["FernetBodyCipher", "WEBHOOK_PATH", "create_app", "load_handlers"]
