"""`sallakit stores`, `sallakit keys`: tables without tokens, rotation keeps stores working."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sallakit.auth import TokenSet, TokenVault, generate_key
from sallakit.cli import app

TOKENS = TokenSet(
    access_token="ory_at_cli_secret",
    refresh_token="ory_rt_cli_secret",
    expires_at=4_000_000_000,
    scopes=("settings.read", "offline_access"),
)


def test_stores_and_keys(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    old = generate_key()
    vault = TokenVault.from_url(db_url, [old])
    vault.save_tokens(77, TOKENS, merchant={"id": 77, "name": "متجر التجربة"})
    vault.close()
    runner = CliRunner()
    env = {"SALLAKIT_DATABASE_URL": db_url, "SALLAKIT_TOKEN_KEYS": old}

    listed = runner.invoke(app, ["stores", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "77" in listed.output and "active" in listed.output
    shown = runner.invoke(app, ["stores", "show", "77", "--json"], env=env)
    assert json.loads(shown.output)["generation"] == 1
    for result in (listed, shown):
        assert "ory_at_cli_secret" not in result.output
        assert "ory_rt_cli_secret" not in result.output

    generated = runner.invoke(app, ["keys", "generate"])
    new = generated.output.strip()
    rotated = runner.invoke(app, ["keys", "rotate", "--token-keys", f"{new},{old}"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "1 stores" in rotated.output
    only_new = TokenVault.from_url(db_url, [new])
    assert only_new.tokens(77).access_token == "ory_at_cli_secret"
    only_new.close()

    missing = runner.invoke(app, ["stores", "show", "78"], env={**env, "SALLAKIT_TOKEN_KEYS": new})
    assert missing.exit_code == 1 and "no store 78" in missing.output

    gone = runner.invoke(app, ["stores", "disconnect", "77", "--yes"], env=env)
    assert gone.exit_code == 0, gone.output
    listed = runner.invoke(
        app, ["stores", "list", "--json"], env={**env, "SALLAKIT_TOKEN_KEYS": new}
    )
    assert json.loads(listed.output)[0]["status"] == "uninstalled"
