"""The :class:`Emulator`: one in-memory Salla (accounts server, Merchant API, webhook sender).

The object owns the state (:class:`~sallakit.emulator._state.EmulatorState`), a lock, and the
runtime pieces that are not state (the ASGI app, the webhook HTTP client). Its methods are the
Python control surface; the ``/_emulator/`` HTTP routes call the same methods.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from sallakit._exceptions import (
    ConfigurationError,
    EntityExistsError,
    InvalidControlInputError,
    UnknownEntityError,
)
from sallakit._registry import load_registry
from sallakit.emulator import _snapshot, _webhooks
from sallakit.emulator._cache import RenderCache
from sallakit.emulator._clock import Clock
from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext, StoreProfile
from sallakit.emulator._faults import Fault
from sallakit.emulator._oauth import AppRegistration, Grant, TokenBook, token_response
from sallakit.emulator._ratelimit import plan_spec
from sallakit.emulator._state import EmulatorSettings, EmulatorState, StoreRecord
from sallakit.emulator._transport import AsyncEmulatorTransport, SyncEmulatorTransport

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["AppExistsError", "Emulator", "StoreExistsError", "default_scopes"]

logger = logging.getLogger(__name__)

DataFactory = Callable[..., Any]
Dispatch = Callable[[ApiRequest, RequestContext], ApiResponse]

DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_WEBHOOK_SECRET = "emulator-webhook-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"

_STORE_NAMES = (
    ("متجر الورد", "Rose Store"),
    ("بيت القهوة", "Coffee House"),
    ("عالم الأزياء", "Fashion World"),
    ("متجر التقنية", "Tech Store"),
    ("ركن العطور", "Perfume Corner"),
    ("سوق التمور", "Dates Market"),
)


class StoreExistsError(EntityExistsError, ConfigurationError):
    """``create_store`` was given the id of a store that exists (its data would be lost)."""


MAX_SEEDED = 1_000_000
"""Most products, orders or customers one store may be seeded with."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class AppExistsError(EntityExistsError, ConfigurationError):
    """``create_app`` was given the client id of an app that exists."""


def default_scopes() -> tuple[str, ...]:
    """Every scope the registry mentions, ``.read_write`` replacing ``.read`` of a resource."""
    scopes = {s for e in load_registry() for s in e.scopes}
    keep = {s for s in scopes if not (s.endswith(".read") and f"{s[:-5]}.read_write" in scopes)}
    return tuple(sorted(keep))


def _fallback_profile(
    store_id: int, plan: str, index: int, rng: random.Random, now: datetime
) -> StoreProfile:
    # Used only with a custom data factory (tests of the shell); real stores use the merchant
    # package's profiles.
    ar, en = _STORE_NAMES[index % len(_STORE_NAMES)]
    username = f"dev-store-{store_id}"
    return StoreProfile(
        id=store_id,
        plan=plan,
        name=ar,
        name_en=en,
        username=username,
        email=f"info@{username}.example",
        domain=f"https://salla.sa/{username}",
        owner_id=rng.randrange(100_000_000, 2_000_000_000),
        owner_name="أحمد العتيبي",
        owner_email=f"owner@{username}.example",
        owner_mobile=f"+9665{rng.randrange(10_000_000, 99_999_999)}",
        created_at=now,
    )


def _load_merchant() -> Any:
    return importlib.import_module("sallakit.emulator._merchant")


