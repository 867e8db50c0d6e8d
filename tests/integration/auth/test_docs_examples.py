"""The auth code shown in README.md and docs/ runs, verbatim, against the in-process emulator.

The snippets are read from the files and executed as written. The only adaptations are the
placeholders they use (``CLIENT_ID``, ``TOKEN_KEY``, ``STORE_ID``...) and the network: the
OAuth and API clients they build are pointed at the emulator's transports by patching the
names the snippets import. A snippet that stops matching the real API fails here.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sallakit.api
import sallakit.auth
from sallakit.auth import AsyncOAuthClient, OAuthClient, TokenSet, TokenVault, generate_key
from sallakit.emulator import Emulator

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
DOCS = [ROOT / "docs" / "connecting-stores.md", ROOT / "docs" / "operating-tokens.md"]
ACCOUNTS = "http://emulator.test"
API = "http://emulator.test/admin/v2"


def python_blocks(path: Path, heading: str | None = None) -> list[str]:
    """The ```python blocks of a Markdown file, or of one ``## heading`` section of it."""
    text = path.read_text(encoding="utf-8")
    if heading is not None:
        start = text.index(f"## {heading}\n")
        following = text.find("\n## ", start + 1)
        text = text[start : following if following != -1 else None]
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@dataclass
class DocsWorld:
    emulator: Emulator
    store_id: int
    key: str
    issued: dict[str, Any]
    namespace: dict[str, Any]


@pytest.fixture
def docs_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocsWorld]:
    # The snippets use "sqlite:///sallakit.db": a file in the current directory.
    monkeypatch.chdir(tmp_path)
    emulator = Emulator(stores=1, products=3, orders=4, customers=1)
    store_id = emulator.stores[0].id
    issued = emulator.issue_tokens(store_id)
    key = generate_key()
    vault = TokenVault.from_url("sqlite:///sallakit.db", [key])
    # Stored as already expired: the snippet must refresh through the OAuth client it built.
    vault.save_tokens(
        store_id,
        TokenSet(
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            expires_at=time.time() - 60,
            scopes=tuple(issued["scope"].split()),
        ),
    )
    vault.close()
    # What the snippets import, pointed at the emulator.
    monkeypatch.setattr(
        sallakit.auth,
        "AsyncOAuthClient",
        functools.partial(
            AsyncOAuthClient, accounts_url=ACCOUNTS, transport=emulator.async_transport()
        ),
    )
    monkeypatch.setattr(
        sallakit.auth,
        "OAuthClient",
        functools.partial(OAuthClient, accounts_url=ACCOUNTS, transport=emulator.sync_transport()),
    )
    real_async_salla = sallakit.api.AsyncSalla
    real_salla = sallakit.api.Salla
    monkeypatch.setattr(
        sallakit.api,
        "AsyncSalla",
        functools.partial(real_async_salla, base_url=API, transport=emulator.async_transport()),
    )
    monkeypatch.setattr(
        sallakit.api,
        "Salla",
        functools.partial(real_salla, base_url=API, transport=emulator.sync_transport()),
    )
    namespace: dict[str, Any] = {
        "__name__": "docs_snippet",
        "CLIENT_ID": emulator.default_app.client_id,
        "CLIENT_SECRET": emulator.default_app.client_secret,
        "TOKEN_KEY": key,
        "STORE_ID": store_id,
        "store_id": store_id,
        "WEBHOOK_SECRET": emulator.default_app.webhook_secret,
    }
    yield DocsWorld(emulator, store_id, key, issued, namespace)


def _stored(world: DocsWorld) -> tuple[int, TokenSet]:
    vault = TokenVault.from_url("sqlite:///sallakit.db", [world.key])
    try:
        return vault.get(world.store_id).generation, vault.tokens(world.store_id)
    finally:
        vault.close()


def test_readme_connect_stores_snippet_runs(
    docs_world: DocsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks(README, "Connect stores and keep their tokens")
    assert len(blocks) == 1, "the README section should hold one python example"
    exec(compile(blocks[0], "README.md", "exec"), docs_world.namespace)

    printed = capsys.readouterr().out.splitlines()
    store = docs_world.emulator.stores[0]
    assert len(printed) == 4  # every order of the store
    assert all(line.startswith(f"{store.name} ") for line in printed)
    assert len({int(line.rsplit(" ", 1)[1]) for line in printed}) == 4
    # The expired token was refreshed exactly once, through the OAuth client of the snippet.
    counters = docs_world.emulator.counters()
    assert counters["token_refreshes"] == {docs_world.store_id: 1}
    generation, tokens = _stored(docs_world)
    assert generation == 2
    assert tokens.access_token != docs_world.issued["access_token"]


def test_connecting_stores_first_snippet_runs(docs_world: DocsWorld) -> None:
    """The opening example of docs/connecting-stores.md, run as the body of a coroutine."""
    import anyio

    block = python_blocks(DOCS[0])[0]
    body = "\n".join(f"    {line}" for line in block.splitlines())
    source = f"async def __snippet__():\n{body}\n    return info\n"
    exec(compile(source, "connecting-stores.md", "exec"), docs_world.namespace)
    info = anyio.run(docs_world.namespace["__snippet__"])
    assert info is not None
    assert docs_world.emulator.counters()["token_refreshes"] == {docs_world.store_id: 1}


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_doc_snippets_import_real_names(path: Path) -> None:
    """Every ``from sallakit... import`` in the auth docs names something that exists."""
    blocks = (
        python_blocks(path, "Connect stores and keep their tokens")
        if path == README
        else python_blocks(path)
    )
    for block in blocks:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sallakit"):
                module = importlib.import_module(node.module or "")
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{path.name}: {node.module}.{alias.name}"
