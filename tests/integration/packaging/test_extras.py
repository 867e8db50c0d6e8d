"""Core-only installs work, and a missing extra is one clear message with the install command.

Each test runs a fresh interpreter whose import system hides the modules of the optional extras
(a meta-path finder that refuses them), as if only ``pip install sallakit`` had run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sallakit._extras import EXTRAS

HIDE = """
import sys
from importlib.abc import MetaPathFinder

class Hide(MetaPathFinder):
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None

sys.meta_path.insert(0, Hide(HIDDEN))
"""

ALL_OPTIONAL = sorted({m for modules in EXTRAS.values() for m in modules} | {"click"})


def run(code: str, hidden: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    prelude = f"HIDDEN = {hidden!r}\n" + HIDE
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_the_client_vault_and_webhook_verification_need_only_the_core(tmp_path: Path) -> None:
    code = f"""
    import sallakit, sallakit.api, sallakit.auth, sallakit.webhooks, sallakit.models
    from sallakit.api import AsyncSalla, Salla
    from sallakit.auth import TokenSet, TokenVault, generate_key
    from sallakit.webhooks import compute_signature, verify_request, parse_event

    body = b'{{"event": "order.created", "merchant": 1, "created_at": "x", "data": {{}}}}'
    headers = {{"X-Salla-Signature": compute_signature(body, "secret"),
               "X-Salla-Security-Strategy": "Signature"}}
    verify_request(body, headers, "secret")
    assert parse_event(body).event == "order.created"
    vault = TokenVault.from_url("sqlite:///{tmp_path / "v.db"}", [generate_key()])
    vault.save_tokens(1, TokenSet("a", "r", 9e9, ()))
    assert vault.tokens(1).access_token == "a"
    Salla("token").close()
    for name in {ALL_OPTIONAL!r}:
        assert name not in sys.modules, name
    print("core ok")
    """
    result = run(code, ALL_OPTIONAL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "core ok"


@pytest.mark.parametrize(
    ("module", "extra"),
    [("sallakit.server", "server"), ("sallakit.emulator", "emulator"), ("sallakit.cli", "cli")],
)
def test_a_missing_extra_names_the_install_command(module: str, extra: str) -> None:
    code = f"""
    from sallakit import MissingExtraError
    try:
        import {module}
    except MissingExtraError as exc:
        assert isinstance(exc, ImportError) and exc.extra == {extra!r}
        print(exc.message)
    else:
        raise SystemExit("imported without its extra")
    """
    result = run(code, ALL_OPTIONAL)
    assert result.returncode == 0, result.stderr
    assert f"pip install 'sallakit[{extra}]'" in result.stdout


def test_the_console_script_prints_one_line_without_the_cli_extra() -> None:
    result = run("from sallakit._main import main; main()", ["typer", "rich", "click"], "--help")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "sallakit: the sallakit command line needs the 'cli' extra (module 'typer' is not "
        "installed): pip install 'sallakit[cli]'"
    ]


@pytest.mark.parametrize(
    ("command", "extra"),
    [("emulator", "emulator"), ("serve", "server"), ("demo", "server"), ("worker", "server")],
)
def test_a_command_whose_extra_is_missing_says_which(command: str, extra: str) -> None:
    # The cli extra is there, the web stack (emulator and server extras) is not.
    result = run(
        f"import sys; sys.argv = ['sallakit', {command!r}]\n"
        "from sallakit._main import main; main()",
        ["starlette", "uvicorn", "jinja2", "multipart", "fastapi"],
    )
    assert result.returncode == 1
    assert f"pip install 'sallakit[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
