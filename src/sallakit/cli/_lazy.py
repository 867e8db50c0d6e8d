"""Top-level commands whose modules are imported only when they run.

``sallakit --help`` must answer fast (the auth, database and emulator stacks take seconds to
import), so the root group lists commands from static :class:`LazyCommand` entries (a name, the
module that implements it and its one-line help) and imports a module only when one of its
commands is resolved to run or to print its own help.

A command module exposes ``register(app: typer.Typer)``; the command of the same name it adds is
the one that runs. A test checks that each entry's help matches the module's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer

# Typer vendors its own click (its groups and commands are typer._click classes, not the click
# package's), so the group below must speak in those classes.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

__all__ = ["LazyCommand", "LazyGroup", "load_command"]


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """One top-level command: ``name``, the ``module`` with ``register(app)``, its ``help``."""

    name: str
    module: str
    help: str


def load_command(entry: LazyCommand) -> click.Command:
    """Import ``entry.module``, let it register on a scratch app and return ``entry.name``.

    Raises:
        LookupError: the module does not register a command called ``entry.name``.
    """
    module = importlib.import_module(entry.module)
    scratch = typer.Typer(rich_markup_mode=None)
    module.register(scratch)
    group = typer.main.get_group(scratch)
    command = group.commands.get(entry.name)
    if command is None:
        raise LookupError(f"{entry.module}.register() adds no command named {entry.name!r}")
    return command


class _Placeholder(TyperCommand):
    """What the root help lists: the name and help, without importing the module."""

    def __init__(self, entry: LazyCommand) -> None:
        super().__init__(entry.name, help=entry.help)
        self.entry = entry


class LazyGroup(TyperGroup):
    """A root group whose commands come from :attr:`lazy_commands`, loaded on first use."""

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, click.Command] = {}

    @classmethod
    def of(cls, commands: Sequence[LazyCommand]) -> type[LazyGroup]:
        """A subclass serving ``commands`` (pass it as ``typer.Typer(cls=...)``)."""
        names = [c.name for c in commands]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate command names in {names}")
        return type("SallakitGroup", (cls,), {"lazy_commands": tuple(commands)})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(c.name for c in self.lazy_commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # Listing (help, completion of names) only needs the placeholder; running resolves
        # through resolve_command below, which loads the real command.
        eager = super().get_command(ctx, cmd_name)
        if eager is not None:
            return eager
        if cmd_name in self._loaded:
            return self._loaded[cmd_name]
        entry = next((c for c in self.lazy_commands if c.name == cmd_name), None)
        return None if entry is None else _Placeholder(entry)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Placeholder):
            loaded = load_command(command.entry)
            self._loaded[command.entry.name] = loaded
            command = loaded
        return name, command, rest
