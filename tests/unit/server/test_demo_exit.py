"""``sallakit demo --once`` exits 0 only when the final audit passed (the scenario is faked: the
real one runs in tests/e2e/test_demo.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sallakit.cli import app
from sallakit.server import _demo


def summary(ok: bool) -> _demo.DemoSummary:
    return _demo.DemoSummary(
        store={"id": 1, "name": "متجر", "plan": "pro"},
        mirrored={"orders": 3},
        webhooks={"received": 2, "done": 2},
        audit={"ok": ok, "checks": {}, "mismatches": {} if ok else {"orders": {}}, "capped": {}},
    )


@pytest.mark.parametrize("ok", [True, False])
def test_the_exit_code_follows_the_audit(
    ok: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fake_run_demo(options: Any, reporter: Any) -> _demo.DemoSummary:
        assert options.once and options.directory == tmp_path
        return summary(ok)

    monkeypatch.setattr(_demo, "run_demo", fake_run_demo)
    result = CliRunner().invoke(app, ["demo", "--once", "--dir", str(tmp_path)])
    assert result.exit_code == (0 if ok else 1), result.output
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert printed["audit"]["ok"] is ok and printed["store"]["name"] == "متجر"
