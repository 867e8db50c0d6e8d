"""The dashboard's pages: server-rendered HTML (Jinja2), forms that work without JavaScript.

Every page needs a logged-in session (:func:`~sallakit.server._auth.require_user`) and every
form a CSRF token. Progressive enhancement: each action is a plain form post answered by a
redirect back (303) and each link a plain page load, so everything works without JavaScript.
When htmx is available (the copy installed with ``sallakit[server]``, served at
:data:`~sallakit.server.dashboard._assets.HTMX_PATH`, or ``SALLAKIT_HTMX_URL``), the pages are
``hx-boost``-ed: the same links and forms are fetched in the background and only the page's body
is swapped, with the URL kept in the history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
import jinja2
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from sallakit._exceptions import SallaError, StoreNotFoundError
from sallakit.server._auth import (
    COOKIE_NAME,
    CSRF_FIELD,
    Session,
    current_session,
    require_csrf,
    require_user,
    safe_next,
)
from sallakit.server._parts import ServiceParts
from sallakit.server.dashboard._assets import script_url
from sallakit.server.dashboard._charts import bar_chart
from sallakit.server.dashboard._health import token_health
from sallakit.server.dashboard._i18n import LANGUAGES, Language, direction, translate
from sallakit.server.dashboard._sources import DELIVERY_STATUSES

__all__ = ["LANGUAGE_COOKIE", "auth_router", "dashboard_router", "render"]

LANGUAGE_COOKIE = "sallakit_lang"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("sallakit.server.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _when(epoch: float | None) -> Markup:
    if epoch is None:
        return Markup("—")
    # Digits and dashes reorder inside a right-to-left line: keep the timestamp's own order.
    text = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<bdi dir="ltr">{}</bdi>').format(text)


def _duration(seconds: float | None) -> Markup:
    if seconds is None:
        return Markup("—")
    if seconds < 60:
        text = f"{seconds:.1f} s"
    elif seconds < 3600:
        text = f"{seconds / 60:.1f} min"
    elif seconds < 86_400:
        text = f"{seconds / 3600:.1f} h"
    else:
        text = f"{seconds / 86_400:.1f} d"
    return Markup('<bdi dir="ltr">{}</bdi>').format(text)


_templates.filters["when"] = _when
_templates.filters["duration"] = _duration


def _parts(request: Request) -> ServiceParts:
    parts: ServiceParts = request.app.state.parts
    return parts


def _language(request: Request) -> Language:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return "ar" if chosen == "ar" else "en"


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    *,
    session: Session | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the page chrome (language, direction, CSRF token, htmx).

    ``session`` is the one the response will carry, when it is not the request's yet.
    """
    parts = _parts(request)
    language = _language(request)
    session = session or current_session(request)
    page = _templates.get_template(template).render(
        t=lambda text: translate(text, language),
        lang=language,
        dir=direction(language),
        languages=LANGUAGES,
        csrf_field=CSRF_FIELD,
        csrf=session.csrf if session else "",
        logged_in=bool(session and session.logged_in),
        htmx_url=script_url(parts.settings.htmx_url, parts.htmx),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def _set_session(response: Response, parts: ServiceParts, session: Session) -> None:
    response.set_cookie(
        COOKIE_NAME,
        parts.sessions.seal(session),
        max_age=parts.sessions.max_age,
        httponly=True,
        samesite="lax",
        secure=parts.secure_cookies,
        path="/",
    )


# ---------------------------------------------------------------------------------- login

auth_router = APIRouter(include_in_schema=False)


@auth_router.get("/login")
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    parts = _parts(request)
    session = current_session(request)
    if session is None:
        # An anonymous session only carries the CSRF token of the login form.
        session = parts.sessions.new()
    response = render(request, "login.html", session=session, next=safe_next(next), error=False)
    _set_session(response, parts, session)
    return response


@auth_router.post("/login", dependencies=[Depends(require_csrf)])
async def login(
    request: Request,
    secret: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/dashboard/",
) -> Response:
    parts = _parts(request)
    if not parts.credentials.check_login(secret):
        return render(request, "login.html", status_code=401, next=safe_next(next), error=True)
    # A new session id at login: a session planted before it is worth nothing after.
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_session(response, parts, parts.sessions.new(user="admin"))
    return response


@auth_router.post("/logout", dependencies=[Depends(require_csrf)])
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


# ------------------------------------------------------------------------------ dashboard

dashboard_router = APIRouter(
    prefix="/dashboard", include_in_schema=False, dependencies=[Depends(require_user)]
)


@dashboard_router.get("/lang/{language}")
async def choose_language(request: Request, language: str) -> Response:
    if language not in LANGUAGES:
        raise HTTPException(404, "unknown language")
    back = safe_next(request.headers.get("referer", "").partition(request.url.netloc)[2] or None)
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86_400, samesite="lax")
    return response


@dashboard_router.get("/assets/htmx.min.js")
async def htmx_script(request: Request) -> Response:
    installed = _parts(request).htmx
    if installed is None:
        raise HTTPException(404, "htmx is not installed (pip install 'sallakit[server]')")
    # The URL carries the version (?v=), so a browser may keep it as long as it likes.
    return Response(
        installed.script,
        media_type="text/javascript",
        headers={"cache-control": "private, max-age=31536000, immutable"},
    )


async def _store_rows(parts: ServiceParts) -> list[dict[str, Any]]:
    stores = await anyio.to_thread.run_sync(parts.vault.list_stores)
    interrupted = {
        i.store_id: i for i in await anyio.to_thread.run_sync(parts.vault.find_interrupted)
    }
    now = parts.clock()
    rows = []
    for store in stores:
        health = token_health(
            store,
            now=now,
            refresh_margin=parts.vault.refresh_margin,
            interrupted=interrupted.get(store.store_id),
        )
        rows.append({"store": store, "health": health})
    return rows


