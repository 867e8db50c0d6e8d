"""Fault injection: seeded, so a failing test fails the same way every run.

A :class:`Fault` describes what to inject and where (all stores or one, every endpoint or those
whose ``client_method`` starts with a prefix). :func:`decide` draws from the emulator's seeded
random generator and returns a :class:`FaultDecision` that the HTTP shell acts on.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultDecision", "decide"]

FAULT_KINDS = ("latency", "error", "rate_limit", "reset", "malformed", "page_drift")


@dataclass(slots=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: ``latency`` (sleep ``seconds``), ``error`` (answer ``status``, a 5xx), ``rate_limit``
            (a 429 storm: answer 429 with ``Retry-After: retry_after``), ``reset`` (drop the
            connection), ``malformed`` (a truncated JSON body) or ``page_drift`` (insert
            ``count`` new items into the listed collection before answering a page > 1).
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
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("a fault rate is a probability between 0 and 1")

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
