"""``sallakit stores``, ``sallakit connect`` and ``sallakit keys``: connected stores and tokens.

Settings come from the environment (``SALLAKIT_*``) and every option has its env twin; tokens
are never printed.
"""

from __future__ import annotations

import html
import json
import math
import secrets
import webbrowser
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from sallakit._exceptions import ConfigurationError, SallaError
from sallakit.auth import (
    AsyncOAuthClient,
    CustomMode,
    OAuthClient,
    StoredStore,
    TokenVault,
    generate_key,
    run_loopback_connect,
)
from sallakit.auth._records import sane_epoch
from sallakit.auth._store import MAX_STORE_ID
from sallakit.settings import Settings

__all__ = ["register", "run_connect"]

# The same callback the emulator registers by default, and not the emulator's own port (8765),
# so ``sallakit emulator`` and ``sallakit connect`` work together out of the box.
DEFAULT_CONNECT_PORT = 8000
DEFAULT_CONNECT_PATH = "/oauth/callback"

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="SALLAKIT_DATABASE_URL", help="Database URL."),
]
KeysOpt = Annotated[
    str | None,
    typer.Option(
        "--token-keys",
        envvar="SALLAKIT_TOKEN_KEYS",
        help="Comma-separated Fernet keys, newest first.",
        show_default=False,
    ),
]
AccountsOpt = Annotated[
    str | None,
    typer.Option("--accounts-url", envvar="SALLAKIT_ACCOUNTS_URL", help="Salla accounts server."),
]
ClientIdOpt = Annotated[
    str | None, typer.Option("--client-id", envvar="SALLAKIT_CLIENT_ID", help="OAuth client id.")
]
ClientSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--client-secret",
        envvar="SALLAKIT_CLIENT_SECRET",
        help="OAuth client secret.",
        show_default=False,
    ),
]
StoreIdArg = Annotated[
    int, typer.Argument(help="Store (merchant) id.", min=1, max=MAX_STORE_ID, show_default=False)
]
JsonOpt = Annotated[bool, typer.Option("--json", envvar="SALLAKIT_JSON", help="Print JSON.")]


