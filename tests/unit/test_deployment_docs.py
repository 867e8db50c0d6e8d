"""docs/deployment.md names only commands, flags, variables and metrics that exist."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer._click.core import Command

from sallakit.cli import COMMANDS
from sallakit.cli._lazy import load_command
from sallakit.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def _text() -> str:
    return DOC.read_text("utf-8")


def _commands() -> dict[str, Command]:
    return {entry.name: load_command(entry) for entry in COMMANDS}


def _walk(command: Command) -> Iterator[Command]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def _command_lines() -> list[list[str]]:
    """Every ``sallakit ...`` invocation in the code blocks (shell lines, unit files' ExecStart,
    the manifests' args lists), as argument lists without the program."""
    found: list[list[str]] = []
    for block in re.findall(r"```(?:sh|ini|yaml)\n(.*?)```", _text(), flags=re.DOTALL):
        for line in block.splitlines():
            args_list = re.search(r"args: (\[.*\])", line)
            if args_list:
                words = json.loads(args_list.group(1))
            elif re.search(r"(^|/)sallakit ", line.strip()):
                words = shlex.split(line.split("#")[0].strip())
            else:
                continue
            start = next(i for i, w in enumerate(words) if w.endswith("sallakit"))
            found.append(words[start + 1 :])
    return found


def test_every_command_and_flag_exists() -> None:
    commands = _commands()
    lines = _command_lines()
    assert len(lines) >= 5
    for words in lines:
        command: Command = commands[words[0]]
        rest = words[1:]
        while rest and rest[0] in getattr(command, "commands", {}):
            command = command.commands[rest.pop(0)]  # type: ignore[attr-defined]
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for word in rest:
            if word.startswith("--"):
                assert word in options, f"`sallakit {' '.join(words)}`: no option {word}"


def test_every_variable_exists() -> None:
    known = {f"SALLAKIT_{name.upper()}" for name in Settings.model_fields}
    for command in _commands().values():
        for sub in _walk(command):
            for param in sub.params:
                envvar = getattr(param, "envvar", None)
                if isinstance(envvar, str):
                    known.add(envvar)
    named = set(re.findall(r"SALLAKIT_[A-Z0-9_]+", _text()))
    assert sorted(named - known) == []
    # The production settings this issue added are all explained.
    for name in ("WORKER_ID", "GOVERNOR", "SHUTDOWN_GRACE_SECONDS", "DATABASE_POOL_SIZE"):
        assert f"SALLAKIT_{name}" in named


def test_every_metric_exists() -> None:
    from sallakit.server._metrics import ServiceMetrics, StateSource

    metrics = ServiceMetrics(StateSource(inbox_counts=lambda: {"pending": 1}, sync_stats=list))
    exported = {family.name for family in metrics.registry.collect()}
    named = set(re.findall(r"`(sallakit_[a-z_]+)`", _text()))
    assert named, "the monitoring section names the metrics"
    assert sorted(named - exported) == []


@pytest.mark.parametrize("heading", ["Process layout", "systemd", "Kubernetes", "Backups",
                                     "Upgrades", "Key rotation", "Monitoring"])  # fmt: skip
def test_the_sections_the_issue_asks_for_are_there(heading: str) -> None:
    assert f"\n## {heading}\n" in _text()
