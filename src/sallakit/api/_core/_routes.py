"""Which registry endpoint a raw ``(method, path)`` is, for :meth:`AsyncSalla.request`.

A generated method knows its endpoint and passes its replay safety to the retry logic. A call
through ``request()`` only has a concrete path (``/orders/12/refund``); this module matches it
against the registry's templates so that an action such as a refund (a PUT the registry marks as
not idempotent) is never replayed after a server error, whichever way it was called.
"""

from __future__ import annotations

import re
from functools import cache

from sallakit._registry import Endpoint, load_registry

__all__ = ["match_endpoint", "registry_idempotency"]

_PLACEHOLDER = re.compile(r"\{[^{}]+\}")


_ANY = "{}"

Route = tuple[re.Pattern[str], int, Endpoint]


@cache
def _routes() -> dict[tuple[str, str], list[Route]]:
    """Routes by method and first path segment, the most specific first.

    Indexed so that a call is matched against the few templates of its resource, not all 250
    (a linear scan was 8 % of ``request()``'s cost).
    """
    routes: dict[tuple[str, str], list[Route]] = {}
    for endpoint in load_registry():
        template = "/" + endpoint.path.strip("/")
        pieces = _PLACEHOLDER.split(template)
        pattern = re.compile("[^/]+".join(re.escape(piece) for piece in pieces))
        # More literal characters = more specific (``/products/sku/{sku}`` over
        # ``/products/{product}/{x}``).
        literal = sum(len(piece) for piece in pieces)
        first = template.split("/", 2)[1]
        if "{" in first:
            first = _ANY  # a template that starts with a placeholder matches any first segment
        routes.setdefault((endpoint.method, first), []).append((pattern, literal, endpoint))
    for candidates in routes.values():
        candidates.sort(key=lambda route: -route[1])
    return routes


def match_endpoint(method: str, path: str) -> Endpoint | None:
    """The registry endpoint whose method and path template match, the most specific first."""
    normalized = "/" + path.split("?", 1)[0].strip("/")
    first = normalized.split("/", 2)[1]
    routes = _routes()
    method = method.upper()
    candidates = routes.get((method, first), [])
    if (method, _ANY) in routes:
        candidates = sorted([*candidates, *routes[(method, _ANY)]], key=lambda route: -route[1])
    for pattern, _, endpoint in candidates:
        if pattern.fullmatch(normalized):
            return endpoint
    return None


def registry_idempotency(method: str, path: str) -> bool | None:
    """The registry's replay safety of a concrete call; None when no endpoint matches."""
    endpoint = match_endpoint(method, path)
    return None if endpoint is None else endpoint.is_idempotent
