"""`sallakit stores disconnect` and `sallakit keys generate|rotate` through typer's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from sallakit._exceptions import StoreNotFoundError, TokenDecryptionError
from sallakit.auth import StoreStatus, TokenSet, TokenVault, generate_key
from sallakit.cli import app
from sallakit.db import create_engine
from sallakit.db._schema import refresh_journal, stores

A, B, C = 101, 202, 303


def _tokens(store_id: int) -> TokenSet:
    return TokenSet(
        access_token=f"ory_at_secret_{store_id}",
        refresh_token=f"ory_rt_secret_{store_id}",
        expires_at=4_000_000_000,
        scopes=("orders.read", "offline_access"),
    )


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("SALLAKIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vault.db'}"


def _rows(db_url: str) -> dict[int, dict[str, Any]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.select(stores)).mappings().all()
    finally:
        engine.dispose()
    return {int(r["store_id"]): dict(r) for r in result}


@contextmanager
def _vault(db_url: str, keys: list[str]) -> Iterator[TokenVault]:
    vault = TokenVault.from_url(db_url, keys)
    try:
        yield vault
    finally:
        vault.close()


def _open(db_url: str, keys: list[str], store_id: int) -> TokenSet:
    vault = TokenVault.from_url(db_url, keys)
    try:
        return vault.tokens(store_id)
    finally:
        vault.close()


def _text(output: str) -> str:
    return " ".join(output.split())


def test_keys_generate_prints_a_new_fernet_key() -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "generate"])
    second = runner.invoke(app, ["keys", "generate"])
    assert first.exit_code == 0 and second.exit_code == 0
    keys = [first.output.strip(), second.output.strip()]
    assert keys[0] != keys[1]
    for key in keys:
        assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"


def test_keys_rotate_reencrypts_old_rows_only(db_url: str) -> None:
    old, new = generate_key(), generate_key()
    # A: sealed under the old key only. B: written after the new key went first (new already).
    # C: uninstalled, so no tokens at all.
    with _vault(db_url, [old]) as vault:
        vault.save_tokens(A, _tokens(A))
        vault.save_tokens(C, _tokens(C))
        vault.uninstall(C)
    with _vault(db_url, [new, old]) as vault:
        vault.save_tokens(B, _tokens(B))
    before = _rows(db_url)
    with pytest.raises(TokenDecryptionError):
        _open(db_url, [new], A)

    runner = CliRunner()
    env = {"SALLAKIT_DATABASE_URL": db_url, "SALLAKIT_TOKEN_KEYS": f"{new},{old}"}
    rotated = runner.invoke(app, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted the tokens of 1 stores" in _text(rotated.output)

    after = _rows(db_url)
    # A rewritten, B untouched (already under the newest key), C still without tokens.
    assert after[A]["access_token"] != before[A]["access_token"]
    assert after[A]["refresh_token"] != before[A]["refresh_token"]
    assert after[B]["access_token"] == before[B]["access_token"]
    assert after[B]["refresh_token"] == before[B]["refresh_token"]
    assert after[C]["access_token"] is None
    # Nothing else about the stores moved: rotation is not a new token generation.
    assert [after[s]["generation"] for s in (A, B, C)] == [
        before[s]["generation"] for s in (A, B, C)
    ]
    # Every stored token, access and refresh, opens with the new key alone.
    for store_id in (A, B):
        assert _open(db_url, [new], store_id) == _tokens(store_id)
        assert _open(db_url, [new, old], store_id) == _tokens(store_id)
    with pytest.raises(TokenDecryptionError):
        _open(db_url, [old], A)

    again = runner.invoke(app, ["keys", "rotate"], env=env)
    assert again.exit_code == 0
    assert "of 0 stores" in _text(again.output)
    for result in (rotated, again):
        for store_id in (A, B, C):
            assert f"secret_{store_id}" not in result.output


def test_keys_rotate_without_the_old_key_changes_nothing(db_url: str) -> None:
    old, new = generate_key(), generate_key()
    with _vault(db_url, [old]) as vault:
        vault.save_tokens(A, _tokens(A))
    with _vault(db_url, [new, old]) as vault:
        vault.save_tokens(B, _tokens(B))
    before = _rows(db_url)
    result = CliRunner().invoke(
        app, ["keys", "rotate", "--database-url", db_url, "--token-keys", new]
    )
    assert result.exit_code == 1
    assert f"no configured key decrypts the access token of store {A}" in _text(result.output)
    assert _rows(db_url) == before  # one transaction: B was not rewritten either
    assert _open(db_url, [new, old], A) == _tokens(A)


def test_keys_rotate_reports_missing_or_bad_keys(db_url: str) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["keys", "rotate", "--database-url", db_url])
    assert missing.exit_code == 1
    assert "set SALLAKIT_TOKEN_KEYS" in _text(missing.output)
    bad = runner.invoke(
        app, ["keys", "rotate", "--database-url", db_url, "--token-keys", "nope,also-nope"]
    )
    assert bad.exit_code == 1
    assert "token key #1 is not a valid Fernet key" in _text(bad.output)
    assert "also-nope" not in bad.output


def test_stores_disconnect(db_url: str) -> None:
    key = generate_key()
    with _vault(db_url, [key]) as vault:
        vault.save_tokens(A, _tokens(A), merchant={"id": A, "name": "متجر أ"})
        vault.save_tokens(B, _tokens(B))
    runner = CliRunner()
    env = {"SALLAKIT_DATABASE_URL": db_url, "SALLAKIT_TOKEN_KEYS": key}

    # Asked, and declined: nothing changes.
    declined = runner.invoke(app, ["stores", "disconnect", str(A)], env=env, input="n\n")
    assert declined.exit_code == 1
    assert f"Erase the tokens of store {A}?" in declined.output
    assert _open(db_url, [key], A) == _tokens(A)

    # Asked, and confirmed: tokens erased, the row kept as uninstalled.
    confirmed = runner.invoke(app, ["stores", "disconnect", str(A)], env=env, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert f"store {A} disconnected" in confirmed.output
    with _vault(db_url, [key]) as vault:
        record = vault.get(A)
        assert record.status is StoreStatus.UNINSTALLED
        assert record.status_detail == "disconnected by an operator"
        assert not record.has_tokens
        assert record.name == "متجر أ"
        with pytest.raises(StoreNotFoundError):
            vault.tokens(A)
        assert vault.tokens(B) == _tokens(B)  # the other store is untouched
    shown = runner.invoke(app, ["stores", "show", str(A), "--json"], env=env)
    assert json.loads(shown.output)["status"] == "uninstalled"
    raw = _rows(db_url)[A]
    assert raw["access_token"] is None and raw["refresh_token"] is None

    # --purge --yes: no question, and nothing left about the store.
    purged = runner.invoke(app, ["stores", "disconnect", str(B), "--purge", "--yes"], env=env)
    assert purged.exit_code == 0, purged.output
    assert f"store {B} disconnected and purged" in purged.output
    assert B not in _rows(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        journal = conn.execute(
            sa.select(refresh_journal).where(refresh_journal.c.store_id == B)
        ).all()
    engine.dispose()
    assert journal == []

    # An unknown store fails before asking anything.
    unknown = runner.invoke(app, ["stores", "disconnect", "999"], env=env)
    assert unknown.exit_code == 1
    assert "no store 999" in unknown.output
    assert "Erase" not in unknown.output

    listed = runner.invoke(app, ["stores", "list", "--json"], env=env)
    assert [(s["store_id"], s["status"]) for s in json.loads(listed.output)] == [(A, "uninstalled")]
    for result in (declined, confirmed, shown, purged, unknown, listed):
        assert "ory_at_secret" not in result.output and "ory_rt_secret" not in result.output
