"""The control API under ``/_emulator/``: the Python control surface over HTTP.

Stable and documented: ``GET /state``, ``GET /counters``, ``POST /clock/advance``
(``{"seconds": N}``) and ``POST /stores/{store_id}/tokens`` (``{"scopes": [...]}``, answered in the
``/oauth2/token`` shape). The other routes (stores, apps, installs, data mutations, faults,
deliveries, snapshots) mirror :class:`~sallakit.emulator.Emulator` methods one to one.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sallakit._exceptions import ConfigurationError
from sallakit.emulator._emulator import StoreExistsError

if TYPE_CHECKING:
    from sallakit.emulator._emulator import Emulator

__all__ = ["control_routes"]

Handler = Callable[[Request], Awaitable[Any]]


def _json(body: Any, status: int = 200) -> Response:
    content = json.dumps(body, ensure_ascii=False, default=str).encode()
    return Response(content, status, media_type="application/json")


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: JSON out, and control errors as ``{"error": ...}`` with 400/404."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except KeyError as exc:
            return _json({"error": "not_found", "detail": f"unknown {exc.args[0]!r}"}, 404)
        except (ValueError, TypeError, ConfigurationError) as exc:
            return _json({"error": "bad_request", "detail": str(exc)}, 400)
        return result if isinstance(result, Response) else _json(result)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ValueError("the body must be a JSON object") from exc
    if not isinstance(doc, dict):
        raise ValueError("the body must be a JSON object")
    return doc


def _store_id(request: Request) -> int:
    return int(request.path_params["store_id"])


def _scopes(body: dict[str, Any]) -> list[str] | None:
    scopes = body.get("scopes")
    if scopes is None:
        return None
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise ValueError("scopes must be a list of scope strings")
    return scopes


def _client_id(body: dict[str, Any]) -> str | None:
    client_id = body.get("client_id")
    if client_id is not None and not isinstance(client_id, str):
        raise ValueError("client_id must be a string")
    return client_id


def snapshot_target(em: Emulator, raw: Any) -> Path:
    """Where ``POST /_emulator/snapshot`` may write: inside the configured snapshot directory,
    or the ``--state-file`` path; anything else is refused.

    Raises:
        PermissionError: no snapshot directory is configured and the path is not the state
            file, or the path leaves the directory.
        ValueError: ``path`` is not a string.
    """
    state_file = em.state_file.resolve() if em.state_file is not None else None
    if raw is None:
        if state_file is None:
            raise PermissionError("give a path: this emulator has no state file")
        return state_file
    if not isinstance(raw, str) or not raw:
        raise ValueError("path must be a non-empty string")
    directory = em.snapshot_dir.resolve() if em.snapshot_dir is not None else None
    candidate = Path(raw)
    if directory is not None and not candidate.is_absolute():
        candidate = directory / candidate
    candidate = candidate.resolve()
    if state_file is not None and candidate == state_file:
        return candidate
    if directory is None:
        raise PermissionError(
            "snapshots over HTTP are disabled: start the emulator with --snapshot-dir (or "
            "write the --state-file path)"
        )
    if not candidate.is_relative_to(directory) or candidate == directory:
        raise PermissionError(f"snapshots may only be written inside {directory}")
    return candidate


def emulator_requests(em: Emulator, request: Request) -> list[dict[str, Any]]:
    """The request log, optionally filtered by ``store_id`` and limited to the last ``limit``."""
    log = em.request_log
    if "store_id" in request.query_params:
        store_id = int(request.query_params["store_id"])
        log = [entry for entry in log if entry["store_id"] == store_id]
    limit = int(request.query_params.get("limit", "200"))
    return log[-limit:] if limit > 0 else []


def control_routes(em: Emulator) -> list[Route]:
    """The ``/_emulator/`` routes of an emulator."""

    async def state(request: Request) -> Any:
        return em.describe()

    async def counters(request: Request) -> Any:
        return em.counters()

    async def advance(request: Request) -> Any:
        body = await _body(request)
        seconds = body.get("seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("seconds must be a number")
        now = em.advance(seconds)
        return {"now": now.isoformat(), "epoch": int(now.timestamp())}

    async def create_store(request: Request) -> Any:
        body = await _body(request)
        try:
            profile = em.create_store(**body)
        except StoreExistsError as exc:
            # Never replace a store's data silently.
            return _json({"error": "conflict", "detail": str(exc)}, 409)
        return {
            "id": profile.id,
            "plan": profile.plan,
            "name": profile.name,
            "counts": em.store(profile.id).data.counts(),
        }

    async def create_app(request: Request) -> Any:
        app = em.create_app(**(await _body(request)))
        return {
            "id": app.id,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": app.redirect_uri,
            "webhook_url": app.webhook_url,
            "webhook_secret": app.webhook_secret,
            "easy_mode": app.easy_mode,
        }

    async def tokens(request: Request) -> Any:
        body = await _body(request)
        return em.issue_tokens(_store_id(request), _scopes(body), client_id=_client_id(body))

    async def install(request: Request) -> Any:
        body = await _body(request)
        return em.install_app(_store_id(request), _scopes(body), client_id=_client_id(body))

    async def update(request: Request) -> Any:
        body = await _body(request)
        return em.update_app(_store_id(request), _scopes(body), client_id=_client_id(body))

    async def uninstall(request: Request) -> Any:
        body = await _body(request)
        em.uninstall_app(
            _store_id(request),
            client_id=body.get("client_id"),
            refunded=bool(body.get("refunded", False)),
        )
        return {"uninstalled": True}

    async def revoke(request: Request) -> Any:
        body = await _body(request)
        return {"revoked": em.revoke_tokens(_store_id(request), client_id=body.get("client_id"))}

    async def place_order(request: Request) -> Any:
        return em.place_order(_store_id(request), **(await _body(request)))

    async def add_product(request: Request) -> Any:
        return em.add_product(_store_id(request), await _body(request))

    async def update_product(request: Request) -> Any:
        product_id = int(request.path_params["product_id"])
        return em.update_product(_store_id(request), product_id, await _body(request))

    async def set_stock(request: Request) -> Any:
        body = await _body(request)
        return em.set_stock(
            _store_id(request),
            int(request.path_params["product_id"]),
            int(body["quantity"]),
            body.get("sku_id"),
        )

    async def add_customer(request: Request) -> Any:
        return em.add_customer(_store_id(request), await _body(request))

    async def order_status(request: Request) -> Any:
        body = await _body(request)
        return em.change_order_status(
            _store_id(request), int(request.path_params["order_id"]), str(body["slug"])
        )

    async def emit(request: Request) -> Any:
        body = await _body(request)
        em.emit(_store_id(request), str(body["event"]), body.get("data", {}))
        return {"queued": len(em.pending_deliveries)}

    async def add_fault(request: Request) -> Any:
        body = await _body(request)
        return em.inject_fault(**body).as_dict()

    async def list_faults(request: Request) -> Any:
        return [f.as_dict() for f in em.state.faults]

    async def clear_faults(request: Request) -> Any:
        em.clear_faults()
        return {"cleared": True}

    async def deliveries(request: Request) -> Any:
        return {
            "log": [r.as_dict() for r in em.delivery_log],
            "pending": [
                {
                    "id": d.id,
                    "event": d.event,
                    "url": d.url,
                    "attempts": d.attempts,
                    "due_at": d.due_at,
                    "duplicate": d.duplicate,
                }
                for d in em.pending_deliveries
            ],
        }

    async def requests(request: Request) -> Any:
        return emulator_requests(em, request)

    async def deliver(request: Request) -> Any:
        made = await em.deliver_due()
        return [r.as_dict() for r in made]

    async def snapshot(request: Request) -> Any:
        body = await _body(request)
        try:
            target = snapshot_target(em, body.get("path"))
        except PermissionError as exc:
            return _json({"error": "forbidden", "detail": str(exc)}, 403)
        em.save(target)
        return {"saved": str(target)}

    routes: list[tuple[str, Handler, list[str]]] = [
        ("/state", state, ["GET"]),
        ("/counters", counters, ["GET"]),
        ("/clock/advance", advance, ["POST"]),
        ("/stores", create_store, ["POST"]),
        ("/apps", create_app, ["POST"]),
        ("/stores/{store_id:int}/tokens", tokens, ["POST"]),
        ("/stores/{store_id:int}/install", install, ["POST"]),
        ("/stores/{store_id:int}/update", update, ["POST"]),
        ("/stores/{store_id:int}/uninstall", uninstall, ["POST"]),
        ("/stores/{store_id:int}/revoke", revoke, ["POST"]),
        ("/stores/{store_id:int}/orders", place_order, ["POST"]),
        ("/stores/{store_id:int}/orders/{order_id:int}/status", order_status, ["PUT"]),
        ("/stores/{store_id:int}/products", add_product, ["POST"]),
        ("/stores/{store_id:int}/products/{product_id:int}", update_product, ["PATCH"]),
        ("/stores/{store_id:int}/products/{product_id:int}/stock", set_stock, ["PUT"]),
        ("/stores/{store_id:int}/customers", add_customer, ["POST"]),
        ("/stores/{store_id:int}/events", emit, ["POST"]),
        ("/faults", add_fault, ["POST"]),
        ("/faults", list_faults, ["GET"]),
        ("/faults", clear_faults, ["DELETE"]),
        ("/deliveries", deliveries, ["GET"]),
        ("/deliveries/deliver", deliver, ["POST"]),
        ("/requests", requests, ["GET"]),
        ("/snapshot", snapshot, ["POST"]),
    ]
    return [Route(path, _endpoint(h), methods=m) for path, h, m in routes]
