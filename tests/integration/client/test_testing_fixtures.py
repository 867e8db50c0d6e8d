"""The testing plugin as a user's project sees it: merged options, the vault fixture, webhooks
delivered to an app, and the FastAPI TestClient example of the docs, run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "testing-with-the-emulator.md"

USER_TESTS = """
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def salla_emulator_options():
    return {"products": 40}


async def test_options_are_merged_with_the_defaults(salla_emulator, salla_store):
    assert len(salla_emulator.stores) == 1  # default kept
    from sallakit.api import AsyncSalla
    from sallakit.testing import SALLA_EMULATOR_DEFAULTS
    assert SALLA_EMULATOR_DEFAULTS["orders"] == 10
    tokens = salla_emulator.issue_tokens(salla_store.id)
    async with AsyncSalla(
        tokens["access_token"], transport=salla_emulator.async_transport()
    ) as salla:
        products = [p async for p in salla.products.list()]
        orders = [o async for o in salla.orders.list()]
    assert len(products) == 40 and len(orders) == 10
"""


def _doc_blocks() -> str:
    text = DOC.read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    vault = next(b for b in blocks if "def test_survives_an_expired_token" in b)
    fastapi = next(b for b in blocks if "def create_app" in b)
    return (
        "import pytest\n\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n\n\n"
        + vault
        + "\n\n"
        + fastapi.replace("import pytest\n", "")
    )


def test_user_project_with_merged_options_and_the_docs_examples(tmp_path: Path) -> None:
    # One pytest run for both files: each run pays the interpreter's start-up.
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["sallakit.testing"]\n')
    options = tmp_path / "options"
    options.mkdir()
    (options / "__init__.py").write_text("")
    (options / "test_options.py").write_text(USER_TESTS)
    (tmp_path / "test_docs.py").write_text(_doc_blocks())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
