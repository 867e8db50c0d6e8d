"""``sallakit worker``: webhook handlers, the mirror's workflows and the token refresh, without
the web server; ``sallakit worker recover``: resume the runs of a worker that is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "run_recover_command", "run_worker_command"]

SettingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        envvar="SALLAKIT_SETTINGS_FILE",
        help="A settings file (KEY=value lines); default: .env when present.",
    ),
]

worker_app = typer.Typer(
    name="worker",
    invoke_without_command=True,
    no_args_is_help=False,
)


@worker_app.callback()
def run_worker_command(
    ctx: typer.Context,
    settings_file: SettingsOpt = None,
    handlers: Annotated[
        str | None,
        typer.Option(
            "--handlers",
            envvar="SALLAKIT_WEBHOOK_HANDLERS",
            help="Comma-separated module:attribute of webhook Handlers to run.",
        ),
    ] = None,
    executor_id: Annotated[
        str | None,
        typer.Option(
            "--executor-id",
            envvar="SALLAKIT_WORKER_ID",
            help="Stable id of this worker (DBOS executor id, e.g. the pod name): restarted "
            "with the same id it resumes the runs it left in flight.",
        ),
    ] = None,
) -> None:
    """Run the service's background work: webhook handlers, mirror workflows, token refresh.

    Start as many as the load needs, next to `sallakit serve` processes started with
    SALLAKIT_WORKER=external, on the same database, each with its own --executor-id. On SIGTERM
    (or Ctrl-C) it starts no new step, lets the running steps finish for up to
    SALLAKIT_SHUTDOWN_GRACE_SECONDS and exits 0; the runs it held resume when a worker with the
    same id starts, or anywhere after `sallakit worker recover --executor-id ID`.
    """
    if ctx.invoked_subcommand is not None:
        return
    import anyio

    from sallakit._config import load_settings
    from sallakit._exceptions import SallaError
    from sallakit.server._worker import run_worker_until_signalled

    overrides: dict[str, str] = {}
    if handlers:
        overrides["webhook_handlers"] = handlers
    if executor_id:
        overrides["worker_id"] = executor_id
    try:
        settings = load_settings(settings_file, **overrides)
        typer.echo(
            f"sallakit worker {settings.worker_id or 'local'} starting (Ctrl-C stops it)", err=True
        )
        name = settings.worker_id or "local"
        drained = anyio.run(
            run_worker_until_signalled,
            settings,
            # Orchestrators and tests may wait for this line before sending work.
            lambda: typer.echo(f"sallakit worker {name} ready", err=True),
        )
        typer.echo(
            "sallakit worker stopped: "
            + (
                "the running steps finished and were checkpointed"
                if drained
                else "steps still running after the grace period run again when their run resumes"
            ),
            err=True,
        )
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except SallaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@worker_app.command("recover")
def run_recover_command(
    executor_ids: Annotated[
        list[str],
        typer.Option(
            "--executor-id",
            help="The id of a worker that is gone for good (repeat for several).",
        ),
    ],
    settings_file: SettingsOpt = None,
) -> None:
    """Put the in-flight runs of dead workers back on the queue; live workers resume them from
    their last checkpoint. Prints one run id per line.

    Needed only for a worker that will not come back with the same id (a worker restarted with
    its id resumes its own runs). Run it with the same sallakit version as the workers.
    """
    import anyio

    from sallakit._config import load_settings
    from sallakit._exceptions import SallaError
    from sallakit.server._worker import recover_runs

    try:
        settings = load_settings(settings_file)
        recovered = anyio.run(recover_runs, settings, executor_ids)
    except SallaError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    for run_id in recovered:
        typer.echo(run_id)
    typer.echo(f"{len(recovered)} run(s) back on the queue", err=True)


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command group to the CLI."""
    from sallakit._extras import require_extra

    for extra in ("server", "mirror"):
        require_extra(extra, "sallakit worker")
    app.add_typer(worker_app)
