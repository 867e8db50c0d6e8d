"""The CLI root lists commands without importing them, and its help reads well at 80 columns."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from sallakit.cli import COMMANDS, app
from sallakit.cli._lazy import LazyCommand, LazyGroup, load_command

# Heavy stacks that only the commands themselves need.
HEAVY = ("sallakit.auth", "sallakit.emulator", "sqlalchemy", "rich", "sallakit.api")


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda e: e.name)
def test_each_entry_matches_its_module(entry: LazyCommand) -> None:
    command = load_command(entry)
    first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
    assert entry.help == first_paragraph


def test_root_help_imports_no_command_module() -> None:
    probe = (
        "import sys, json\n"
        "from sallakit.cli import main\n"
        "sys.argv = ['sallakit', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in sys.modules if m.startswith({HEAVY!r})]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    help_text, _, loaded = out.rstrip().rpartition("\n")
    assert json.loads(loaded) == []
    for entry in COMMANDS:
        assert entry.name in help_text


@pytest.mark.parametrize(
    "argv", [[], *([e.name] for e in COMMANDS), ["stores", "list"], ["keys", "rotate"]]
)
def test_help_fits_80_columns_and_keeps_env_names_whole(argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" not in result.output
    if argv == ["emulator"]:
        assert "SALLAKIT_EMULATOR_CLIENT_SECRET" in result.output


def test_running_a_lazy_command_loads_it() -> None:
    result = CliRunner().invoke(app, ["endpoints", "--json", "--group", "Brands"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["nope"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_duplicate_names_and_missing_commands_are_refused() -> None:
    entry = LazyCommand("endpoints", "sallakit.cli._endpoints", "x")
    with pytest.raises(ValueError, match="duplicate"):
        LazyGroup.of([entry, entry])
    with pytest.raises(LookupError, match="no command named 'emulator'"):
        load_command(LazyCommand("emulator", "sallakit.cli._endpoints", "x"))


def test_a_new_group_is_one_entry() -> None:
    # The pattern other modules follow: register(app) adds a group; one LazyCommand lists it.
    lazy = typer.Typer(cls=LazyGroup.of([LazyCommand("stores", "sallakit.cli._stores", "S.")]))
    lazy.callback()(lambda: None)
    result = CliRunner().invoke(lazy, ["stores", "--help"])
    assert result.exit_code == 0
    assert "disconnect" in result.output
