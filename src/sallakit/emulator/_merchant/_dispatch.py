"""``dispatch``: the one entry point the emulator's HTTP shell calls for Merchant API requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from ._generic import generic_dispatch
from ._handlers import HANDLERS
from ._schema import conform, data_schema, merged

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
    if response.raw or request.q("format") == "light":
        return response
    schema = data_schema(endpoint.response_schema)
    if schema is not None:
        omit = DOCUMENTED_OMISSIONS.get(endpoint.client_method, frozenset())
        response.data = _conform(response.data, schema, ctx.quirks, omit)
    return response


def _conform(data: Any, schema: Any, quirks: bool, omit: frozenset[str]) -> Any:
    return conform(data, merged(schema), quirks=quirks, omit=omit)
