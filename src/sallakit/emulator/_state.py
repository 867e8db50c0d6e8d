"""The emulator's whole in-memory state, as plain picklable objects.

Everything a snapshot must carry lives in :class:`EmulatorState`: stores (profile, data, rate-limit
buckets), registered apps, the OAuth token book, webhook subscriptions, pending deliveries and the
delivery log, faults, counters, the seeded random generator and the clock offset. Locks, event
loops, HTTP clients and the ASGI app are *not* state; they belong to the :class:`Emulator` object.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sallakit.emulator._clock import Clock
from sallakit.emulator._context import RequestContext, StoreProfile
from sallakit.emulator._faults import Fault
from sallakit.emulator._oauth import AppRegistration, TokenBook
from sallakit.emulator._ratelimit import BucketState
from sallakit.emulator._webhooks import Delivery, DeliveryRecord, WebhookBook

REQUEST_LOG_SIZE = 2000

__all__ = ["Counters", "EmulatorSettings", "EmulatorState", "StoreDataLike", "StoreRecord"]


class StoreDataLike(Protocol):
    """What the shell needs from the merchant handlers' per-store data (``_merchant.StoreData``)."""

    def counts(self) -> dict[str, int]: ...

    def place_order(
        self, ctx: RequestContext, *, customer_id: int | None = None, items: Any = None
    ) -> dict[str, Any]: ...

    def add_product(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]: ...

    def update_product(
        self, ctx: RequestContext, product_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]: ...

    def set_stock(
        self, ctx: RequestContext, product_id: int, quantity: int, sku_id: int | None = None
    ) -> dict[str, Any]: ...

    def add_customer(self, ctx: RequestContext, fields: dict[str, Any]) -> dict[str, Any]: ...

    def change_order_status(
        self, ctx: RequestContext, order_id: int, slug: str
    ) -> dict[str, Any]: ...


@dataclass(slots=True)
class EmulatorSettings:
    """Behaviour switches (the CLI flags), kept in the state so a snapshot restores them."""

    strict_urls: bool = False
    auto_approve: bool = False
    quirks: bool = False
    links_as_list: bool = True
    expires_field: str = "expires_in"
    """``expires_in`` or ``expires`` (as Salla's docs print) in the code-exchange response."""
    webhook_retries: int = 3
    webhook_retry_interval: float = 300.0
    webhook_timeout: float = 30.0
    duplicate_rate: float = 0.0
    """Probability of delivering an event twice."""
    duplicate_every: int = 0
    """Deliver every Nth event twice (0: never)."""
    leak_per_second: float = 1.0
    """Requests per second still admitted while a plan bucket is full (Salla: 1)."""
    list_cap: int = 0
    """Rows a list endpoint returns at most, counted from its first row (0: no cap). Salla is
    reported to stop near 10,000 rows while ``pagination.total`` keeps the true count."""

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in EmulatorSettings.__dataclass_fields__}

    def __setstate__(self, state: Any) -> None:
        # Snapshots written before a field existed lack it: the default fills it. (Older
        # snapshots pickled the slots as ``(None, {name: value})``.)
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}
        defaults = EmulatorSettings()
        for name in EmulatorSettings.__dataclass_fields__:
            setattr(self, name, state.get(name, getattr(defaults, name)))


@dataclass(slots=True)
class StoreRecord:
    profile: StoreProfile
    data: Any
    bucket: BucketState = field(default_factory=BucketState)
    customers_bucket: BucketState = field(default_factory=BucketState)
    installed: set[str] = field(default_factory=set)
    """Client ids of the apps installed on the store."""


@dataclass(slots=True)
class Counters:
    requests: Counter[tuple[int, str]] = field(default_factory=Counter)
    """(store id, client_method) -> requests that reached the API shell."""
    statuses: Counter[tuple[int, int]] = field(default_factory=Counter)
    in_flight: Counter[int] = field(default_factory=Counter)
    peak_in_flight: Counter[int] = field(default_factory=Counter)
    rate_limited: Counter[int] = field(default_factory=Counter)
    events: int = 0
    """Events enqueued (drives ``duplicate_every``)."""


@dataclass
class EmulatorState:
    settings: EmulatorSettings
    clock: Clock
    seed: int = 1
    rng: random.Random = field(default_factory=random.Random)
    """The data stream: ids of everything created (stores, records, webhooks, deliveries)."""
    fault_rng: random.Random = field(default_factory=random.Random)
    """Fault draws, fault ids and duplicate injection, apart from the data stream."""
    credentials_rng: random.Random = field(default_factory=random.Random)
    """Generated client ids and secrets, apart from the data stream."""
    stores: dict[int, StoreRecord] = field(default_factory=dict)
    apps: dict[str, AppRegistration] = field(default_factory=dict)
    oauth: TokenBook = field(default_factory=TokenBook)
    webhooks: WebhookBook = field(default_factory=WebhookBook)
    queue: list[Delivery] = field(default_factory=list)
    log: list[DeliveryRecord] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    issued_ids: set[int] = field(default_factory=set)
    request_log: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE)
    )
    """The latest Merchant API requests (store, method, path, endpoint, status, time)."""
    installed_at: dict[tuple[int, str], datetime] = field(default_factory=dict)
    """(store id, client id) -> when the app was installed on the store."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Snapshots written before these fields existed.
        seed = state.get("seed", 1)
        state.setdefault("fault_rng", random.Random(f"{seed}:faults"))
        state.setdefault("credentials_rng", random.Random(f"{seed}:credentials"))
        state.setdefault("installed_at", {})
        self.__dict__.update(state)

    def next_id(self) -> int:
        """A fresh, unique, Salla-sized id (seeded, so runs are reproducible)."""
        while True:
            candidate = self.rng.randrange(100_000_000, 2_147_483_647)
            if candidate not in self.issued_ids:
                self.issued_ids.add(candidate)
                return candidate

    def fault_id(self) -> int:
        """A fresh unique id drawn from the fault stream (does not disturb data ids)."""
        while True:
            candidate = self.fault_rng.randrange(100_000_000, 2_147_483_647)
            if candidate not in self.issued_ids:
                self.issued_ids.add(candidate)
                return candidate
