"""The ``sallakit`` command line.

Each command lives in its own private module exposing ``register(app)``. This module only lists
them, lazily: a module is imported when one of its commands runs, so ``sallakit --help`` stays
fast however heavy the commands are.

To add a top-level command (or command group) ``NAME``: write ``sallakit/cli/_NAME.py`` with a
``register(app)`` that adds ``NAME`` to ``app``, then add one line to :data:`COMMANDS` below with
its one-line help (``tests/unit/client/test_cli_lazy.py`` checks that the line matches the
module).
"""

from __future__ import annotations

from sallakit._extras import require_extra

require_extra("cli", "the sallakit command line")

import typer

from sallakit.cli._lazy import LazyCommand, LazyGroup

__all__ = ["COMMANDS", "app", "main"]

# name, module defining it (its ``register(app)`` adds ``name``), and the first paragraph of the
# command's own help, shown by ``sallakit --help`` (in this order).
COMMANDS = (
    LazyCommand(
        "endpoints",
        "sallakit.cli._endpoints",
        "List every Merchant API endpoint: method, path, scopes, pagination, client method.",
    ),
    LazyCommand(
        "emulator",
        "sallakit.cli._emulator",
        "Run a local Salla emulator (OAuth, Merchant API, webhooks).",
    ),
    LazyCommand(
        "connect",
        "sallakit.cli._stores",
        "Connect a store (Custom mode): consent in the browser, tokens into the vault.",
    ),
    LazyCommand("stores", "sallakit.cli._stores", "Connected stores and their tokens."),
    LazyCommand("keys", "sallakit.cli._stores", "Token encryption keys."),
    LazyCommand(
        "serve",
        "sallakit.cli._serve",
        "Run the sallakit server: Salla webhooks at POST /webhooks/salla, handled in-process.",
    ),
    LazyCommand(
        "webhooks",
        "sallakit.cli._webhooks",
        "The webhook inbox and the store's webhook subscriptions.",
    ),
    LazyCommand(
        "sync",
        "sallakit.cli._sync",
        "Sync stores into the mirror (backfill, reconcile); status; unblock.",
    ),
    LazyCommand(
        "export",
        "sallakit.cli._sync",
        "Export a mirrored table of a store (live rows: normalized columns and ``data``).",
    ),
    LazyCommand(
        "doctor",
        "sallakit.cli._doctor",
        "Check settings, database, keys, webhooks and stores; print each finding and its fix.",
    ),
)

app = typer.Typer(
    name="sallakit",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: wraps at the terminal width instead of cutting env-var names.
    rich_markup_mode=None,
    cls=LazyGroup.of(COMMANDS),
)


@app.callback()
def _root() -> None:
    """sallakit: connect Salla stores, call the Merchant API, run the Salla emulator."""


def main() -> None:
    """Entry point of the ``sallakit`` console script."""
    app()
