"""What the client tells an observer about each request attempt (the ``on_attempt`` hook).

Metrics are built on this rather than on log records: a hook is an explicit, typed contract that
a logging configuration cannot silence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AttemptCallback", "RequestAttempt"]


@dataclass(frozen=True, slots=True)
class RequestAttempt:
    """One attempt of one call to Salla, after its answer (or its failure) arrived.

    Attributes:
        store: The store's governor key (its id, or a hash of a fixed token; never a token).
        method: HTTP method.
        path: The path called.
        status: The HTTP status, or None when no response came (connection error, timeout).
        attempt: 1 for the first attempt of the call, 2 and more for its retries and replays.
        seconds: Time from the attempt's start to its answer.
        rate_limit_remaining: Requests left in the store's bucket as Salla last reported it
            (``X-RateLimit-Remaining`` of this answer, else the governor's last value).
    """

    store: str
    method: str
    path: str
    status: int | None
    attempt: int
    seconds: float
    rate_limit_remaining: int | None

    @property
    def is_retry(self) -> bool:
        """Whether this attempt repeats an earlier one of the same call."""
        return self.attempt > 1


AttemptCallback = Callable[[RequestAttempt], object]
