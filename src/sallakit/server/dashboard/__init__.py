"""The dashboard: server-rendered pages (Jinja2, optional htmx) over the service's parts."""

from __future__ import annotations

from sallakit.server.dashboard._sources import (
    DeliveryDetail,
    DeliveryRow,
    InboxSource,
    MemoryInbox,
    MemoryMirror,
    MirrorSource,
    ResourceSync,
)

__all__ = [
    "DeliveryDetail",
    "DeliveryRow",
    "InboxSource",
    "MemoryInbox",
    "MemoryMirror",
    "MirrorSource",
    "ResourceSync",
]
