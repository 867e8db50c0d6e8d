"""Type aliases shared by the clients and the generated resources."""

from __future__ import annotations

import httpx2

__all__ = ["TimeoutTypes"]

TimeoutTypes = float | httpx2.Timeout
"""A timeout in seconds, or an ``httpx2.Timeout`` for per-phase limits."""
