"""``sallakit demo``: the emulator with a seeded store and the service, wired together.

One process runs two servers on loopback: the Salla emulator (its real clock, Easy mode, webhooks
sent to the service) and the sallakit service on a SQLite file in the demo directory. The
scenario then does what a merchant and Salla would: install the app (tokens arrive by
``app.store.authorize``), register the store's webhooks, run the full sync, and keep the store
changing (new orders, stock changes, a deleted product) so the mirror and the dashboard follow.

With ``once`` the scenario makes a fixed set of changes, waits until every webhook is processed
and the mirror has caught up, audits, and returns a :class:`DemoSummary`.

The library reports through :class:`DemoReporter` callbacks; only ``cli/`` prints.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sallakit._exceptions import ConfigurationError

__all__ = [
    "DEMO_EVENTS",
    "DemoOptions",
    "DemoReporter",
    "DemoSummary",
    "demo_settings_file",
    "mutation_plan",
]

#: Store events the demo subscribes to: what the mirror needs to follow the store.
DEMO_EVENTS = (
    "order.created",
    "order.updated",
    "order.status.updated",
    "order.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
    "product.quantity.low",
    "customer.created",
    "customer.updated",
)

SETTINGS_FILE = "sallakit-demo.env"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``sallakit demo`` was asked for."""

    directory: Path
    port: int = 8000
    emulator_port: int = 8765
    products: int = 200
    orders: int = 120
    customers: int = 100
    seed: int = 1
    once: bool = False
    changes: int = 6
    """Changes made by ``once`` (live mode makes one every ``interval`` seconds)."""
    interval: float = 4.0
    timeout: float = 120.0


@dataclass
class DemoSummary:
    """The outcome of ``sallakit demo --once`` (printed as JSON)."""

    store: dict[str, Any]
    mirrored: dict[str, int]
    webhooks: dict[str, int]
    audit: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    dashboard: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether the final audit passed."""
        return bool(self.audit.get("ok"))

    def as_json(self) -> str:
        """The summary as one JSON document."""
        return json.dumps(
            {
                "store": self.store,
                "mirrored": self.mirrored,
                "webhooks": self.webhooks,
                "audit": self.audit,
                "changes": self.changes,
                "dashboard": self.dashboard,
                "seconds": round(self.seconds, 1),
            },
            ensure_ascii=False,
            indent=2,
        )


class DemoReporter(Protocol):
    """What the demo tells its user (the CLI draws it with Rich)."""

    def step(self, message: str) -> None:
        """A step started or finished."""
        ...

    def sync_progress(self, progress: Any) -> None:
        """A :class:`sallakit.mirror.Progress` report of the full sync."""
        ...


def demo_settings_file(directory: Path, *, service_url: str, emulator_url: str) -> dict[str, str]:
    """The demo's settings, written once to ``directory/sallakit-demo.env`` and reused.

    Secrets (token key, session secret, admin password) are generated on the first run, so a
    demo directory given again keeps its database readable and its login.

    Raises:
        ConfigurationError: the directory cannot be created or written.
    """
    from sallakit.auth import generate_key

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the demo directory {directory}: {exc}") from exc
    path = directory / SETTINGS_FILE
    kept: dict[str, str] = {}
    if path.exists():
        for line in path.read_text("utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip():
                kept[name.strip()] = value.strip()
    values = {
        "SALLAKIT_TOKEN_KEYS": kept.get("SALLAKIT_TOKEN_KEYS") or generate_key(),
        "SALLAKIT_SESSION_SECRET": kept.get("SALLAKIT_SESSION_SECRET") or secrets.token_urlsafe(32),
        "SALLAKIT_ADMIN_PASSWORD": kept.get("SALLAKIT_ADMIN_PASSWORD")
        or "demo-" + secrets.token_urlsafe(9),
        "SALLAKIT_DATABASE_URL": f"sqlite:///{directory.resolve() / 'sallakit.db'}",
        "SALLAKIT_PUBLIC_URL": service_url,
        "SALLAKIT_ACCOUNTS_URL": emulator_url,
        "SALLAKIT_API_BASE_URL": f"{emulator_url}/admin/v2",
    }
    try:
        path.write_text(
            "# sallakit demo settings (generated; the secrets are kept across runs)\n"
            + "".join(f"{k}={v}\n" for k, v in values.items()),
            "utf-8",
        )
        path.chmod(0o600)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc}") from exc
    return values


def mutation_plan(
    count: int,
    *,
    product_ids: list[int],
    rng: random.Random,
) -> list[tuple[str, int | None]]:
    """The changes the demo makes, in order: ``(kind, product id or None)`` (pure).

    New orders dominate, stock changes follow, and exactly one product is deleted once the plan
    has at least three changes, as a merchant's day would have.

    Raises:
        ValueError: a negative count, or product changes planned for a store without products.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    kinds: list[str] = []
    for i in range(count):
        kinds.append(("order", "stock", "order")[i % 3])
    if count >= 3:
        kinds[2] = "delete"
    needs_products = any(k in ("stock", "delete") for k in kinds)
    if needs_products and not product_ids:
        raise ValueError("the store has no product to change")
    pool = list(product_ids)
    plan: list[tuple[str, int | None]] = []
    for kind in kinds:
        if kind == "order":
            plan.append(("order", None))
        else:
            product = rng.choice(pool)
            if kind == "delete":
                pool.remove(product)
                if not pool:
                    pool = [product]  # nothing left to change: stock of the deleted one is moot
            plan.append((kind, product))
    return plan


async def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy.

    Raises:
        TimeoutError: naming ``what`` after ``timeout`` seconds.
    """
    import inspect

    import anyio

    deadline = clock() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if clock() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await anyio.sleep(interval)
