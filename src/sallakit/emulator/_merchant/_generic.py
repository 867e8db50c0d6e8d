"""Generic stateful collections: every registry endpoint without a dedicated handler.

A collection is keyed by its concrete resource path: the request path without a trailing
``{id}`` placeholder (``/coupons`` for ``GET /coupons`` and ``PUT /coupons/{coupon_id}``,
``/affiliates/17/links`` for nested ones). An item is stored as the fields clients gave it
(plus its id); the rest of its shape is generated from the endpoint's response schema on read
(deterministic in the item id), and stored fields are laid over it where their type fits the
schema, so every answer is valid against the schema and reflects earlier writes.

Collections are seeded lazily, on first use, with a few items whose ids derive from the path.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from ._common import ack, list_response
from ._events import norm_path
from ._records import derive_id
from ._schema import data_schema, example, merged, schema_type
from ._shapes import not_found, parse_int

__all__ = ["generic_dispatch"]

_TRAILING_PARAM = re.compile(r"/\{[^}/]+\}$")
_SEED_ITEMS = 3


@cache
def _list_templates() -> frozenset[str]:
    """Normalised paths that have a list endpoint (GET answering an array) in the registry."""
    try:
        from sallakit._registry import load_registry

        registry = load_registry()
    except (ImportError, OSError, ValueError, KeyError):
        return frozenset()
    from ._handlers import HANDLERS

    # A list served here reveals its collection's ids: ids it does not hold are unknown (404).
    # For collections no list reveals (and lists a core handler answers) an unknown id is
    # materialised instead of refused, since the client got it from elsewhere.
    return frozenset(
        norm_path(e.path)
        for e in registry
        if e.method == "GET"
        and e.client_method not in HANDLERS
        and (e.paginated or _answers_array(e.response_schema))
    )


def _answers_array(response_schema: Mapping[str, Any] | None) -> bool:
    schema = data_schema(response_schema)
    return schema is not None and schema_type(merged(schema)) == "array"


# Parents the core handlers hold: a generic sub-resource of an unknown one is a 404.
_CORE_PARENTS: Mapping[str, str] = {
    "/products": "products",
    "/orders": "orders",
    "/customers": "customers",
    "/categories": "categories",
    "/brands": "brands",
    "/shipments": "shipments",
}


def _parent_known(request: ApiRequest, store: Any, template: str) -> bool:
    """Whether every id in the path before ``template``'s last segment names something held."""
    for name, raw in request.path_params.items():
        marker = "{" + name + "}"
        if marker not in template or template.endswith(marker):
            continue
        prefix = template.split(marker)[0].rstrip("/")
        if prefix == "/products/sku":
            if raw not in store.sku_index:
                return False
            continue
        table = _CORE_PARENTS.get(prefix)
        if table is not None:
            key = parse_int(raw)
            if key not in getattr(store, table):
                return False
            continue
        if norm_path(prefix) in _list_templates():
            coll = _collection(store, _concrete(request, prefix), True)
            if raw not in coll:
                return False
    return True


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    schema = merged(schema)
    if value is None:
        return bool(schema.get("nullable"))
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return False
    kind = schema_type(schema)
    if kind == "null":
        return value is None
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return (
            isinstance(value, dict)
            and all(k in value for k in schema.get("required") or ())
            and all(
                _fits(v, s)
                for k, v in value.items()
                if isinstance(s := (schema.get("properties") or {}).get(k), Mapping)
            )
        )
    if kind == "array":
        items = schema.get("items")
        return isinstance(value, list) and (
            not isinstance(items, Mapping) or all(_fits(v, items) for v in value)
        )
    return True


def _item_id_value(raw: str) -> int | str:
    # At most 19 ASCII digits: ``int`` refuses thousands, and no Salla id is that long.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else raw


def render_item(item: Mapping[str, Any], schema: Mapping[str, Any] | None) -> Any:
    """A stored item rendered against ``schema``: generated shape, stored fields on top."""
    if schema is None:
        return dict(item)
    schema = merged(schema)
    seed = zlib.crc32(str(item.get("id")).encode())
    value = example(schema, seed)
    if not isinstance(value, dict):
        return value
    props = schema.get("properties") or {}
    for key, stored in item.items():
        sub = props.get(key)
        if isinstance(sub, Mapping) and _fits(stored, sub):
            value[key] = stored
    if "id" in item:
        # The id must round-trip (list -> detail) even where the schema types it as a string
        # or does not declare it (extra members are allowed, as on Salla).
        id_schema = props.get("id")
        kind = schema_type(merged(id_schema)) if isinstance(id_schema, Mapping) else None
        value["id"] = str(item["id"]) if kind == "string" else item["id"]
    return value


def _collection(store: Any, key: str, listable: bool) -> dict[str, dict[str, Any]]:
    coll: dict[str, dict[str, Any]] | None = store.generic.get(key)
    if coll is None:
        coll = {}
        if listable:
            base = zlib.crc32(key.encode())
            for i in range(_SEED_ITEMS):
                item_id = derive_id(base, i)
                coll[str(item_id)] = {"id": item_id}
        store.generic[key] = coll
    return coll


