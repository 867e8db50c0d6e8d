"""The service's JSON API, health checks, metrics and the Custom-mode OAuth routes.

``/healthz`` (the process answers), ``/readyz`` (database reachable and migrated, worker up),
``/oauth/install`` and ``/oauth/callback`` are public: a merchant coming back from Salla's consent
page is not logged into the dashboard, and the signed single-use ``state`` is what authenticates
the callback. ``/metrics`` and ``/api/*`` need a session or the admin bearer token.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from sallakit._exceptions import (
    AuthorizationDeniedError,
    OAuthError,
    SallaError,
    StoreNotFoundError,
)
from sallakit.auth import StoredStore
from sallakit.server._auth import LoginRequired, require_csrf, require_user
from sallakit.server._metrics import CONTENT_TYPE
from sallakit.server._parts import ServiceParts
from sallakit.server.dashboard._health import token_health
from sallakit.server.dashboard._sources import DELIVERY_STATUSES, DeliveryRow, ResourceSync
from sallakit.server.dashboard._views import auth_router, dashboard_router, render

__all__ = ["install_service"]


def _parts(request: Request) -> ServiceParts:
    parts: ServiceParts = request.app.state.parts
    return parts


# -------------------------------------------------------------------------- JSON models


class ResourceOut(BaseModel):
    resource: str
    state: str
    last_run_at: float | None
    last_success_at: float | None
    duration_seconds: float | None
    mirrored: int | None
    remote_total: int | None
    audit: str | None
    lag_seconds: float | None

    @classmethod
    def of(cls, r: ResourceSync) -> ResourceOut:
        return cls(
            resource=r.resource,
            state=r.state,
            last_run_at=r.last_run_at,
            last_success_at=r.last_success_at,
            duration_seconds=r.duration_seconds,
            mirrored=r.mirrored,
            remote_total=r.remote_total,
            audit=r.audit,
            lag_seconds=r.lag_seconds,
        )


class StoreOut(BaseModel):
    store_id: int
    name: str | None
    status: str
    token_health: str
    advice: str | None
    expires_at: float | None
    refreshed_at: float | None
    scopes: list[str]
    resources: list[ResourceOut] = Field(default_factory=list)


class DeliveryOut(BaseModel):
    id: int
    store_id: int | None
    event: str
    status: str
    attempts: int
    received_at: float
    last_error: str | None

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryOut:
        return cls(
            id=row.id,
            store_id=row.store_id,
            event=row.event,
            status=row.status,
            attempts=row.attempts,
            received_at=row.received_at,
            last_error=row.last_error,
        )


class DeliveryDetailOut(DeliveryOut):
    body: str
    headers: dict[str, str]
    handlers: dict[str, str]


class ReplayIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(max_length=10_000)


class ReplayOut(BaseModel):
    queued: int


class SyncOut(BaseModel):
    job: str


class Health(BaseModel):
    status: str
    webhooks_paused: bool | None = None


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str]


# ------------------------------------------------------------------------------ the API

StoreId = Annotated[int, Query(ge=1, le=2**63 - 1)]
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]

api_router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require_user)])


async def _store_out(parts: ServiceParts, store: StoredStore, *, detail: bool) -> StoreOut:
    interrupted = {
        i.store_id: i for i in await anyio.to_thread.run_sync(parts.vault.find_interrupted)
    }
    now = parts.clock()
    health = token_health(
        store,
        now=now,
        refresh_margin=parts.vault.refresh_margin,
        interrupted=interrupted.get(store.store_id),
    )
    resources = await parts.mirror.resources(store.store_id) if detail else []
    return StoreOut(
        store_id=store.store_id,
        name=store.name,
        status=store.status.value,
        token_health=health.label,
        advice=health.advice,
        expires_at=store.expires_at,
        refreshed_at=store.refreshed_at,
        scopes=list(store.scopes),
        resources=[ResourceOut.of(r) for r in resources],
    )


async def _get_store(parts: ServiceParts, store_id: int) -> StoredStore:
    try:
        return await anyio.to_thread.run_sync(parts.vault.get, store_id)
    except StoreNotFoundError:
        raise HTTPException(404, f"no store {store_id}") from None


@api_router.get("/stores", response_model=list[StoreOut])
async def list_stores(request: Request) -> list[StoreOut]:
    """Every connected store with its token health."""
    parts = _parts(request)
    stores = await anyio.to_thread.run_sync(parts.vault.list_stores)
    return [await _store_out(parts, s, detail=False) for s in stores]


@api_router.get("/stores/{store_id}", response_model=StoreOut)
async def get_store(request: Request, store_id: PathId) -> StoreOut:
    """One store with its sync status per resource."""
    parts = _parts(request)
    return await _store_out(parts, await _get_store(parts, store_id), detail=True)


@api_router.post(
    "/stores/{store_id}/sync",
    response_model=SyncOut,
    status_code=202,
    dependencies=[Depends(require_csrf)],
)
async def request_sync(request: Request, store_id: PathId) -> SyncOut:
    """Start a sync of every resource of the store now."""
    parts = _parts(request)
    await _get_store(parts, store_id)
    try:
        return SyncOut(job=await parts.mirror.request_sync(store_id))
    except SallaError as exc:
        raise HTTPException(409, exc.message) from None


@api_router.get("/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(DELIVERY_STATUSES) + ")$")] = None,
    event: Annotated[str | None, Query(max_length=100)] = None,
    store_id: StoreId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The newest webhook deliveries, filtered."""
    rows = await _parts(request).inbox.deliveries(
        status=status, event=event, store_id=store_id, limit=limit
    )
    return [DeliveryOut.of(r) for r in rows]


