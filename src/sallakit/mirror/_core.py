"""The mirror's decisions, as pure functions (no I/O): watermarks, windows, delete detection,
the audit verdict, and which entity a webhook event points at."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

__all__ = [
    "DEFAULT_WATERMARK_MARGIN",
    "AuditResult",
    "DeletionPlan",
    "audit_verdict",
    "event_target",
    "is_capped",
    "next_watermark",
    "pages_to_fetch",
    "plan_deletions",
    "reached_watermark",
    "split_window",
    "walk_watermark",
]

#: Seconds subtracted from the previous run's start before using it as a watermark: Salla's
#: ``updated_at`` comes from Salla's clock, ours from this host's, and the two may disagree.
DEFAULT_WATERMARK_MARGIN = 300.0


def walk_watermark(previous_run_started_at: float | None, margin: float) -> float | None:
    """Where an ``updated_at``-descending walk stops: the previous successful run's start,
    minus a clock-skew margin. None (walk everything) when there was no successful run."""
    if previous_run_started_at is None:
        return None
    return previous_run_started_at - margin


def next_watermark(run_started_at: float, newest_seen: float | None) -> float:
    """The watermark a successful run records: never later than its own start.

    An entity updated while the run walked may have been passed over (the walk had already gone
    below it); capping at the run's start makes the next run walk back over that window.
    """
    if newest_seen is None:
        return run_started_at
    return min(run_started_at, newest_seen)


def reached_watermark(updated_at: float | None, watermark: float | None) -> bool:
    """Whether an entity seen on an ``updated_at``-descending walk ends the walk.

    An entity without a parseable ``updated_at`` never ends it (it is fetched, to be safe).
    """
    if watermark is None or updated_at is None:
        return False
    return updated_at < watermark


def pages_to_fetch(total_pages: int, done: Iterable[int], start: int = 1) -> list[int]:
    """The pages of a walk still to request, given those a resumed run already stored."""
    finished = set(done)
    return [p for p in range(start, max(total_pages, 0) + 1) if p not in finished]


def is_capped(reachable: int, total: int | None) -> bool:
    """Whether a list stopped short of its reported ``pagination.total``."""
    return total is not None and reachable < total


def split_window(start: date, end: date) -> tuple[tuple[date, date], tuple[date, date]] | None:
    """Halve an inclusive date window; None when it is a single day (it cannot shrink)."""
    if start >= end:
        return None
    middle = start + timedelta(days=(end - start).days // 2)
    return (start, middle), (middle + timedelta(days=1), end)


@dataclass(frozen=True, slots=True)
class DeletionPlan:
    """What to do with ids the mirror holds that a complete walk did not see.

    ``confirm``: ask the detail endpoint (404 means deleted; 200 means the walk missed it,
    typically because rows were deleted between page requests and the pages shifted).
    ``delete``: mark deleted without asking (too many to confirm and the walk was consistent).
    ``deferred``: left alone this run (the walk was incomplete or capped).
    """

    confirm: tuple[int, ...] = ()
    delete: tuple[int, ...] = ()
    deferred: tuple[int, ...] = ()


def plan_deletions(
    known: Iterable[int],
    seen: Iterable[int],
    *,
    walk_complete: bool,
    walk_consistent: bool,
    confirm_budget: int,
) -> DeletionPlan:
    """Delete detection by id-set difference, guarded against page drift and caps.

    Args:
        known: ids the mirror holds as live.
        seen: ids the walk saw.
        walk_complete: the walk reached its last page and was not capped.
        walk_consistent: ``pagination.total`` did not move during the walk and the walk saw
            as many distinct ids as it reports.
        confirm_budget: most detail calls to spend confirming.
    """
    candidates = sorted(set(known) - set(seen))
    if not candidates:
        return DeletionPlan()
    if not walk_complete:
        return DeletionPlan(deferred=tuple(candidates))
    if len(candidates) <= confirm_budget:
        return DeletionPlan(confirm=tuple(candidates))
    if walk_consistent:
        return DeletionPlan(delete=tuple(candidates))
    return DeletionPlan(
        confirm=tuple(candidates[:confirm_budget]), deferred=tuple(candidates[confirm_budget:])
    )


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The audit of one run: remote totals against the mirror's counts.

    ``mismatches`` maps a check (``products``, ``orders:status=completed``) to
    ``{"remote": n, "mirror": m}``; ``capped`` names lists whose reachable rows are fewer than
    their total (``{"remote": total, "reachable": n}``).
    """

    ok: bool
    checks: dict[str, dict[str, int | None]] = field(default_factory=dict)
    mismatches: dict[str, dict[str, int | None]] = field(default_factory=dict)
    capped: dict[str, dict[str, int | None]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": self.checks,
            "mismatches": self.mismatches,
            "capped": self.capped,
        }

    def summary(self) -> str:
        """One line for a failed run's error text."""
        if self.ok:
            return "audit passed"
        parts = [
            f"{k}: remote {v['remote']} != mirror {v['mirror']}" for k, v in self.mismatches.items()
        ]
        parts += [
            f"{k}: capped, {v['reachable']} of {v['remote']} reachable"
            for k, v in self.capped.items()
        ]
        return "audit failed: " + "; ".join(parts)


def audit_verdict(
    remote: Mapping[str, int | None],
    mirror: Mapping[str, int],
    capped: Mapping[str, tuple[int | None, int]] | None = None,
) -> AuditResult:
    """Compare remote totals with the mirror's counts; any difference fails the run.

    A remote total Salla did not report (None) is not a mismatch, but it is shown.
    """
    checks: dict[str, dict[str, int | None]] = {}
    mismatches: dict[str, dict[str, int | None]] = {}
    for name, total in remote.items():
        local = mirror.get(name, 0)
        checks[name] = {"remote": total, "mirror": local}
        if total is not None and total != local:
            mismatches[name] = checks[name]
    flagged = {
        name: {"remote": total, "reachable": reachable}
        for name, (total, reachable) in (capped or {}).items()
        if is_capped(reachable, total)
    }
    return AuditResult(
        ok=not mismatches and not flagged, checks=checks, mismatches=mismatches, capped=flagged
    )


# Store events and the resource they concern. Events about an order's shipment point at the
# order (its detail carries the shipments); shipment.* events at the shipment.
_EVENT_PREFIXES = (
    ("order.shipment.", "orders"),
    ("order.", "orders"),
    ("product.", "products"),
    ("customer.", "customers"),
    ("category.", "categories"),
    ("brand.", "brands"),
    ("shipment.", "shipments"),
)


def event_target(event: str, data: Mapping[str, Any]) -> tuple[str, int] | None:
    """The ``(resource, id)`` a store event says changed, or None when it concerns nothing
    mirrored (an app event, an abandoned cart...)."""
    matched = [resource for prefix, resource in _EVENT_PREFIXES if event.startswith(prefix)]
    if not matched:
        return None
    resource = matched[0]
    raw: Any = data.get("id")
    if event.startswith("order.shipment.") or (resource == "orders" and "order_id" in data):
        raw = data.get("order_id", raw)
        order = data.get("order")
        if raw is None and isinstance(order, Mapping):
            raw = order.get("id")
    if resource == "shipments" and raw is None:
        raw = data.get("shipment_id")
    try:
        entity_id = int(str(raw))
    except (TypeError, ValueError):
        return None
    return (resource, entity_id) if entity_id > 0 else None
