"""Match a Merchant API path against the endpoint registry.

The registry's path templates overlap (``/products/options/templates/{id}`` and
``/products/options/{option}`` both match ``/products/options/templates/7``), so matching ranks the
candidates: the template with a literal segment where the other has a placeholder wins, comparing
segments left to right. A path that no template matches is a 404; a path that matches only with
another method is a 405.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from sallakit._registry import Endpoint

__all__ = ["MethodNotAllowed", "Route", "RouteNotFound", "Router"]


class RouteNotFound(LookupError):
    """No endpoint template matches the path."""


class MethodNotAllowed(LookupError):
    """The path exists, but not with this method."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = sorted(set(allowed))
        super().__init__(", ".join(self.allowed))


@dataclass(frozen=True, slots=True)
class Route:
    endpoint: Endpoint
    segments: tuple[str | None, ...]
    """Literal segments, or None where the template has a placeholder."""
    names: tuple[str | None, ...]
    """Placeholder names (None for literals)."""

    @property
    def rank(self) -> tuple[int, ...]:
        # Lower sorts first: a literal (0) beats a placeholder (1) at the first difference.
        return tuple(0 if s is not None else 1 for s in self.segments)


def _split(path: str) -> list[str]:
    return [unquote(p) for p in path.strip("/").split("/") if p]


def _compile(endpoint: Endpoint) -> Route:
    segments: list[str | None] = []
    names: list[str | None] = []
    for part in _split(endpoint.path):
        if part.startswith("{") and part.endswith("}"):
            segments.append(None)
            names.append(part[1:-1])
        else:
            segments.append(part)
            names.append(None)
    return Route(endpoint, tuple(segments), tuple(names))


class Router:
    """An index of the registry's templates by segment count."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._by_length: dict[int, list[Route]] = {}
        for endpoint in endpoints:
            route = _compile(endpoint)
            self._by_length.setdefault(len(route.segments), []).append(route)
        for routes in self._by_length.values():
            routes.sort(key=lambda r: r.rank)

    def match(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
        """The endpoint for a method and path (relative to ``/admin/v2``) and its path params.

        Raises:
            RouteNotFound: no template matches the path.
            MethodNotAllowed: templates match, none with this method.
        """
        parts = _split(path)
        allowed: list[str] = []
        best: tuple[Route, dict[str, str]] | None = None
        for route in self._by_length.get(len(parts), ()):
            params: dict[str, str] = {}
            for seg, name, part in zip(route.segments, route.names, parts, strict=True):
                if seg is None:
                    assert name is not None
                    params[name] = part
                elif seg != part:
                    break
            else:
                if route.endpoint.method == method.upper():
                    if best is None or route.rank < best[0].rank:
                        best = (route, params)
                else:
                    allowed.append(route.endpoint.method)
        if best is not None:
            return best[0].endpoint, best[1]
        if allowed:
            raise MethodNotAllowed(allowed)
        raise RouteNotFound(path)
