"""Prometheus metrics of the service, and the rate-limit history the dashboard charts.

Two feeds, no global state (each app owns a :class:`ServiceMetrics` with its own registry):

- *events* from the library's explicit instrumentation hooks, registered by
  :meth:`ServiceMetrics.instrument` for the life of the app: every request attempt to Salla
  (the client's ``on_attempt``, set on the clients the token vault builds: status, retries,
  429s, rate-limit remaining), every token refresh's outcome (``TokenVault.on_refresh``), every
  processed webhook delivery (``Worker.on_outcome``) and every finished sync run
  (``Mirror.on_progress``, its ``done`` report);
- *state* read at scrape time from the database through :class:`StateSource` callables: the
  webhook inbox by status (depth, dead letters) and the mirror's sync lag and last duration per
  store and resource, which are true whichever process did the work (external workers too). A
  source that fails is logged and skipped: a scrape never fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from sallakit.api import RequestAttempt
    from sallakit.auth import RefreshOutcome, TokenVault
    from sallakit.mirror import Mirror, Progress
    from sallakit.webhooks import Outcome, StoredDelivery, Worker

__all__ = [
    "CONTENT_TYPE",
    "RateBucket",
    "RateHistory",
    "ServiceMetrics",
    "StateSource",
    "SyncStat",
]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class SyncStat:
    """The mirror's state for one store and resource, as the metrics export it."""

    store_id: int
    resource: str
    lag_seconds: float | None
    last_duration_seconds: float | None
    last_success_at: float | None = None


@dataclass(slots=True)
class StateSource:
    """Callables reading the database at scrape time (each optional)."""

    inbox_counts: Callable[[], Mapping[str, int]] | None = None
    """Deliveries in the webhook inbox by status (pending, processing, done, failed, dead)."""
    sync_stats: Callable[[], Iterable[SyncStat]] | None = None
    """Lag and last duration per store and resource."""


@dataclass(slots=True)
class RateBucket:
    """One minute of one store's traffic to Salla."""

    minute: int
    requests: int = 0
    rate_limited: int = 0
    min_remaining: int | None = None


