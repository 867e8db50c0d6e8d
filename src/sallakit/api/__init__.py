"""The Salla Merchant API client.

``AsyncSalla`` is the source; ``Salla`` is generated from it by ``scripts/unasync.py``. Both
expose every registry endpoint as a typed method (``client.products.list()``,
``client.orders.items.list(order_id=...)``) plus :meth:`~AsyncSalla.request` for anything else,
with the same retries, per-store rate-limit governor and error mapping.
"""

from __future__ import annotations

from sallakit._registry import Endpoint, Param, Registry, load_registry
from sallakit.api._async_client import AsyncSalla, AsyncTokenProvider
from sallakit.api._async_pagination import AsyncPaginator
from sallakit.api._clock import Clock, SystemClock
from sallakit.api._core._pagination import PageInfo
from sallakit.api._core._retry import RetryPolicy
from sallakit.api._governor import (
    DEFAULT_GOVERNOR_REGISTRY,
    GovernorRegistry,
    RateLimitWait,
    StoreGovernor,
)
from sallakit.api._governor_sql import SQLGovernorBackend
from sallakit.api._observe import AttemptCallback, RequestAttempt
from sallakit.api._response import APIResponse, AsyncItemList, ItemList, Page
from sallakit.api._shared_governor import (
    GovernorBackend,
    MemoryGovernorBackend,
    SharedGovernorRegistry,
    SharedStoreGovernor,
)
from sallakit.api._sync_client import Salla, TokenProvider
from sallakit.api._sync_pagination import Paginator

__all__ = [
    "APIResponse",
    "AsyncItemList",
    "AsyncPaginator",
    "AsyncSalla",
    "AsyncTokenProvider",
    "AttemptCallback",
    "Clock",
    "DEFAULT_GOVERNOR_REGISTRY",
    "Endpoint",
    "GovernorBackend",
    "GovernorRegistry",
    "ItemList",
    "MemoryGovernorBackend",
    "Page",
    "PageInfo",
    "Paginator",
    "Param",
    "RateLimitWait",
    "Registry",
    "RequestAttempt",
    "RetryPolicy",
    "SQLGovernorBackend",
    "Salla",
    "SharedGovernorRegistry",
    "SharedStoreGovernor",
    "StoreGovernor",
    "SystemClock",
    "TokenProvider",
    "load_registry",
]
