"""``sallakit demo --once`` as a user runs it: a real process, a JSON summary, exit 0 on a pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ._stack import free_port

pytestmark = pytest.mark.e2e


def test_demo_once_mirrors_the_store_and_passes_its_audit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALLAKIT_")}
    args = [
        "demo",
        "--once",
        "--dir",
        str(tmp_path / "demo"),
        "--port",
        str(free_port()),
        "--emulator-port",
        str(free_port()),
        "--products",
        "40",
        "--orders",
        "20",
        "--customers",
        "12",
        "--changes",
        "5",
    ]
    result = subprocess.run(
        [sys.executable, "-c", "from sallakit._main import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["audit"]["ok"] is True and summary["audit"]["mismatches"] == {}
    changes = summary["changes"]
    placed = sum(c.startswith("order ") for c in changes)
    deleted = sum(c.endswith(" deleted") for c in changes)
    assert (placed, deleted) == (2, 1)  # order, stock, delete, order, stock
    assert summary["mirrored"]["products"] == 40 - deleted
    assert summary["mirrored"]["orders"] == 20 + placed
    assert summary["mirrored"]["customers"] == 12
    hooks = summary["webhooks"]
    # app.installed, app.store.authorize, order.created per order and product.deleted, all
    # handled (a stock change sends an event only when the stock runs low: reconciliation
    # catches the others).
    assert hooks["received"] >= 2 + placed + deleted
    assert hooks["done"] == hooks["received"]
    assert summary["dashboard"].endswith("/dashboard/")
    # The progress bars and steps went to stderr, the JSON alone to stdout.
    assert "Full sync" in result.stderr and "Installing the app" in result.stderr
    settings = (tmp_path / "demo" / "sallakit-demo.env").read_text()
    assert "SALLAKIT_ADMIN_PASSWORD=" in settings
