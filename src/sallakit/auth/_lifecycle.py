"""Lifecycle hooks: tell the application when a store needs its merchant's attention.

Events are emitted after the transaction that caused them committed, as a log record
(``action = "store_lifecycle"``) and to every registered callback. A callback that raises is
logged and never undoes the change (it happened) nor stops the other callbacks.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FAILURE_OUTCOMES",
    "LifecycleEvent",
    "LifecycleHooks",
    "LifecycleKind",
    "RefreshCallback",
    "RefreshOutcome",
]

logger = logging.getLogger(__name__)


class LifecycleKind(enum.StrEnum):
    """What happened to a store."""

    #: Salla answered invalid_grant: the merchant must reinstall the app.
    REINSTALL_REQUIRED = "reinstall_required"
    #: A refresh never committed: the operator's single retry decides (see docs).
    REFRESH_INTERRUPTED = "refresh_interrupted"
    #: The app was uninstalled, or an operator disconnected the store.
    UNINSTALLED = "uninstalled"
    #: A store that was reinstall-required, interrupted or uninstalled is active again.
    RECOVERED = "recovered"
    #: A pending install was bound to one of the app's accounts.
    CLAIMED = "claimed"
    #: A pending install was not claimed in time; its tokens were erased.
    PENDING_EXPIRED = "pending_expired"


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One lifecycle change of a store (never carries a token)."""

    store_id: int
    kind: LifecycleKind
    detail: str | None
    at: float


LifecycleCallback = Callable[[LifecycleEvent], object]


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """How one token refresh made by this process ended (never carries a token).

    Attributes:
        store_id: The store.
        outcome: ``refreshed`` (new tokens stored), ``superseded`` (newer tokens arrived
            meanwhile; the answer was dropped), ``reinstall_required`` (invalid_grant),
            ``interrupted`` (Salla's answer was lost: the token may be consumed), ``failed``
            (a definite refusal: nothing consumed) or ``not_sent`` (the refresh token never
            left this process).
        at: Epoch seconds (the vault's clock).
    """

    store_id: int
    outcome: str
    at: float


RefreshCallback = Callable[[RefreshOutcome], object]

#: The lease book's failure outcomes, as :attr:`RefreshOutcome.outcome` names them.
FAILURE_OUTCOMES = {
    "reinstall": "reinstall_required",
    "unknown": "interrupted",
    "failed": "failed",
    "connect_failed": "not_sent",
}


class LifecycleHooks:
    """The callbacks registered on a vault (thread-safe): lifecycle events and refresh
    outcomes."""

    def __init__(
        self,
        callbacks: Iterable[LifecycleCallback] = (),
        refresh_callbacks: Iterable[RefreshCallback] = (),
    ) -> None:
        self._guard = threading.Lock()
        self._callbacks: list[LifecycleCallback] = list(callbacks)
        self._refresh_callbacks: list[RefreshCallback] = list(refresh_callbacks)

    def _register(self, registry: list[Any], callback: Any) -> Callable[[], None]:
        with self._guard:
            registry.append(callback)

        def remove() -> None:
            with self._guard:
                if callback in registry:
                    registry.remove(callback)

        return remove

    def add(self, callback: LifecycleCallback) -> Callable[[], None]:
        """Register ``callback``; returns a function that unregisters it."""
        return self._register(self._callbacks, callback)

    def add_refresh(self, callback: RefreshCallback) -> Callable[[], None]:
        """Register a refresh-outcome ``callback``; returns a function that unregisters it."""
        return self._register(self._refresh_callbacks, callback)

    def emit(self, events: Iterable[LifecycleEvent]) -> None:
        """Log and deliver ``events`` (call only after their transaction committed)."""
        with self._guard:
            callbacks = list(self._callbacks)
        for event in events:
            logger.info(
                "store %s: %s",
                event.store_id,
                event.kind.value,
                extra={
                    "action": "store_lifecycle",
                    "store_id": event.store_id,
                    "lifecycle": event.kind.value,
                },
            )
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:
                    logger.exception(
                        "a lifecycle callback failed for store %s (%s)",
                        event.store_id,
                        event.kind.value,
                        extra={"action": "store_lifecycle_callback_failed"},
                    )

    def emit_refresh(self, outcome: RefreshOutcome) -> None:
        """Deliver a refresh's outcome (call only after its transaction committed)."""
        with self._guard:
            callbacks = list(self._refresh_callbacks)
        for callback in callbacks:
            try:
                callback(outcome)
            except Exception:
                # Observers (metrics) never undo nor fail a refresh that happened.
                logger.exception(
                    "a refresh callback failed for store %s (%s)",
                    outcome.store_id,
                    outcome.outcome,
                    extra={"action": "refresh_callback_failed"},
                )
