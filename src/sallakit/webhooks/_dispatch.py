"""Handlers and the worker that runs them on stored deliveries.

:class:`Handlers` maps event patterns (``"order.created"``, ``"order.*"``, ``"*"``) to sync or
async callables. :class:`Worker` claims due deliveries from the inbox under a lease, runs every
matching handler that has not yet succeeded on that delivery, records each success, and then
marks the delivery done, failed (retried later with exponential backoff) or dead. A handler that
wrote through :attr:`Event.connection` has its success recorded in that transaction; the others'
successes are recorded with the batch's outcomes (one write transaction per batch, which keeps
the worker from crowding the receiver's commits out of SQLite's single writer).

Guarantees:

* A handler that succeeded on a delivery is never run on it again (replays included, unless
  asked): its success record is keyed by (delivery, handler name).
* A handler that writes through :attr:`Event.connection` gets exactly-once effects: its writes
  and its success record commit in one transaction, and a second run that races it (a lease
  that expired under a slow handler) is rolled back by the record's unique key.
* Effects outside the database (an email, an API call) are at-least-once: a crash between the
  effect and the commit of its success record (the batch's outcomes) runs the handler again.
  Pass :attr:`Event.idempotency_key` to the other system so it can drop the repeat.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from sallakit._exceptions import ConfigurationError, SallaError
from sallakit.webhooks._core import RetryPolicy, matches, parse_envelope, validate_pattern
from sallakit.webhooks._events import typed_data

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from sallakit.webhooks._inbox import HandlerRun, Inbox, StoredDelivery

from sallakit.webhooks._inbox import Outcome

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "Event",
    "Handler",
    "HandlerSpec",
    "Handlers",
    "OutcomeCallback",
    "Worker",
]

logger = logging.getLogger(__name__)

#: How long a claimed delivery belongs to its worker before another may take it over. The
#: worker renews the lease while handlers run, so this bounds only how long a crashed worker's
#: deliveries wait before they are retried.
DEFAULT_LEASE_SECONDS = 60.0


@dataclass(eq=False)
class Event:
    """What a handler receives: one stored delivery, parsed.

    Attributes:
        name: the event (``order.created``).
        store_id: the merchant (store) id.
        created_at: the envelope's ``created_at`` text, as Salla sent it.
        data: the matching :mod:`sallakit.models` object for resource events (``Order``,
            ``Product``, ``Customer``, ``Shipment``, ``Category``, ``Brand``), else the dict.
        payload: the whole envelope as a dict.
        delivery_id: the inbox row.
        idempotency_key: store, event and body digest: the same for every copy of one event;
            give it to outside systems to make their effects idempotent.
        attempt: 1 for the first run, 2 for the first retry...
        handler: the name the running handler is registered under.
    """

    name: str
    store_id: int
    created_at: str | None
    data: Any
    payload: dict[str, Any] = field(repr=False)
    delivery_id: int
    idempotency_key: str
    attempt: int
    handler: str
    _run: HandlerRun | None = field(default=None, repr=False)

    @property
    def connection(self) -> Connection:
        """A SQLAlchemy connection in a write transaction that commits with this handler's
        success record (begun on first use; exactly-once effects for what it writes).

        Use it from sync handlers (they run in a worker thread): beginning the transaction may
        wait for the database's write lock. On SQLite the lock is held until the handler
        returns, so do the slow work first and write last.

        Raises:
            ConfigurationError: the inbox has no database (the in-memory twin).
        """
        if self._run is None:
            raise ConfigurationError("this event was not delivered by a worker")
        return self._run.connection


Handler = Callable[[Event], Awaitable[None] | None]

OutcomeCallback = Callable[["StoredDelivery", Outcome], object]
"""Told each processed delivery and its recorded outcome (see :meth:`Worker.on_outcome`)."""


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """A registered handler: pattern, stable name (its success-record key) and callable."""

    pattern: str
    name: str
    func: Handler
    is_async: bool


def _is_async(func: Callable[..., Any]) -> bool:
    while hasattr(func, "func") and not inspect.isfunction(func):  # functools.partial
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - a class instance with async __call__
    )


class Handlers:
    """Event handlers by pattern.

    Example::

        handlers = Handlers()

        @handlers.on("order.created")
        def remember(event: Event) -> None:
            event.connection.execute(...)  # commits with the handler's success record
    """

    def __init__(self) -> None:
        self._specs: list[HandlerSpec] = []

    def __repr__(self) -> str:
        return f"Handlers({[(s.pattern, s.name) for s in self._specs]!r})"

    def __len__(self) -> int:
        return len(self._specs)

    def on(self, pattern: str, *, name: str | None = None) -> Callable[[Handler], Handler]:
        """Register the decorated function for ``pattern`` (an event, ``prefix.*`` or ``*``).

        Args:
            pattern: which events.
            name: the handler's stable name (default ``module.qualname``). Success records are
                keyed by it: renaming a handler makes it run again on replayed deliveries.
        """

        def decorate(func: Handler) -> Handler:
            self.add(pattern, func, name=name)
            return func

        return decorate

    def add(self, pattern: str, func: Handler, *, name: str | None = None) -> HandlerSpec:
        """Register ``func`` for ``pattern`` (see :meth:`on`).

        Raises:
            ConfigurationError: a bad pattern, a name already taken, or not a callable.
        """
        validate_pattern(pattern)
        if not callable(func):
            raise ConfigurationError(f"handler for {pattern!r} is not callable")
        if name is None:
            module = getattr(func, "__module__", None) or "handler"
            qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
            name = f"{module}.{qualname}"
        if not name or len(name) > 255:
            raise ConfigurationError("a handler name must have 1 to 255 characters")
        if any(s.name == name for s in self._specs):
            raise ConfigurationError(
                f"a handler named {name!r} is already registered: pass name= to tell them apart"
            )
        spec = HandlerSpec(pattern, name, func, _is_async(func))
        self._specs.append(spec)
        return spec

    def include(self, other: Handlers) -> None:
        """Register every handler of ``other`` here too (same names)."""
        for spec in other._specs:
            self.add(spec.pattern, spec.func, name=spec.name)

    def for_event(self, event: str) -> list[HandlerSpec]:
        """The handlers of an event, in registration order."""
        return [s for s in self._specs if matches(s.pattern, event)]


def _owner_id() -> str:
    host = socket.gethostname()[:32]
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"


def _describe(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, SallaError) else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Worker:
    """Runs handlers on the inbox's due deliveries.

    Args:
        inbox: where deliveries are claimed from.
        handlers: what runs.
        retry: backoff and dead-letter policy.
        lease_seconds: how long a claim lasts before another worker may take it over (renewed
            while handlers run).
        batch_size: deliveries claimed at once.
        concurrency: deliveries processed at once (a delivery's handlers run one after the
            other).
        poll_interval: seconds between looks at the inbox when idle (a receiver in the same
            process wakes the worker).
        coalesce: seconds a woken worker waits for more deliveries before claiming.
        clock: epoch seconds.
    """

    def __init__(
        self,
        inbox: Inbox,
        handlers: Handlers,
        *,
        retry: RetryPolicy | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        batch_size: int = 32,
        concurrency: int = 8,
        poll_interval: float = 0.5,
        coalesce: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lease_seconds <= 0 or batch_size < 1 or concurrency < 1 or poll_interval <= 0:
            raise ConfigurationError(
                "lease_seconds and poll_interval must be positive, batch_size and concurrency "
                "at least 1"
            )
        self.inbox = inbox
        self.handlers = handlers
        self.retry = retry or RetryPolicy()
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.coalesce = coalesce
        self.clock = clock
        self.owner = _owner_id()
        self._in_flight: set[int] = set()
        self._wakeup: anyio.Event | None = None
        self._observers: list[OutcomeCallback] = []

    def __repr__(self) -> str:
        return f"Worker(owner={self.owner!r}, handlers={len(self.handlers)})"

    def on_outcome(self, callback: OutcomeCallback) -> Callable[[], None]:
        """Call ``callback(delivery, outcome)`` for every processed delivery once its outcome
        (done, failed with its next attempt, or dead) is recorded: the hook of metrics. It runs
        on the worker's event loop and must not block; returns an unregister function."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def wake(self) -> None:
        """Look at the inbox now (called by a receiver in the same event loop after a store)."""
        wakeup = self._wakeup
        if wakeup is None:
            return
        try:
            wakeup.set()
        except RuntimeError:
            # The worker runs in another event loop than the receiver: it will find the
            # delivery at its next poll.
            return

    async def run(self) -> None:
        """Process deliveries until cancelled (errors are logged, never fatal)."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._renew_leases)
            while True:
                self._wakeup = anyio.Event()
                try:
                    done = await self.run_once()
                except SallaError as exc:
                    logger.warning(
                        "webhook worker: %s",
                        exc.message,
                        extra={"action": "webhook_worker_error"},
                    )
                    done = 0
                if done:
                    continue
                with anyio.move_on_after(self.poll_interval):
                    await self._wakeup.wait()
                # Woken by a receiver: let a burst accumulate a little, so one claim takes many
                # deliveries instead of one transaction per delivery competing with ingestion.
                await anyio.sleep(self.coalesce)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, process it and record every outcome in one
        transaction; return how many were claimed.

        Nothing is claimed while processing is paused.
        """
        if await anyio.to_thread.run_sync(self.inbox.is_paused):
            return 0
        claimed: list[StoredDelivery] = await anyio.to_thread.run_sync(
            lambda: self.inbox.claim(
                owner=self.owner,
                limit=self.batch_size,
                lease_seconds=self.lease_seconds,
                now=self.clock(),
            )
        )
        if not claimed:
            return 0
        limiter = anyio.CapacityLimiter(self.concurrency)
        outcomes: dict[int, Outcome] = {}
        # Handlers that succeeded without a transaction of their own, by delivery: recorded
        # with the outcomes, also when the batch is interrupted.
        succeeded: dict[int, list[str]] = {d.id: [] for d in claimed}

        async def one(delivery: StoredDelivery) -> None:
            async with limiter:
                outcomes[delivery.id] = await self._outcome(delivery, succeeded[delivery.id])

        try:
            async with anyio.create_task_group() as tg:
                for delivery in claimed:
                    tg.start_soon(one, delivery)
        finally:
            # Also when cancelled (shutdown): unfinished deliveries are handed back at once
            # instead of waiting for their lease to expire; handlers that succeeded keep their
            # records.
            now = self.clock()
            for delivery in claimed:
                outcomes.setdefault(
                    delivery.id,
                    Outcome(
                        delivery.id,
                        "failed",
                        now,
                        "interrupted: the worker stopped",
                        tuple(succeeded[delivery.id]),
                    ),
                )
            with anyio.CancelScope(shield=True):
                await self._record(claimed, outcomes)
        return len(claimed)

    async def drain(self, *, rounds: int = 1000) -> int:
        """Process until nothing is due (for tests and one-shot jobs); return deliveries seen."""
        total = 0
        for _ in range(rounds):
            done = await self.run_once()
            if not done:
                return total
            total += done
        return total

    async def _renew_leases(self) -> None:
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            ids = sorted(self._in_flight)
            if not ids:
                continue
            until = self.clock() + self.lease_seconds
            try:
                await anyio.to_thread.run_sync(
                    functools.partial(self.inbox.renew, ids, owner=self.owner, lease_until=until)
                )
            except SallaError as exc:
                logger.warning(
                    "could not renew webhook leases: %s",
                    exc.message,
                    extra={"action": "webhook_lease_renew_failed"},
                )

    async def _outcome(self, delivery: StoredDelivery, succeeded: list[str]) -> Outcome:
        """Run the handlers of one claimed delivery; decide done, failed (when next) or dead.

        ``succeeded`` collects the handlers whose success the outcome records.
        """
        self._in_flight.add(delivery.id)
        try:
            errors = await self._run_handlers(delivery, succeeded)
        finally:
            self._in_flight.discard(delivery.id)
        now = self.clock()
        done = tuple(succeeded)
        if not errors:
            return Outcome(delivery.id, "done", now, handlers_succeeded=done)
        error = "; ".join(errors)
        if self.retry.is_dead(delivery.attempts):
            return Outcome(delivery.id, "dead", now, error, done)
        next_at = now + self.retry.delay(delivery.attempts)
        return Outcome(delivery.id, "failed", next_at, error, done)

    async def _record(self, claimed: list[StoredDelivery], outcomes: Mapping[int, Outcome]) -> None:
        try:
            kept = await anyio.to_thread.run_sync(
                lambda: self.inbox.finish_many(
                    [outcomes[d.id] for d in claimed], owner=self.owner, now=self.clock()
                )
            )
        except SallaError as exc:
            # The leases will expire and the deliveries will be claimed again; succeeded
            # handlers are recorded, so only the unfinished ones run again.
            logger.warning(
                "could not record %s webhook outcomes: %s",
                len(claimed),
                exc.message,
                extra={"action": "webhook_finish_failed"},
            )
            return
        for delivery in claimed:
            outcome = outcomes[delivery.id]
            if delivery.id in kept:
                self._observe(delivery, outcome)
            status = outcome.status if delivery.id in kept else f"{outcome.status} (lease lost)"
            log = logger.info if outcome.status == "done" else logger.warning
            log(
                "webhook delivery %s (%s, store %s) %s%s",
                delivery.id,
                delivery.event,
                delivery.store_id,
                status,
                f": {outcome.error}" if outcome.error else "",
                extra={
                    "action": "webhook_delivery_" + outcome.status,
                    "delivery_id": delivery.id,
                    "event": delivery.event,
                    "store_id": delivery.store_id,
                    "attempt": delivery.attempts,
                },
            )

    def _observe(self, delivery: StoredDelivery, outcome: Outcome) -> None:
        for callback in list(self._observers):
            try:
                callback(delivery, outcome)
            except Exception:
                # An observer (metrics) never changes what happened to a delivery.
                logger.exception(
                    "an on_outcome callback failed", extra={"action": "webhook_observer_failed"}
                )

    async def _run_handlers(self, delivery: StoredDelivery, succeeded: list[str]) -> list[str]:
        specs = [
            s
            for s in self.handlers.for_event(delivery.event)
            if s.name not in delivery.handlers_done
        ]
        if not specs:
            return []
        try:
            assert delivery.body is not None
            envelope = parse_envelope(delivery.body)
        except (SallaError, AssertionError) as exc:
            # Stored bodies were checked on the way in; this means the row was altered.
            return [f"unreadable stored body: {_describe(exc)}"]
        payload = {
            "event": envelope.event,
            "merchant": envelope.store_id,
            "created_at": envelope.created_at,
            "data": envelope.data,
        }
        data = typed_data(envelope.event, envelope.data)
        errors: list[str] = []
        for spec in specs:
            error = await self._run_one(
                spec, delivery, envelope.created_at, data, payload, succeeded
            )
            if error is not None:
                errors.append(f"{spec.name}: {error}")
        return errors

    async def _run_one(
        self,
        spec: HandlerSpec,
        delivery: StoredDelivery,
        created_at: str | None,
        data: Any,
        payload: dict[str, Any],
        succeeded: list[str],
    ) -> str | None:
        run = self.inbox.run_handler(delivery.id, spec.name)
        event = Event(
            name=delivery.event,
            store_id=delivery.store_id,
            created_at=created_at,
            data=data,
            payload=payload,
            delivery_id=delivery.id,
            idempotency_key=delivery.dedupe_key,
            attempt=delivery.attempts,
            handler=spec.name,
            _run=run,
        )
        try:
            if spec.is_async:
                await spec.func(event)  # type: ignore[misc]
            else:
                await anyio.to_thread.run_sync(spec.func, event)
            if not run.opened:
                # Nothing to commit with the success record: it goes with the delivery's
                # outcome, one transaction for the whole batch instead of one per run.
                succeeded.append(spec.name)
                return None
            recorded = await anyio.to_thread.run_sync(run.succeed, self.clock())
        except Exception as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(run.fail)
            logger.warning(
                "webhook handler %s failed on delivery %s (attempt %s): %s",
                spec.name,
                delivery.id,
                delivery.attempts,
                _describe(exc),
                extra={
                    "action": "webhook_handler_failed",
                    "handler": spec.name,
                    "delivery_id": delivery.id,
                },
            )
            return _describe(exc)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(run.fail)
            raise
        if not recorded:
            logger.info(
                "handler %s already succeeded on delivery %s elsewhere; this run rolled back",
                spec.name,
                delivery.id,
                extra={"action": "webhook_handler_raced", "handler": spec.name},
            )
        return None
