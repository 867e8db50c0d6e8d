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


def test_the_mirror_example_runs(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sallakit.mirror
    from sallakit.auth import TokenSet, TokenVault, generate_key
    from sallakit.db import migrate

    emulator = Emulator(products=12, orders=4, customers=5, plan="1000000")
    store_id = emulator.stores[0].id
    issued = emulator.issue_tokens(store_id)
    vault = TokenVault.from_url(f"sqlite:///{tmp_path / 'mirror.db'}", [generate_key()])
    migrate(vault.engine)
    vault.save_tokens(
        store_id,
        TokenSet(issued["access_token"], issued["refresh_token"], 9e9, ()),
    )
    real = sallakit.mirror.Mirror

    class EmulatedMirror(real):  # type: ignore[misc, valid-type]
        @classmethod
        def from_vault(cls, vault: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("transport", emulator.async_transport())
            kwargs.setdefault("base_url", "https://api.salla.dev/admin/v2")
            return real.from_vault.__func__(cls, vault, **kwargs)  # type: ignore[attr-defined]

    monkeypatch.setattr(sallakit.mirror, "Mirror", EmulatedMirror)
    (block,) = _section_blocks("Mirror a store")
    namespace: dict[str, Any] = {"__name__": "readme_mirror", "vault": vault, "STORE_ID": store_id}
    exec(compile(block, str(README), "exec"), namespace)
    lines = capsys.readouterr().out.splitlines()
    orders = [line for line in lines if line.startswith("added order ")]
    assert len(orders) == 4  # one change per order of the store, through the hook
    assert lines[-1] == "succeeded True"
    assert namespace["last_seen"] >= 4
