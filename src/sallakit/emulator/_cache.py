"""Rendered records, conformed and encoded once per store version.

A list page of 60 products used to rebuild, conform and JSON-encode 60 product objects on every
request; they only change when the store does. The Merchant API shell gives each request a
:class:`RenderCache` (one per store, runtime only: never in a snapshot) and the store's current
*version*, which changes on every write: a Merchant API request other than ``GET``, a
control-surface mutation, an injected page drift, or any ``StoreData`` mutation (its ``serial``).
A cache hit is only ever served for the version it was made under, so no write can leave a
stale record behind; a new version empties the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

__all__ = ["EncodedJSON", "Pending", "RenderCache", "splice"]

MAX_ENTRIES = 100_000
"""Records kept per store; past that the cache starts again empty (bounded memory)."""


class EncodedJSON(bytes):
    """A JSON value already encoded (``json.dumps(value, ensure_ascii=False)``, UTF-8).

    The shell splices it into the response body as it is, so the value is neither rebuilt nor
    re-encoded.
    """

    __slots__ = ()


@dataclass(slots=True)
class Pending:
    """A list row not rendered yet: ``render()`` builds it on a cache miss only."""

    key: Hashable
    render: Callable[[], Any]


class RenderCache:
    """Encoded records of one store, valid for one version of it."""

    __slots__ = ("_entries", "_version", "hits", "misses")

    def __init__(self) -> None:
        self._entries: dict[Hashable, EncodedJSON] = {}
        self._version: Hashable = None
        self.hits = 0
        self.misses = 0

    def lookup(self, version: Hashable, key: Hashable) -> EncodedJSON | None:
        """The record encoded under ``version``, or None (a new version empties the cache)."""
        if version != self._version:
            self._entries.clear()
            self._version = version
            return None
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def store(self, version: Hashable, key: Hashable, value: EncodedJSON) -> None:
        if version != self._version:
            self._entries.clear()
            self._version = version
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"RenderCache({len(self)} records, {self.hits} hits, {self.misses} misses)"


def splice(head: dict[str, Any], data: list[Any], tail: dict[str, Any]) -> bytes:
    """``json.dumps({**head, "data": data, **tail}, ensure_ascii=False)`` with the
    :class:`EncodedJSON` items of ``data`` spliced in as they are (byte for byte the same)."""

    def encode(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, default=str).encode()

    parts = [encode(head)[:-1], b', "data": [']
    parts.append(
        b", ".join(item if isinstance(item, EncodedJSON) else encode(item) for item in data)
    )
    parts.append(b"]")
    if tail:
        parts.append(b", ")
        parts.append(encode(tail)[1:])
    else:
        parts.append(b"}")
    return b"".join(parts)
