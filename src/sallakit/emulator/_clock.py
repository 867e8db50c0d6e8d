"""The emulator clock: every time-dependent decision reads it, so tests can move time.

Token expiry, authorization-code lifetime, rate-limit buckets, webhook retry schedules and the
``created_at`` of events all come from one :class:`Clock`. In-process emulators default to a
*manual* clock (frozen until :meth:`Clock.advance`), so a test can expire a token or drain a
rate-limit bucket without sleeping. The server uses a *real* clock, still shifted by
:meth:`Clock.advance` so that the control API can fast-forward a running server.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """A UTC clock that is either frozen (manual) or real, plus an offset moved by ``advance``.

    Args:
        start: The instant a manual clock starts at (timezone-aware); defaults to the real time
            at construction, so that absolute epochs handed to the code under test (Easy mode
            ``expires``) look current.
        real: Follow the wall clock instead of standing still.
    """

    def __init__(self, *, start: datetime | None = None, real: bool = False) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the emulator clock needs a timezone-aware start")
        self.real = real
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self.offset = 0.0

    def now(self) -> datetime:
        """The current emulator time (timezone-aware UTC)."""
        base = datetime.now(UTC) if self.real else self._start
        return base + timedelta(seconds=self.offset)

    def time(self) -> float:
        """The current emulator time as a Unix epoch (seconds)."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time.

        The new time is computed and checked before anything changes, so a refused call leaves
        the clock as it was.

        Raises:
            ValueError: if ``seconds`` is not a finite, non-negative number, or the new time is
                not representable (time never runs backwards here: buckets, codes and retries
                all assume it).
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("seconds must be a number")
        try:
            value = float(seconds)
        except OverflowError:
            raise ValueError("seconds is too large") from None
        if not math.isfinite(value):
            raise ValueError("seconds must be a finite number")
        if value < 0:
            raise ValueError("the emulator clock cannot go backwards")
        offset = self.offset + value
        try:
            moment = self._start + timedelta(seconds=offset)
            moment.timestamp()
            if self.real:
                (datetime.now(UTC) + timedelta(seconds=offset)).timestamp()
        except (OverflowError, ValueError, OSError):
            raise ValueError(
                f"advancing by {value} seconds leaves the representable range"
            ) from None
        self.offset = offset
        return self.now()
