"""The store mirror: each store's catalogue, orders and customers in your own database.

Webhooks are hints and the API is the truth: a backfill walks every resource, webhook events mark
entities dirty for targeted fetches, and periodic reconciliation re-lists what webhooks cannot be
trusted with (deletes, missed deliveries). After each run an audit compares Salla's totals with
the mirror and fails loudly. Every change lands in a durable change feed that drives hooks.

Runs execute in-process (:meth:`Mirror.sync`) or durably on DBOS Transact through
:class:`MirrorWorker` (one run at a time per store, resumed after a crash where it stopped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sallakit.mirror._core import AuditResult
from sallakit.mirror._mirror import ChangeHook, Mirror
from sallakit.mirror._settings import MirrorSettings
from sallakit.mirror._steps import Job, Progress, ProgressCallback
from sallakit.mirror._store import (
    Change,
    InMemoryMirrorStore,
    MirrorStore,
    ResourceState,
    RunRecord,
    SQLMirrorStore,
)
from sallakit.mirror._streams import RESOURCES, STREAMS, TABLES, Stream

if TYPE_CHECKING:
    from sallakit.mirror._workflows import MirrorQueueClient, MirrorWorker

__all__ = [
    "AuditResult",
    "Change",
    "ChangeHook",
    "InMemoryMirrorStore",
    "Job",
    "Mirror",
    "MirrorQueueClient",
    "MirrorSettings",
    "MirrorStore",
    "MirrorWorker",
    "Progress",
    "ProgressCallback",
    "RESOURCES",
    "ResourceState",
    "RunRecord",
    "SQLMirrorStore",
    "STREAMS",
    "Stream",
    "TABLES",
]


def __getattr__(name: str) -> Any:
    # DBOS is imported only when the worker is used (the [mirror] extra).
    if name in ("MirrorWorker", "MirrorQueueClient"):
        from sallakit._extras import require_extra

        require_extra("mirror", f"sallakit.mirror.{name}")
        from sallakit.mirror import _workflows

        return getattr(_workflows, name)
    raise AttributeError(name)
