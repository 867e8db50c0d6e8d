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

    def ready(self, dashboard_url: str, password: str) -> None:
        """The demo is live: where to look and how to log in."""
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


# ------------------------------------------------------------------------------ the scenario


async def _register_webhooks(salla: Any, url: str) -> list[str]:
    """Subscribe the store to the demo's events it offers, once (idempotent)."""
    offered = {e.event for e in await salla.webhooks.events() if e.event}
    registered = {(w.event, w.url) async for w in salla.webhooks.list()}
    added = []
    for event in DEMO_EVENTS:
        if event in offered and (event, url) not in registered:
            await salla.webhooks.subscribe(event=event, url=url, name=f"sallakit demo {event}")
            added.append(event)
    return added


def _settings_for(values: dict[str, str], emulator: Any) -> Any:
    from sallakit.settings import Settings

    app = emulator.default_app
    fields: dict[str, Any] = {
        name.removeprefix("SALLAKIT_").lower(): value for name, value in values.items()
    }
    return Settings(
        **fields,
        webhook_secret=app.webhook_secret,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )


def _make_emulator(options: DemoOptions, service_url: str) -> Any:
    from sallakit.emulator import Emulator

    snapshot = options.directory / "emulator.snapshot"
    if snapshot.exists():
        emulator = Emulator.load(snapshot)
    else:
        emulator = Emulator(
            clock="real",
            stores=1,
            plan="pro",
            products=options.products,
            orders=options.orders,
            customers=options.customers,
            seed=options.seed,
        )
    app = emulator.default_app
    app.easy_mode = True
    app.webhook_url = f"{service_url}/webhooks/salla"
    emulator.base_url = f"http://127.0.0.1:{options.emulator_port}"
    return emulator


def _apply_change(emulator: Any, store_id: int, kind: str, product: int | None, rng: Any) -> str:
    if kind == "order":
        order = emulator.place_order(store_id)
        return f"order {order['id']} placed"
    assert product is not None
    if kind == "stock":
        quantity = rng.randint(0, 40)
        emulator.set_stock(store_id, product, quantity)
        return f"product {product} stock set to {quantity}"
    emulator.delete_product(store_id, product)
    return f"product {product} deleted"


async def _settled(service: Any, emulator: Any, store_id: int) -> bool:
    """No webhook left to send or to process, no mark left to fetch, no run active."""
    import anyio

    if any(not d.done for d in emulator.state.queue):
        return False
    counts = await anyio.to_thread.run_sync(service.parts.inbox.inbox.counts)
    if any(counts.get(s, 0) for s in ("pending", "processing", "failed")):
        return False
    status = await anyio.to_thread.run_sync(service.mirror.status, store_id)
    return not status["dirty"] and not status["active_runs"]


async def run_demo(options: DemoOptions, reporter: DemoReporter) -> DemoSummary | None:
    """Run the demo; with ``options.once`` return the summary, else run until cancelled.

    Raises:
        ConfigurationError: a port is taken, the directory is unusable.
        TimeoutError: a step did not finish within ``options.timeout``.
    """
    import anyio
    import uvicorn

    from sallakit.server import create_app

    started = time.monotonic()
    service_url = f"http://127.0.0.1:{options.port}"
    emulator_url = f"http://127.0.0.1:{options.emulator_port}"
    values = demo_settings_file(
        options.directory, service_url=service_url, emulator_url=emulator_url
    )
    emulator = _make_emulator(options, service_url)
    settings = _settings_for(values, emulator)
    app = create_app(settings)
    service = app.state.service
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                emulator.app,
                host="127.0.0.1",
                port=options.emulator_port,
                log_level="error",
                lifespan="on",
            )
        ),
        uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=options.port, log_level="error", lifespan="on"
            )
        ),
    ]
    summary: DemoSummary | None = None
    rng = random.Random(options.seed)
    store_id = emulator.stores[0].id

    async with anyio.create_task_group() as tg:
        stopped: list[uvicorn.Server] = []

        async def serve(server: uvicorn.Server) -> None:
            try:
                await server.serve()
            finally:
                # One server stopped (Ctrl-C, a taken port): ask the others to stop too, and
                # end the scenario only once all have; cancelling a server instead would cut
                # its shutdown short (a traceback from its lifespan on Ctrl-C).
                stopped.append(server)
                for other in servers:
                    other.should_exit = True
                if len(stopped) == len(servers):
                    tg.cancel_scope.cancel()

        for server in servers:
            tg.start_soon(serve, server)
        try:
            await wait_for(
                lambda: all(s.started for s in servers), timeout=30, what="the servers to start"
            )
            summary = await _scenario(options, reporter, emulator, service, store_id, rng)
        finally:
            emulator.save(options.directory / "emulator.snapshot")
            for server in servers:
                server.should_exit = True
    if summary is not None:
        summary.seconds = time.monotonic() - started
    return summary


