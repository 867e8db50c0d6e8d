"""``sallakit worker``: webhook handlers, the mirror's workflows and the token refresh, without
the web server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "run_worker_command"]


def run_worker_command(
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            envvar="SALLAKIT_SETTINGS_FILE",
            help="A settings file (KEY=value lines); default: .env when present.",
        ),
    ] = None,
    handlers: Annotated[
        str | None,
        typer.Option(
            "--handlers",
            envvar="SALLAKIT_WEBHOOK_HANDLERS",
            help="Comma-separated module:attribute of webhook Handlers to run.",
        ),
    ] = None,
) -> None:
    """Run the service's background work: webhook handlers, mirror workflows, token refresh.

    Start as many as the load needs, next to `sallakit serve` processes started with
    SALLAKIT_WORKER=external, on the same database. Stops on Ctrl-C or SIGTERM.
    """
    import anyio

    from sallakit._config import load_settings
    from sallakit._exceptions import SallaError
    from sallakit.server._worker import run_worker

    overrides = {"webhook_handlers": handlers} if handlers else {}
    try:
        settings = load_settings(settings_file, **overrides)
        typer.echo("sallakit worker running (Ctrl-C stops it)", err=True)
        anyio.run(run_worker, settings)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except SallaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command to the CLI."""
    from sallakit._extras import require_extra

    for extra in ("server", "mirror"):
        require_extra(extra, "sallakit worker")
    app.command("worker")(run_worker_command)
