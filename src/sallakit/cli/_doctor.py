"""``sallakit doctor``: check a deployment's settings and state, one line per finding."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from sallakit._exceptions import ConfigurationError

__all__ = ["register", "run_doctor"]


def run_doctor(
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            envvar="SALLAKIT_SETTINGS_FILE",
            help="A settings file (KEY=value lines); default: .env when present.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", envvar="SALLAKIT_JSON", help="Print JSON.")
    ] = False,
) -> None:
    """Check settings, database, keys, webhooks and stores; print each finding and its fix.

    Exits 1 when any finding is a failure.
    """
    from sallakit._config import load_settings
    from sallakit._doctor import diagnose

    try:
        settings = load_settings(settings_file)
    except ConfigurationError as exc:
        typer.echo(f"FAIL  settings: {exc.message}", err=True)
        raise typer.Exit(1) from None
    findings = diagnose(settings, now=time.time())
    if as_json:
        typer.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            typer.echo(finding.line())
    failed = sum(f.level == "fail" for f in findings)
    if not as_json:
        warned = sum(f.level == "warn" for f in findings)
        typer.echo(f"\n{failed} failure(s), {warned} warning(s)")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``doctor`` command to the CLI."""
    app.command("doctor")(run_doctor)
