"""``sallakit sync`` (with ``status`` and ``unblock``) and ``sallakit export``: the store mirror.

Runs go through the durable worker (DBOS): a sync interrupted by a crash or a kill resumes where
it stopped the next time ``sallakit sync`` runs for that store. Progress is drawn with Rich from
the library's progress callbacks (the library itself never prints).
"""

from __future__ import annotations

import csv
import html
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sallakit._exceptions import ConfigurationError, SallaError
from sallakit.cli._stores import DatabaseOpt, JsonOpt, KeysOpt, _settings, _vault
from sallakit.settings import Settings

__all__ = ["register"]

StoreOpt = Annotated[
    list[int] | None,
    typer.Option("--store", envvar="SALLAKIT_STORE", help="Store id (repeatable; default: all)."),
]
ResourcesOpt = Annotated[
    str | None,
    typer.Option(
        "--resources",
        envvar="SALLAKIT_SYNC_RESOURCES",
        help="Comma-separated resources (default: all): categories,brands,products,customers,"
        "orders,shipments.",
    ),
]
DbosOpt = Annotated[
    str | None,
    typer.Option(
        "--dbos-url",
        envvar="SALLAKIT_DBOS_DATABASE_URL",
        help="DBOS system database (default: next to a SQLite database, or the same PostgreSQL).",
    ),
]
ApiOpt = Annotated[
    str | None,
    typer.Option("--api-base-url", envvar="SALLAKIT_API_BASE_URL", help="Merchant API base URL."),
]


def _dbos_url(settings: Settings, given: str | None) -> str:
    if given:
        return given
    url = settings.database_url
    if url.startswith("sqlite:///"):
        return url + ".dbos"
    return url


def _mirror(settings: Settings, progress: Any = None) -> Any:
    from sallakit.mirror import Mirror

    vault = _vault(settings, with_oauth=bool(settings.client_id))
    return Mirror.from_vault(vault, progress=progress, base_url=settings.api_base_url)


def _stores(mirror: Any, settings: Settings, stores: list[int] | None) -> list[int]:
    if stores:
        return [int(s) for s in stores]
    vault = _vault(settings)
    return sorted({s.store_id for s in vault.list_stores() if s.has_tokens})


class _Bars:
    """Rich progress bars over the mirror's progress reports: one per store and resource."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[records]} records · {task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[tuple[int, str], TaskID] = {}

    def __call__(self, report: Any) -> None:
        if report.event == "wait":
            for (store, _), task in self.tasks.items():
                if store == report.store_id:
                    self.progress.update(
                        task, note=f"rate limit: waiting {report.seconds:.0f} s ({report.detail})"
                    )
            return
        if not report.resource:
            return
        key = (report.store_id, report.resource)
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(
                f"{report.store_id} {report.resource}", total=None, records=0, note=""
            )
        task = self.tasks[key]
        note = f"{report.requests} requests, {report.rate_limited} × 429"
        if report.event == "pages":
            self.progress.update(
                task,
                completed=report.pages_done,
                total=report.pages_total,
                records=report.records,
                note=note,
            )
        elif report.event in ("records", "phase"):
            self.progress.update(task, records=report.records, note=report.detail or note)


def run_sync(
    stores: StoreOpt = None,
    resources: ResourcesOpt = None,
    full: Annotated[
        bool, typer.Option("--full", envvar="SALLAKIT_SYNC_FULL", help="Re-fetch everything.")
    ] = False,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    api_base_url: ApiOpt = None,
    dbos_url: DbosOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sync stores into the mirror now: backfill what never was, reconcile every requested
    resource whatever its schedule (--full re-fetches everything). A sync a crash interrupted
    resumes first. Exit 1 when a run fails its audit."""
    console = Console(stderr=True)
    settings = _settings(
        database_url=database_url, token_keys=token_keys, api_base_url=api_base_url
    )
    bars = _Bars(console)
    try:
        mirror = _mirror(settings, progress=None if as_json else bars)
        wanted = [r.strip() for r in resources.split(",") if r.strip()] if resources else None
        ids = _stores(mirror, settings, stores)
        if not ids:
            raise ConfigurationError("no store to sync: connect one first (sallakit connect)")
        with bars.progress if not as_json else _nothing():
            runs = anyio.run(_sync_all, mirror, _dbos_url(settings, dbos_url), ids, wanted, full)
    except SallaError as exc:
        console.print(f"[red]error:[/red] {html.escape(exc.message, quote=False)}", highlight=False)
        raise typer.Exit(code=1) from exc
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in runs], ensure_ascii=False, default=str))
    else:
        for run in runs:
            line = (
                f"{run.store_id}: {run.status} ({run.requests} requests, {run.rate_limited} × 429)"
            )
            if run.error:
                line += f" - {run.error}"
            console.print(html.escape(line, quote=False), highlight=False)
    if any(r.status != "succeeded" for r in runs):
        raise typer.Exit(code=1)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


