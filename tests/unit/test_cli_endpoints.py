"""``sallakit endpoints``: the table, ``--json`` and ``--group``."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import typer
from typer.testing import CliRunner

from sallakit._registry import load_registry


def _load_endpoints_module() -> ModuleType:
    # ``sallakit.cli`` imports every command group; while a sibling group is still being written
    # that import fails, so fall back to loading this command's module from its file.
    try:
        return importlib.import_module("sallakit.cli._endpoints")
    except ImportError:
        import sallakit

        path = Path(sallakit.__file__).parent / "cli" / "_endpoints.py"
        spec = importlib.util.spec_from_file_location("_sallakit_cli_endpoints", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


_endpoints = _load_endpoints_module()


@pytest.fixture
def app() -> typer.Typer:
    # A fresh root with only this command: the test does not depend on the other command groups.
    # A callback keeps Typer from collapsing a single command into the root.
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Test root."""

    _endpoints.register(root)
    return root


def test_json_lists_every_endpoint(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["endpoints", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == len(load_registry())
    required = {"method", "path", "scopes", "paginated", "client_method", "group", "name"}
    for row in rows:
        assert required <= row.keys()
        assert isinstance(row["scopes"], list)
        assert isinstance(row["paginated"], bool)
        assert isinstance(row["hand_added"], bool)
    by_name = {row["client_method"]: row for row in rows}
    assert by_name["orders.items.list"] == {
        "group": "Order Items",
        "name": "List Order Items",
        "method": "GET",
        "path": "/orders/items",
        "scopes": ["orders.read"],
        "paginated": False,
        "client_method": "orders.items.list",
        "hand_added": False,
    }


def test_json_group_filter_is_case_insensitive(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["endpoints", "--json", "--group", "webhooks"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["client_method"] for r in rows} == {
        "webhooks.list",
        "webhooks.events",
        "webhooks.subscribe",
        "webhooks.unsubscribe",
        "webhooks.update",
    }


def test_table_shows_count_and_rows(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The table is for terminals (CliRunner's stdout is not one).
    monkeypatch.setattr(_endpoints, "_stdout_is_terminal", lambda: True)
    result = CliRunner().invoke(app, ["endpoints", "--group", "Order Tags"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "3 endpoints in Order Tags" in result.stdout
    assert "orders.tags.create" in result.stdout
    assert "/orders/{order_id}/tags" in result.stdout
    assert "(hand)" in result.stdout


def test_piped_output_is_tab_separated_and_never_truncated(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["endpoints"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "method\tpath\tscopes\tpaginated\tclient_method"
    assert len(lines) == len(load_registry()) + 1
    assert all(line.count("\t") == 4 for line in lines)
    longest = max(lines, key=len)
    assert len(longest) > 80  # nothing was cut at the terminal width
    rows = {line.split("\t")[4]: line.split("\t") for line in lines[1:]}
    assert rows["products.quantities.list_change_reasons"][1] == (
        "/products/quantities/quantity-change-reason"
    )
    assert rows["orders.tags.list (hand)"][3] == "yes"


def test_unknown_group_fails_with_the_known_groups(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["endpoints", "--group", "Nope"])
    assert result.exit_code == 2
    assert "Order Items" in result.output


def test_registered_on_the_real_root() -> None:
    from sallakit.cli import app as root

    result = CliRunner().invoke(root, ["endpoints", "--json", "--group", "Brands"])
    assert result.exit_code == 0, result.output
    assert {r["client_method"] for r in json.loads(result.stdout)} >= {"brands.list"}
