"""The README's client examples run, unchanged but for the token and ids, against the emulator.

The examples are written for the real Salla (a token, the default base URL); here the client
classes they import are swapped for subclasses that plug in the emulator's transport, so an
example that drifts from the real API fails this test instead of a reader.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

import sallakit.api
from sallakit.api import AsyncSalla, GovernorRegistry, Salla
from sallakit.emulator import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"


def _section_blocks(heading: str) -> list[str]:
    text = README.read_text("utf-8")
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(products=70, orders=5, customers=5, plan="1000000")


@pytest.fixture
def patched_clients(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> dict[str, Any]:
    token = emulator.issue_tokens(emulator.stores[0].id)["access_token"]

    class EmulatedAsyncSalla(AsyncSalla):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("transport", emulator.async_transport())
            kwargs.setdefault("governor", GovernorRegistry())
            super().__init__(token, **kwargs)

    class EmulatedSalla(Salla):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("transport", emulator.sync_transport())
            kwargs.setdefault("governor", GovernorRegistry())
            super().__init__(token, **kwargs)

    monkeypatch.setattr(sallakit.api, "AsyncSalla", EmulatedAsyncSalla)
    monkeypatch.setattr(sallakit.api, "Salla", EmulatedSalla)
    with httpx2.Client(transport=emulator.sync_transport()) as http:
        on_sale = http.get(
            "https://api.salla.dev/admin/v2/products",
            params={"status": "sale"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["pagination"]["total"]
    return {"order_id": emulator.place_order()["id"], "on_sale": on_sale}


def test_the_client_examples_run(patched_clients: dict[str, Any], capsys: Any) -> None:
    blocks = _section_blocks("Use the client")
    assert len(blocks) == 2, "the README shows one async and one sync example"
    for block in blocks:
        # The one id in the examples is an order of Salla's docs; use one the emulator has.
        code = block.replace("418149270", str(patched_clients["order_id"]))
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(" 1000000")  # the store's name and plan
    assert len(lines) == 1 + patched_clients["on_sale"] + 1  # store, every product on sale, order
    assert lines[-1].split()[0] == "under_review"


def test_the_emulator_example_passes_as_a_user_project(tmp_path: Path) -> None:
    (block,) = _section_blocks("Test against the emulator")
    conftest, _, tests = block.partition("# test_products.py\n")
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_products.py").write_text(tests)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
