"""Checks of the client's constructor arguments: one clear ``ConfigurationError`` for each.

A nonsense value accepted silently (``timeout=nan``, ``max_in_flight=2.5``) misbehaves much later
and far away (a request that never times out, a governor that admits a fraction of a request), so
every argument is checked when the client is built.
"""

from __future__ import annotations

import math
from typing import Any

import httpx2

from sallakit._exceptions import ConfigurationError

__all__ = ["check_count", "check_seconds", "check_timeout", "check_token_argument"]


def check_count(name: str, value: Any, *, minimum: int) -> int:
    """An integer of at least ``minimum`` (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_seconds(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A finite, non-negative number of seconds."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def check_timeout(value: Any) -> None:
    """A timeout as httpx2 takes it: seconds, None (no limit), a tuple or an ``httpx2.Timeout``."""
    if value is None:
        return
    if isinstance(value, httpx2.Timeout):
        parts = [value.connect, value.read, value.write, value.pool]
    elif isinstance(value, tuple):
        parts = list(value)
    else:
        parts = [value]
    for part in parts:
        check_seconds("timeout", part, allow_none=True)


def check_token_argument(access_token: Any) -> None:
    """A fixed access token: a non-empty str that can travel in a header."""
    if not isinstance(access_token, str):
        raise ConfigurationError(
            f"access_token must be a str (the store's access token), got a "
            f"{type(access_token).__name__}"
        )
    if not access_token.strip():
        raise ConfigurationError("access_token is empty")
