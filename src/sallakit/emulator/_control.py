"""The control API under ``/_emulator/``: the Python control surface over HTTP.

Every route answers JSON. Errors are typed: the emulator's own exceptions carry their status
(:class:`~sallakit.UnknownEntityError` 404, :class:`~sallakit.EntityExistsError` 409,
:class:`~sallakit.InvalidControlInputError` and :class:`~sallakit.ConfigurationError` 422), a
Merchant-data refusal keeps its Salla status (404/422), a body over
:data:`~sallakit.emulator._bodies.MAX_CONTROL_BODY` is a 413, and anything else is an emulator
bug: logged with its traceback and answered 500, never disguised as a client error. The
reference, with every body and answer, is ``docs/reference/emulator-control-api.md``.

This module imports the emulator only for type checking: the :class:`Emulator` builds these
routes and hands itself over, so there is no import cycle.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sallakit._exceptions import ConfigurationError, EmulatorError, InvalidControlInputError
from sallakit.emulator._bodies import MAX_CONTROL_BODY, parse_json, read_capped
from sallakit.emulator._context import EmulatorHTTPError

if TYPE_CHECKING:
    from sallakit.emulator._emulator import Emulator

__all__ = ["MAX_BURST", "control_routes", "snapshot_target"]

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Any]]

MAX_BURST = 100_000
"""Most orders one ``POST /stores/{id}/orders/burst`` may place."""


class _Forbidden(EmulatorError):
    """The request is refused by the emulator's configuration."""

    status = 403


class _TooLarge(EmulatorError):
    """The body is larger than the control API accepts."""

    status = 413


def _json(body: Any, status: int = 200) -> Response:
    content = json.dumps(body, ensure_ascii=False, default=str).encode()
    return Response(content, status, media_type="application/json")


_ERROR_NAMES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "invalid",
}


