"""Webhook event payloads: the rich details shape, made valid against the details schema."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from ._schema import Conformer, compile_conformer, data_schema

__all__ = ["WRITE_HOOKS", "after_write", "details_schema", "emit", "norm_path"]

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def norm_path(path: str) -> str:
    """A path template with every placeholder written ``{}`` (placeholder names vary)."""
    return _PLACEHOLDER.sub("{}", path)


@cache
def _schemas() -> dict[tuple[str, str], Mapping[str, Any]]:
    try:
        from sallakit._registry import load_registry

        registry = load_registry()
    except (ImportError, OSError, ValueError, KeyError):
        # The registry data file is generated; without it events are sent unconformed.
        return {}
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for endpoint in registry:
        schema = data_schema(endpoint.response_schema)
        if schema is not None:
            out[(endpoint.method, norm_path(endpoint.path))] = schema
    return out


def details_schema(method: str, path: str) -> Mapping[str, Any] | None:
    """The ``data`` schema of the endpoint ``method path`` (placeholders in any spelling)."""
    return _schemas().get((method, norm_path(path)))


@cache
def _conformer(details_path: str) -> Conformer | None:
    # A pure function of an immutable key (the registry is read once per process): one plan
    # per details path, bounded by the registry's endpoints.
    schema = details_schema("GET", details_path)
    return compile_conformer(schema) if schema is not None else None


def emit(ctx: RequestContext, event: str, data: dict[str, Any], details_path: str) -> None:
    """Emit ``event`` with ``data`` conformed to the details endpoint's schema."""
    plan = _conformer(details_path)
    payload = plan(data, quirks=ctx.quirks) if plan is not None else data
    ctx.emit(event, payload)


# ------------------------------------------------------------------ events of plain writes
#
# The core resources' mutations (``StoreData``) emit their own events. The endpoints below are
# served by the generic collections or change something an event reports without a dedicated
# mutation; their events are emitted here, once the write has succeeded, with the answer's
# ``data`` as the payload (the resource as the API now shows it).

_Hook = Callable[[ApiRequest, RequestContext, ApiResponse], None]


def _payload(request: ApiRequest, response: ApiResponse) -> dict[str, Any]:
    data = response.data
    if isinstance(data, dict) and data.get("id") is not None:
        return data
    # Deletions answer an acknowledgement: the event carries the id that went away.
    raw = next(iter(request.path_params.values()), None)
    ident: Any = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 19 else raw
    return {"id": ident, **(data if isinstance(data, dict) else {})}


def _send(event: str) -> _Hook:
    def hook(request: ApiRequest, ctx: RequestContext, response: ApiResponse) -> None:
        ctx.emit(event, _payload(request, response))

    return hook


def _branch_updated(request: ApiRequest, ctx: RequestContext, response: ApiResponse) -> None:
    payload = _payload(request, response)
    ctx.emit("store.branch.updated", payload)
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("is_default") in (True, 1, "1", "true"):
        ctx.emit("store.branch.setDefault", payload)
    if body.get("status") == "active" or body.get("is_active") in (True, 1, "1", "true"):
        ctx.emit("store.branch.activated", payload)


def _order_updated(request: ApiRequest, ctx: RequestContext, response: ApiResponse) -> None:
    # ``orders.update`` emits ``order.updated`` itself; a new payment method is its own event.
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("payment_method") and isinstance(response.data, dict):
        ctx.emit("order.payment.updated", response.data)


def _image_updated(request: ApiRequest, ctx: RequestContext, response: ApiResponse) -> None:
    store = ctx.data
    product = None
    raw = request.path_params.get("product") or request.path_params.get("sku")
    if raw is not None:
        pid = store.sku_index.get(raw, (None,))[0] if "sku" in request.path_params else raw
        product = (
            store.products.get(int(pid)) if str(pid).isdigit() and len(str(pid)) < 19 else None
        )
    if product is None:
        data = response.data if isinstance(response.data, dict) else {}
        owner = data.get("product_id")
        product = store.products.get(owner) if isinstance(owner, int) else None
    if product is None:
        ctx.emit("product.image.updated", _payload(request, response))
        return
    emit(ctx, "product.image.updated", store.product_payload(ctx, product), "/products/{}")


WRITE_HOOKS: Mapping[str, _Hook] = {
    "shipping.zones.create": _send("shipping.zone.created"),
    "shipping.zones.update": _send("shipping.zone.updated"),
    "shipping.companies.create": _send("shipping.company.created"),
    "shipping.companies.update": _send("shipping.company.updated"),
    "shipping.companies.delete": _send("shipping.company.deleted"),
    "branches.create": _send("store.branch.created"),
    "branches.update": _branch_updated,
    "branches.delete": _send("store.branch.deleted"),
    "taxes.create": _send("storetax.created"),
    "special_offers.create": _send("specialoffer.created"),
    "special_offers.update": _send("specialoffer.updated"),
    "special_offers.update_status": _send("specialoffer.updated"),
    "products.images.create": _image_updated,
    "products.images.create_by_sku": _image_updated,
    "products.images.update": _image_updated,
    "products.images.delete": _image_updated,
    "orders.update": _order_updated,
}
"""client_method -> what to emit after a successful write of that endpoint."""


def after_write(request: ApiRequest, ctx: RequestContext, response: ApiResponse) -> None:
    """Emit the events of a successful write that its handler does not emit itself."""
    hook = WRITE_HOOKS.get(request.endpoint.client_method)
    if hook is not None and response.status < 400:
        hook(request, ctx, response)