def _concrete(request: ApiRequest, template: str) -> str:
    for name, value in request.path_params.items():
        template = template.replace(f"{{{name}}}", value)
    return template


# Media uploaded under a product and then addressed by their own id (``POST
# /products/{product}/images`` then ``DELETE /products/images/{image}``): one store-wide
# collection per kind, holding what was uploaded (the seeded products' media derive from them).
_MEDIA: Mapping[str, str] = {
    "/products/{product}/images": "/products/images",
    "/products/sku/{sku}/images": "/products/images",
    "/products/{product}/video": "/products/images",
    "/products/sku/{sku}/videos": "/products/images",
    "/products/images": "/products/images",
    "/products/{product}/digital-files": "/products/digital-files",
    "/products/digital-files": "/products/digital-files",
}


def _seeded_media(store: Any, media_id: str) -> int | None:
    """The product whose seeded image has this id (ids derive from the product's, 101..)."""
    wanted = parse_int(media_id)
    if wanted is None:
        return None
    for p in store.products.values():
        if any(derive_id(p.id, 100 + n) == wanted for n in range(1, p.images + 1)):
            return int(p.id)
    return None


def _media_upload(
    request: ApiRequest, ctx: RequestContext, store: Any, coll_key: str, schema: Any
) -> ApiResponse:
    body = request.body if isinstance(request.body, dict) else {}
    product_raw = request.path_params.get("product")
    if product_raw is None and "sku" in request.path_params:
        product_raw = str(store.sku_index[request.path_params["sku"]][0])
    item = {**body, "id": ctx.next_id(), "product_id": parse_int(product_raw) or 0}
    coll = _collection(store, coll_key, False)
    coll[str(item["id"])] = item
    store.serial += 1
    return ApiResponse(data=render_item(item, schema), status=request.endpoint.success_status)


def generic_dispatch(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """Answer any endpoint from the generic collections, as its method and path imply."""
    endpoint = request.endpoint
    template = endpoint.path
    schema = data_schema(endpoint.response_schema)
    status = endpoint.success_status
    trailing = _TRAILING_PARAM.search(template)
    if trailing:
        coll_template = template[: trailing.start()]
        item_raw = _concrete(request, template[trailing.start() + 1 :])
    else:
        coll_template, item_raw = template, None
    key = _concrete(request, coll_template)
    if not _parent_known(request, store, template):
        raise not_found(ctx)
    media = _MEDIA.get(coll_template)
    if media is not None and item_raw is None and endpoint.method == "POST":
        return _media_upload(request, ctx, store, media, schema)
    if media is not None and item_raw is not None:
        key = media
        known = _collection(store, media, False)
        if item_raw not in known:
            # Seeded products have images (ids derived from theirs) and no digital files.
            owner = _seeded_media(store, item_raw) if media == "/products/images" else None
            if owner is None:
                raise not_found(ctx)
            known[item_raw] = {"id": _item_id_value(item_raw), "product_id": owner}
    listable = norm_path(coll_template) in _list_templates()
    coll = _collection(store, key, listable)
    body = request.body if isinstance(request.body, dict) else {}
    method = endpoint.method

    if item_raw is None:
        kind = schema_type(merged(schema)) if schema is not None else None
        if method == "GET":
            if kind == "array" or endpoint.paginated:
                items_schema = merged(schema).get("items") if schema is not None else None
                rows = list(coll.values())
                return list_response(
                    request,
                    ctx,
                    rows,
                    lambda it: render_item(
                        it, items_schema if isinstance(items_schema, Mapping) else None
                    ),
                )
            single = coll.setdefault("_", {"id": derive_id(zlib.crc32(key.encode()), 99)})
            return ApiResponse(data=render_item(single, schema), status=status)
        if method == "POST" and listable and kind != "array":
            new_id = ctx.next_id()
            item = {**body, "id": new_id}
            coll[str(new_id)] = item
            store.serial += 1
            return ApiResponse(data=render_item(item, schema), status=status)
        if method == "DELETE":
            return ack(request, ctx, deleted=True)
        # An action (bulk update, sort, import, send...): a plausible answer, body laid over.
        if schema is None:
            return ack(request, ctx)
        return ApiResponse(
            data=render_item({"id": derive_id(zlib.crc32(key.encode()), 98), **body}, schema),
            status=status,
        )

    found = coll.get(item_raw)
    if found is None:
        if listable:
            raise not_found(ctx)
        # No list endpoint can reveal this collection's ids; any id the client holds came
        # from elsewhere (a product's options, say), so the item springs into existence.
        found = {"id": _item_id_value(item_raw)}
        coll[item_raw] = found
    item = found
    if method == "GET":
        return ApiResponse(data=render_item(item, schema), status=status)
    if method == "DELETE":
        del coll[item_raw]
        store.serial += 1
        return ack(request, ctx, deleted=True)
    item.update({k: v for k, v in body.items() if k != "id"})
    store.serial += 1
    if schema is None:
        return ack(request, ctx)
    return ApiResponse(data=render_item(item, schema), status=status)