class Emulator:
    """An in-memory Salla: accounts server, Merchant API, webhooks, with a control surface.

    Args:
        stores: How many stores to seed.
        plan: Their plan (``basic``, ``plus``, ``pro``, ``special`` or a number of requests).
        products: Products per seeded store.
        orders: Orders per seeded store.
        customers: Customers per seeded store.
        seed: Seed of every random choice: same seed, same emulator. Data ids, fault draws
            and generated credentials use separate streams, so injecting a fault does not
            change the ids of data created later.
        client_id: The default app's client id.
        client_secret: The default app's client secret.
        webhook_secret: The default app's webhook secret.
        webhook_url: Where the default app receives app events (Easy mode) and, by default,
            store events it subscribes to.
        redirect_uri: The default app's registered redirect URI (matched exactly).
        scopes: The scopes the default app asks for; defaults to every scope of the registry.
        security_strategy: ``signature`` (default), ``token`` or ``none``.
        easy_mode: Approving the consent page installs the app with ``app.store.authorize``
            events instead of redirecting with a code.
        auto_approve: ``/oauth2/auth`` redirects at once, without the consent page.
        strict_urls: Refuse local webhook URLs (``localhost``, loopback, ``test.``) like Salla.
        quirks: Reproduce the type drift Salla's own examples show (product ``quantity`` and
            ``cost_price`` as strings, ``sale_end: {}``); money amounts stay numbers.
        links_as_list: Render empty pagination ``links`` as ``[]``, as most of Salla's
            examples show (the default); False renders ``{}``, also seen.
        expires_field: ``expires_in`` or ``expires`` in the code-exchange response.
        invalid_grant_status: 401 (Salla's docs) or 400 (a stock Hydra).
        clock: ``"manual"`` (frozen until :meth:`advance`; the default), ``"real"``, or a
            :class:`Clock`.
        now: Start of a manual clock (timezone-aware). Default: the wall clock at
            construction, so dates in the seeded data differ from run to run; pass ``now`` to
            pin them (fully reproducible output).
        webhook_transport: The httpx2 async transport used to deliver webhooks (e.g. an
            ``ASGITransport`` around an in-process receiver); default: the network.
        webhook_retries: Retries after a failed delivery (Salla: 3).
        webhook_retry_interval: Seconds between attempts (Salla: about 300).
        duplicate_rate: Probability of delivering an event twice.
        duplicate_every: Deliver every Nth event twice (0: never).
        leak_per_second: Requests per second a store still gets while its plan bucket is full
            (Salla: 1). The bucket itself leaks its whole plan limit per minute.
        list_cap: List endpoints return no row past this many (counted from the first row of
            the first page) while ``pagination.total`` keeps the true count, as Salla is
            reported to do near 10,000 rows; 0 or None: no cap.
    """

    def __init__(
        self,
        *,
        stores: int = 1,
        plan: str = "pro",
        products: int = 50,
        orders: int = 20,
        customers: int = 30,
        seed: int = 1,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        webhook_url: str | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        scopes: Iterable[str] | None = None,
        security_strategy: str = "signature",
        easy_mode: bool = False,
        auto_approve: bool = False,
        strict_urls: bool = False,
        quirks: bool = False,
        links_as_list: bool = True,
        expires_field: str = "expires_in",
        invalid_grant_status: int = 401,
        clock: str | Clock = "manual",
        now: datetime | None = None,
        webhook_transport: httpx2.AsyncBaseTransport | None = None,
        webhook_retries: int = 3,
        webhook_retry_interval: float = 300.0,
        duplicate_rate: float = 0.0,
        duplicate_every: int = 0,
        leak_per_second: float = 1.0,
        list_cap: int | None = None,
        _data_factory: DataFactory | None = None,
        _dispatch: Dispatch | None = None,
    ) -> None:
        if expires_field not in ("expires_in", "expires"):
            raise ConfigurationError("expires_field must be 'expires_in' or 'expires'")
        if invalid_grant_status not in (400, 401):
            raise ConfigurationError("invalid_grant_status must be 400 or 401")
        plan_spec(plan)  # fail early on an unknown plan
        if list_cap is not None and (isinstance(list_cap, bool) or list_cap < 0):
            raise ConfigurationError("list_cap must be a positive number of rows (or 0: off)")
        if isinstance(clock, Clock):
            the_clock = clock
        elif clock in ("manual", "real"):
            the_clock = Clock(start=now, real=clock == "real")
        else:
            raise ConfigurationError("clock must be 'manual', 'real' or a Clock")
        settings = EmulatorSettings(
            strict_urls=strict_urls,
            auto_approve=auto_approve,
            quirks=quirks,
            links_as_list=links_as_list,
            expires_field=expires_field,
            webhook_retries=webhook_retries,
            webhook_retry_interval=webhook_retry_interval,
            duplicate_rate=duplicate_rate,
            duplicate_every=duplicate_every,
            leak_per_second=leak_per_second,
            list_cap=list_cap or 0,
        )
        state = EmulatorState(
            settings=settings,
            clock=the_clock,
            seed=seed,
            rng=random.Random(seed),
            fault_rng=random.Random(f"{seed}:faults"),
            credentials_rng=random.Random(f"{seed}:credentials"),
            oauth=TokenBook(invalid_grant_status=invalid_grant_status),
        )
        self._init_runtime(state, webhook_transport, _data_factory, _dispatch)
        self.create_app(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            scopes=scopes,
            security_strategy=security_strategy,
            easy_mode=easy_mode,
        )
        for _ in range(stores):
            self.create_store(plan=plan, products=products, orders=orders, customers=customers)

    def _init_runtime(
        self,
        state: EmulatorState,
        webhook_transport: httpx2.AsyncBaseTransport | None,
        data_factory: DataFactory | None,
        dispatch: Dispatch | None,
    ) -> None:
        self.state = state
        self.lock = threading.RLock()
        self.webhook_transport = webhook_transport
        self._data_factory = data_factory
        self._dispatch = dispatch
        self._app: ASGIApp | None = None
        self.snapshot_dir: Path | None = None
        """Directory ``POST /_emulator/snapshot`` may write into (None: only the state file)."""
        self.state_file: Path | None = None
        """The server's ``--state-file`` (``POST /_emulator/snapshot`` may always write it)."""
        self._render_caches: dict[int, RenderCache] = {}
        """Encoded records per store (runtime only; see ``_cache``)."""
        self._writes: Counter[int] = Counter()
        """Writes per store seen by the shell and the control surface (part of the version)."""
        self._claimed: set[int] = set()
        """Ids of deliveries being sent right now (runtime only, never in a snapshot)."""
        self.base_url = "http://emulator.test"
        """Where the emulator is reachable (the server sets its real address)."""

    # ------------------------------------------------------------------------ composition

    @property
    def app(self) -> ASGIApp:
        """The ASGI app: ``/oauth2/*``, ``/admin/v2/*`` and ``/_emulator/*``."""
        if self._app is None:
            from sallakit.emulator._app import create_app

            self._app = create_app(self)
        return self._app

    def async_transport(self) -> httpx2.AsyncBaseTransport:
        """An httpx2 async transport serving this emulator in-process."""
        return AsyncEmulatorTransport(self.app)

    def sync_transport(self) -> httpx2.BaseTransport:
        """A sync httpx2 transport serving this emulator (on a private event-loop thread).

        Close it (or the client that owns it) to stop the thread.
        """
        return SyncEmulatorTransport(self.app)

    def dispatch(self, request: ApiRequest, ctx: RequestContext) -> ApiResponse:
        """Answer a matched Merchant API request with the store-data handlers."""
        handler = self._dispatch or _load_merchant().dispatch
        result: ApiResponse = handler(request, ctx)
        return result

    # ------------------------------------------------------------------------------- clock

    @property
    def clock(self) -> Clock:
        return self.state.clock

    def now(self) -> datetime:
        """The emulator's current time."""
        return self.state.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move the emulator clock forward (tokens expire, buckets drain, retries fall due)."""
        with self.lock:
            return self.state.clock.advance(seconds)

    # ------------------------------------------------------------------------ stores, apps

    @property
    def settings(self) -> EmulatorSettings:
        return self.state.settings

    @property
    def stores(self) -> list[StoreProfile]:
        """The stores' profiles, in creation order."""
        return [record.profile for record in self.state.stores.values()]

    def store(self, store_id: int | None = None) -> StoreRecord:
        """A store's record (profile, data, buckets); the first store by default.

        Raises:
            UnknownEntityError: no such store (a ``KeyError`` too).
        """
        if store_id is None:
            if not self.state.stores:
                raise UnknownEntityError("the emulator has no store")
            return next(iter(self.state.stores.values()))
        record = self.state.stores.get(store_id) if _is_int(store_id) else None
        if record is None:
            raise UnknownEntityError(f"no store with id {store_id!r}")
        return record

    @property
    def default_app(self) -> AppRegistration:
        return next(iter(self.state.apps.values()))

    def get_app(self, client_id: str | None = None) -> AppRegistration:
        """An app by client id; the default app when None.

        Raises:
            UnknownEntityError: no app with that client id.
        """
        if client_id is None:
            return self.default_app
        app = self.state.apps.get(client_id) if isinstance(client_id, str) else None
        if app is None:
            raise UnknownEntityError(f"no app with client id {client_id!r}")
        return app

    def create_store(
        self,
        *,
        plan: str = "pro",
        products: int = 50,
        orders: int = 20,
        customers: int = 30,
        store_id: int | None = None,
        name: str | None = None,
        name_en: str | None = None,
    ) -> StoreProfile:
        """Create and seed a store; return its profile.

        Raises:
            InvalidControlInputError: a bad plan, count, id or name.
            StoreExistsError: ``store_id`` is taken.
        """
        try:
            plan_spec(plan)
        except (ValueError, TypeError) as exc:
            raise InvalidControlInputError(str(exc)) from exc
        for label, count in (("products", products), ("orders", orders), ("customers", customers)):
            if not _is_int(count) or not 0 <= count <= MAX_SEEDED:
                raise InvalidControlInputError(f"{label} must be an integer from 0 to {MAX_SEEDED}")
        if store_id is not None and (not _is_int(store_id) or not 0 < store_id < 2**63):
            raise InvalidControlInputError("store_id must be a positive 64-bit integer")
        for label, text in (("name", name), ("name_en", name_en)):
            if text is not None and not isinstance(text, str):
                raise InvalidControlInputError(f"{label} must be a string")
        if orders and not customers:
            raise InvalidControlInputError("orders need customers: give customers > 0")
        with self.lock:
            state = self.state
            if store_id is not None and store_id in state.stores:
                raise StoreExistsError(f"a store with id {store_id} exists")
            sid = store_id if store_id is not None else state.next_id()
            state.issued_ids.add(sid)
            index = len(state.stores)
            now = self.now().replace(microsecond=0)
            data_seed = state.seed * 1_000_003 + index
            profile: StoreProfile
            if self._data_factory is None:
                profile = _load_merchant().make_profile(sid, plan=plan, seed=data_seed, now=now)
            else:
                profile = _fallback_profile(sid, plan, index, state.rng, now)
            if name is not None:
                profile.name = name
            if name_en is not None:
                profile.name_en = name_en
            factory = self._data_factory or _load_merchant().StoreData.create
            data = factory(
                profile,
                seed=data_seed,
                products=products,
                orders=orders,
                customers=customers,
                now=now,
            )
            state.stores[sid] = StoreRecord(profile=profile, data=data)
            return profile

    def create_app(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        scopes: Iterable[str] | None = None,
        security_strategy: str = "signature",
        easy_mode: bool = False,
        name: str = "Emulated App",
    ) -> AppRegistration:
        """Register an app (the first one registered is the default app)."""
        if security_strategy not in ("signature", "token", "none"):
            raise ConfigurationError("security_strategy must be signature, token or none")
        with self.lock:
            state = self.state
            app = AppRegistration(
                id=state.next_id(),
                client_id=client_id or f"client-{state.credentials_rng.getrandbits(64):016x}",
                client_secret=client_secret
                or f"secret-{state.credentials_rng.getrandbits(128):032x}",
                name=name,
                redirect_uri=redirect_uri,
                scopes=tuple(scopes) if scopes is not None else default_scopes(),
                webhook_url=webhook_url,
                webhook_secret=(
                    webhook_secret
                    if webhook_secret is not None
                    else f"whsec-{state.credentials_rng.getrandbits(128):032x}"
                ),
                security_strategy=security_strategy,
                easy_mode=easy_mode,
            )
            if app.client_id in state.apps:
                raise AppExistsError(f"an app with client id {app.client_id!r} exists")
            state.apps[app.client_id] = app
            return app

    # ------------------------------------------------------------------------------ tokens

    def _scopes_for(self, app: AppRegistration, scopes: Iterable[str] | None) -> list[str]:
        if scopes is None:
            return [*app.scopes, "offline_access"]
        return list(scopes)

    def issue_tokens(
        self,
        store_id: int | None = None,
        scopes: Iterable[str] | None = None,
        *,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """Issue a token pair directly (no consent, no events): the ``/oauth2/token`` shape.

        ``scopes`` default to the app's scopes plus ``offline_access``.
        """
        with self.lock:
            app = self.get_app(client_id)
            record = self.store(store_id)
            grant = self.state.oauth.issue_grant(
                app.client_id, record.profile.id, self._scopes_for(app, scopes), self.now()
            )
            record.installed.add(app.client_id)
            self.state.installed_at.setdefault((record.profile.id, app.client_id), self.now())
            return token_response(grant, self.now())

    def install_app(
        self,
        store_id: int | None = None,
        scopes: Iterable[str] | None = None,
        *,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """Easy mode install: send ``app.installed`` then ``app.store.authorize``.

        Returns:
            The ``app.store.authorize`` data (``expires`` is an absolute epoch).
        """
        with self.lock:
            app = self.get_app(client_id)
            record = self.store(store_id)
            record.installed.add(app.client_id)
            now = self.now()
            self.state.installed_at[(record.profile.id, app.client_id)] = now
            self._app_event(record, app, "app.installed", self._app_data(record, app, now))
            return self._authorize(record, app, scopes)

    def update_app(
        self,
        store_id: int | None = None,
        scopes: Iterable[str] | None = None,
        *,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """The merchant updates the app: ``app.updated``, then a new grant (old one revoked)."""
        with self.lock:
            app = self.get_app(client_id)
            record = self.store(store_id)
            now = self.now()
            data = self._app_data(record, app, now)
            data["update_date"] = _webhooks.app_time(now)
            self._app_event(record, app, "app.updated", data)
            self.state.oauth.revoke_store(record.profile.id, app.client_id)
            return self._authorize(record, app, scopes)

    def uninstall_app(
        self, store_id: int | None = None, *, client_id: str | None = None, refunded: bool = False
    ) -> None:
        """The merchant removes the app: ``app.uninstalled``; every token stops working."""
        with self.lock:
            app = self.get_app(client_id)
            record = self.store(store_id)
            now = self.now()
            data = self._app_data(record, app, now)
            data["uninstallation_date"] = _webhooks.app_time(now)
            data["refunded"] = refunded
            self.state.oauth.revoke_store(record.profile.id, app.client_id)
            record.installed.discard(app.client_id)
            # An uninstalled app's webhooks stop (they come back if it subscribes again).
            self.state.webhooks.remove_app(record.profile.id, app.client_id)
            self.state.installed_at.pop((record.profile.id, app.client_id), None)
            self._app_event(record, app, "app.uninstalled", data)

    def _authorize(
        self, record: StoreRecord, app: AppRegistration, scopes: Iterable[str] | None
    ) -> dict[str, Any]:
        now = self.now()
        grant = self.state.oauth.issue_grant(
            app.client_id, record.profile.id, self._scopes_for(app, scopes), now
        )
        data = authorize_data(grant)
        self._app_event(record, app, "app.store.authorize", data)
        return data

    def _app_data(self, record: StoreRecord, app: AppRegistration, now: datetime) -> dict[str, Any]:
        return {
            "id": app.id,
            "app_name": app.name,
            "app_description": f"{app.name} (sallakit emulator)",
            "app_type": "app",
            "app_scopes": [s for s in app.scopes if s != "offline_access"],
            "installation_date": _webhooks.app_time(
                self.state.installed_at.get((record.profile.id, app.client_id), now)
            ),
            "store_type": record.profile.type,
        }

    def revoke_tokens(self, store_id: int | None = None, *, client_id: str | None = None) -> int:
        """Revoke every grant of a store (as a merchant disconnecting the app would)."""
        with self.lock:
            record = self.store(store_id)
            return self.state.oauth.revoke_store(record.profile.id, client_id)

    def grant_for(self, access_token: str) -> Grant | None:
        """The live grant of an access token (None if unknown, expired or revoked)."""
        with self.lock:
            return self.state.oauth.authenticate(access_token, self.now())

    # ----------------------------------------------------------------------------- events

    def emit(self, store_id: int, event: str, data: Any) -> int:
        """Emit a store event: queue a delivery to every matching subscription.

        Returns:
            How many deliveries were queued (duplicates injected on purpose included).
        """
        queued = 0
        with self.lock:
            state = self.state
            record = self.store(store_id)
            created_at = _webhooks.store_time(self.now())
            for sub in state.webhooks.matching(record.profile.id, event, data):
                # Queuing runs inside writes that are already committed (an order placed, a
                # product saved): a broken subscription or payload must never turn that
                # write into a 500 (a retrying client would duplicate it). Log and go on.
                try:
                    app = state.apps.get(sub.client_id)
                    secret = sub.secret or (app.webhook_secret if app else "")
                    strategy = sub.security_strategy or (
                        app.security_strategy if app else "signature"
                    )
                    body = _webhooks.envelope(event, record.profile.id, created_at, data)
                    queued += self._enqueue(
                        record.profile.id, event, sub.url, body, strategy, secret, sub.headers
                    )
                except Exception:
                    logger.exception(
                        "webhook not queued",
                        extra={
                            "action": "emulator.emit_failed",
                            "event": event,
                            "webhook_id": sub.id,
                        },
                    )
        return queued

    def _app_event(
        self, record: StoreRecord, app: AppRegistration, event: str, data: dict[str, Any]
    ) -> None:
        # App events need no subscription: they go to the app's webhook URL.
        if not app.webhook_url:
            logger.info(
                "app event not sent: the app has no webhook URL",
                extra={"action": "emulator.app_event.skipped", "event": event},
            )
            return
        created_at = _webhooks.app_time(self.now())
        body = _webhooks.envelope(event, record.profile.id, created_at, data)
        self._enqueue(
            record.profile.id,
            event,
            app.webhook_url,
            body,
            app.security_strategy,
            app.webhook_secret,
            {},
        )

    def _enqueue(
        self,
        store_id: int,
        event: str,
        url: str,
        body: bytes,
        strategy: str,
        secret: str,
        custom: dict[str, str],
    ) -> int:
        state = self.state
        settings = state.settings
        headers = {"Content-Type": "application/json", "User-Agent": "Salla-Webhooks (emulator)"}
        headers.update(custom)
        headers.update(_webhooks.security_headers(strategy, secret, body))
        due = self.state.clock.time()
        state.counters.events += 1
        every = settings.duplicate_every
        twice = bool(every) and state.counters.events % every == 0
        if not twice and settings.duplicate_rate:
            twice = state.fault_rng.random() < settings.duplicate_rate
        copies = 2 if twice else 1
        for copy in range(copies):
            state.queue.append(
                _webhooks.Delivery(
                    id=state.next_id(),
                    store_id=store_id,
                    event=event,
                    url=url,
                    body=body,
                    headers=dict(headers),
                    due_at=due,
                    duplicate=copy > 0,
                )
            )
        return copies

    async def deliver_due(self) -> list[_webhooks.DeliveryRecord]:
        """Send every delivery due by the emulator clock (retries are rescheduled).

        Returns:
            The attempts made, in order.
        """
        made: list[_webhooks.DeliveryRecord] = []
        if self.webhook_transport is not None:
            made = await self._deliver_with(httpx2.AsyncClient(transport=self.webhook_transport))
        else:
            async with httpx2.AsyncClient() as client:
                made = await self._deliver_with(client)
        return made

    async def _deliver_with(self, client: httpx2.AsyncClient) -> list[_webhooks.DeliveryRecord]:
        made: list[_webhooks.DeliveryRecord] = []
        while True:
            with self.lock:
                now = self.state.clock.time()
                # Claim what is due, under the lock: a concurrent caller (the server's loop and
                # POST /_emulator/deliveries/deliver, or two deliver_due() calls) skips claimed
                # deliveries instead of sending them a second time.
                due = [
                    d
                    for d in self.state.queue
                    if not d.done and d.due_at <= now and d.id not in self._claimed
                ]
                due.sort(key=lambda d: d.due_at)
                self._claimed.update(d.id for d in due)
            if not due:
                return made
            made.extend(await self._send_batch(client, due))

    async def _send_batch(
        self, client: httpx2.AsyncClient, due: list[_webhooks.Delivery]
    ) -> list[_webhooks.DeliveryRecord]:
        # Every due delivery is sent at once (each with its own timeout), so one slow
        # receiver does not hold up the others. Records are kept in the order of ``due``.
        settings = self.state.settings
        records: list[_webhooks.DeliveryRecord | None] = [None] * len(due)

        async def one(index: int, delivery: _webhooks.Delivery) -> None:
            try:
                status, error = await _webhooks.send(
                    client, delivery, timeout=settings.webhook_timeout
                )
                with self.lock:
                    now = self.state.clock.time()
                    _webhooks.after_attempt(
                        delivery,
                        status,
                        now,
                        retries=settings.webhook_retries,
                        interval=settings.webhook_retry_interval,
                    )
                    records[index] = _webhooks.DeliveryRecord(
                        delivery_id=delivery.id,
                        store_id=delivery.store_id,
                        event=delivery.event,
                        url=delivery.url,
                        attempt=delivery.attempts,
                        status=status,
                        error=error,
                        time=self.now().isoformat(),
                        duplicate=delivery.duplicate,
                    )
            finally:
                with self.lock:
                    self._claimed.discard(delivery.id)

        async with anyio.create_task_group() as tg:
            for index, delivery in enumerate(due):
                tg.start_soon(one, index, delivery)
        made = [r for r in records if r is not None]
        with self.lock:
            self.state.log.extend(made)
            for delivery in due:
                if delivery.done and delivery in self.state.queue:
                    self.state.queue.remove(delivery)
        return made

    async def run_delivery_loop(self, *, interval: float = 0.5) -> None:
        """Deliver due webhooks forever (the server runs this in the background)."""
        async with httpx2.AsyncClient(transport=self.webhook_transport) as client:
            while True:
                try:
                    await self._deliver_with(client)
                except Exception:  # the loop must survive a bad delivery
                    logger.exception(
                        "webhook delivery failed", extra={"action": "emulator.deliver"}
                    )
                await anyio.sleep(interval)

    @property
    def delivery_log(self) -> list[_webhooks.DeliveryRecord]:
        """Every delivery attempt so far."""
        return list(self.state.log)

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """The latest Merchant API requests, oldest first (bounded)."""
        with self.lock:
            return list(self.state.request_log)

    @property
    def pending_deliveries(self) -> list[_webhooks.Delivery]:
        return [d for d in self.state.queue if not d.done]

    # -------------------------------------------------------------------------- mutations

    def context(self, store_id: int | None = None, *, language: str = "ar") -> RequestContext:
        """A handler context for a store (what the Merchant API handlers receive)."""
        record = self.store(store_id)
        sid = record.profile.id
        return RequestContext(
            store=record.profile,
            data=record.data,
            scopes=frozenset(),
            language=language,
            quirks=self.state.settings.quirks,
            links_as_list=self.state.settings.links_as_list,
            now=self.now,
            emit=lambda event, data: self.emit(sid, event, data),
            next_id=self.state.next_id,
            app_id=self.default_app.id,
        )

    def _mutate(
        self, store_id: int | None, change: Callable[[Any, RequestContext], dict[str, Any]]
    ) -> dict[str, Any]:
        # Control-surface writes take the same lock as API requests and run with a request
        # context, so they emit the same webhook events a Merchant API write would.
        with self.lock:
            ctx = self.context(store_id)
            try:
                return change(ctx.data, ctx)
            finally:
                self.note_write(ctx.store.id)

    # ------------------------------------------------------------------ rendered records

    def render_cache(self, store_id: int) -> RenderCache:
        """The store's cache of encoded records (runtime only, never in a snapshot)."""
        cache = self._render_caches.get(store_id)
        if cache is None:
            cache = self._render_caches[store_id] = RenderCache()
        return cache

    def note_write(self, store_id: int) -> None:
        """Record that a store's data may have changed: its cached records are dropped."""
        self._writes[store_id] += 1

    def store_version(self, store_id: int) -> tuple[int, int]:
        """Changes whenever the store's data may have: writes seen here and the data's own
        write counter (``StoreData.serial``, bumped by every mutation it performs)."""
        data = self.state.stores[store_id].data
        return (self._writes[store_id], int(getattr(data, "serial", 0)))

    def place_order(self, store_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """Place an order as a shopper would (emits ``order.created``)."""
        return self._mutate(store_id, lambda data, ctx: data.place_order(ctx, **kwargs))

    def place_orders(self, store_id: int | None, count: int) -> list[int]:
        """Place ``count`` random orders at once (a sale-day burst): each emits
        ``order.created`` (and the stock events it causes). Returns the new order ids."""

        def burst(data: Any, ctx: RequestContext) -> dict[str, Any]:
            return {"ids": [data.place_order(ctx)["id"] for _ in range(count)]}

        ids: list[int] = self._mutate(store_id, burst)["ids"]
        return ids

    def delete_order(self, store_id: int | None, order_id: int) -> None:
        """Delete an order, as the merchant can in the dashboard (emits ``order.deleted``)."""
        self._mutate(store_id, lambda data, ctx: data.delete_order(ctx, order_id) or {})

    def delete_product(self, store_id: int | None, product_id: int) -> None:
        """Delete a product (emits ``product.deleted``)."""
        self._mutate(store_id, lambda data, ctx: data.delete_product(ctx, product_id) or {})

    def update_customer(
        self, store_id: int | None, customer_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Edit a customer (emits ``customer.updated``)."""
        return self._mutate(
            store_id, lambda data, ctx: data.update_customer(ctx, customer_id, dict(changes))
        )

    def add_product(
        self, store_id: int | None = None, fields: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add a product (emits ``product.created``)."""
        return self._mutate(store_id, lambda data, ctx: data.add_product(ctx, dict(fields or {})))

    def update_product(
        self, store_id: int | None, product_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Edit a product (emits the matching ``product.*`` events)."""
        return self._mutate(
            store_id, lambda data, ctx: data.update_product(ctx, product_id, dict(changes))
        )

    def set_stock(
        self,
        store_id: int | None,
        product_id: int,
        quantity: int,
        sku_id: int | None = None,
    ) -> dict[str, Any]:
        """Change a product's (or SKU's) stock."""
        return self._mutate(
            store_id, lambda data, ctx: data.set_stock(ctx, product_id, quantity, sku_id)
        )

    def add_customer(
        self, store_id: int | None = None, fields: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add a customer (emits ``customer.created``)."""
        return self._mutate(store_id, lambda data, ctx: data.add_customer(ctx, dict(fields or {})))

    def change_order_status(self, store_id: int | None, order_id: int, slug: str) -> dict[str, Any]:
        """Move an order to another status (emits ``order.status.updated``)."""
        return self._mutate(
            store_id, lambda data, ctx: data.change_order_status(ctx, order_id, slug)
        )

    # ------------------------------------------------------------------------------ faults

    def inject_fault(self, kind: str, **options: Any) -> Fault:
        """Inject a fault (see :class:`~sallakit.emulator._faults.Fault` for the options)."""
        with self.lock:
            # Fault ids and draws come from their own random stream, so injecting a fault
            # never changes the ids of the data created afterwards.
            try:
                fault = Fault(kind=kind, id=self.state.fault_id(), **options)
            except (TypeError, ValueError) as exc:
                raise InvalidControlInputError(str(exc)) from exc
            self.state.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.state.faults.clear()

    # ---------------------------------------------------------------------------- reports

    def counters(self) -> dict[str, Any]:
        """Requests, peaks, token and delivery counters (JSON-friendly, store ids as keys)."""
        with self.lock:
            state = self.state
            requests: dict[int, dict[str, Any]] = {}
            for (sid, method), n in sorted(state.counters.requests.items()):
                entry = requests.setdefault(sid, {"total": 0, "by_endpoint": {}})
                entry["total"] += n
                entry["by_endpoint"][method] = n
            outcomes = Counter(r.ok for r in state.log)
            by_event: Counter[str] = Counter(r.event for r in state.log)
            return {
                "requests": requests,
                "statuses": {
                    sid: {
                        str(code): n for (s, code), n in state.counters.statuses.items() if s == sid
                    }
                    for sid in {s for s, _ in state.counters.statuses}
                },
                "peak_in_flight": dict(state.counters.peak_in_flight),
                "rate_limited": dict(state.counters.rate_limited),
                "token_refreshes": dict(state.oauth.counters["token_refreshes"]),
                "grants_issued": dict(state.oauth.counters["grants_issued"]),
                "invalid_grant": dict(state.oauth.counters["invalid_grant"]),
                "deliveries": {
                    "attempts": len(state.log),
                    "succeeded": outcomes[True],
                    "failed_attempts": outcomes[False],
                    "delivered": sum(1 for r in state.log if r.ok),
                    "pending": len(self.pending_deliveries),
                    "duplicates": sum(1 for r in state.log if r.duplicate and r.attempt == 1),
                    "by_event": dict(by_event),
                },
            }

    def describe(self) -> dict[str, Any]:
        """What ``GET /_emulator/state`` and the CLI print: app credentials and stores."""
        with self.lock:
            app = self.default_app
            return {
                "base_url": self.base_url,
                "api_base_url": f"{self.base_url}/admin/v2",
                "now": self.now().isoformat(),
                "app": {
                    "id": app.id,
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "redirect_uri": app.redirect_uri,
                    "webhook_url": app.webhook_url,
                    "webhook_secret": app.webhook_secret,
                    "security_strategy": app.security_strategy,
                    "easy_mode": app.easy_mode,
                    "scopes": list(app.scopes),
                    "authorize_url": f"{self.base_url}/oauth2/auth",
                    "token_url": f"{self.base_url}/oauth2/token",
                },
                "settings": {
                    "auto_approve": self.settings.auto_approve,
                    "strict_urls": self.settings.strict_urls,
                    "quirks": self.settings.quirks,
                    "list_cap": self.settings.list_cap,
                },
                "stores": [
                    {
                        "id": r.profile.id,
                        "name": r.profile.name,
                        "plan": r.profile.plan,
                        "domain": r.profile.domain,
                        "counts": r.data.counts(),
                    }
                    for r in self.state.stores.values()
                ],
            }

    # --------------------------------------------------------------------------- snapshots

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole state to a snapshot file (pickle with a format header)."""
        with self.lock:
            _snapshot.save(self.state, path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        webhook_transport: httpx2.AsyncBaseTransport | None = None,
        _dispatch: Dispatch | None = None,
    ) -> Emulator:
        """An emulator restored from a snapshot file (trusted files only: it is a pickle).

        Raises:
            ConfigurationError: the file is not an emulator snapshot of a known version.
        """
        state = _snapshot.load(path)
        emulator = cls.__new__(cls)
        emulator._init_runtime(state, webhook_transport, None, _dispatch)
        return emulator


def authorize_data(grant: Grant) -> dict[str, Any]:
    """``app.store.authorize`` data: the tokens with ``expires`` as an ABSOLUTE epoch."""
    data: dict[str, Any] = {
        "access_token": grant.access_token,
        "expires": int(grant.access_expires_at.timestamp()),
        "refresh_token": grant.refresh_token,
        "scope": grant.scope_string,
        "token_type": "bearer",
    }
    return data
