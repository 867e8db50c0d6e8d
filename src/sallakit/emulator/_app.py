"""The emulator's ASGI app: accounts server, Merchant API shell, control API.

Routes:

- ``GET|POST /oauth2/auth``: the consent page and its answer (redirect with ``code``).
- ``POST /oauth2/token``: ``authorization_code`` and ``refresh_token`` grants.
- ``GET /oauth2/user/info`` (also under ``/admin/v2``).
- ``/admin/v2/{path}``: every Merchant API endpoint of the registry.
- ``/_emulator/...``: the control API (:mod:`sallakit.emulator._control`).

The API shell authenticates the bearer token, matches the registry, applies the store's rate
limits and injected faults, checks scopes, answers the ``webhooks.*`` endpoints itself and hands
everything else to the store-data handlers through the :mod:`~sallakit.emulator._context` seam.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from sallakit._registry import load_registry
from sallakit.emulator import _faults, _ratelimit
from sallakit.emulator._bodies import MAX_API_BODY, parse_json, read_capped
from sallakit.emulator._cache import EncodedJSON, splice
from sallakit.emulator._context import (
    ApiRequest,
    ApiResponse,
    EmulatorHTTPError,
    RequestContext,
)
from sallakit.emulator._oauth import AppRegistration, Grant, OAuthFailure, token_response
from sallakit.emulator._routing import MethodNotAllowed, RouteNotFound, Router
from sallakit.emulator._transport import ConnectionResetFault

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from sallakit.emulator._emulator import Emulator
    from sallakit.emulator._state import StoreRecord

__all__ = ["cap_list", "create_app", "error_body", "user_info_body"]

logger = logging.getLogger(__name__)

INVALID_TOKEN = "The access token is invalid"
MISSING_SCOPE = "The access token should have access to one of those scopes: "
NOT_FOUND = "The content you are trying to access is no longer available"

# Errors the shell itself answers, in Salla's default Arabic and in English (Accept-Language).
_SHELL_MESSAGES: dict[str, dict[str, str]] = {
    "not_found": {"ar": "المحتوى الذي تحاول الوصول اليه غير متوفر", "en": NOT_FOUND},
    "method_not_allowed": {
        "ar": "الطريقة {method} غير مدعومة لهذا المسار. الطرق المدعومة: {allowed}.",
        "en": "The {method} method is not supported for this route. Supported methods: {allowed}.",
    },
    "bad_json": {
        "ar": "محتوى الطلب ليس بصيغة JSON صالحة.",
        "en": "The request body is not valid JSON.",
    },
    "too_large": {
        "ar": "حجم محتوى الطلب أكبر من المسموح.",
        "en": "The request body is too large.",
    },
    "too_many_requests": {
        "ar": "عدد الطلبات كبير جداً، يرجى التمهل والمحاولة لاحقاً.",
        "en": "Too many requests, please slow down and retry later.",
    },
}


def shell_message(key: str, language: str, **values: str) -> str:
    """A message of the API shell in the request's language (Arabic unless ``en``)."""
    return _SHELL_MESSAGES[key]["en" if language == "en" else "ar"].format(**values)


def _normalised_path(path: str) -> str:
    # The router ignores empty segments, so the bucket choice must too (``//customers``).
    return "/" + "/".join(part for part in path.split("/") if part)


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("sallakit.emulator", "templates"),
    autoescape=True,
)