@api_router.get("/deliveries/{delivery_id}", response_model=DeliveryDetailOut)
async def get_delivery(request: Request, delivery_id: PathId) -> DeliveryDetailOut:
    """One delivery with its raw body and headers (secrets removed)."""
    detail = await _parts(request).inbox.delivery(delivery_id)
    if detail is None:
        raise HTTPException(404, f"no delivery {delivery_id}")
    base = DeliveryOut.of(detail.row).model_dump()
    return DeliveryDetailOut(
        **base, body=detail.body, headers=detail.headers, handlers=detail.handlers
    )


@api_router.post(
    "/deliveries/replay", response_model=ReplayOut, dependencies=[Depends(require_csrf)]
)
async def replay_deliveries(request: Request, body: Annotated[ReplayIn, Body()]) -> ReplayOut:
    """Process the given deliveries again (unknown ids are skipped)."""
    return ReplayOut(queued=await _parts(request).inbox.replay(body.ids))


# ---------------------------------------------------------------------- health, metrics

ops_router = APIRouter(tags=["operations"])


@ops_router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    """Liveness: the process answers (and whether webhook processing is paused, when the
    database says; an unreachable database is a readiness matter, see ``/readyz``)."""
    try:
        paused: bool | None = await _parts(request).inbox.paused()
    except SallaError:
        paused = None
    return Health(status="ok", webhooks_paused=paused)


@ops_router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> Response:
    """Readiness: every check passes (database reachable and migrated, worker running)."""
    checks: dict[str, str] = {}
    for name, check in _parts(request).readiness.items():
        try:
            problem = await check()
        except Exception as exc:
            problem = f"{type(exc).__name__}"
        checks[name] = problem or "ok"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        Readiness(ready=ready, checks=checks).model_dump(), status_code=200 if ready else 503
    )


@ops_router.get(
    "/metrics",
    dependencies=[Depends(require_user)],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (needs the admin bearer token or a session)."""
    body = await anyio.to_thread.run_sync(_parts(request).metrics.render)
    return Response(body, media_type=CONTENT_TYPE)


# --------------------------------------------------------------------- OAuth (Custom mode)

oauth_router = APIRouter(prefix="/oauth", include_in_schema=False)


@oauth_router.get("/install")
async def oauth_install(request: Request) -> Response:
    """Send the merchant to Salla's consent page (Custom mode)."""
    custom = _parts(request).custom_mode
    if custom is None:
        raise HTTPException(404, "Custom mode is not configured (SALLAKIT_REDIRECT_URI)")
    return RedirectResponse(custom.authorize_url(), status_code=303)


@oauth_router.get("/callback")
async def oauth_callback(request: Request) -> Response:
    """Finish a Custom-mode connection: check the state, exchange the code, store the tokens."""
    custom = _parts(request).custom_mode
    if custom is None:
        raise HTTPException(404, "Custom mode is not configured (SALLAKIT_REDIRECT_URI)")
    try:
        store = await custom.handle_callback(dict(request.query_params))
    except AuthorizationDeniedError as exc:
        return render(request, "oauth.html", 403, ok=False, message=exc.message)
    except OAuthError as exc:
        return render(request, "oauth.html", 400, ok=False, message=exc.message)
    except SallaError as exc:
        return render(request, "oauth.html", 502, ok=False, message=exc.message)
    return render(request, "oauth.html", ok=True, store=store, message=None)


# ------------------------------------------------------------------------------ assembly


def install_service(app: FastAPI, parts: ServiceParts) -> None:
    """Add the dashboard, the JSON API, health checks, metrics and OAuth routes to ``app``."""
    app.state.parts = parts
    app.state.sessions = parts.sessions
    app.state.credentials = parts.credentials

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    app.add_exception_handler(LoginRequired, to_login)

    async def html_error(request: Request, exc: Exception) -> Response:
        # A person in a browser (a dashboard page, the login form) gets the error as a page of
        # the dashboard, which htmx can swap in like any other; API clients keep the JSON.
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        wants_html = "text/html" in request.headers.get("accept", "")
        if wants_html and (path.startswith("/dashboard") or path in ("/login", "/logout")):
            return render(request, "store_error.html", exc.status_code, message=str(exc.detail))
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, html_error)

    async def home() -> Response:
        return RedirectResponse("/dashboard/", status_code=303)

    app.add_api_route("/", home, methods=["GET"], include_in_schema=False)
    for router in (ops_router, auth_router, oauth_router, dashboard_router, api_router):
        app.include_router(router)
