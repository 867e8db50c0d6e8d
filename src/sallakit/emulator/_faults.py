"""Fault injection: seeded, so a failing test fails the same way every run.

A :class:`Fault` describes what to inject and where (all stores or one, every endpoint or those
whose ``client_method`` starts with a prefix). :func:`decide` draws from the emulator's seeded
random generator and returns a :class:`FaultDecision` that the HTTP shell acts on.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultDecision", "decide"]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


FAULT_KINDS = ("latency", "error", "rate_limit", "reset", "malformed", "page_drift")


@dataclass(slots=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: ``latency`` (sleep ``seconds``), ``error`` (answer ``status``: 500-599, or 429),
            ``rate_limit`` (a 429 storm: answer 429 with ``Retry-After: retry_after``),
            ``reset`` (drop the connection), ``malformed`` (a truncated JSON body) or
            ``page_drift`` (insert ``count`` new items into the listed collection before
            answering a page > 1).
        rate: Probability per matching request (1.0: always).
        remaining: How many more times it may fire (None: unlimited).
        store_id: Only this store (None: every store).
        endpoint: Only endpoints whose ``client_method`` starts with this (None: every one).
    """

    kind: str
    rate: float = 1.0
    remaining: int | None = None
    store_id: int | None = None
    endpoint: str | None = None
    seconds: float = 0.05
    status: int = 500
    retry_after: int = 1
    count: int = 1
    id: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        # Everything is checked here, when the fault is injected: a bad option must be refused
        # at once, not break every later request that the fault fires on.
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: one of {', '.join(FAULT_KINDS)}")
        if not _is_number(self.rate) or not 0.0 <= self.rate <= 1.0:
            raise ValueError("a fault rate is a probability between 0 and 1")
        if not _is_number(self.seconds) or not math.isfinite(self.seconds) or self.seconds < 0:
            raise ValueError("seconds must be a finite number >= 0")
        if not _is_int(self.status) or not (500 <= self.status <= 599 or self.status == 429):
            raise ValueError("status must be an integer from 500 to 599 (or 429)")
        if not _is_int(self.retry_after) or self.retry_after < 0:
            raise ValueError("retry_after must be an integer >= 0")
        if not _is_int(self.count) or self.count < 1:
            raise ValueError("count must be an integer >= 1")
        if self.remaining is not None and (not _is_int(self.remaining) or self.remaining < 0):
            raise ValueError("remaining must be an integer >= 0 (or null: unlimited)")
        if self.store_id is not None and not _is_int(self.store_id):
            raise ValueError("store_id must be an integer (or null: every store)")
        if self.endpoint is not None and not isinstance(self.endpoint, str):
            raise ValueError("endpoint must be a client_method prefix (or null: every endpoint)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class FaultDecision:
    """What to do to one request (several faults may apply at once)."""

    latency: float = 0.0
    error_status: int | None = None
    rate_limited: int | None = None
    """Retry-After seconds of an injected 429."""
    reset: bool = False
    malformed: bool = False
    page_drift: int = 0
    fired: list[int] = field(default_factory=list)


def decide(
    faults: list[Fault],
    rng: random.Random,
    *,
    store_id: int,
    client_method: str,
    page: int,
) -> FaultDecision:
    """Draw the faults for one Merchant API request; consumes ``remaining`` of those that fire."""
    decision = FaultDecision()
    for fault in faults:
        if fault.remaining is not None and fault.remaining <= 0:
            continue
        if fault.store_id is not None and fault.store_id != store_id:
            continue
        if fault.endpoint is not None and not client_method.startswith(fault.endpoint):
            continue
        if fault.kind == "page_drift" and page < 2:
            continue
        # Always draw, even at rate 1.0, so adding a fault does not shift later draws' meaning.
        if rng.random() >= fault.rate:
            continue
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
        decision.fired.append(fault.id)
        if fault.kind == "latency":
            decision.latency += fault.seconds
        elif fault.kind == "error":
            decision.error_status = fault.status
        elif fault.kind == "rate_limit":
            decision.rate_limited = fault.retry_after
        elif fault.kind == "reset":
            decision.reset = True
        elif fault.kind == "malformed":
            decision.malformed = True
        elif fault.kind == "page_drift":
            decision.page_drift += fault.count
    return decision
