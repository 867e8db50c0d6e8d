"""Request building: headers, the path, query parameters and bodies in the encoding Salla's PHP
(Laravel) expects."""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from sallakit._exceptions import ConfigurationError

__all__ = [
    "build_headers",
    "build_path",
    "check_header_value",
    "encode_form",
    "encode_json",
    "encode_params",
    "split_path",
    "user_agent",
]


def user_agent(version: str) -> str:
    """The ``User-Agent`` sallakit sends."""
    return f"sallakit/{version}"


# Visible ASCII and spaces: what every HTTP stack accepts in a header value. A newline would split
# the header (or make h11 refuse the request deep in the transport); non-ASCII is not encodable.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")


def check_header_value(name: str, value: str, *, secret: bool = False) -> None:
    """Refuse a value that cannot travel in an HTTP header.

    Args:
        name: The argument's name, for the message.
        value: The value.
        secret: Do not quote the value in the message (a token).

    Raises:
        ConfigurationError: The value holds a control character or a non-ASCII character.
    """
    if not isinstance(value, str) or _HEADER_VALUE.fullmatch(value) is None:
        shown = "" if secret else f": {value!r}"
        raise ConfigurationError(
            f"{name} holds characters not allowed in an HTTP header (control characters or "
            f"non-ASCII){shown}"
        )


def build_headers(token: str, *, language: str, version: str) -> dict[str, str]:
    """Headers of every API request.

    Raises:
        ConfigurationError: The token or the language cannot travel in a header.
    """
    check_header_value("the access token", token, secret=True)
    check_header_value("language", language)
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Accept-Language": language,
        "User-Agent": user_agent(version),
    }


def build_path(template: str, path_params: Mapping[str, int | str]) -> str:
    """Fill a path template such as ``/orders/{order_id}/histories``.

    Values are percent-encoded as one path segment, so an id can never change the path. The
    segments ``""``, ``"."`` and ``".."`` (also percent-encoded) are refused: URL normalization
    would drop or climb them, so ``products.images.update("..")`` would reach ``POST /products``.

    Raises:
        KeyError: A placeholder has no value.
        ConfigurationError: A value is empty, ``.`` or ``..``.
    """
    encoded: dict[str, str] = {}
    for name, value in path_params.items():
        text = str(value.value if isinstance(value, enum.Enum) else value)
        if unquote(text) in ("", ".", ".."):
            raise ConfigurationError(f"{name} must be a real path segment, got {text!r}")
        encoded[name] = quote(text, safe="")
    return template.format_map(encoded)


def split_path(path: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a caller's path into the path proper and the pairs of its query string.

    ``"/orders?page=2"`` -> ``("/orders", [("page", "2")])``. The path is always relative to the
    client's base URL: a scheme or host would send the token to another server, so it is refused.

    Raises:
        ConfigurationError: The path carries a scheme or a host (an absolute URL).
    """
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.lstrip().startswith("//"):
        raise ConfigurationError(
            f"path must be relative to the client's base_url, not an absolute URL: {path!r}"
        )
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return parts.path, pairs


def _scalar(value: Any) -> str:
    if isinstance(value, enum.Enum):
        # str() of an Enum member is "Status.PAID", not its value.
        value = value.value
    # Laravel's "boolean" rule accepts 1/0 but not the strings "true"/"false".
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
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
        elif isinstance(value, (list, tuple, set, frozenset)):
            wire = key if key.endswith("[]") else f"{key}[]"
            out.extend((wire, _scalar(item)) for item in value if item is not None)
        else:
            out.append((key, _scalar(value)))
    return out


def encode_form(data: Mapping[str, Any] | None) -> dict[str, str | list[str]]:
    """Encode the text fields of a multipart body with the same rules as query parameters.

    Booleans become ``1``/``0`` (Laravel rejects ``true``), sequences become ``key[]`` fields and
    mappings ``key[sub]``; None values are dropped.
    """
    out: dict[str, str | list[str]] = {}
    for key, value in encode_params(data):
        previous = out.get(key)
        if previous is None:
            out[key] = [value] if key.endswith("[]") else value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            out[key] = [previous, value]
    return out


def _prepare(value: Any, marker: str, decimals: list[str]) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ConfigurationError(f"cannot send a non-finite Decimal in JSON: {value}")
        decimals.append(str(value))
        return f"{marker}{len(decimals) - 1}{marker}"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _prepare(v, marker, decimals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(v, marker, decimals) for v in value]
    return value


def encode_json(body: Any) -> bytes:
    """Encode a JSON body, with the types users hold money and dates in.

    ``Decimal`` goes on the wire as a JSON number with its exact digits (``19.90`` stays
    ``19.90``; a float round trip could change it); ``date``/``datetime``/``time`` as ISO 8601
    strings.

    Raises:
        ConfigurationError: The body holds a value JSON cannot carry.
    """
    # Decimals are swapped for unique string markers, then the quoted markers are replaced by
    # the digits: the json module has no hook to emit a raw number.
    marker = "\x00dec" + secrets.token_hex(4)
    decimals: list[str] = []
    try:
        prepared = _prepare(body, marker, decimals)
        text = json.dumps(prepared, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"the request body cannot be encoded as JSON: {exc}") from exc
    if decimals:
        quoted = json.dumps(marker, ensure_ascii=False)[1:-1]
        for index, digits in enumerate(decimals):
            text = text.replace(f'"{quoted}{index}{quoted}"', digits, 1)
    return text.encode("utf-8")
