"""Type aliases shared by the clients and the generated resources."""

from __future__ import annotations

from typing import IO

import httpx2

__all__ = ["FileTypes", "TimeoutTypes"]

TimeoutTypes = float | httpx2.Timeout
"""A timeout in seconds, or an ``httpx2.Timeout`` for per-phase limits."""

FileTypes = (
    bytes
    | IO[bytes]
    | tuple[str | None, bytes | IO[bytes]]
    | tuple[str | None, bytes | IO[bytes], str | None]
)
"""A file part of a multipart body: its bytes, a binary file object, or a
``(filename, content[, content type])`` tuple."""
