"""``sallakit doctor`` on a real SQLite vault with stores in every state."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sallakit._doctor import FEATURE_SCOPES, diagnose
from sallakit.auth import TokenSet, TokenVault, generate_key
from sallakit.cli import app
from sallakit.db import migrate
from sallakit.settings import Settings

ALL_SCOPES = tuple(s for scopes in FEATURE_SCOPES.values() for s in scopes)


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    key, old_key = generate_key(), generate_key()
    url = f"sqlite:///{tmp_path / 'sallakit.db'}"
    vault = TokenVault.from_url(url, [key])
    migrate(vault.engine)  # a deployed database has every component's tables
    later = time.time() + 30 * 86_400
    vault.save_tokens(1, TokenSet("a", "r", later, ALL_SCOPES), merchant={"name": "متجر"})
    vault.save_tokens(2, TokenSet("a", "r", later, ("offline_access", "products.read")))
    vault.save_tokens(3, TokenSet("a", "r", later, ALL_SCOPES))
    vault.mark_reinstall_required(3)
    TokenVault.from_url(url, [old_key]).save_tokens(4, TokenSet("a", "r", later, ALL_SCOPES))
    vault.save_tokens(5, TokenSet("a", "r", later, ALL_SCOPES))
    with vault.engine.begin() as conn:  # a refresh whose answer was lost (see operating-tokens)
        conn.execute(
            sa.text(
                "UPDATE sallakit_stores SET status = 'refresh_interrupted', "
                "status_detail = 'store 5: try once: sallakit stores refresh 5' WHERE store_id = 5"
            )
        )
    env = {
        "SALLAKIT_DATABASE_URL": url,
        "SALLAKIT_TOKEN_KEYS": key,
        "SALLAKIT_WEBHOOK_SECRET": "whsec",
        "SALLAKIT_ADMIN_PASSWORD": "a long admin password",
        "SALLAKIT_SESSION_SECRET": "s" * 40,
        "SALLAKIT_CLIENT_ID": "doctor-app",
        "SALLAKIT_CLIENT_SECRET": "doctor-app-secret",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return env


def test_doctor_reports_each_store_with_its_fix(deployment: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "OK    database: reachable" in lines
    assert "OK    webhooks: signature verification on with a secret" in lines
    assert any(line.startswith("OK    store 1: active (متجر)") for line in lines)
    mirror, hooks = [line for line in lines if line.startswith("WARN  store 2 scopes:")]
    assert "mirror needs categories.read" in mirror and "-> add the scopes" in mirror
    assert "webhook subscriptions needs webhooks.read_write" in hooks
    (revoked,) = [line for line in lines if line.startswith("FAIL  store 3:")]
    assert "reinstall" in revoked
    (locked,) = [line for line in lines if line.startswith("FAIL  store 4:")]
    assert "do not open with the configured keys" in locked and "sallakit keys rotate" in locked
    (interrupted,) = [line for line in lines if line.startswith("FAIL  store 5:")]
    assert "refresh was interrupted" in interrupted
    assert "sallakit stores refresh 5" in interrupted  # the operator's fix
    assert lines[-1] == "3 failure(s), 2 warning(s)"
    for secret in deployment.values():
        if secret.startswith("sqlite"):
            continue
        assert secret not in result.output


def test_doctor_json_and_a_healthy_deployment(
    deployment: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'healthy.db'}"
    healthy = TokenVault.from_url(url, [deployment["SALLAKIT_TOKEN_KEYS"]])
    migrate(healthy.engine)
    healthy.save_tokens(9, TokenSet("a", "r", time.time() + 86_400 * 30, ALL_SCOPES))
    monkeypatch.setenv("SALLAKIT_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)
    assert {f["level"] for f in findings} == {"ok"}
    assert {"database", "migrations", "webhooks", "store 9", "token keys"} <= {
        f["check"] for f in findings
    }


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    target = tmp_path / "nowhere.db"
    settings = Settings(database_url=f"sqlite:///{target}", token_keys=generate_key())
    findings = diagnose(settings, now=time.time())
    assert any(f.check == "database" and f.level == "fail" for f in findings)
    assert not target.exists()
