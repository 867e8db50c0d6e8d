"""``dispatch``: the one entry point the emulator's HTTP shell calls for Merchant API requests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from sallakit.emulator._cache import EncodedJSON, Pending
from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from ._events import after_write
from ._generic import generic_dispatch
from ._handlers import HANDLERS
from ._schema import Conformer, compile_conformer, conform, data_schema, merged

__all__ = ["DOCUMENTED_OMISSIONS", "dispatch"]

DOCUMENTED_OMISSIONS: Mapping[str, frozenset[str]] = {
    # The published list schema requires a customer in every order, but Salla's own list
    # example and its docs describe a summary without customer; the summary is what clients
    # get, so the emulator keeps it out.
    "orders.list": frozenset({"$[].customer"}),
}


def dispatch(request: ApiRequest, ctx: RequestContext) -> ApiResponse:
    """Answer a matched Merchant API request from the store's data (``ctx.data``).

    Core resources have dedicated, stateful handlers; every other endpoint is served by a
    generic collection. The ``data`` is made valid against the endpoint's response schema
    (missing required members filled, types as documented unless ``ctx.quirks``).
    """
    endpoint = request.endpoint
    handler = HANDLERS.get(endpoint.client_method)
    response = (
        handler(request, ctx, ctx.data) if handler else generic_dispatch(request, ctx, ctx.data)
    )
    _conform_response(request, ctx, response)
    if endpoint.method != "GET":
        after_write(request, ctx, response)
    return response


def _resolve_pending(ctx: RequestContext, rows: list[Any], plan: Conformer | None) -> list[Any]:
    """Rows of a list page: cached encoded records, rendered, conformed and encoded on a miss.

    Each row is conformed as a one-row list with the endpoint's own plan, so a cached row is
    exactly what conforming the whole page gives for it.
    """
    cache, version = ctx.render_cache, ctx.cache_version
    out: list[Any] = []
    for row in rows:
        if not isinstance(row, Pending):
            out.append(row)
            continue
        hit = cache.lookup(version, row.key)
        if hit is None:
            value = row.render()
            if plan is not None:
                value = plan([value], quirks=ctx.quirks)[0]
            hit = EncodedJSON(json.dumps(value, ensure_ascii=False, default=str).encode())
            cache.store(version, row.key, hit)
        out.append(hit)
    return out


def _conform_response(request: ApiRequest, ctx: RequestContext, response: ApiResponse) -> None:
    endpoint = request.endpoint
    source, plan = _registry_conformer(endpoint.client_method)
    data = response.data
    if isinstance(data, list) and data and isinstance(data[0], Pending):
        light = response.raw or request.q("format") == "light"
        own = source is endpoint.response_schema and source is not None and not light
        if own or light:
            response.data = _resolve_pending(ctx, data, plan if own else None)
            return
        # A test double's endpoint: render everything and conform without a plan below.
        response.data = [row.render() if isinstance(row, Pending) else row for row in data]
    if response.raw or request.q("format") == "light":
        return
    if source is endpoint.response_schema and source is not None:
        if plan is not None:
            response.data = plan(response.data, quirks=ctx.quirks)
        return
    # An endpoint that is not the registry's own (a test double): conform without a plan.
    schema = data_schema(endpoint.response_schema)
    if schema is not None:
        omit = DOCUMENTED_OMISSIONS.get(endpoint.client_method, frozenset())
        response.data = _conform(response.data, schema, ctx.quirks, omit)


def _conform(data: Any, schema: Any, quirks: bool, omit: frozenset[str]) -> Any:
    return conform(data, merged(schema), quirks=quirks, omit=omit)


def _plan(schema: Mapping[str, Any] | None, client_method: str) -> Conformer | None:
    """The compiled form of ``_conform`` for an endpoint's response schema."""
    data = data_schema(schema)
    if data is None:
        return None
    omit = DOCUMENTED_OMISSIONS.get(client_method, frozenset())
    return compile_conformer(merged(data), omit=omit)


@cache
def _registry_conformer(
    client_method: str,
) -> tuple[Mapping[str, Any] | None, Conformer | None]:
    """The registry endpoint's response schema and its compiled conformer.

    A ``functools.cache`` on a pure function of an immutable key: the registry is immutable and
    loaded once per process, so the plan of a client method never changes, and the cache is
    bounded by the number of endpoints. The schema is returned so ``dispatch`` can check it
    serves the same endpoint object (identity) before using the plan.
    """
    from sallakit._registry import load_registry

    endpoint = load_registry().get(client_method)
    if endpoint is None:
        return None, None
    return endpoint.response_schema, _plan(endpoint.response_schema, client_method)