async def _sync_all(
    mirror: Any, dbos_url: str, stores: list[int], resources: list[str] | None, full: bool
) -> list[Any]:
    from sallakit.mirror import MirrorWorker

    worker = MirrorWorker(mirror, system_database_url=dbos_url, tick=None)
    async with worker:
        run_ids: list[str] = []
        for store_id in stores:
            # A run left unfinished by a killed process resumes (DBOS recovered it at start):
            # wait for it instead of walking the store again.
            active = [r for r in mirror.runs(store_id, 50) if r.status in ("queued", "running")]
            if active:
                run_ids.extend(r.run_id for r in reversed(active))
                continue
            run_ids.append(
                await worker.enqueue(store_id, kind="full" if full else "sync", resources=resources)
            )
        return [await worker.wait(run_id) for run_id in run_ids]


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_status(
    stores: StoreOpt = None,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per store and resource: last successful run, lag against its interval, rows, the last
    run's audit, stalled runs."""
    console = Console()
    settings = _settings(database_url=database_url, token_keys=token_keys)
    try:
        mirror = _mirror(settings)
        ids = [int(s) for s in stores] if stores else mirror.store.store_ids()
        statuses = [mirror.status(store_id) for store_id in ids]
    except SallaError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {html.escape(exc.message, quote=False)}")
        raise typer.Exit(code=1) from exc
    if as_json:
        typer.echo(json.dumps(statuses, ensure_ascii=False, default=str))
        return
    for status in statuses:
        table = Table(title=f"store {status['store_id']}")
        for column in ("resource", "rows", "last success", "lag", "backfilled"):
            table.add_column(column)
        for name, res in status["resources"].items():
            lag = "-" if res["lag"] is None else f"{res['lag']:.0f} s"
            table.add_row(
                name, str(res["rows"]), _when(res["last_success_at"]), lag, str(res["backfilled"])
            )
        console.print(table)
        last = status["last_run"]
        if last:
            console.print(
                f"last run {last['run_id']}: {last['status']}"
                + (f" - {html.escape(last['error'])}" if last.get("error") else ""),
                highlight=False,
            )
        for run in status["stalled"]:
            console.print(
                f"[yellow]stalled:[/yellow] {run['run_id']} no progress since "
                f"{_when(run['progress_at'])} (sallakit sync unblock --store {run['store_id']})"
            )


def run_unblock(
    store: Annotated[int, typer.Option("--store", envvar="SALLAKIT_STORE", help="Store id.")],
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
    dbos_url: DbosOpt = None,
) -> None:
    """Cancel a store's queued and running sync runs so that its queue moves again."""
    settings = _settings(database_url=database_url, token_keys=token_keys)
    mirror = _mirror(settings)

    async def unblock() -> list[str]:
        from sallakit.mirror import MirrorWorker

        # listen=False: this short-lived process must never start a run it would abandon.
        async with MirrorWorker(
            mirror,
            system_database_url=_dbos_url(settings, dbos_url),
            tick=None,
            listen=False,
            system_schema=settings.workflow_schema,
        ) as worker:
            return await worker.unblock(store)

    cancelled = anyio.run(unblock)
    typer.echo(f"cancelled {len(cancelled)} run(s)" + "".join(f"\n  {r}" for r in cancelled))


def run_export(
    resource: Annotated[str, typer.Argument(help="Table: products, orders, order_items...")],
    store: Annotated[int, typer.Option("--store", envvar="SALLAKIT_STORE", help="Store id.")],
    fmt: Annotated[
        str,
        typer.Option("--format", envvar="SALLAKIT_EXPORT_FORMAT", help="csv, jsonl or parquet."),
    ] = "jsonl",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", envvar="SALLAKIT_EXPORT_OUTPUT", help="File (default: stdout)."
        ),
    ] = None,
    database_url: DatabaseOpt = None,
    token_keys: KeysOpt = None,
) -> None:
    """Export a mirrored table of a store (live rows: normalized columns and ``data``)."""
    if fmt not in ("csv", "jsonl", "parquet"):
        raise typer.BadParameter("--format must be csv, jsonl or parquet")
    if fmt == "parquet" and output is None:
        raise typer.BadParameter("parquet needs --output FILE")
    settings = _settings(database_url=database_url, token_keys=token_keys)
    try:
        mirror = _mirror(settings)
        rows = mirror.export_rows(store, resource)
        count = write_rows(rows, fmt, output)
    except SallaError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {html.escape(exc.message, quote=False)}")
        raise typer.Exit(code=1) from exc
    if output is not None:
        Console(stderr=True).print(f"{count} rows written to {output}", highlight=False)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "data":
            out[key] = json.dumps(value, ensure_ascii=False)
        elif value is not None and not isinstance(value, str | int | float | bool):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def write_rows(rows: Iterator[dict[str, Any]], fmt: str, output: Path | None) -> int:
    """Write rows as csv, jsonl or parquet; returns how many."""
    count = 0
    if fmt == "parquet":
        from sallakit._extras import require_extra

        require_extra("parquet", "sallakit export --format parquet")
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        assert output is not None
        writer = None
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal writer
            if not batch:
                return
            table = pa.Table.from_pylist(batch)
            if writer is None:
                writer = pq.ParquetWriter(str(output), table.schema)
            writer.write_table(table.cast(writer.schema))
            batch.clear()

        for row in rows:
            batch.append(_flat(row))
            count += 1
            if len(batch) >= 5000:
                flush()
        flush()
        if writer is not None:
            writer.close()
        return count
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                count += 1
        else:
            writer_csv: csv.DictWriter[str] | None = None
            for row in rows:
                flat = _flat(row)
                if writer_csv is None:
                    writer_csv = csv.DictWriter(handle, fieldnames=list(flat))
                    writer_csv.writeheader()
                writer_csv.writerow(flat)
                count += 1
    finally:
        if output:
            handle.close()
    return count


def register(app: typer.Typer) -> None:
    """Add ``sync`` (with ``status`` and ``unblock``) and ``export`` to the CLI."""
    group = typer.Typer(
        help="Sync stores into the mirror (backfill, reconcile); status; unblock.",
        invoke_without_command=True,
        rich_markup_mode=None,
    )

    @group.callback(invoke_without_command=True)
    def _default(
        ctx: typer.Context,
        stores: StoreOpt = None,
        resources: ResourcesOpt = None,
        full: Annotated[
            bool, typer.Option("--full", envvar="SALLAKIT_SYNC_FULL", help="Re-fetch everything.")
        ] = False,
        database_url: DatabaseOpt = None,
        token_keys: KeysOpt = None,
        api_base_url: ApiOpt = None,
        dbos_url: DbosOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Sync stores into the mirror (backfill, reconcile); status; unblock."""
        if ctx.invoked_subcommand is None:
            run_sync(
                stores, resources, full, database_url, token_keys, api_base_url, dbos_url, as_json
            )

    group.command("status")(run_status)
    group.command("unblock")(run_unblock)
    app.add_typer(group, name="sync")
    app.command("export")(run_export)
