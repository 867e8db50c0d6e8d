"""Webhook event payloads: the rich details shape, made valid against the details schema."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from sallakit.emulator._context import RequestContext

from ._schema import Conformer, compile_conformer, data_schema

__all__ = ["details_schema", "emit", "norm_path"]

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
