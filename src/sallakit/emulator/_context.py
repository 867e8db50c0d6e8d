"""The seam between the emulator's HTTP shell and its Merchant API handlers.

The shell (``_app.py``) authenticates a request (access token -> store and scopes), applies the
store's rate limit and fault injection, matches the path against the endpoint registry, checks the
endpoint's scopes, and then calls the handler registered for the endpoint's ``client_method`` with
an :class:`ApiRequest` and a :class:`RequestContext`. Handlers are plain functions over in-memory
state: they return an :class:`ApiResponse` or raise :class:`EmulatorHTTPError`, and the shell turns
either into Salla's wire format (envelopes, headers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sallakit._registry import Endpoint

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "EmulatorHTTPError",
    "RequestContext",
    "StoreProfile",
]


class EmulatorHTTPError(Exception):
    """Raised by a handler to answer with Salla's error envelope.

    Rendered as ``{"status": status, "success": false, "error": {"code": code, "message":
    message, "fields": fields}}`` (``fields`` only when given).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | int | None = None,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else "error"
        self.fields = dict(fields) if fields else None
        self.headers = dict(headers or {})


@dataclass(slots=True)
class StoreProfile:
    """What the emulator knows about a store besides its data: identity, plan, owner."""

    id: int
    plan: str
    name: str
    name_en: str
    username: str
    email: str
    domain: str
    owner_id: int
    owner_name: str
    owner_email: str
    owner_mobile: str
    created_at: datetime
    currency: str = "SAR"
    type: str = "demo"
    status: str = "active"
    entity: str = "company"


@dataclass(slots=True)
class ApiRequest:
    """A Merchant API request, already matched against the registry."""

    endpoint: Endpoint
    path_params: dict[str, str]
    """Keyed by the registry's Python names (``cart_id``), raw strings from the URL."""
    query: dict[str, list[str]]
    """Every query parameter with all its values; ``status[]`` is kept as ``status[]``."""
    body: Any
    """Parsed JSON body, a dict of form fields, or None."""
    headers: Mapping[str, str]

    def q(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter (``name`` or ``name[]``)."""
        values = self.query.get(name) or self.query.get(f"{name}[]")
        return values[-1] if values else default

    def q_list(self, name: str) -> list[str]:
        """Every value of an array query parameter (``name[]``, ``name``, or comma separated)."""
        values = [*self.query.get(f"{name}[]", []), *self.query.get(name, [])]
        out: list[str] = []
        for v in values:
            out.extend(part for part in v.split(",") if part)
        return out


@dataclass(slots=True)
class ApiResponse:
    """A successful handler result; the shell adds ``status`` and ``success`` to the envelope.

    ``body`` is the whole JSON document when ``raw`` is true, otherwise the ``data`` member (and
    ``pagination`` is added when given).
    """

    data: Any = None
    status: int = 200
    pagination: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bool = False


@dataclass(slots=True)
class RequestContext:
    """Everything a handler may use besides the request."""

    store: StoreProfile
    data: Any
    """The store's data (``_merchant.StoreData``)."""
    scopes: frozenset[str]
    language: str
    """``ar`` (Salla's default) or ``en``, from ``Accept-Language``."""
    quirks: bool
    """Reproduce Salla's documented type drift (string amounts and quantities, ...)."""
    links_as_list: bool
    """Render empty pagination ``links`` as ``[]`` instead of ``{}`` (both happen on Salla)."""
    now: Callable[[], datetime]
    """The emulator clock (timezone-aware UTC); tests advance it without sleeping."""
    emit: Callable[[str, Any], object]
    """Emit a store webhook event: ``emit("order.created", order_dict)``."""
    next_id: Callable[[], int]
    """A fresh, unique, Salla-sized integer id."""
    app_id: int = 0
    render_cache: Any = None
    """The store's ``_cache.RenderCache`` (the HTTP shell sets it; None: render every time)."""
    cache_version: Any = None
    """The store's version the cache is valid for (changes on every write)."""
