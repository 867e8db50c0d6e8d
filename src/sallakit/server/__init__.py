"""The sallakit service: one ASGI app with the webhook receiver, the OAuth callback, the
dashboard, health checks and Prometheus metrics (``sallakit serve``)."""

from __future__ import annotations

__all__: list[str] = []
