"""The ``sallakit`` console script: the command line, or the install command it is missing.

This module imports only the core, so that without the ``cli`` extra (or without the extra a
command needs) the user reads one line naming the ``pip install`` to run, not a traceback.
"""

from __future__ import annotations

import sys

from sallakit._exceptions import MissingExtraError

__all__ = ["main"]


def main() -> None:
    """Run the command line."""
    try:
        from sallakit.cli import main as cli_main

        cli_main()
    except MissingExtraError as exc:
        print(f"sallakit: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
