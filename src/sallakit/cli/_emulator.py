"""``sallakit emulator``: run the Salla emulator as a local server.

It serves the accounts endpoints (``/oauth2/...``), the Merchant API (``/admin/v2``) and the control
API (``/_emulator/``) on one host, prints the app credentials and the seeded stores as JSON on
start (also served at ``GET /_emulator/state``), delivers webhooks in the background, and, with
``--state-file``, restores its state from that file on start and writes it back on exit.

With an existing ``--state-file``, the restored snapshot wins, except for the *behaviour* flags
given explicitly (on the command line or as environment variables): ``--strict-urls``,
``--quirks``, ``--auto-approve``, ``--list-cap``, ``--webhook-retry-interval``, ``--easy-mode``,
``--webhook-url``, ``--webhook-secret`` and ``--redirect-uri`` are applied on top of it. The
*seeding* flags (``--stores``, ``--plan``, ``--products``, ``--orders``, ``--customers``,
``--seed``, ``--client-id``, ``--client-secret``) describe a new emulator: given on the command
line with an existing state file they are refused with an error (their environment twins are
ignored then).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
SETTING_FLAGS = ("strict_urls", "quirks", "auto_approve", "list_cap", "webhook_retry_interval")
"""Behaviour switches applied over a restored state when given explicitly."""
_NUMERIC_SETTINGS = ("list_cap", "webhook_retry_interval")
APP_FLAGS = ("easy_mode", "webhook_url", "webhook_secret", "redirect_uri")
"""Default-app options applied over a restored state when given explicitly."""


def run_emulator(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Interface to listen on.", envvar=f"{_ENV}HOST")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            help="Port to listen on (0: any free port).", envvar=f"{_ENV}PORT", min=0, max=65535
        ),
    ] = 8765,
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
    webhook_retry_interval: Annotated[
        float,
        typer.Option(
            help="Seconds between delivery attempts of a failed webhook (Salla: about 300).",
            envvar=f"{_ENV}WEBHOOK_RETRY_INTERVAL",
            min=0.0,
        ),
    ] = 300.0,
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

    _check_paths(state_file, snapshot_dir)

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
        "webhook_retry_interval": webhook_retry_interval,
    }
    given_cli: set[str] = set()
    given_any: set[str] = set()
    for name in options:
        # Typer vendors its own click: compare the source by name, not by identity.
        source = getattr(ctx.get_parameter_source(name), "name", None)
        if source == "COMMANDLINE":
            given_cli.add(name)
            given_any.add(name)
        elif source == "ENVIRONMENT":
            given_any.add(name)
    try:
        emulator = _build(state_file, explicit=given_any, on_command_line=given_cli, **options)
    except (ValueError, SallaError) as exc:
        # Bad flags (an unknown plan, an unreadable snapshot) are usage errors, not crashes.
        raise typer.BadParameter(str(exc)) from exc
    # Bind first: the banner is a promise that the server is reachable at that address (a busy
    # port must end in one error line, not in a banner followed by a traceback).
    listener = _listen(host, port)
    bound_port = listener.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    emulator.base_url = f"http://{shown_host}:{bound_port}"
    emulator.state_file = state_file
    emulator.snapshot_dir = snapshot_dir
    typer.echo(json.dumps(emulator.describe(), ensure_ascii=False))
    config = uvicorn.Config(emulator.app, log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
        if state_file is not None:
            emulator.save(state_file)


def _check_paths(state_file: Path | None, snapshot_dir: Path | None) -> None:
    """Refuse unusable paths before anything starts (one line, not a traceback)."""
    if state_file is not None:
        if state_file.is_dir():
            raise typer.BadParameter(
                f"{state_file} is a directory: give a file path", param_hint="'--state-file'"
            )
        if not state_file.parent.is_dir():
            raise typer.BadParameter(
                f"the directory of {state_file} does not exist", param_hint="'--state-file'"
            )
    if snapshot_dir is not None and not snapshot_dir.is_dir():
        raise typer.BadParameter(
            f"{snapshot_dir} is not a directory", param_hint="'--snapshot-dir'"
        )


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``.

    Raises:
        typer.BadParameter: the address cannot be resolved or bound (busy port, no permission).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise typer.BadParameter(
            f"cannot listen on {host}:{port}: {exc}", param_hint="'--host'"
        ) from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn writes a response's head and body separately; without TCP_NODELAY (inherited by
        # the accepted sockets) Nagle holds the body until the client's delayed ACK, adding
        # about 40 ms to every request on keep-alive connections.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise typer.BadParameter(
            f"cannot listen on {host}:{port}: {reason}", param_hint="'--port'"
        ) from exc
    sock.set_inheritable(True)
    return sock


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
                setattr(settings, name, value if name in _NUMERIC_SETTINGS else bool(value))
        app = emulator.default_app
        for name in APP_FLAGS:
            if name in explicit:
                setattr(app, name, options[name])
        return emulator
    # The server follows the wall clock (plus /_emulator/clock/advance).
    return Emulator(clock="real", **options)


def register(app: typer.Typer) -> None:
    """Add the ``emulator`` command to the CLI."""
    from sallakit._extras import require_extra

    require_extra("emulator", "sallakit emulator")
    app.command("emulator")(run_emulator)