async def _scenario(
    options: DemoOptions,
    reporter: DemoReporter,
    emulator: Any,
    service: Any,
    store_id: int,
    rng: random.Random,
) -> DemoSummary | None:
    import anyio

    from sallakit.auth import StoreStatus

    vault = service.vault
    service_url = service.settings.public_url
    profile = emulator.store(store_id).profile

    def active() -> bool:
        return any(
            s.store_id == store_id and s.status == StoreStatus.ACTIVE for s in vault.list_stores()
        )

    # The install starts the store's backfill on its own: its progress is the full sync's.
    service.mirror.progress = reporter.sync_progress
    if not await anyio.to_thread.run_sync(active):
        reporter.step(f"Installing the app on «{profile.name}» (#{store_id}) in Easy mode")
        emulator.install_app(store_id)
    await wait_for(
        lambda: anyio.to_thread.run_sync(active),
        timeout=options.timeout,
        what="the app.store.authorize event to deliver the store's tokens",
    )
    reporter.step("Tokens received (app.store.authorize) and stored encrypted")
    async with vault.async_client(store_id, base_url=service.settings.api_base_url) as salla:
        added = await _register_webhooks(salla, f"{service_url}/webhooks/salla")
    reporter.step(f"Webhooks registered: {len(added)} new ({', '.join(added) or 'all in place'})")

    reporter.step("Full sync")
    run = await service.worker.wait(await service.worker.enqueue(store_id, kind="sync"))
    service.mirror.progress = None
    reporter.step(f"Full sync {run.status}: {_counts(service, store_id)}")

    products = sorted(emulator.store(store_id).data.products)
    if options.once:
        changes = []
        for kind, product in mutation_plan(options.changes, product_ids=products, rng=rng):
            changes.append(_apply_change(emulator, store_id, kind, product, rng))
            reporter.step(changes[-1])
        await wait_for(
            lambda: _settled(service, emulator, store_id),
            timeout=options.timeout,
            what="the webhooks to be processed and the mirror to catch up",
            interval=0.5,
        )
        reporter.step("Reconciling and auditing")
        final = await service.worker.wait(await service.worker.enqueue(store_id, kind="sync"))
        counts = await anyio.to_thread.run_sync(service.parts.inbox.inbox.counts)
        return DemoSummary(
            store={"id": store_id, "name": profile.name, "plan": profile.plan},
            mirrored=_counts(service, store_id),
            webhooks={"received": sum(counts.values()), **counts},
            audit=final.audit or {"ok": False, "error": final.error},
            changes=changes,
            dashboard=f"{service_url}/dashboard/",
        )
    reporter.ready(f"{service_url}/dashboard/", service.settings.admin_password.get_secret_value())
    while True:
        await anyio.sleep(options.interval)
        products = sorted(emulator.store(store_id).data.products)
        draw = rng.random()
        kind, product = "order", None
        if draw < 0.1 and len(products) > 1:
            kind, product = "delete", rng.choice(products)
        elif draw < 0.5 and products:
            kind, product = "stock", rng.choice(products)
        reporter.step(_apply_change(emulator, store_id, kind, product, rng))


def _counts(service: Any, store_id: int) -> dict[str, int]:
    status = service.mirror.status(store_id)
    return {name: int(info["rows"]) for name, info in status["resources"].items()}
