"""``sallakit webhooks``: the inbox (list, show, replay, pause, resume) and subscriptions
(ensure, events).

The inbox commands work on the database (``SALLAKIT_DATABASE_URL``) and never print a secret:
stored headers hold none, and the body of a token-carrying event is not shown. ``ensure`` and
``events`` call Salla with the store's tokens from the vault (``SALLAKIT_TOKEN_KEYS``).
"""

from __future__ import annotations

import html
import json
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from sallakit._exceptions import SallaError
    from sallakit.settings import Settings
    from sallakit.webhooks import SQLInbox, StoredDelivery

__all__ = ["parse_since", "register"]

webhooks_app = typer.Typer(
    name="webhooks",
    help="The webhook inbox and the store's webhook subscriptions.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="SALLAKIT_DATABASE_URL", help="Database URL."),
]
JsonOpt = Annotated[bool, typer.Option("--json", envvar="SALLAKIT_JSON", help="Print JSON.")]
StatusOpt = Annotated[
    str | None,
    typer.Option(help="pending, processing, done, failed or dead.", show_default=False),
]
EventOpt = Annotated[
    str | None, typer.Option(help="An event or a pattern (order.*).", show_default=False)
]
StoreOpt = Annotated[int | None, typer.Option("--store", help="Store id.", show_default=False)]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        help="Received since: an ISO date/time (UTC unless zoned) or an age (90s, 30m, 2h, 7d).",
        show_default=False,
    ),
]

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, *, now: float) -> float:
    """``--since`` as an epoch: an age (``2h``) before ``now`` or an ISO date/time.

    Raises:
        typer.BadParameter: neither.
    """
    text = value.strip()
    match = _AGE.match(text)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither an age (30m, 2h, 7d) nor an ISO date/time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _console() -> Console:
    from rich.console import Console

    return Console()


def _fail(console: Console, exc: SallaError) -> typer.Exit:
    console.print(f"[red]error:[/red] {html.escape(exc.message, quote=False)}", highlight=False)
    return typer.Exit(code=1)


def _settings(**overrides: Any) -> Settings:
    from sallakit.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _inbox(database_url: str | None) -> SQLInbox:
    from sallakit.webhooks import SQLInbox

    settings = _settings(database_url=database_url)
    # Bodies are never opened here (token events are not shown), so no cipher is needed.
    return SQLInbox.from_url(settings.database_url)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _filter(
    status: str | None,
    event: str | None,
    store: int | None,
    since: str | None,
    limit: int | None,
) -> Any:
    from sallakit._exceptions import ConfigurationError
    from sallakit.webhooks import DeliveryFilter

    try:
        return DeliveryFilter(
            status=status,  # type: ignore[arg-type]
            event=event,
            store_id=store,
            since=None if since is None else parse_since(since, now=time.time()),
            limit=limit,
        )
    except ConfigurationError as exc:
        raise typer.BadParameter(exc.message) from exc


