"""Request bodies read safely: a size cap while streaming, and a bound on JSON nesting.

Both the Merchant API shell and the control API read bodies from anyone on the network; a
body must never make the emulator buffer without end or recurse until Python gives up (which
would surface as a 500 or a dropped connection instead of a client error).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

__all__ = [
    "MAX_API_BODY",
    "MAX_CONTROL_BODY",
    "MAX_JSON_DEPTH",
    "parse_json",
    "read_capped",
]

MAX_API_BODY = 16 * 1024 * 1024
"""Bytes a Merchant API body may have (image uploads included)."""
MAX_CONTROL_BODY = 1024 * 1024
"""Bytes a control API body may have (its bodies are small JSON objects)."""
MAX_JSON_DEPTH = 64
"""Nesting levels a JSON body may have; Salla's deepest documented bodies use about five."""


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes (never buffered past it)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_deep(raw: bytes, limit: int) -> bool:
    # One pass over the bytes, counting brackets outside strings: cheaper than a recursive walk
    # of the parsed value, and it runs before the decoder recurses at all.
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    # Python's decoder accepts NaN and Infinity; JSON (and Salla) do not.
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode a JSON body.

    Raises:
        ValueError: not UTF-8 JSON, numbers too long to convert, or nested deeper than
            ``max_depth``.
    """
    openers = raw.count(b"[") + raw.count(b"{")
    if openers > max_depth and _too_deep(raw, max_depth):
        raise ValueError(f"the JSON is nested deeper than {max_depth} levels")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
