"""The version sent in ``User-Agent`` (kept apart to avoid importing the package root)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["VERSION"]

try:
    VERSION = metadata.version("sallakit")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0.0.0"
