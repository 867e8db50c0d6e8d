"""The ``sallakit`` command line.

Each command group lives in its own private module exposing ``register(app)``; this module only
assembles them, so that command groups stay independent of each other.
"""

from __future__ import annotations

import typer

from sallakit.cli._emulator import register as _register_emulator
from sallakit.cli._endpoints import register as _register_endpoints
from sallakit.cli._stores import register as _register_stores

__all__ = ["app", "main"]

app = typer.Typer(
    name="sallakit",
    help="sallakit: connect Salla stores, call the Merchant API, run the Salla emulator.",
    no_args_is_help=True,
    add_completion=False,
)

for _register in (_register_endpoints, _register_emulator, _register_stores):
    _register(app)


def main() -> None:
    """Entry point of the ``sallakit`` console script."""
    app()
