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

__all__ = ["LifecycleEvent", "LifecycleHooks", "LifecycleKind"]

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


class LifecycleHooks:
    """The callbacks registered on a vault (thread-safe)."""

    def __init__(self, callbacks: Iterable[LifecycleCallback] = ()) -> None:
        self._guard = threading.Lock()
        self._callbacks: list[LifecycleCallback] = list(callbacks)

    def add(self, callback: LifecycleCallback) -> Callable[[], None]:
        """Register ``callback``; returns a function that unregisters it."""
        with self._guard:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._guard:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

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
