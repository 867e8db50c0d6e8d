"""``sallakit emulator``: run the Salla emulator as a local server.

It serves the accounts endpoints (``/oauth2/...``), the Merchant API (``/admin/v2``) and the control
API (``/_emulator/``) on one host, prints the app credentials and the seeded stores as JSON on
start (also served at ``GET /_emulator/state``), delivers webhooks in the background, and, with
``--state-file``, restores its state from that file on start and writes it back on exit.

With an existing ``--state-file``, the restored snapshot wins, except for the *behaviour* flags
given explicitly (on the command line or as environment variables): ``--strict-urls``,
``--quirks``, ``--auto-approve``, ``--list-cap``, ``--easy-mode``, ``--webhook-url``,
``--webhook-secret`` and ``--redirect-uri`` are applied on top of it. The *seeding* flags
(``--stores``, ``--plan``, ``--products``, ``--orders``, ``--customers``, ``--seed``,
``--client-id``, ``--client-secret``) describe a new emulator: given on the command line with an
existing state file they are refused with an error (their environment twins are ignored then).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from sallakit._exceptions import SallaError

if TYPE_CHECKING:
    from sallakit.emulator import Emulator

__all__ = ["register", "run_emulator"]

_ENV = "SALLAKIT_EMULATOR_"

SEEDING_FLAGS = (
    "stores",
    "plan",
    "products",
    "orders",
    "customers",
    "seed",
    "client_id",
    "client_secret",
)
"""Options that shape a new emulator: refused (command line) over an existing state file."""
SETTING_FLAGS = ("strict_urls", "quirks", "auto_approve", "list_cap")
"""Behaviour switches applied over a restored state when given explicitly."""
APP_FLAGS = ("easy_mode", "webhook_url", "webhook_secret", "redirect_uri")
"""Default-app options applied over a restored state when given explicitly."""


def run_emulator(
    host: Annotated[
        str, typer.Option(help="Interface to listen on.", envvar=f"{_ENV}HOST")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar=f"{_ENV}PORT")] = 8765,
    stores: Annotated[int, typer.Option(help="Stores to seed.", envvar=f"{_ENV}STORES", min=0)] = 1,
    plan: Annotated[
        str,
        typer.Option(
            help="Store plan: basic, plus, pro, special, or a number of requests per minute.",
            envvar=f"{_ENV}PLAN",
        ),
    ] = "pro",
    products: Annotated[
        int, typer.Option(help="Products per store.", envvar=f"{_ENV}PRODUCTS", min=0)
    ] = 500,
    orders: Annotated[
        int, typer.Option(help="Orders per store.", envvar=f"{_ENV}ORDERS", min=0)
    ] = 200,
    customers: Annotated[
        int, typer.Option(help="Customers per store.", envvar=f"{_ENV}CUSTOMERS", min=0)
    ] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.", envvar=f"{_ENV}SEED")] = 1,
    client_id: Annotated[
        str, typer.Option(help="The app's client id.", envvar=f"{_ENV}CLIENT_ID")
    ] = "emulator-client-id",
    client_secret: Annotated[
        str, typer.Option(help="The app's client secret.", envvar=f"{_ENV}CLIENT_SECRET")
    ] = "emulator-client-secret",
    webhook_secret: Annotated[
        str, typer.Option(help="The app's webhook secret.", envvar=f"{_ENV}WEBHOOK_SECRET")
    ] = "emulator-webhook-secret",
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Where the app receives app events.", envvar=f"{_ENV}WEBHOOK_URL"),
    ] = None,
    redirect_uri: Annotated[
        str,
        typer.Option(help="The app's registered redirect URI.", envvar=f"{_ENV}REDIRECT_URI"),
    ] = "http://127.0.0.1:8000/oauth/callback",
    easy_mode: Annotated[
        bool,
        typer.Option(
            help="Consent installs the app with app.store.authorize (Easy mode).",
            envvar=f"{_ENV}EASY_MODE",
        ),
    ] = False,
    auto_approve: Annotated[
        bool,
        typer.Option(
            help="/oauth2/auth redirects at once, without the consent page.",
            envvar=f"{_ENV}AUTO_APPROVE",
        ),
    ] = False,
    strict_urls: Annotated[
        bool,
        typer.Option(
            help="Refuse localhost, loopback and test. webhook URLs like Salla.",
            envvar=f"{_ENV}STRICT_URLS",
        ),
    ] = False,
    quirks: Annotated[
        bool,
        typer.Option(help="Reproduce Salla's type drift.", envvar=f"{_ENV}QUIRKS"),
    ] = False,
    list_cap: Annotated[
        int,
        typer.Option(
            help="List endpoints return no row past this many while pagination.total keeps "
            "the true count, as Salla reportedly does near 10000 (0: off).",
            envvar=f"{_ENV}LIST_CAP",
            min=0,
        ),
    ] = 0,
    state_file: Annotated[
        Path | None,
        typer.Option(
            help="Restore state from this snapshot on start (if it exists), save it on exit.",
            envvar=f"{_ENV}STATE_FILE",
        ),
    ] = None,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory POST /_emulator/snapshot may write into (default: only the "
            "--state-file path).",
            envvar=f"{_ENV}SNAPSHOT_DIR",
        ),
    ] = None,
) -> None:
    """Run a local Salla emulator (OAuth, Merchant API, webhooks)."""
    import uvicorn

    options = {
        "stores": stores,
        "plan": plan,
        "products": products,
        "orders": orders,
        "customers": customers,
        "seed": seed,
        "client_id": client_id,
        "client_secret": client_secret,
        "webhook_secret": webhook_secret,
        "webhook_url": webhook_url,
        "redirect_uri": redirect_uri,
        "easy_mode": easy_mode,
        "auto_approve": auto_approve,
        "strict_urls": strict_urls,
        "quirks": quirks,
        "list_cap": list_cap,
    }
    click_ctx = click.get_current_context(silent=True)
    given_cli: set[str] = set()
    given_any: set[str] = set()
    if click_ctx is not None:
        for name in options:
            source = click_ctx.get_parameter_source(name)
            if source is click.core.ParameterSource.COMMANDLINE:
                given_cli.add(name)
                given_any.add(name)
            elif source is click.core.ParameterSource.ENVIRONMENT:
                given_any.add(name)
    try:
        emulator = _build(state_file, explicit=given_any, on_command_line=given_cli, **options)
    except (ValueError, SallaError) as exc:
        # Bad flags (an unknown plan, an unreadable snapshot) are usage errors, not crashes.
        raise typer.BadParameter(str(exc)) from exc
    emulator.base_url = f"http://{host}:{port}"
    emulator.state_file = state_file
    emulator.snapshot_dir = snapshot_dir
    typer.echo(json.dumps(emulator.describe(), ensure_ascii=False))
    config = uvicorn.Config(emulator.app, host=host, port=port, log_level="warning")
    try:
        uvicorn.Server(config).run()
    finally:
        if state_file is not None:
            emulator.save(state_file)


def _build(
    state_file: Path | None,
    *,
    explicit: Collection[str] = (),
    on_command_line: Collection[str] = (),
    **options: Any,
) -> Emulator:
    """A new emulator from the flags, or the state file's with the explicit behaviour flags.

    Raises:
        ValueError: a seeding flag on the command line with an existing state file.
    """
    from sallakit.emulator import Emulator

    if state_file is not None and state_file.exists():
        conflicting = [name for name in SEEDING_FLAGS if name in on_command_line]
        if conflicting:
            flags = ", ".join("--" + name.replace("_", "-") for name in conflicting)
            raise ValueError(
                f"{flags} shape a new emulator, but {state_file} already holds one: drop "
                "the flag(s) or delete the state file"
            )
        emulator = Emulator.load(state_file)
        settings = emulator.settings
        for name in SETTING_FLAGS:
            if name in explicit:
                value = options[name]
                setattr(settings, name, value if name == "list_cap" else bool(value))
        app = emulator.default_app
        for name in APP_FLAGS:
            if name in explicit:
                setattr(app, name, options[name])
        return emulator
    # The server follows the wall clock (plus /_emulator/clock/advance).
    return Emulator(clock="real", **options)


def register(app: typer.Typer) -> None:
    """Add the ``emulator`` command to the CLI."""
    app.command("emulator")(run_emulator)
