"""Request building: headers, the path, and query parameters in the encoding Salla's PHP expects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["build_headers", "build_path", "encode_params", "user_agent"]


def user_agent(version: str) -> str:
    """The ``User-Agent`` sallakit sends."""
    return f"sallakit/{version}"


def build_headers(token: str, *, language: str, version: str) -> dict[str, str]:
    """Headers of every API request."""
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Accept-Language": language,
        "User-Agent": user_agent(version),
    }


def build_path(template: str, path_params: Mapping[str, int | str]) -> str:
    """Fill a path template such as ``/orders/{order_id}/histories``.

    Values are percent-encoded as one path segment, so an id can never change the path.

    Raises:
        KeyError: A placeholder has no value.
    """
    return template.format_map(
        {name: quote(str(value), safe="") for name, value in path_params.items()}
    )


def _scalar(value: Any) -> str:
    # Laravel's "boolean" rule accepts 1/0 but not the strings "true"/"false".
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Encode query parameters keyed by wire name; None values are dropped.

    Sequences repeat the key (``status[]=1&status[]=2``; a plain key gets ``[]`` appended, the
    PHP array convention); mappings become ``key[sub]=value``; booleans become ``1``/``0``.
    """
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            for sub, sub_value in value.items():
                if sub_value is not None:
                    out.append((f"{key}[{sub}]", _scalar(sub_value)))
        elif isinstance(value, list | tuple | set | frozenset):
            wire = key if key.endswith("[]") else f"{key}[]"
            out.extend((wire, _scalar(item)) for item in value if item is not None)
        else:
            out.append((key, _scalar(value)))
    return out