def _finite(name: str, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{name} must be a finite number of seconds")
    return value


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _vault(
    settings: Settings,
    *,
    with_oauth: bool = False,
    lease_timeout: float | None = None,
    read_only: bool = False,
) -> TokenVault:
    """The vault for a command; ``read_only`` commands never create tables (that would take
    the database's write lock, and fail on a read-only file)."""
    oauth = None
    if with_oauth:
        oauth = OAuthClient(
            settings.client_id or "",
            settings.client_secret.get_secret_value() if settings.client_secret else "",
            accounts_url=settings.accounts_url,
        )
    vault = TokenVault.from_url(
        settings.database_url,
        settings.token_key_list(),
        oauth=oauth,
        refresh_margin=settings.refresh_margin_seconds,
        create_tables=not read_only,
        **({} if lease_timeout is None else {"lease_timeout": lease_timeout}),
    )
    return vault


def _fail(console: Console, exc: SallaError) -> typer.Exit:
    console.print(f"[red]error:[/red] {html.escape(exc.message, quote=False)}", highlight=False)
    return typer.Exit(code=1)


def _when(epoch: float | None) -> str:
    sane = sane_epoch(epoch)
    if sane is None:
        return "-" if epoch is None else "?"
    return datetime.fromtimestamp(sane, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _expiry(record: StoredStore, now: float) -> str:
    if record.expires_at is None or not record.has_tokens:
        return "-"
    left = record.expires_at - now
    if left <= 0:
        return f"{_when(record.expires_at)} (expired)"
    return f"{_when(record.expires_at)} (in {left / 86400:.1f} d)"


def _scope_summary(scopes: tuple[str, ...]) -> str:
    """Scopes grouped by access, so that they wrap on whole words in a narrow table.

    ``orders.read_write products.read_write carts.read offline_access`` becomes
    ``read_write: orders products`` / ``read: carts`` / ``offline_access``.
    """
    groups: dict[str, list[str]] = {}
    plain: list[str] = []
    for scope in scopes:
        resource, dot, access = scope.rpartition(".")
        if dot and resource and access:
            groups.setdefault(access, []).append(resource)
        else:
            plain.append(scope)
    lines = [f"{access}: {' '.join(names)}" for access, names in groups.items()]
    return "\n".join([*lines, *plain]) or "-"


def store_summary(record: StoredStore) -> dict[str, Any]:
    """The JSON-friendly view of a store: never a token."""
    return {
        "store_id": record.store_id,
        "name": record.name,
        "status": record.status.value,
        "status_detail": record.status_detail,
        "expires_at": record.expires_at,
        "scopes": list(record.scopes),
        "generation": record.generation,
        "connected_via": record.connected_via,
        "has_tokens": record.has_tokens,
        "merchant": record.merchant,
        "user": record.user,
        "refreshed_at": record.refreshed_at,
        "updated_at": record.updated_at,
    }


def _report_interrupted(vault: TokenVault, console: Console) -> None:
    # Read-only: abandoned-looking refreshes are explained, never marked (a command run from an
    # operator's laptop must not change a store another host may still be refreshing).
    for item in vault.find_interrupted():
        console.print(f"[yellow]warning:[/yellow] {item.message}", highlight=False)


def _status_style(status: str) -> str:
    return {"active": "green", "pending": "cyan", "uninstalled": "dim"}.get(status, "red")


def stores_list(
    database_url: DatabaseOpt = None, token_keys: KeysOpt = None, as_json: JsonOpt = False
) -> None:
    """List connected stores: status, expiry, scopes, generation (never tokens)."""
    console = Console()
    try:
        vault = _vault(_settings(database_url=database_url, token_keys=token_keys), read_only=True)
        _report_interrupted(vault, console)
        records = vault.list_stores()
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if as_json:
        typer.echo(json.dumps([store_summary(r) for r in records], ensure_ascii=False, indent=2))
        return
    table = Table(
        title=f"{len(records)} stores",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    for column in ("store", "name", "status", "access token expires", "gen", "via"):
        table.add_column(column)
    table.add_column("scopes", overflow="fold")  # never "offline_ac…"
    now = vault.now()
    for r in records:
        table.add_row(
            str(r.store_id),
            r.name or "-",
            f"[{_status_style(r.status.value)}]{r.status.value}[/]",
            _expiry(r, now),
            str(r.generation),
            r.connected_via or "-",
            _scope_summary(r.scopes),
        )
    console.print(table)


def stores_show(
    store_id: StoreIdArg,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one store in detail (never its tokens)."""
    console = Console()
    try:
        vault = _vault(_settings(database_url=database_url, token_keys=token_keys), read_only=True)
        _report_interrupted(vault, console)
        record = vault.get(store_id)
    except SallaError as exc:
        raise _fail(console, exc) from exc
    summary = store_summary(record)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False, title=f"store {record.store_id}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = {
        "name": record.name or "-",
        "status": record.status.value,
        "what to do": record.status_detail or "-",
        "access token expires": _expiry(record, vault.now()),
        "scopes": " ".join(record.scopes) or "-",
        "generation": str(record.generation),
        "connected via": record.connected_via or "-",
        "tokens stored": "yes (encrypted)" if record.has_tokens else "no",
        "last refresh": _when(record.refreshed_at),
        "updated": _when(record.updated_at),
        "user": (record.user or {}).get("email", "-"),
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    console.print(table)


def stores_disconnect(
    store_id: StoreIdArg,
    purge: Annotated[
        bool,
        typer.Option("--purge", envvar="SALLAKIT_PURGE", help="Delete every row of the store."),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", envvar="SALLAKIT_YES", help="Do not ask.")
    ] = False,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
) -> None:
    """Forget a store's tokens locally (the app stays installed at Salla)."""
    console = Console()
    try:
        vault = _vault(_settings(database_url=database_url, token_keys=token_keys))
        vault.get(store_id)  # an unknown store fails before the question
        if not yes:
            what = "every row of" if purge else "the tokens of"
            typer.confirm(f"Erase {what} store {store_id}?", abort=True)
        vault.uninstall(store_id, purge=purge, detail="disconnected by an operator")
    except SallaError as exc:
        raise _fail(console, exc) from exc
    console.print(f"store {store_id} disconnected" + (" and purged" if purge else ""))


def stores_refresh(
    store_id: StoreIdArg,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    accounts_url: AccountsOpt = None,
    client_id: ClientIdOpt = None,
    client_secret: ClientSecretOpt = None,
    lease_timeout: Annotated[
        float | None,
        typer.Option(
            "--lease-timeout",
            envvar="SALLAKIT_LEASE_TIMEOUT",
            min=1.0,
            callback=lambda value: _finite("--lease-timeout", value),
            help="Seconds after which an unfinished refresh counts as abandoned; use the value "
            "your workers run with (default 300).",
        ),
    ] = None,
) -> None:
    """Refresh a store's tokens now: the single retry after an interrupted refresh."""
    console = Console()
    try:
        settings = _settings(
            database_url=database_url,
            token_keys=token_keys,
            accounts_url=accounts_url,
            client_id=client_id,
            client_secret=client_secret,
        )
        vault = _vault(settings, with_oauth=True, lease_timeout=lease_timeout)
        # force_refresh refuses while an abandoned lease is younger than the lease timeout.
        vault.token_provider(store_id).force_refresh()
        record = vault.get(store_id)
    except SallaError as exc:
        raise _fail(console, exc) from exc
    console.print(
        f"store {store_id} refreshed: {record.status.value}, generation {record.generation}, "
        f"expires {_when(record.expires_at)}"
    )


# ---------------------------------------------------------------------------------- connect


def _connect_redirect(settings: Settings, port: int | None) -> tuple[str, int]:
    """The redirect URI to send and the local port to listen on (see :func:`run_connect`)."""
    if settings.redirect_uri:
        redirect_uri = settings.redirect_uri
    else:
        redirect_uri = f"http://127.0.0.1:{port or DEFAULT_CONNECT_PORT}{DEFAULT_CONNECT_PATH}"
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        raise ConfigurationError(
            f"`sallakit connect` listens on localhost, so the redirect URI must be "
            f"http://127.0.0.1:PORT/PATH (registered for the app), not {redirect_uri!r}; "
            "set SALLAKIT_REDIRECT_URI or --redirect-uri"
        )
    try:
        uri_port = parts.port or 80
    except ValueError as exc:
        raise ConfigurationError(f"the redirect URI {redirect_uri!r} has a bad port") from exc
    if port is not None and settings.redirect_uri and port != uri_port:
        raise ConfigurationError(
            f"--port {port} differs from the redirect URI's port {uri_port}: Salla sends the "
            "merchant to the redirect URI, so the callback would never arrive; drop --port"
        )
    return redirect_uri, port or uri_port


def run_connect(
    settings: Settings,
    *,
    port: int | None = None,
    open_url: Callable[[str], object] | None = None,
    timeout: float = 300.0,
    scopes: tuple[str, ...] = ("offline_access",),
    oauth_transport: Any = None,
) -> StoredStore:
    """Connect one store in Custom mode through a one-shot callback server on localhost.

    Args:
        settings: client id/secret, accounts URL, database, keys, optional redirect URI and
            state secret.
        port: callback port (default: the redirect URI's, else 8765).
        open_url: called with the consent URL once the callback server listens (default: open
            a browser).
        timeout: seconds the whole session may last (idle connections and callbacks with a
            bad state never extend it nor end it early).
        scopes: scopes to request.
        oauth_transport: an httpx2 async transport for the OAuth calls (tests).

    Raises:
        ConfigurationError: missing or inconsistent settings, or the callback port is taken.
        OAuthError: no callback in time, or the callback or exchange failed (the subclass says
            why: ``AuthorizationDeniedError`` for a declined consent, ``InvalidStateError``...).
    """
    missing = [
        name
        for name, value in (
            ("SALLAKIT_CLIENT_ID", settings.client_id),
            ("SALLAKIT_CLIENT_SECRET", settings.client_secret),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(
            f"`sallakit connect` needs {' and '.join(missing)} (the app's OAuth credentials "
            "from the Partner Portal), or --client-id / --client-secret"
        )
    if not (math.isfinite(timeout) and timeout > 0):
        raise ConfigurationError("the connect timeout must be a positive number of seconds")
    assert settings.client_id is not None and settings.client_secret is not None
    client_id = settings.client_id
    client_secret = settings.client_secret.get_secret_value()
    redirect_uri, listen_port = _connect_redirect(settings, port)
    vault = _vault(settings)
    # The state only has to survive this process when none is configured.
    state_secret = (
        settings.state_secret.get_secret_value() if settings.state_secret else secrets.token_hex(32)
    )

    async def session() -> StoredStore:
        async with AsyncOAuthClient(
            client_id, client_secret, accounts_url=settings.accounts_url, transport=oauth_transport
        ) as oauth:
            custom = CustomMode(
                vault, oauth, redirect_uri=redirect_uri, state_secret=state_secret, scopes=scopes
            )
            return await run_loopback_connect(
                custom,
                port=listen_port,
                path=urlsplit(redirect_uri).path or "/",
                timeout=timeout,
                open_url=open_url or webbrowser.open,
            )

    try:
        return anyio.run(session)
    finally:
        vault.close()


def connect(
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser", envvar="SALLAKIT_NO_BROWSER", help="Print the URL, open nothing."
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option("--port", envvar="SALLAKIT_CONNECT_PORT", help="Local callback port."),
    ] = None,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            "--redirect-uri", envvar="SALLAKIT_REDIRECT_URI", help="Registered redirect URI."
        ),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", envvar="SALLAKIT_SCOPES", help="Scope to request (repeatable)."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            envvar="SALLAKIT_CONNECT_TIMEOUT",
            callback=lambda value: _finite("--timeout", value),
            help="Seconds the connection may take in all.",
        ),
    ] = 300.0,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    accounts_url: AccountsOpt = None,
    client_id: ClientIdOpt = None,
    client_secret: ClientSecretOpt = None,
) -> None:
    """Connect a store (Custom mode): consent in the browser, tokens into the vault."""
    console = Console()
    settings = _settings(
        database_url=database_url,
        token_keys=token_keys,
        accounts_url=accounts_url,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
    )

    def show(url: str) -> None:
        console.print("Open this URL to authorize the app:", highlight=False)
        console.print(url, highlight=False, soft_wrap=True)
        if not no_browser:
            webbrowser.open(url)

    try:
        record = run_connect(
            settings,
            port=port,
            open_url=show,
            timeout=timeout,
            scopes=tuple(scope) if scope else ("offline_access",),
        )
    except SallaError as exc:
        raise _fail(console, exc) from exc
    console.print(
        f"[green]connected[/green] store {record.store_id} ({record.name or 'unnamed'}); "
        f"scopes: {' '.join(record.scopes)}; expires {_when(record.expires_at)}",
        highlight=False,
    )


# ------------------------------------------------------------------------------------- keys


def keys_generate() -> None:
    """Print a new Fernet key (put it first in SALLAKIT_TOKEN_KEYS)."""
    typer.echo(generate_key())


def keys_rotate(database_url: DatabaseOpt = None, token_keys: KeysOpt = None) -> None:
    """Re-encrypt every stored token under the newest key (the first of SALLAKIT_TOKEN_KEYS)."""
    console = Console()
    try:
        vault = _vault(_settings(database_url=database_url, token_keys=token_keys))
        changed = vault.rotate_keys()
    except SallaError as exc:
        raise _fail(console, exc) from exc
    console.print(
        f"re-encrypted the tokens of {changed} stores under the newest key; once every process "
        "runs with it first, older keys can be removed from SALLAKIT_TOKEN_KEYS"
    )


def register(app: typer.Typer) -> None:
    """Add ``stores``, ``connect`` and ``keys`` to the CLI."""
    stores = typer.Typer(help="Connected stores and their tokens.", no_args_is_help=True)
    stores.command("list")(stores_list)
    stores.command("show")(stores_show)
    stores.command("disconnect")(stores_disconnect)
    stores.command("refresh")(stores_refresh)
    app.add_typer(stores, name="stores")
    app.command("connect")(connect)
    keys = typer.Typer(help="Token encryption keys.", no_args_is_help=True)
    keys.command("generate")(keys_generate)
    keys.command("rotate")(keys_rotate)
    app.add_typer(keys, name="keys")
