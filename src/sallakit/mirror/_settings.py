"""Mirror settings: defaults in code, per-store overrides stored with the mirror."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sallakit._exceptions import ConfigurationError
from sallakit.mirror._core import DEFAULT_WATERMARK_MARGIN
from sallakit.mirror._streams import RESOURCES, STREAMS

__all__ = ["MirrorSettings"]


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    """How the mirror syncs a store (every field can be overridden per store).

    Attributes:
        resources: Top-level resources mirrored (children follow their parent).
        intervals: Seconds between reconciliations per resource (defaults from the streams).
        order_backfill_days: How far back the first order backfill goes, in days (None:
            everything).
        order_histories: Fetch each order's status history (one more call per order).
        auto_backfill_on_install: Start a store's backfill when it is installed (Easy mode).
        max_in_flight: Requests in flight per store (the client's governor caps it too).
        pages_per_step: List pages per checkpointed step. The pages of a step are requested
            side by side and a step waits for its slowest page, so few large steps keep the
            in-flight slots busier; a step that runs again after a crash requests only the
            pages it had not stored (the page ledger), so size costs no repeated requests.
        order_pages_per_step: Order pages (each with its detail calls) per checkpointed step
            (likewise: orders a run already wrote are not fetched again).
        flush_every: Orders buffered before a batched write.
        confirm_budget: Most detail calls spent confirming suspected deletions per resource.
        watermark_margin: Seconds of clock skew allowed for between Salla and this host.
        stall_after: Seconds without progress after which the watchdog reports a run.
    """

    resources: tuple[str, ...] = RESOURCES
    intervals: Mapping[str, float] = field(
        default_factory=lambda: {s.name: s.interval for s in STREAMS}
    )
    order_backfill_days: int | None = None
    order_histories: bool = True
    auto_backfill_on_install: bool = True
    max_in_flight: int = 4
    pages_per_step: int = 32
    order_pages_per_step: int = 4
    flush_every: int = 20
    confirm_budget: int = 200
    watermark_margin: float = DEFAULT_WATERMARK_MARGIN
    stall_after: float = 900.0

    def __post_init__(self) -> None:
        unknown = [r for r in self.resources if r not in RESOURCES]
        if unknown:
            raise ConfigurationError(
                f"unknown mirror resource(s) {', '.join(unknown)}; known: {', '.join(RESOURCES)}"
            )
        for name in (
            "max_in_flight",
            "pages_per_step",
            "order_pages_per_step",
            "flush_every",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}")
        if self.order_backfill_days is not None and self.order_backfill_days < 1:
            raise ConfigurationError("order_backfill_days must be >= 1 (or None: everything)")
        if self.confirm_budget < 0 or self.watermark_margin < 0 or self.stall_after <= 0:
            raise ConfigurationError(
                "confirm_budget and watermark_margin must be >= 0, stall_after > 0"
            )
        for name, seconds in self.intervals.items():
            if name not in RESOURCES or not seconds > 0:
                raise ConfigurationError(f"interval of {name!r} must be a resource and > 0")

    def interval(self, resource: str) -> float:
        defaults = {s.name: s.interval for s in STREAMS}
        return float(self.intervals.get(resource, defaults[resource]))

    def merged(self, overrides: Mapping[str, Any]) -> MirrorSettings:
        """These settings with a store's overrides applied (unknown keys are refused)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigurationError(f"unknown mirror setting(s): {', '.join(unknown)}")
        values = dict(overrides)
        if "resources" in values:
            values["resources"] = tuple(values["resources"])
        if "intervals" in values:
            values["intervals"] = {**self.intervals, **values["intervals"]}
        return dataclasses.replace(self, **values)