@dataclass
class RateHistory:
    """Per store, the last ``keep_minutes`` minutes of requests, 429s and lowest remaining.

    Thread-safe: the client logs from event-loop and worker threads alike.
    """

    keep_minutes: int = 180
    clock: Callable[[], float] = time.time
    _buckets: dict[str, deque[RateBucket]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, store: str, status: int | None, remaining: int | None) -> None:
        """Count one request attempt."""
        minute = int(self.clock() // 60)
        with self._lock:
            buckets = self._buckets.setdefault(store, deque(maxlen=self.keep_minutes))
            if not buckets or buckets[-1].minute != minute:
                buckets.append(RateBucket(minute))
            bucket = buckets[-1]
            bucket.requests += 1
            if status == 429:
                bucket.rate_limited += 1
            if remaining is not None and (
                bucket.min_remaining is None or remaining < bucket.min_remaining
            ):
                bucket.min_remaining = remaining

    def series(self, store: str, *, minutes: int = 60) -> list[RateBucket]:
        """The store's last ``minutes`` minutes, one bucket per minute (empty minutes filled)."""
        now = int(self.clock() // 60)
        with self._lock:
            known = {b.minute: b for b in self._buckets.get(store, ())}
            return [
                RateBucket(m, known[m].requests, known[m].rate_limited, known[m].min_remaining)
                if m in known
                else RateBucket(m)
                for m in range(now - minutes + 1, now + 1)
            ]

    def stores(self) -> list[str]:
        """Stores seen so far."""
        with self._lock:
            return sorted(self._buckets)


class _StateCollector(Collector):
    def __init__(self, source: StateSource) -> None:
        self._source = source

    def _read(self, name: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Exception:
            # A scrape must not fail because the database hiccupped: the gauge is just absent.
            logger.warning(
                "metrics source %s failed", name, exc_info=True, extra={"action": "metrics_source"}
            )
            return None

    def collect(self) -> Iterator[Metric]:
        if self._source.inbox_counts is not None:
            counts = self._read("inbox", self._source.inbox_counts)
            if counts is not None:
                depth = GaugeMetricFamily(
                    "sallakit_webhook_inbox_deliveries",
                    "Webhook deliveries in the inbox by status.",
                    labels=["status"],
                )
                for status in sorted(counts):
                    depth.add_metric([status], counts[status])
                yield depth
                yield GaugeMetricFamily(
                    "sallakit_webhook_inbox_depth",
                    "Deliveries waiting to be processed (pending, processing or failed "
                    "awaiting a retry).",
                    value=sum(counts.get(s, 0) for s in ("pending", "processing", "failed")),
                )
                yield GaugeMetricFamily(
                    "sallakit_webhook_dead_letters",
                    "Deliveries whose handlers gave up (replay them from the dashboard).",
                    value=counts.get("dead", 0),
                )
        if self._source.sync_stats is not None:
            stats = self._read("sync", self._source.sync_stats)
            if stats is not None:
                lag = GaugeMetricFamily(
                    "sallakit_sync_lag_seconds",
                    "How far a store's resource is behind its sync schedule: seconds since its "
                    "last successful sync beyond its interval (0 when on time).",
                    labels=["store", "resource"],
                )
                duration = GaugeMetricFamily(
                    "sallakit_sync_duration_seconds",
                    "Wall time of the last sync run of a store's resource.",
                    labels=["store", "resource"],
                )
                success = GaugeMetricFamily(
                    "sallakit_sync_last_success_timestamp_seconds",
                    "When a store's resource last synced successfully (epoch seconds; "
                    "time() minus it is the mirror's age).",
                    labels=["store", "resource"],
                )
                for stat in stats:
                    labels = [str(stat.store_id), stat.resource]
                    if stat.lag_seconds is not None:
                        lag.add_metric(labels, stat.lag_seconds)
                    if stat.last_duration_seconds is not None:
                        duration.add_metric(labels, stat.last_duration_seconds)
                    if stat.last_success_at is not None:
                        success.add_metric(labels, stat.last_success_at)
                yield lag
                yield duration
                yield success


class ServiceMetrics:
    """The service's metrics registry, its counters and the rate history.

    Args:
        source: database reads made at scrape time.
        clock: epoch seconds for the rate history.
    """

    def __init__(
        self, source: StateSource | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = CollectorRegistry()
        self.source = source or StateSource()
        self.rate_history = RateHistory(clock=clock)
        self.requests = Counter(
            "sallakit_salla_requests",
            "Request attempts to Salla by store and HTTP status (connection_error: no response).",
            ["store", "status"],
            registry=self.registry,
        )
        self.retries = Counter(
            "sallakit_salla_retries",
            "Request attempts to Salla that were retries of an earlier attempt.",
            ["store"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "sallakit_salla_rate_limited",
            "429 answers from Salla.",
            ["store"],
            registry=self.registry,
        )
        self.remaining = Gauge(
            "sallakit_salla_rate_limit_remaining",
            "Requests left in the store's rate-limit bucket, as last reported by Salla.",
            ["store"],
            registry=self.registry,
        )
        self.refreshes = Counter(
            "sallakit_token_refreshes",
            "Token refreshes by store and outcome (refreshed, superseded, reinstall_required, "
            "interrupted, failed, not_sent).",
            ["store", "outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "sallakit_webhook_deliveries_processed",
            "Webhook deliveries processed by this process's worker, by outcome (done; failed: "
            "retried later; dead: handlers gave up).",
            ["outcome"],
            registry=self.registry,
        )
        self.sync_runs = Counter(
            "sallakit_sync_runs",
            "Sync runs finished in this process, by store and status (succeeded, failed).",
            ["store", "status"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(self.source))

    def observe_attempt(self, attempt: RequestAttempt) -> None:
        """Count one request attempt to Salla (the clients' ``on_attempt`` hook)."""
        store = attempt.store
        status = attempt.status
        label = str(status) if status else "connection_error"
        self.requests.labels(store=store, status=label).inc()
        if attempt.is_retry:
            self.retries.labels(store=store).inc()
        if status == 429:
            self.rate_limited.labels(store=store).inc()
        if attempt.rate_limit_remaining is not None:
            self.remaining.labels(store=store).set(attempt.rate_limit_remaining)
        self.rate_history.record(store, status, attempt.rate_limit_remaining)

    def observe_refresh(self, outcome: RefreshOutcome) -> None:
        """Count one refresh outcome (the vault's ``on_refresh`` hook)."""
        self.refreshes.labels(store=str(outcome.store_id), outcome=outcome.outcome).inc()

    def observe_delivery(self, delivery: StoredDelivery, outcome: Outcome) -> None:
        """Count one processed webhook delivery (the worker's ``on_outcome`` hook)."""
        self.deliveries.labels(outcome=outcome.status).inc()

    def observe_progress(self, progress: Progress) -> None:
        """Count finished sync runs (the mirror's progress reports; ``done`` ends a run)."""
        if progress.event == "done":
            self.sync_runs.labels(store=str(progress.store_id), status=progress.detail).inc()

    def instrument(
        self,
        *,
        vault: TokenVault | None = None,
        worker: Worker | None = None,
        mirror: Mirror | None = None,
    ) -> Callable[[], None]:
        """Register this registry's hooks on the service's parts; returns the function that
        removes them all.

        The vault's clients (and so the mirror's, which come from the vault) report their
        attempts; the vault its refreshes; the webhook worker its outcomes; the mirror its
        finished runs.
        """
        undo: list[Callable[[], None]] = []
        if vault is not None:
            undo.append(vault.on_refresh(self.observe_refresh))
            defaults = vault.client_defaults
            defaults["on_attempt"] = self.observe_attempt
            undo.append(lambda: defaults.pop("on_attempt", None))
        if worker is not None:
            undo.append(worker.on_outcome(self.observe_delivery))
        if mirror is not None:
            undo.append(mirror.on_progress(self.observe_progress))

        def detach() -> None:
            for step in reversed(undo):
                step()

        return detach

    def render(self) -> bytes:
        """The exposition text for ``GET /metrics``."""
        return generate_latest(self.registry)
