"""Type aliases shared by the clients and the generated resources."""

from __future__ import annotations

import os
from typing import IO

import httpx2

__all__ = ["FileTypes", "TimeoutTypes"]

TimeoutTypes = float | httpx2.Timeout
"""A timeout in seconds, or an ``httpx2.Timeout`` for per-phase limits."""

FileTypes = (
    bytes
    | IO[bytes]
    | os.PathLike[str]
    | tuple[str | None, bytes | IO[bytes]]
    | tuple[str | None, bytes | IO[bytes], str | None]
)
"""A file part of a multipart body: its bytes, a binary file object, a path to read (a
``pathlib.Path``; a plain ``str`` is refused as ambiguous), or a ``(filename, content[, content
type])`` tuple."""
