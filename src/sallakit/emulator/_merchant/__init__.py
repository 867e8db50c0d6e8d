"""The emulator's Merchant API: per-store data, its mutations and the request handlers.

``StoreData`` holds one store's state (seeded deterministically, compact records, JSON built on
read); ``dispatch`` answers any endpoint of the registry from it; ``make_profile`` invents a
realistic store identity. This package is an independent oracle: it uses the endpoint registry
as data and never the client's code.
"""

from __future__ import annotations

from ._dispatch import DOCUMENTED_OMISSIONS, dispatch
from ._schema import conform, data_schema, example
from ._seed import make_profile
from ._store import StoreData
from ._tables import ORDER_STATUSES, STATUS_BY_ID, STATUS_BY_SLUG, OrderStatus

__all__ = [
    "DOCUMENTED_OMISSIONS",
    "ORDER_STATUSES",
    "STATUS_BY_ID",
    "STATUS_BY_SLUG",
    "OrderStatus",
    "StoreData",
    "conform",
    "data_schema",
    "dispatch",
    "example",
    "make_profile",
]
