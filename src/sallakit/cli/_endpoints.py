"""``sallakit endpoints``: list the Merchant API endpoints the registry knows."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sallakit._registry import Endpoint, load_registry

__all__ = ["endpoint_summary", "register", "select_endpoints"]


def select_endpoints(endpoints: Iterable[Endpoint], group: str | None) -> list[Endpoint]:
    """Filter by group name, case-insensitively (``--group "order items"`` works)."""
    if group is None:
        return list(endpoints)
    wanted = group.strip().casefold()
    return [e for e in endpoints if e.group.casefold() == wanted]


def endpoint_summary(endpoint: Endpoint) -> dict[str, Any]:
    """The JSON-friendly summary of one endpoint printed by ``--json``."""
    return {
        "group": endpoint.group,
        "name": endpoint.name,
        "method": endpoint.method,
        "path": endpoint.path,
        "scopes": list(endpoint.scopes),
        "paginated": endpoint.paginated,
        "client_method": endpoint.client_method,
        "hand_added": endpoint.hand_added,
    }


def _client_method_cell(endpoint: Endpoint) -> str:
    # Hand-added endpoints are facts we could not read from a published spec: flag them.
    return endpoint.client_method + (" (hand)" if endpoint.hand_added else "")


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def plain_rows(endpoints: Sequence[Endpoint]) -> list[str]:
    """Tab-separated lines (a header first), for pipes: never wrapped or truncated."""
    lines = ["method\tpath\tscopes\tpaginated\tclient_method"]
    for e in endpoints:
        cells = [
            e.method,
            e.path,
            ",".join(e.scopes) or "-",
            "yes" if e.paginated else "no",
            _client_method_cell(e),
        ]
        lines.append("\t".join(cells))
    return lines


def _table(endpoints: Sequence[Endpoint], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("method", no_wrap=True)
    table.add_column("path")
    table.add_column("scopes")
    table.add_column("paginated", justify="center")
    table.add_column("client method", no_wrap=True)
    for e in endpoints:
        table.add_row(
            e.method,
            e.path,
            ", ".join(e.scopes) or "-",
            "yes" if e.paginated else "",
            _client_method_cell(e),
        )
    return table


def endpoints(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array instead of a table.")
    ] = False,
    group: Annotated[
        str | None,
        typer.Option("--group", help='Only this group, e.g. "Order Items" (case-insensitive).'),
    ] = None,
) -> None:
    """List every Merchant API endpoint: method, path, scopes, pagination, client method.

    On a terminal this is a table; piped, it is tab-separated lines with a header row, so that
    ``grep``, ``cut`` and ``sort`` see every column whatever the terminal width.
    """
    registry = load_registry()
    selected = select_endpoints(registry, group)
    if group is not None and not selected:
        known = ", ".join(sorted({e.group for e in registry}))
        typer.echo(f"No endpoint group named {group!r}. Groups: {known}", err=True)
        raise typer.Exit(code=2)
    if as_json:
        # Plain output: JSON must stay machine-readable, no Rich markup or wrapping.
        typer.echo(
            json.dumps([endpoint_summary(e) for e in selected], ensure_ascii=False, indent=2)
        )
        return
    if not _stdout_is_terminal():
        # A Rich table on a pipe is cut to 80 columns: paths and method names got truncated.
        for line in plain_rows(selected):
            typer.echo(line)
        return
    title = f"{len(selected)} endpoint{'s' if len(selected) != 1 else ''}"
    if group is not None:
        title += f" in {selected[0].group}"
    Console().print(_table(selected, title))


def register(app: typer.Typer) -> None:
    """Add the ``endpoints`` command to the CLI root."""
    app.command("endpoints")(endpoints)
