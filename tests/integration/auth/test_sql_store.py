"""What only a real database shows: error text, schema upgrades, locked and read-only
databases, damaged rows and out-of-range ids through the CLI."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sallakit._exceptions import TokenVaultError
from sallakit.auth import EasyMode, SqlTokenStore, TokenSet, TokenVault, easy_mode_app, generate_key
from sallakit.cli import app
from sallakit.db import SCHEMA_VERSION, create_engine, create_schema
from sallakit.db._schema import refresh_journal, schema_version, stores
from sallakit.webhooks import compute_signature

SOON = time.time() + 14 * 86_400


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A SQLite vault with stores 77 and 78: (url, key, path)."""
    path = tmp_path / "v.db"
    url = f"sqlite:///{path}"
    key = generate_key()
    vault = TokenVault(url, [key])
    vault.save_tokens(77, TokenSet("ory_at_77", "ory_rt_77", SOON), merchant={"name": "A"})
    vault.save_tokens(78, TokenSet("ory_at_78", "ory_rt_78", SOON), merchant={"name": "B"})
    vault.close()
    yield url, key, path


def _env(url: str, key: str) -> dict[str, str]:
    return {"SALLAKIT_DATABASE_URL": url, "SALLAKIT_TOKEN_KEYS": key}


# -------------------------------------------------------------------------- error text


def test_database_errors_carry_no_ciphertext(db: tuple[str, str, Path]) -> None:
    url, key, _ = db
    vault = TokenVault(url, [key])
    with vault.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER review2_fail BEFORE UPDATE ON sallakit_stores "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(TokenVaultError) as info:
        vault.save_tokens(77, TokenSet("at_x", "rt_x", SOON), merchant={"n": "PII"})
    for text in (str(info.value), str(info.value.__cause__)):
        assert "gAAAA" not in text
        assert "PII" not in text
    vault.close()


@pytest.mark.anyio
async def test_persistence_failure_is_a_5xx(db: tuple[str, str, Path]) -> None:
    url, key, _ = db
    vault = TokenVault(url, [key])
    with pytest.deprecated_call():
        endpoint = easy_mode_app(EasyMode(vault, "whsec"))
    with vault.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE sallakit_stores"))
    raw = json.dumps(
        {
            "event": "app.store.authorize",
            "merchant": 321,
            "created_at": "2026-01-01 10:00:00",
            "data": {"access_token": "a", "refresh_token": "r", "expires": int(SOON)},
        }
    ).encode()
    transport = httpx2.ASGITransport(app=endpoint)
    async with httpx2.AsyncClient(transport=transport, base_url="http://app.test") as http:
        response = await http.post(
            "/", content=raw, headers={"X-Salla-Signature": compute_signature(raw, "whsec")}
        )
    assert response.status_code == 500
    vault.close()


# ----------------------------------------------------------------------- schema upgrade


def test_upgrade_refuses_while_an_old_refresh_is_open(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'v.db'}")
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(schema_version.update().values(version=1))
        conn.execute(
            refresh_journal.insert().values(
                store_id=111,
                generation=1,
                state="started",
                started_at=0.0,
                pid=1,
                host="h",
                worker="v1",
            )
        )
    with pytest.raises(TokenVaultError, match="Stop every process"):
        create_schema(engine)
    with engine.begin() as conn:
        conn.execute(refresh_journal.update().values(state="interrupted"))
    create_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema_version.c.version)).scalar_one() == SCHEMA_VERSION
        columns = {c["name"] for c in sa.inspect(conn).get_columns(stores.name)}
    assert {"account", "pending_since", "tokens_at"} <= columns
    engine.dispose()


# ---------------------------------------------------------- locked and read-only databases


def _hold_write_lock(path: Path, release: threading.Event) -> threading.Thread:
    held = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE sallakit_stores SET updated_at = updated_at + 1")
        held.set()
        release.wait(60)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.wait(10)
    return thread


def test_read_only_commands_never_wait_for_a_writer(db: tuple[str, str, Path]) -> None:
    url, key, path = db
    release = threading.Event()
    writer = _hold_write_lock(path, release)
    try:
        runner = CliRunner()
        started = time.monotonic()
        listed = runner.invoke(app, ["stores", "list", "--json"], env=_env(url, key))
        shown = runner.invoke(app, ["stores", "show", "77"], env=_env(url, key))
        elapsed = time.monotonic() - started
    finally:
        release.set()
        writer.join()
    assert listed.exit_code == 0, listed.output
    assert [s["store_id"] for s in json.loads(listed.output)] == [77, 78]
    assert shown.exit_code == 0, shown.output
    assert elapsed < 10  # not the 60 s busy timeout


def test_a_locked_database_says_so(db: tuple[str, str, Path]) -> None:
    url, key, path = db
    vault = TokenVault(SqlTokenStore(create_engine(url, busy_timeout=0.2)), [key])
    release = threading.Event()
    writer = _hold_write_lock(path, release)
    try:
        with pytest.raises(TokenVaultError, match="locked by another writer"):
            vault.uninstall(77)
    finally:
        release.set()
        writer.join()
    vault.close()


def test_a_read_only_database_lists_and_refuses_writes_clearly(db: tuple[str, str, Path]) -> None:
    _, key, path = db
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    runner = CliRunner()
    listed = runner.invoke(app, ["stores", "list"], env=_env(read_only, key))
    assert listed.exit_code == 0, listed.output
    assert "77" in listed.output and "78" in listed.output
    disconnected = runner.invoke(
        app, ["stores", "disconnect", "77", "-y"], env=_env(read_only, key)
    )
    assert disconnected.exit_code == 1
    assert "cannot be written" in disconnected.output
    assert "Traceback" not in disconnected.output


def test_listing_a_database_without_tables_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    result = CliRunner().invoke(
        app, ["stores", "list", "--json"], env=_env(f"sqlite:///{path}", generate_key())
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


# ------------------------------------------------------------ damaged rows, id ranges


def test_a_damaged_row_never_breaks_the_listing(db: tuple[str, str, Path]) -> None:
    url, key, path = db
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sallakit_stores SET status = 'mystery' WHERE store_id = 77")
        conn.execute("UPDATE sallakit_stores SET expires_at = 1e300 WHERE store_id = 78")
    runner = CliRunner()
    listed = runner.invoke(app, ["stores", "list"], env=_env(url, key))
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("unreadable") == 2
    as_json = runner.invoke(app, ["stores", "list", "--json"], env=_env(url, key))
    assert [s["status"] for s in json.loads(as_json.output)] == ["unreadable", "unreadable"]
    shown = runner.invoke(app, ["stores", "show", "78", "--json"], env=_env(url, key))
    assert shown.exit_code == 0, shown.output
    assert "not a possible time" in json.loads(shown.output)["status_detail"]


@pytest.mark.parametrize("command", ["show", "disconnect", "refresh"])
@pytest.mark.parametrize("store_id", ["9223372036854775808", "0", "-5"])
def test_out_of_range_ids_are_one_line_errors(
    db: tuple[str, str, Path], command: str, store_id: str
) -> None:
    url, key, _ = db
    result = CliRunner().invoke(app, ["stores", command, "--", store_id], env=_env(url, key))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not a traceback
    assert "Invalid value for 'store_id'" in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_lease_timeout_must_be_a_finite_positive_number(
    db: tuple[str, str, Path], value: str
) -> None:
    url, key, _ = db
    result = CliRunner().invoke(
        app, ["stores", "refresh", "77", "--lease-timeout", value], env=_env(url, key)
    )
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
