"""Helpers shared by the core and generic handlers: list responses, acknowledgements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from sallakit.emulator._cache import Pending
from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from ._schema import data_schema, schema_type
from ._shapes import paginate

__all__ = ["DEFAULT_BASE", "ack", "base_url", "concrete_path", "list_response"]

T = TypeVar("T")

DEFAULT_BASE = "https://api.salla.dev/admin/v2"
_ACK = {
    "ar": "تم تنفيذ العملية بنجاح",
    "en": "The operation has been completed successfully",
}
_DELETED = {
    "ar": "تم حذف العنصر بنجاح",
    "en": "The Object has been removed successfully",
}


def concrete_path(request: ApiRequest) -> str:
    """The request's path with its path parameters filled in."""
    path = request.endpoint.path
    for name, value in request.path_params.items():
        path = path.replace(f"{{{name}}}", value)
    return path


def base_url(request: ApiRequest) -> str:
    """The API base as the client reached it (for pagination links)."""
    host = next((v for k, v in request.headers.items() if k.lower() == "host"), "")
    if not host or host.endswith("salla.dev"):
        return DEFAULT_BASE
    return f"http://{host}/admin/v2"


def list_response(
    request: ApiRequest,
    ctx: RequestContext,
    rows: Sequence[T],
    render: Callable[[T], Any],
) -> ApiResponse:
    """One page of ``rows`` rendered, with Salla's pagination object."""
    window, pagination = paginate(
        request, ctx, len(rows), f"{base_url(request)}{concrete_path(request)}"
    )
    page = rows[window]
    data: list[Any]
    if ctx.render_cache is not None and page and hasattr(page[0], "id"):
        # Records (they have an id) are rendered on a cache miss only: see ``_cache``.
        base = _cache_key(request, ctx)
        data = [Pending((base, type(row).__name__, row.id), partial(render, row)) for row in page]  # type: ignore[attr-defined]
    else:
        data = [render(row) for row in page]
    if not request.endpoint.paginated:
        # Some lists (order items, statuses) are documented without pagination.
        return ApiResponse(
            data=[render(row) for row in rows], status=request.endpoint.success_status
        )
    return ApiResponse(data=data, status=request.endpoint.success_status, pagination=pagination)


def _cache_key(request: ApiRequest, ctx: RequestContext) -> tuple[Any, ...]:
    # Everything a row's rendering may depend on besides the store's data (whose version the
    # cache checks): the endpoint, the language, quirks, the calling app, and the filters and
    # options of the query (``fields[]``, ``format``, ``with``).
    query = tuple(
        sorted((k, tuple(v)) for k, v in request.query.items() if k not in ("page", "per_page"))
    )
    return (request.endpoint.client_method, ctx.language, ctx.quirks, ctx.app_id, query)


def ack(request: ApiRequest, ctx: RequestContext, *, deleted: bool = False) -> ApiResponse:
    """The acknowledgement Salla sends for actions and deletions, shaped as documented."""
    status = request.endpoint.success_status
    message = (_DELETED if deleted else _ACK)["en" if ctx.language == "en" else "ar"]
    schema = data_schema(request.endpoint.response_schema)
    data: Any = {"message": message, "code": status}
    if schema is not None and schema_type(schema) == "array":
        data = [message]
    root = request.endpoint.response_schema or {}
    if schema is None and "message" in (root.get("properties") or {}):
        # A page documenting the acknowledgement at the top level (no ``data``): sent there
        # as well as in the envelope every other page shows, so both readings hold.
        body = {"status": status, "success": True, "data": data, **data}
        return ApiResponse(data=body, status=status, raw=True)
    return ApiResponse(data=data, status=status)
