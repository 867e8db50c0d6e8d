"""The sallakit service: one ASGI app with the webhook receiver, the OAuth callback, the
dashboard, health checks and Prometheus metrics (``sallakit serve``)."""

from __future__ import annotations

from sallakit._extras import require_extra

require_extra("server", "sallakit.server")

__all__: list[str] = []
