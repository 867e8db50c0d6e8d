"""``sallakit serve``: the sallakit server (webhook receiver and its worker) under uvicorn."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "serve"]


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on.", envvar="SALLAKIT_HOST")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on.", envvar="SALLAKIT_PORT", min=0)
    ] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="SALLAKIT_DATABASE_URL", help="Database URL."),
    ] = None,
    handlers: Annotated[
        str | None,
        typer.Option(
            "--handlers",
            envvar="SALLAKIT_WEBHOOK_HANDLERS",
            help="Comma-separated module:attribute of webhook Handlers to run.",
        ),
    ] = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            envvar="SALLAKIT_SETTINGS_FILE",
            help="A settings file (KEY=value lines); default: .env when present.",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level.", envvar="SALLAKIT_LOG_LEVEL")
    ] = "warning",
) -> None:
    """Run the sallakit service: webhooks, OAuth callback, dashboard, API, metrics.

    Every app and store event is verified with SALLAKIT_WEBHOOK_SECRET, stored in the database
    (SALLAKIT_DATABASE_URL) before the 200, and run through the handlers by the worker in this
    process (or by `sallakit worker` processes with SALLAKIT_WORKER=external). The dashboard is
    at /dashboard/ behind a login, the JSON API under /api, health at /healthz and /readyz,
    Prometheus metrics at /metrics. Settings are checked at start, one line per problem.
    """
    import uvicorn
    from rich.console import Console

    from sallakit._config import load_settings, settings_problems
    from sallakit._exceptions import SallaError
    from sallakit.server import create_app

    overrides: dict[str, Any] = {"database_url": database_url, "webhook_handlers": handlers}
    try:
        settings = load_settings(
            settings_file, **{k: v for k, v in overrides.items() if v is not None}
        )
        for problem in settings_problems(settings):
            if problem.severity == "warning":
                Console(stderr=True, soft_wrap=True).print(
                    f"[yellow]warning:[/yellow] {html.escape(problem.line(), quote=False)}",
                    highlight=False,
                )
        app = create_app(settings)
    except SallaError as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"[red]error:[/red] {html.escape(exc.message, quote=False)}", highlight=False
        )
        raise typer.Exit(code=1) from exc
    typer.echo(f"sallakit serving on http://{host}:{port} (webhooks: POST /webhooks/salla)")
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
    uvicorn.Server(config).run()


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the CLI."""
    from sallakit._extras import require_extra

    require_extra("server", "sallakit serve")
    app.command("serve")(serve)
