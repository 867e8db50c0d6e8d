"""``sallakit demo``: the emulator and the service together, with progress bars."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "run_demo_command"]

_ENV = "SALLAKIT_DEMO_"


class _RichReporter:
    """Draws the demo's steps and the full sync's progress bars (one per resource)."""

    def __init__(self, console: Any, *, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.console = console
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("  {task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def step(self, message: str) -> None:
        if self.progress.live.is_started:
            self.progress.stop()
        self.console.print(f"[bold cyan]•[/] {message}", highlight=False)

    def sync_progress(self, report: Any) -> None:
        if not report.resource:
            return
        if not self.progress.live.is_started:
            self.progress.start()
        task = self.tasks.get(report.resource)
        if task is None:
            task = self.tasks[report.resource] = self.progress.add_task(
                report.resource, total=None, detail=""
            )
        # Per run: a reconcile after the backfill fetches only what changed.
        detail = f"{report.records} fetched, {report.requests} requests"
        if report.rate_limited:
            detail += f", {report.rate_limited} × 429"
        self.progress.update(
            task, completed=report.pages_done, total=report.pages_total, detail=detail
        )

    def ready(self, dashboard_url: str, password: str) -> None:
        self.console.print(
            f"\n[bold green]The demo is live.[/] Dashboard: [link={dashboard_url}]{dashboard_url}"
            f"[/link]\nLog in with the password [bold]{password}[/bold]. The emulated store "
            "keeps changing (orders, stock, deletions); watch the mirror follow. Ctrl-C stops.\n",
            highlight=False,
        )


def run_demo_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            envvar=f"{_ENV}DIR",
            help="Where the demo keeps its SQLite database, settings and emulator state "
            "(kept between runs); default: a new temporary directory.",
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            envvar=f"{_ENV}ONCE",
            help="Run the scenario once, print a JSON summary, exit 0 only if the audit passes.",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option(help="Port of the service.", envvar=f"{_ENV}PORT", min=1, max=65535)
    ] = 8000,
    emulator_port: Annotated[
        int,
        typer.Option(help="Port of the emulator.", envvar=f"{_ENV}EMULATOR_PORT", min=1, max=65535),
    ] = 8765,
    products: Annotated[
        int, typer.Option(help="Products in the store.", envvar=f"{_ENV}PRODUCTS", min=1)
    ] = 200,
    orders: Annotated[
        int, typer.Option(help="Orders in the store.", envvar=f"{_ENV}ORDERS", min=0)
    ] = 120,
    customers: Annotated[
        int, typer.Option(help="Customers in the store.", envvar=f"{_ENV}CUSTOMERS", min=0)
    ] = 100,
    changes: Annotated[
        int,
        typer.Option(help="Changes made by --once.", envvar=f"{_ENV}CHANGES", min=0, max=500),
    ] = 6,
    timeout: Annotated[
        float,
        typer.Option(help="Seconds a step may take.", envvar=f"{_ENV}TIMEOUT", min=1),
    ] = 120.0,
) -> None:
    """Run the whole thing on this machine: an emulated Salla store and the sallakit service.

    Starts the emulator with a seeded store and the service (dashboard, webhooks, mirror) on a
    SQLite file, installs the app in Easy mode, registers webhooks, runs the full sync with
    progress bars, then keeps the store changing so the mirror and the dashboard follow.
    """
    import anyio
    from rich.console import Console

    from sallakit._exceptions import SallaError
    from sallakit.server._demo import DemoOptions, run_demo

    console = Console(stderr=True)
    target = directory or Path(tempfile.mkdtemp(prefix="sallakit-demo-"))
    options = DemoOptions(
        directory=target,
        port=port,
        emulator_port=emulator_port,
        products=products,
        orders=orders,
        customers=customers,
        once=once,
        changes=changes,
        timeout=timeout,
    )
    console.print(f"[bold]sallakit demo[/] in {target}", highlight=False)
    reporter = _RichReporter(console, quiet=once)
    try:
        summary = anyio.run(run_demo, options, reporter)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except (SallaError, TimeoutError, OSError) as exc:
        message = exc.message if isinstance(exc, SallaError) else str(exc)
        console.print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(1) from None
    if summary is not None:
        typer.echo(summary.as_json())
        if not summary.passed:
            console.print("[red]the audit failed[/red]", highlight=False)
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the CLI."""
    from sallakit._extras import require_extra

    for extra in ("server", "emulator", "mirror"):
        require_extra(extra, "sallakit demo")
    app.command("demo")(run_demo_command)