def error_body(
    status: int,
    message: str,
    code: str | int | None = None,
    fields: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Salla's error envelope."""
    error: dict[str, Any] = {"code": code if code is not None else "error", "message": message}
    if fields:
        error["fields"] = dict(fields)
    return {"status": status, "success": False, "error": error}


def _json(body: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, default=str).encode()
    return Response(content, status, headers=dict(headers or {}), media_type="application/json")


def _http_error(exc: EmulatorHTTPError, headers: Mapping[str, str] | None = None) -> Response:
    return _json(
        error_body(exc.status, exc.message, exc.code, exc.fields),
        exc.status,
        {**(headers or {}), **exc.headers},
    )


def _scope_allows(required: tuple[str, ...], granted: frozenset[str]) -> bool:
    if not required:
        return True
    for scope in required:
        if scope in granted:
            return True
        # A read_write grant includes read access.
        if scope.endswith(".read") and f"{scope[: -len('.read')]}.read_write" in granted:
            return True
    return False


def _language(header: str | None) -> str:
    first = (header or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "ar"


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# ------------------------------------------------------------------------------- the app


def create_app(emulator: Emulator, *, background_delivery: bool = True) -> Starlette:
    """Build the emulator's ASGI app.

    Args:
        emulator: The emulator it serves.
        background_delivery: When the app is run by a server (lifespan events), deliver due
            webhooks in a background task. In-process transports send no lifespan events, so
            there ``await emulator.deliver_due()`` is the way.
    """
    from sallakit.emulator._control import control_routes

    api = _MerchantAPI(emulator)
    oauth = _OAuthEndpoints(emulator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            if background_delivery:
                tg.start_soon(emulator.run_delivery_loop)
            yield
            tg.cancel_scope.cancel()

    return Starlette(
        routes=[
            Route("/oauth2/auth", oauth.authorize, methods=["GET", "POST"]),
            Route("/oauth2/token", oauth.token, methods=["POST"]),
            Route("/oauth2/user/info", oauth.user_info, methods=["GET"]),
            Route("/admin/v2/{path:path}", api),
            Mount("/_emulator", routes=control_routes(emulator)),
            Route("/", _index, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _index(request: Request) -> Response:
    return JSONResponse(
        {
            "emulator": "sallakit",
            "state": "/_emulator/state",
            "api": "/admin/v2",
            "oauth": "/oauth2",
        }
    )


# ------------------------------------------------------------------------ accounts server


class _OAuthEndpoints:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _page(self, status: int = 200, **values: Any) -> HTMLResponse:
        html = _templates.get_template("consent.html").render(action="/oauth2/auth", **values)
        return HTMLResponse(html, status)

    def _error_page(self, error: str, description: str) -> HTMLResponse:
        return self._page(
            400, title="Authorization error", error=error, error_description=description
        )

    async def authorize(self, request: Request) -> Response:
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
        em = self.emulator
        with em.lock:
            app = em.state.apps.get(params.get("client_id", ""))
            if app is None:
                return self._error_page("invalid_client", "Unknown client_id.")
            redirect_uri = params.get("redirect_uri") or app.redirect_uri
            # Exact match, as Salla requires; never redirect to an unregistered URI.
            if redirect_uri != app.redirect_uri:
                return self._error_page(
                    "invalid_request",
                    "The redirect_uri does not match the one registered for this app.",
                )
            if request.method == "GET" and params.get("response_type", "code") != "code":
                return self._error_page("unsupported_response_type", "Use response_type=code.")
            requested = params.get("scope", "").replace("+", " ").split()
            scopes = [*app.scopes, *(["offline_access"] if "offline_access" in requested else [])]
            state = params.get("state", "")
            auto = em.settings.auto_approve or params.get("auto_approve") in ("1", "true")
            if request.method == "GET" and not auto:
                return self._page(
                    title="Authorize app",
                    app_name=app.name,
                    client_id=app.client_id,
                    redirect_uri=redirect_uri,
                    scope=" ".join(requested),
                    state=state,
                    scopes=scopes,
                    stores=em.stores,
                )
            decision = params.get("decision", "approve")
            if decision != "approve":
                target = _with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "The resource owner denied the request.",
                        "state": state,
                    },
                )
                return RedirectResponse(target, 302)
            try:
                record = em.store(int(params["store_id"]) if params.get("store_id") else None)
            except (KeyError, ValueError):
                return self._error_page("invalid_request", "Unknown store_id.")
            if app.easy_mode:
                em.install_app(record.profile.id, scopes, client_id=app.client_id)
                return self._page(
                    title="App installed",
                    installed=True,
                    app_name=app.name,
                    store_id=record.profile.id,
                )
            code = em.state.oauth.issue_code(app, record.profile.id, scopes, redirect_uri, em.now())
            record.installed.add(app.client_id)
        target = _with_query(
            redirect_uri, {"code": code.code, "scope": " ".join(scopes), "state": state}
        )
        return RedirectResponse(target, 302)

    def _client(self, form: Mapping[str, str], request: Request) -> AppRegistration | None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if not client_id and basic.lower().startswith("basic "):
            # Not documented for Salla; Hydra accepts it, so the emulator does too.
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        app = self.emulator.state.apps.get(client_id or "")
        if app is None or secret != app.client_secret:
            return None
        return app

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        em = self.emulator
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        with em.lock:
            app = self._client(form, request)
            if app is None:
                failure = OAuthFailure(
                    401,
                    "invalid_client",
                    "Client authentication failed (e.g., unknown client, no client "
                    "authentication included, or unsupported authentication method).",
                )
                return JSONResponse(failure.body(), failure.status, headers=no_store)
            grant_type = form.get("grant_type")
            now = em.now()
            result: Grant | OAuthFailure
            expires_field = "expires_in"
            if grant_type == "authorization_code":
                if not form.get("code"):
                    return _oauth_error(400, "invalid_request", "The code is missing.")
                result = em.state.oauth.exchange_code(
                    app, form["code"], form.get("redirect_uri"), now
                )
                expires_field = em.settings.expires_field
            elif grant_type == "refresh_token":
                if not form.get("refresh_token"):
                    return _oauth_error(400, "invalid_request", "The refresh_token is missing.")
                result = em.state.oauth.refresh(app, form["refresh_token"], now)
            else:
                return _oauth_error(
                    400,
                    "unsupported_grant_type",
                    "The authorization grant type is not supported by the authorization server.",
                )
            if isinstance(result, OAuthFailure):
                return JSONResponse(result.body(), result.status, headers=no_store)
            body = token_response(result, now, expires_field=expires_field)
        return JSONResponse(body, headers=no_store)

    async def user_info(self, request: Request) -> Response:
        em = self.emulator
        with em.lock:
            token = _bearer(request)
            grant = em.state.oauth.authenticate(token, em.now()) if token else None
            if grant is None:
                return _json(error_body(401, INVALID_TOKEN, "Unauthorized"), 401)
            body = user_info_body(em, grant)
        return _json(body, 200)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status)


def user_info_body(emulator: Emulator, grant: Grant) -> dict[str, Any]:
    """``/oauth2/user/info`` for a grant: the user who installed and the store (merchant)."""
    record = emulator.store(grant.store_id)
    profile = record.profile
    app = emulator.state.apps.get(grant.client_id)
    return {
        "status": 200,
        "success": True,
        "data": {
            "id": profile.owner_id,
            "name": profile.owner_name,
            "email": profile.owner_email,
            "mobile": profile.owner_mobile,
            "role": "user",
            "created_at": profile.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "merchant": {
                "id": profile.id,
                "username": profile.username,
                "name": profile.name,
                "avatar": "https://cdn.salla.sa/emulator/avatar.png",
                "store_location": "24.7136,46.6753",
                "plan": profile.plan,
                "status": profile.status,
                "domain": profile.domain,
                "tax_number": f"3{profile.id:014d}"[:15],
                "commercial_number": f"{profile.id:010d}"[:10],
                "created_at": profile.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            },
            "context": {
                "app": str(app.id if app else 0),
                "scope": grant.scope_string,
                "exp": int(grant.access_expires_at.timestamp()),
            },
        },
    }


# ---------------------------------------------------------------------- Merchant API shell


_DRIFT_INSERTS = {
    "products.list": "add_product",
    "orders.list": "place_order",
    "customers.list": "add_customer",
}


class _MerchantAPI:
    """A raw ASGI endpoint, so that an injected reset can abort a response it has started."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.router = Router(load_registry())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except ConnectionResetFault:
            # Start the response, then fail: servers drop the connection mid-answer, and the
            # in-process transport turns the exception into httpx2.ReadError.
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        em = self.emulator
        token = _bearer(request)
        with em.lock:
            grant = em.state.oauth.authenticate(token, em.now()) if token else None
            if grant is None or grant.store_id not in em.state.stores:
                return _json(error_body(401, INVALID_TOKEN, "Unauthorized"), 401)
            store_id = grant.store_id
            counters = em.state.counters
            counters.in_flight[store_id] += 1
            counters.peak_in_flight[store_id] = max(
                counters.peak_in_flight[store_id], counters.in_flight[store_id]
            )
        status: int | None = None
        try:
            response = await self._handle(request, grant)
            status = response.status_code
            return response
        finally:
            with em.lock:
                em.state.counters.in_flight[store_id] -= 1
                em.state.request_log.append(
                    {
                        "time": em.now().isoformat(),
                        "store_id": store_id,
                        "method": request.method,
                        "path": request.url.path,
                        "query": request.url.query,
                        "endpoint": getattr(request.state, "client_method", None),
                        "status": status,  # None: the connection was dropped (a reset fault)
                    }
                )

    async def _handle(self, request: Request, grant: Grant) -> Response:
        em = self.emulator
        path = "/" + request.path_params.get("path", "")
        method = request.method.upper()
        language = _language(request.headers.get("accept-language"))
        with em.lock:
            state = em.state
            record = state.stores[grant.store_id]
            endpoint = None
            route_error: Response | None = None
            params: dict[str, str] = {}
            try:
                endpoint, params = self.router.match(method, path)
            except RouteNotFound:
                route_error = _json(error_body(404, shell_message("not_found", language), 404), 404)
            except MethodNotAllowed as exc:
                message = shell_message(
                    "method_not_allowed",
                    language,
                    method=method,
                    allowed=", ".join(exc.allowed),
                )
                route_error = _json(
                    error_body(405, message, "method_not_allowed"),
                    405,
                    {"Allow": ", ".join(exc.allowed)},
                )
            client_method = endpoint.client_method if endpoint else "(unmatched)"
            request.state.client_method = client_method
            state.counters.requests[(record.profile.id, client_method)] += 1
            # The bucket follows the matched endpoint's template, not the raw path.
            decision = self._rate_limit(
                record, endpoint.path if endpoint is not None else _normalised_path(path)
            )
            rate_headers = decision.headers()
            if not decision.allowed:
                state.counters.rate_limited[record.profile.id] += 1
                return self._count(record, _too_many_requests(rate_headers, language))
            if route_error is not None:
                route_error.headers.update(rate_headers)
                return self._count(record, route_error)
            assert endpoint is not None
            try:
                page = int(request.query_params.get("page", "1"))
            except ValueError:
                page = 1
            faults = _faults.decide(
                state.faults,
                state.fault_rng,
                store_id=record.profile.id,
                client_method=endpoint.client_method,
                page=page,
            )
        if faults.latency:
            await anyio.sleep(faults.latency)
        if faults.reset:
            raise ConnectionResetFault
        if faults.rate_limited is not None:
            headers = {
                **rate_headers,
                "Retry-After": str(faults.rate_limited),
                "X-RateLimit-Remaining": "0",
            }
            return self._count(record, _too_many_requests(headers, language))
        if faults.error_status is not None:
            status = faults.error_status
            return self._count(
                record,
                _json(
                    error_body(status, "Internal Server Error", "server_error"),
                    status,
                    rate_headers,
                ),
            )
        try:
            body = await self._body(request, language)
        except EmulatorHTTPError as exc:
            return self._count(record, _http_error(exc, rate_headers))
        with em.lock:
            if not _scope_allows(endpoint.scopes, frozenset(grant.scopes)):
                message = MISSING_SCOPE + ", ".join(endpoint.scopes)
                return self._count(
                    record, _json(error_body(401, message, "Unauthorized"), 401, rate_headers)
                )
            api_request = ApiRequest(
                endpoint=endpoint,
                path_params=params,
                query={k: request.query_params.getlist(k) for k in request.query_params},
                body=body,
                headers=dict(request.headers),
            )
            ctx = self._context(record, grant, request)
            try:
                if faults.page_drift and endpoint.client_method in _DRIFT_INSERTS:
                    self._drift(ctx, _DRIFT_INSERTS[endpoint.client_method], faults.page_drift)
                    em.note_write(record.profile.id)
                if method == "GET":
                    # Only reads use cached records, under the version the store has now.
                    ctx.render_cache = em.render_cache(record.profile.id)
                    ctx.cache_version = em.store_version(record.profile.id)
                else:
                    em.note_write(record.profile.id)
                result = self._answer(api_request, ctx, grant)
            except EmulatorHTTPError as exc:
                return self._count(record, _http_error(exc, rate_headers))
            except Exception:
                logger.exception(
                    "emulator handler failed",
                    extra={"action": "emulator.handler_error", "endpoint": endpoint.client_method},
                )
                return self._count(
                    record,
                    _json(
                        error_body(500, "Internal Server Error", "server_error"), 500, rate_headers
                    ),
                )
        if faults.malformed:
            # Valid headers, a body cut in the middle: what a proxy hiccup looks like.
            return self._count(
                record,
                Response(
                    b'{"status":200,"success":true,"data":[{"id":',
                    200,
                    headers=rate_headers,
                    media_type="application/json",
                ),
            )
        cap_list(result, em.state.settings.list_cap)
        return self._count(record, _render(result, {**rate_headers, **result.headers}))

    def _count(self, record: StoreRecord, response: Response) -> Response:
        with self.emulator.lock:
            self.emulator.state.counters.statuses[(record.profile.id, response.status_code)] += 1
        return response

    def _rate_limit(self, record: StoreRecord, path: str) -> _ratelimit.RateDecision:
        em = self.emulator
        now = em.state.clock.time()
        spec = _ratelimit.plan_spec(
            record.profile.plan, overflow_per_second=em.state.settings.leak_per_second
        )
        new_state, decision = _ratelimit.take(spec, record.bucket, now)
        if not decision.allowed:
            return decision
        if path == "/customers" or path.startswith("/customers/"):
            c_state, c_decision = _ratelimit.take(
                _ratelimit.CUSTOMERS_SPEC, record.customers_bucket, now
            )
            if not c_decision.allowed:
                return c_decision
            record.customers_bucket = c_state
            record.bucket = new_state
            # Report whichever budget is closer to running out.
            return c_decision if c_decision.remaining < decision.remaining else decision
        record.bucket = new_state
        return decision

    async def _body(self, request: Request, language: str = "ar") -> Any:
        if request.method in ("GET", "HEAD", "DELETE") and not request.headers.get(
            "content-length"
        ):
            return None
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and len(declared) < 20 and int(declared) > MAX_API_BODY:
                raise EmulatorHTTPError(413, shell_message("too_large", language), code=413)
            try:
                form = await request.form(max_part_size=MAX_API_BODY)
            except Exception as exc:  # starlette's MultiPartException / parse errors
                raise EmulatorHTTPError(400, shell_message("bad_json", language), code=400) from exc
            try:
                return {
                    k: (v if isinstance(v, str) else getattr(v, "filename", "upload"))
                    for k, v in form.multi_items()
                }
            finally:
                # Uploaded files are spooled to temporary files: close them now.
                await form.close()
        raw = await read_capped(request, MAX_API_BODY)
        if raw is None:
            raise EmulatorHTTPError(413, shell_message("too_large", language), code=413)
        if not raw.strip():
            return None
        try:
            return parse_json(raw)
        except ValueError as exc:
            raise EmulatorHTTPError(400, shell_message("bad_json", language), code=400) from exc

    def _context(self, record: StoreRecord, grant: Grant, request: Request) -> RequestContext:
        em = self.emulator
        sid = record.profile.id
        app = em.state.apps.get(grant.client_id)
        return RequestContext(
            store=record.profile,
            data=record.data,
            scopes=frozenset(grant.scopes),
            language=_language(request.headers.get("accept-language")),
            quirks=em.state.settings.quirks,
            links_as_list=em.state.settings.links_as_list,
            now=em.now,
            emit=lambda event, data: em.emit(sid, event, data),
            next_id=em.state.next_id,
            app_id=app.id if app else 0,
        )

    def _drift(self, ctx: RequestContext, method: str, count: int) -> None:
        # New items land at the front of newest-first lists, shifting older ones onto the
        # next page, as concurrent shoppers and merchants do on a live store.
        for _ in range(count):
            n = ctx.next_id()
            if method == "place_order":
                ctx.data.place_order(ctx)
            elif method == "add_product":
                ctx.data.add_product(
                    ctx, {"name": f"منتج جديد {n % 10_000}", "price": 10 + n % 90, "quantity": 5}
                )
            else:
                ctx.data.add_customer(
                    ctx,
                    {
                        "first_name": "عميل",
                        "last_name": str(n % 10_000),
                        "mobile": str(500_000_000 + n % 99_999_999),
                        "mobile_code": "+966",
                        "email": f"drift{n}@example.sa",
                    },
                )

    def _answer(self, request: ApiRequest, ctx: RequestContext, grant: Grant) -> ApiResponse:
        em = self.emulator
        if request.endpoint.path == "/oauth2/user/info":
            return ApiResponse(user_info_body(em, grant), raw=True)
        handled = em.state.webhooks.handle(
            request,
            store_id=ctx.store.id,
            client_id=grant.client_id,
            strict_urls=em.state.settings.strict_urls,
            links_as_list=ctx.links_as_list,
            next_id=em.state.next_id,
        )
        if handled is not None:
            return handled
        return em.dispatch(request, ctx)


def _too_many_requests(headers: Mapping[str, str], language: str = "ar") -> Response:
    body = error_body(429, shell_message("too_many_requests", language), "too_many_requests")
    return _json(body, 429, headers)


def cap_list(result: ApiResponse, cap: int) -> None:
    """Drop the rows of a list page that lie past row ``cap`` of the whole list (0: no cap).

    Salla is reported to stop returning rows near 10,000 (page x per_page) while
    ``pagination.total`` (and ``totalPages``, ``links``) keep describing the whole list, so a
    client only notices by comparing the rows it got with ``total``. ``count`` tells the truth
    about the page.
    """
    pagination = result.pagination
    if not cap or pagination is None or not isinstance(result.data, list):
        return
    page, per_page = pagination.get("currentPage"), pagination.get("perPage")
    if not isinstance(page, int) or not isinstance(per_page, int):
        return
    room = max(cap - (page - 1) * per_page, 0)
    if len(result.data) > room:
        result.data = result.data[:room]
        pagination["count"] = room


def _render(result: ApiResponse, headers: Mapping[str, str]) -> Response:
    if result.status == 204:
        return Response(b"", 204, headers=dict(headers))
    if result.raw:
        return _json(result.data, result.status, headers)
    if isinstance(result.data, list) and any(isinstance(x, EncodedJSON) for x in result.data):
        # Cached records: spliced into the body as encoded, not rebuilt.
        tail = {"pagination": result.pagination} if result.pagination is not None else {}
        content = splice({"status": result.status, "success": True}, result.data, tail)
        return Response(
            content, result.status, headers=dict(headers), media_type="application/json"
        )
    body: dict[str, Any] = {"status": result.status, "success": True, "data": result.data}
    if result.pagination is not None:
        body["pagination"] = result.pagination
    return _json(body, result.status, headers)