@dashboard_router.get("/")
async def stores_page(request: Request) -> HTMLResponse:
    parts = _parts(request)
    rows = await _store_rows(parts)
    for row in rows:
        resources = await parts.mirror.resources(row["store"].store_id)
        row["resources"] = resources
        row["failed"] = [r.resource for r in resources if r.state == "failed"]
    counts = await parts.inbox.counts()
    return render(request, "stores.html", rows=rows, counts=counts)


@dashboard_router.get("/stores/{store_id}")
async def store_page(request: Request, store_id: int, notice: str | None = None) -> HTMLResponse:
    parts = _parts(request)
    try:
        store = await anyio.to_thread.run_sync(parts.vault.get, store_id)
    except StoreNotFoundError:
        raise HTTPException(404, f"no store {store_id}") from None
    interrupted = {
        i.store_id: i for i in await anyio.to_thread.run_sync(parts.vault.find_interrupted)
    }
    now = parts.clock()
    health = token_health(
        store,
        now=now,
        refresh_margin=parts.vault.refresh_margin,
        interrupted=interrupted.get(store_id),
    )
    resources = await parts.mirror.resources(store_id)
    language = _language(request)
    buckets = parts.metrics.rate_history.series(str(store_id), minutes=60)
    rate_svg = bar_chart(
        [datetime.fromtimestamp(b.minute * 60, UTC).strftime("%H:%M") for b in buckets],
        [b.requests for b in buckets],
        highlight=[b.rate_limited for b in buckets],
        highlight_title="429",
        title=translate("Rate-limit use (requests per minute, 429s in red)", language),
    )
    days = await parts.mirror.orders_per_day(store_id, days=30)
    orders_svg = bar_chart(
        [d[5:] for d, _ in days],
        [n for _, n in days],
        title=translate("Orders per day", language),
        width=960,
        height=200,
        max_labels=10,
    )
    deliveries = await parts.inbox.deliveries(store_id=store_id, limit=10)
    return render(
        request,
        "store.html",
        store=store,
        health=health,
        resources=resources,
        now=now,
        rate_svg=rate_svg,
        orders_svg=orders_svg,
        deliveries=deliveries,
        notice=notice,
    )


@dashboard_router.post("/stores/{store_id}/sync", dependencies=[Depends(require_csrf)])
async def sync_now(request: Request, store_id: int) -> Response:
    parts = _parts(request)
    try:
        await anyio.to_thread.run_sync(parts.vault.get, store_id)
    except StoreNotFoundError:
        raise HTTPException(404, f"no store {store_id}") from None
    try:
        job = await parts.mirror.request_sync(store_id)
    except SallaError as exc:
        return render(request, "store_error.html", status_code=409, message=exc.message)
    return RedirectResponse(f"/dashboard/stores/{store_id}?notice=sync:{job}", status_code=303)


def _optional_int(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    if not value.strip().isdigit():
        raise HTTPException(400, "store must be a store id (digits)")
    return int(value)


@dashboard_router.get("/webhooks")
async def webhooks_page(
    request: Request,
    status: str | None = None,
    event: str | None = None,
    store: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    parts = _parts(request)
    status = status or None
    if status is not None and status not in DELIVERY_STATUSES:
        raise HTTPException(400, f"status must be one of {', '.join(DELIVERY_STATUSES)}")
    store_id = _optional_int(store)
    rows = await parts.inbox.deliveries(
        status=status, event=event or None, store_id=store_id, limit=200
    )
    counts = await parts.inbox.counts()
    return render(
        request,
        "webhooks.html",
        rows=rows,
        counts=counts,
        statuses=DELIVERY_STATUSES,
        filters={"status": status or "", "event": event or "", "store": store or ""},
        notice=notice,
    )


@dashboard_router.get("/webhooks/{delivery_id}")
async def delivery_page(
    request: Request, delivery_id: int, notice: str | None = None
) -> HTMLResponse:
    parts = _parts(request)
    detail = await parts.inbox.delivery(delivery_id)
    if detail is None:
        raise HTTPException(404, f"no delivery {delivery_id}")
    try:
        pretty = json.dumps(json.loads(detail.body), ensure_ascii=False, indent=2)
    except ValueError:
        pretty = detail.body
    return render(request, "delivery.html", d=detail, body=pretty, notice=notice)


@dashboard_router.post("/webhooks/{delivery_id}/replay", dependencies=[Depends(require_csrf)])
async def replay_one(request: Request, delivery_id: int) -> Response:
    parts = _parts(request)
    if await parts.inbox.delivery(delivery_id) is None:
        raise HTTPException(404, f"no delivery {delivery_id}")
    queued = await parts.inbox.replay([delivery_id])
    return RedirectResponse(
        f"/dashboard/webhooks/{delivery_id}?notice=replayed:{queued}", status_code=303
    )


@dashboard_router.get("/dead-letters")
async def dead_letters_page(request: Request, notice: str | None = None) -> HTMLResponse:
    parts = _parts(request)
    rows = await parts.inbox.deliveries(status="dead", limit=500)
    return render(request, "dead.html", rows=rows, notice=notice)


@dashboard_router.post("/dead-letters/replay", dependencies=[Depends(require_csrf)])
async def replay_dead(request: Request) -> Response:
    parts = _parts(request)
    form = await request.form()
    chosen = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    if form.get("all") == "1":
        chosen = [r.id for r in await parts.inbox.deliveries(status="dead", limit=10_000)]
    queued = await parts.inbox.replay(chosen) if chosen else 0
    return RedirectResponse(f"/dashboard/dead-letters?notice=replayed:{queued}", status_code=303)