def _error(status: int, detail: str, fields: Mapping[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {"error": _ERROR_NAMES.get(status, "error"), "detail": detail}
    if fields:
        body["fields"] = dict(fields)
    return _json(body, status)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: JSON out, typed errors as ``{"error", "detail"}`` with their status."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except EmulatorError as exc:
            return _error(exc.status, exc.message)
        except ConfigurationError as exc:
            return _error(422, exc.message)
        except EmulatorHTTPError as exc:
            # A Merchant-data refusal (unknown order, invalid field) keeps Salla's status.
            return _error(exc.status, exc.message, exc.fields)
        except Exception:
            logger.exception(
                "control API handler failed",
                extra={"action": "emulator.control_error", "path": request.url.path},
            )
            return _json({"error": "internal", "detail": "the emulator failed; see its log"}, 500)
        return result if isinstance(result, Response) else _json(result)

    return endpoint


# ------------------------------------------------------------------------------ inputs


async def _body(request: Request) -> dict[str, Any]:
    raw = await read_capped(request, MAX_CONTROL_BODY)
    if raw is None:
        raise _TooLarge(f"the body is larger than {MAX_CONTROL_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        doc = parse_json(raw)
    except ValueError as exc:
        raise InvalidControlInputError(f"the body must be a JSON object ({exc})") from exc
    if not isinstance(doc, dict):
        raise InvalidControlInputError("the body must be a JSON object")
    return doc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _only(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidControlInputError(
            f"unknown field(s) {', '.join(unknown)}: expected {', '.join(allowed) or 'none'}"
        )


def _int(body: Mapping[str, Any], name: str, *, required: bool = False, low: int = 0) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidControlInputError(f"{name} is required")
        return None
    if not _is_int(value) or not low <= value < 2**63:
        raise InvalidControlInputError(f"{name} must be an integer >= {low}")
    return value


def _str(body: Mapping[str, Any], name: str, *, required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidControlInputError(f"{name} is required")
        return None
    if not isinstance(value, str) or not value:
        raise InvalidControlInputError(f"{name} must be a non-empty string")
    return value


def _bool(body: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidControlInputError(f"{name} must be true or false")
    return value


def _object(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidControlInputError(f"{name} must be a JSON object")
    return value


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    if not _is_int(value) or not 0 < value < 2**63:
        raise InvalidControlInputError(f"{name} must be a positive 64-bit integer")
    return int(value)


def _store_id(request: Request) -> int:
    return _path_int(request, "store_id")


def _scopes(body: Mapping[str, Any]) -> list[str] | None:
    scopes = body.get("scopes")
    if scopes is None:
        return None
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise InvalidControlInputError("scopes must be a list of scope strings")
    return scopes


def _client_id(body: Mapping[str, Any]) -> str | None:
    value: str | None = _str(body, "client_id")
    return value


def _order_items(raw: Any) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
        raise InvalidControlInputError("items must be a non-empty list of objects")
    return raw


def snapshot_target(em: Emulator, raw: Any) -> Path:
    """Where ``POST /_emulator/snapshot`` may write: inside the configured snapshot directory,
    or the ``--state-file`` path; anything else is refused.

    Raises:
        EmulatorError: 403 when no snapshot directory is configured and the path is not the
            state file, or the path leaves the directory; 422 when ``path`` is not a non-empty
            string or names a directory.
    """
    state_file = em.state_file.resolve() if em.state_file is not None else None
    if raw is None:
        if state_file is None:
            raise _Forbidden("give a path: this emulator has no state file")
        return state_file
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        raise InvalidControlInputError("path must be a non-empty string")
    directory = em.snapshot_dir.resolve() if em.snapshot_dir is not None else None
    candidate = Path(raw)
    if directory is not None and not candidate.is_absolute():
        candidate = directory / candidate
    candidate = candidate.resolve()
    if state_file is not None and candidate == state_file:
        return candidate
    if directory is None:
        raise _Forbidden(
            "snapshots over HTTP are disabled: start the emulator with --snapshot-dir (or "
            "write the --state-file path)"
        )
    if not candidate.is_relative_to(directory) or candidate == directory:
        raise _Forbidden(f"snapshots may only be written inside {directory}")
    if candidate.is_dir():
        raise InvalidControlInputError(f"{candidate.name} is a directory: name a file")
    if not candidate.parent.is_dir():
        raise InvalidControlInputError("the snapshot's directory does not exist")
    return candidate


def emulator_requests(em: Emulator, request: Request) -> list[dict[str, Any]]:
    """The request log, optionally filtered by ``store_id`` and limited to the last ``limit``."""
    params = request.query_params
    log = em.request_log
    if "store_id" in params:
        store_id = _query_int(params["store_id"], "store_id")
        log = [entry for entry in log if entry["store_id"] == store_id]
    limit = _query_int(params.get("limit", "200"), "limit")
    return log[-limit:] if limit > 0 else []


def _query_int(raw: str, name: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        raise InvalidControlInputError(f"{name} must be a non-negative integer")
    return int(raw)


# ------------------------------------------------------------------------------ routes


def control_routes(em: Emulator) -> list[Route]:
    """The ``/_emulator/`` routes of an emulator."""

    async def state(request: Request) -> Any:
        return em.describe()

    async def counters(request: Request) -> Any:
        return em.counters()

    async def advance(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("seconds",))
        seconds = body.get("seconds", 0)
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or not 0 <= seconds <= 100 * 365 * 86400
        ):
            raise InvalidControlInputError("seconds must be a number from 0 to 100 years")
        now = em.advance(seconds)
        return {"now": now.isoformat(), "epoch": int(now.timestamp())}

    async def create_store(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("plan", "products", "orders", "customers", "store_id", "name", "name_en"))
        plan = body.get("plan", "pro")
        if not isinstance(plan, str) and not _is_int(plan):
            raise InvalidControlInputError("plan must be a plan name or a number of requests")
        profile = em.create_store(**{**body, "plan": str(plan)})
        return {
            "id": profile.id,
            "plan": profile.plan,
            "name": profile.name,
            "counts": em.store(profile.id).data.counts(),
        }

    async def create_app(request: Request) -> Any:
        body = await _body(request)
        _only(
            body,
            (
                "client_id",
                "client_secret",
                "redirect_uri",
                "webhook_url",
                "webhook_secret",
                "scopes",
                "security_strategy",
                "easy_mode",
                "name",
            ),
        )
        options: dict[str, Any] = {
            name: _str(body, name)
            for name in (
                "client_id",
                "client_secret",
                "webhook_url",
                "webhook_secret",
                "security_strategy",
                "name",
            )
            if name in body
        }
        if "redirect_uri" in body:
            options["redirect_uri"] = _str(body, "redirect_uri", required=True)
        if "scopes" in body:
            options["scopes"] = _scopes(body)
        options["easy_mode"] = _bool(body, "easy_mode")
        app = em.create_app(**options)
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
        _only(body, ("scopes", "client_id"))
        return em.issue_tokens(_store_id(request), _scopes(body), client_id=_client_id(body))

    async def install(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("scopes", "client_id"))
        return em.install_app(_store_id(request), _scopes(body), client_id=_client_id(body))

    async def update(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("scopes", "client_id"))
        return em.update_app(_store_id(request), _scopes(body), client_id=_client_id(body))

    async def uninstall(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("client_id", "refunded"))
        em.uninstall_app(
            _store_id(request), client_id=_client_id(body), refunded=_bool(body, "refunded")
        )
        return {"uninstalled": True}

    async def revoke(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("client_id",))
        return {"revoked": em.revoke_tokens(_store_id(request), client_id=_client_id(body))}

    async def place_order(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("customer_id", "items", "payment_method"))
        return em.place_order(
            _store_id(request),
            customer_id=_int(body, "customer_id", low=1),
            items=_order_items(body.get("items")),
            payment_method=_str(body, "payment_method"),
        )

    async def burst(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("count",))
        count = _int(body, "count", required=True, low=1)
        if count > MAX_BURST:
            raise InvalidControlInputError(f"count must be at most {MAX_BURST}")
        store_id = _store_id(request)
        before = len(em.pending_deliveries)
        ids = em.place_orders(store_id, count)
        return {"orders": ids, "queued": len(em.pending_deliveries) - before}

    async def add_product(request: Request) -> Any:
        return em.add_product(_store_id(request), await _body(request))

    async def update_product(request: Request) -> Any:
        product_id = _path_int(request, "product_id")
        return em.update_product(_store_id(request), product_id, await _body(request))

    async def delete_product(request: Request) -> Any:
        em.delete_product(_store_id(request), _path_int(request, "product_id"))
        return {"deleted": True}

    async def set_stock(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("quantity", "sku_id"))
        return em.set_stock(
            _store_id(request),
            _path_int(request, "product_id"),
            _int(body, "quantity", required=True),
            _int(body, "sku_id", low=1),
        )

    async def add_customer(request: Request) -> Any:
        return em.add_customer(_store_id(request), await _body(request))

    async def update_customer(request: Request) -> Any:
        customer_id = _path_int(request, "customer_id")
        return em.update_customer(_store_id(request), customer_id, await _body(request))

    async def order_status(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("slug",))
        return em.change_order_status(
            _store_id(request), _path_int(request, "order_id"), _str(body, "slug", required=True)
        )

    async def delete_order(request: Request) -> Any:
        em.delete_order(_store_id(request), _path_int(request, "order_id"))
        return {"deleted": True}

    async def emit(request: Request) -> Any:
        body = await _body(request)
        _only(body, ("event", "data"))
        event = _str(body, "event", required=True)
        data = body.get("data", {})
        store_id = _store_id(request)
        em.store(store_id)  # 404 before anything is queued
        return {"queued": em.emit(store_id, event, data)}

    async def add_fault(request: Request) -> Any:
        body = await _body(request)
        kind = _str(body, "kind", required=True)
        options = {k: v for k, v in body.items() if k != "kind"}
        if "id" in options or "fired" in options:
            raise InvalidControlInputError("id and fired are set by the emulator")
        return em.inject_fault(kind, **options).as_dict()

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
        _only(body, ("path",))
        target = snapshot_target(em, body.get("path"))
        try:
            em.save(target)
        except OSError as exc:
            raise InvalidControlInputError(
                f"the snapshot could not be written: {exc.strerror or exc}"
            ) from exc
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
        ("/stores/{store_id:int}/orders/burst", burst, ["POST"]),
        ("/stores/{store_id:int}/orders/{order_id:int}/status", order_status, ["PUT"]),
        ("/stores/{store_id:int}/orders/{order_id:int}", delete_order, ["DELETE"]),
        ("/stores/{store_id:int}/products", add_product, ["POST"]),
        ("/stores/{store_id:int}/products/{product_id:int}", update_product, ["PATCH"]),
        ("/stores/{store_id:int}/products/{product_id:int}", delete_product, ["DELETE"]),
        ("/stores/{store_id:int}/products/{product_id:int}/stock", set_stock, ["PUT"]),
        ("/stores/{store_id:int}/customers", add_customer, ["POST"]),
        ("/stores/{store_id:int}/customers/{customer_id:int}", update_customer, ["PATCH"]),
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