@webhooks_app.command("list")
def list_deliveries(
    status: StatusOpt = None,
    event: EventOpt = None,
    store: StoreOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 50,
    database_url: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List stored deliveries, newest first, with their status and attempts."""
    from rich import box
    from rich.table import Table

    from sallakit._exceptions import SallaError

    console = _console()
    where = _filter(status, event, store, since, limit)
    try:
        inbox = _inbox(database_url)
        rows = inbox.search(where)
        counts = inbox.counts()
        paused = inbox.is_paused()
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if as_json:
        typer.echo(json.dumps([r.summary() for r in rows], ensure_ascii=False, indent=2))
        return
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    title = f"{len(rows)} deliveries shown ({summary or 'inbox empty'})"
    if paused:
        title += " - processing PAUSED"
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    for column in ("id", "received (UTC)", "store", "event", "status", "tries", "dups"):
        table.add_column(column, overflow="fold", no_wrap=column != "event")
    table.add_column("last error", overflow="fold", ratio=1)
    for r in rows:
        table.add_row(
            str(r.id),
            datetime.fromtimestamp(r.received_at, tz=UTC).strftime("%m-%d %H:%M:%S"),
            str(r.store_id),
            r.event,
            r.status,
            str(r.attempts),
            str(r.duplicates),
            r.last_error or "",
        )
    console.print(table)


def _shown_body(delivery: StoredDelivery) -> Any:
    if delivery.sealed or delivery.body is None:
        return "(sealed: this event carries OAuth tokens and is not shown)"
    try:
        return json.loads(delivery.body)
    except ValueError:
        return delivery.body.decode("utf-8", "replace")


@webhooks_app.command("show")
def show_delivery(
    delivery_id: Annotated[int, typer.Argument(help="Delivery id (from `list`).")],
    database_url: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one delivery: status, attempts, handlers that succeeded, headers and body."""
    from sallakit._exceptions import SallaError

    console = _console()
    try:
        # Sealed bodies stay sealed: their summary and headers only.
        row = _inbox(database_url).get(delivery_id, open_sealed=False)
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if row is None:
        console.print(f"[red]error:[/red] no delivery {delivery_id}", highlight=False)
        raise typer.Exit(code=1)
    doc = {**row.summary(), "headers": row.headers, "body": _shown_body(row)}
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for key in ("id", "store_id", "event", "status", "attempts", "duplicates"):
        console.print(f"{key:>16}: {doc[key]}", highlight=False)
    for key in ("received_at", "next_attempt_at", "updated_at"):
        console.print(f"{key:>16}: {_when(doc[key])}", highlight=False)
    console.print(f"{'handlers done':>16}: {', '.join(doc['handlers_done']) or '-'}")
    console.print(f"{'last error':>16}: {doc['last_error'] or '-'}", highlight=False)
    console.print(f"{'digest':>16}: {doc['digest']}", highlight=False)
    console.print("headers:", highlight=False)
    typer.echo(json.dumps(doc["headers"], ensure_ascii=False, indent=2))
    console.print("body:", highlight=False)
    typer.echo(json.dumps(doc["body"], ensure_ascii=False, indent=2))


@webhooks_app.command("replay")
def replay(
    delivery_ids: Annotated[
        list[int] | None, typer.Argument(help="Delivery ids; or select with the options.")
    ] = None,
    status: StatusOpt = None,
    event: EventOpt = None,
    store: StoreOpt = None,
    since: SinceOpt = None,
    all_handlers: Annotated[
        bool,
        typer.Option(
            "--all-handlers", help="Run handlers that already succeeded on them again too."
        ),
    ] = False,
    database_url: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Process deliveries again: by id, or in bulk (replay --status dead --event order.*).

    Handlers that already succeeded on a delivery are skipped unless --all-handlers.
    Deliveries being processed right now are left alone.
    """
    from sallakit._exceptions import SallaError

    console = _console()
    selecting = any(v is not None for v in (status, event, store, since))
    if bool(delivery_ids) == selecting:
        raise typer.BadParameter("give delivery ids, or select with --status/--event/--since")
    try:
        inbox = _inbox(database_url)
        if delivery_ids:
            replayed = inbox.replay(ids=delivery_ids, now=time.time(), rerun_succeeded=all_handlers)
        else:
            where = _filter(status, event, store, since, None)
            replayed = inbox.replay(where=where, now=time.time(), rerun_succeeded=all_handlers)
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if as_json:
        typer.echo(json.dumps({"replayed": replayed}))
        return
    console.print(f"{len(replayed)} deliveries queued again", highlight=False)
    missing = sorted(set(delivery_ids or ()) - set(replayed))
    if missing:
        console.print(
            f"[yellow]not replayed[/yellow] (unknown or being processed): "
            f"{', '.join(map(str, missing))}",
            highlight=False,
        )
        raise typer.Exit(code=1)


def _switch(paused: bool, database_url: str | None) -> None:
    from sallakit._exceptions import SallaError

    console = _console()
    try:
        _inbox(database_url).set_paused(paused, now=time.time())
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if paused:
        console.print("processing paused: deliveries are still received and stored")
    else:
        console.print("processing resumed")


@webhooks_app.command("pause")
def pause(database_url: DatabaseOpt = None) -> None:
    """Pause handler processing (deliveries keep being received and stored)."""
    _switch(True, database_url)


@webhooks_app.command("resume")
def resume(database_url: DatabaseOpt = None) -> None:
    """Resume handler processing."""
    _switch(False, database_url)


def _store_client_settings(database_url: str | None, token_keys: str | None) -> Settings:
    return _settings(database_url=database_url, token_keys=token_keys)


async def _with_client(settings: Settings, store_id: int, work: Any) -> Any:
    from sallakit.auth import AsyncOAuthClient, TokenVault

    oauth = None
    if settings.client_id and settings.client_secret:
        oauth = AsyncOAuthClient(
            settings.client_id,
            settings.client_secret.get_secret_value(),
            accounts_url=settings.accounts_url,
        )
    try:
        vault = TokenVault.from_url(
            settings.database_url,
            settings.token_key_list(),
            async_oauth=oauth,
            refresh_margin=settings.refresh_margin_seconds,
        )
        async with vault.async_client(store_id, base_url=settings.api_base_url) as salla:
            return await work(salla)
    finally:
        if oauth is not None:
            await oauth.aclose()


KeysOpt = Annotated[
    str | None,
    typer.Option(
        "--token-keys",
        envvar="SALLAKIT_TOKEN_KEYS",
        help="Comma-separated Fernet keys, newest first.",
        show_default=False,
    ),
]
RequiredStoreOpt = Annotated[int, typer.Option("--store", help="Store id.")]


@webhooks_app.command("ensure")
def ensure(
    store: RequiredStoreOpt,
    url: Annotated[str, typer.Option(help="Where Salla delivers: https://<host>/webhooks/salla.")],
    events: Annotated[str, typer.Option(help="Comma-separated events to subscribe.")],
    strategy: Annotated[
        str | None,
        typer.Option(help="signature or token (default: Salla's).", show_default=False),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(help="A custom header KEY=VALUE sent with each delivery (repeatable)."),
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Delete the store's webhooks of events not listed.")
    ] = True,
    dry_run: Annotated[bool, typer.Option(help="Print the plan, change nothing.")] = False,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make the store's webhooks equal the wanted set (one per event), printing the plan.

    Idempotent: a second run changes nothing. Needs the scope webhooks.read_write.
    """
    import anyio

    from sallakit._exceptions import SallaError
    from sallakit.webhooks import WantedWebhooks, ensure_subscriptions
    from sallakit.webhooks._subscriptions import parse_header_options

    console = _console()
    settings = _store_client_settings(database_url, token_keys)
    try:
        wanted = WantedWebhooks(
            url=url,
            events=tuple(e.strip() for e in events.split(",") if e.strip()),
            strategy=strategy,  # type: ignore[arg-type]
            headers=parse_header_options(header or []),
        )
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None

        async def work(salla: Any) -> Any:
            return await ensure_subscriptions(
                salla, wanted, prune=prune, dry_run=dry_run, secret=secret
            )

        plan = anyio.run(_with_client, settings, store, work)
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if as_json:
        doc = {"dry_run": dry_run, "changes": [c.as_dict() for c in plan.changes]}
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for change in plan.changes:
        console.print(change.line(), highlight=False)
    verb = "would change" if dry_run else "changed"
    console.print(f"{len(plan.actions)} {verb}, {len(plan.changes) - len(plan.actions)} as wanted")


@webhooks_app.command("events")
def list_events(
    store: RequiredStoreOpt,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the events Salla offers to subscribe to (GET /webhooks/events)."""
    import anyio

    from sallakit._exceptions import SallaError

    console = _console()
    settings = _store_client_settings(database_url, token_keys)

    async def work(salla: Any) -> Any:
        return list(await salla.webhooks.events())

    try:
        offered = anyio.run(_with_client, settings, store, work)
    except SallaError as exc:
        raise _fail(console, exc) from exc
    if as_json:
        doc = [{"id": e.id, "event": e.event, "label": e.label} for e in offered]
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for event in offered:
        console.print(f"{event.event:<36} {event.label or ''}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``webhooks`` command group to the CLI."""
    app.add_typer(webhooks_app, name="webhooks")
