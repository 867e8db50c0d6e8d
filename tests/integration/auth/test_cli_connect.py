"""`sallakit connect` for real: subprocesses against `sallakit emulator --auto-approve`.

The emulator's registered redirect URI is connect's one-shot callback server on a free port;
the consent URL printed by connect is fetched with httpx2, which follows the emulator's redirect
to that callback, exactly as a browser would.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from typer.testing import CliRunner

from sallakit.auth import StoreStatus, TokenVault, generate_key
from sallakit.cli import app

from .conftest import CLIENT_ID, CLIENT_SECRET, EmulatorServer, free_port, start_emulator_server

STATE_SECRET = "connect-test-state-secret-0123456789"
CLI = [sys.executable, "-c", "from sallakit.cli import main; main()"]


@dataclass
class ConnectWorld:
    server: EmulatorServer
    redirect_uri: str
    env: dict[str, str]
    db_url: str
    key: str
    cwd: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ConnectWorld]:
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    with start_emulator_server(redirect_uri=redirect_uri) as server:
        key = generate_key()
        db_url = f"sqlite:///{tmp_path / 'vault.db'}"
        # No SALLAKIT_* of the developer's shell leaks in; cwd has no .env file.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALLAKIT_")}
        env.update(
            {
                "SALLAKIT_CLIENT_ID": CLIENT_ID,
                "SALLAKIT_CLIENT_SECRET": CLIENT_SECRET,
                "SALLAKIT_ACCOUNTS_URL": server.url,
                "SALLAKIT_API_BASE_URL": f"{server.url}/admin/v2",
                "SALLAKIT_DATABASE_URL": db_url,
                "SALLAKIT_TOKEN_KEYS": key,
                "SALLAKIT_REDIRECT_URI": redirect_uri,
                "SALLAKIT_STATE_SECRET": STATE_SECRET,
            }
        )
        yield ConnectWorld(server, redirect_uri, env, db_url, key, tmp_path)


class _Connect:
    """``sallakit connect --no-browser`` as a subprocess whose stdout is read line by line."""

    def __init__(self, world: ConnectWorld, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "connect", "--no-browser", *args],
            env=world.env,
            cwd=world.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def authorize_url(self) -> str:
        """The consent URL, as printed (proves it is flushed before connect waits)."""
        while True:
            line = self.lines.get(timeout=30)
            if line is None:
                raise AssertionError(f"connect exited early: {''.join(self._seen)}")
            self._seen.append(line)
            if "/oauth2/auth?" in line:
                return line.strip()

    def finish(self) -> tuple[int, str, str]:
        returncode = self.proc.wait(timeout=30)
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        while (line := self.lines.get(timeout=10)) is not None:
            self._seen.append(line)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return returncode, "".join(self._seen), err


def _cli(world: ConnectWorld, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=world.env,
        cwd=world.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_connect_end_to_end(world: ConnectWorld) -> None:
    connect = _Connect(world)
    url = connect.authorize_url()
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(f"{world.server.url}/oauth2/auth?")
    assert query["redirect_uri"] == world.redirect_uri
    assert query["client_id"] == CLIENT_ID
    assert "offline_access" in query["scope"].split()

    # The emulator auto-approves and redirects to connect's one-shot server on localhost.
    page = httpx2.get(url, follow_redirects=True, timeout=30)
    assert page.status_code == 200, page.text
    assert str(page.url).startswith(world.redirect_uri + "?code=")
    assert "Connected" in page.text

    returncode, out, err = connect.finish()
    store_id = world.server.store_id()
    assert returncode == 0, out + err
    assert f"connected store {store_id}" in out
    assert "offline_access" in out

    vault = TokenVault.from_url(world.db_url, [world.key])
    try:
        tokens = vault.tokens(store_id)
        record = vault.get(store_id)
    finally:
        vault.close()
    assert record.status is StoreStatus.ACTIVE and record.connected_via == "custom"
    assert record.expires_at is not None
    secrets = [tokens.access_token, tokens.refresh_token]
    assert all(secrets) and tokens.access_token.startswith("ory_at_")
    # The code the callback carried is spent too; it must not be echoed either.
    code = dict(parse_qsl(urlsplit(str(page.url)).query))["code"]
    expiry_day = datetime.fromtimestamp(record.expires_at, tz=UTC).strftime("%Y-%m-%d")

    listed = _cli(world, "stores", "list")
    shown = _cli(world, "stores", "show", str(store_id))
    as_json = _cli(world, "stores", "show", str(store_id), "--json")
    for result in (listed, shown, as_json):
        assert result.returncode == 0, result.stdout + result.stderr
    for text in (listed.stdout, shown.stdout):
        assert str(store_id) in text
        assert "active" in text
        assert "offline_access" in text
        assert expiry_day in text
        assert "14.0 d)" in text  # days left
    assert "yes (encrypted)" in shown.stdout
    summary = json.loads(as_json.stdout)
    assert summary["status"] == "active"
    assert summary["expires_at"] == pytest.approx(record.expires_at)
    assert "offline_access" in summary["scopes"]

    everything = "".join([out, err, *(r.stdout + r.stderr for r in (listed, shown, as_json))])
    for secret in [*secrets, code]:
        assert secret and secret not in everything


@pytest.mark.slow
def test_connect_denied_consent(world: ConnectWorld) -> None:
    connect = _Connect(world)
    url = connect.authorize_url()
    page = httpx2.get(url + "&decision=deny", follow_redirects=True, timeout=30)
    assert page.status_code == 400
    assert "Not connected" in page.text
    returncode, out, err = connect.finish()
    assert returncode == 1, out + err
    assert "the merchant declined" in out
    assert "Traceback" not in err
    listed = _cli(world, "stores", "list", "--json")
    assert json.loads(listed.stdout) == []


@pytest.mark.slow
def test_connect_times_out_without_callback(world: ConnectWorld) -> None:
    connect = _Connect(world, "--timeout", "0.3")
    connect.authorize_url()
    returncode, out, err = connect.finish()
    assert returncode == 1, out + err
    assert re.search(r"no callback reached http://127\.0\.0\.1:\d+/callback within 0\.3 s", out)
    assert "Traceback" not in err


def _idle_connection(redirect_uri: str) -> socket.socket:
    """A TCP connection to the callback port that sends half a request and then nothing, as a
    browser's preconnect does."""
    parts = urlsplit(redirect_uri)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=5)
    sock.sendall(b"GET /callback?code=")
    return sock


@pytest.mark.slow
def test_connect_survives_an_idle_connection_and_forged_callbacks(world: ConnectWorld) -> None:
    connect = _Connect(world)
    url = connect.authorize_url()
    idle = _idle_connection(world.redirect_uri)
    try:
        forged = [
            f"{world.redirect_uri}?code=stolen&state=forged",
            f"{world.redirect_uri}?error=access_denied",  # no state: proves nothing
            f"{world.redirect_uri}?code=x&state={'ab' * 40}",  # well formed, wrong signature
        ]
        for bogus in forged:
            answer = httpx2.get(bogus, timeout=10)  # answered at once, despite the idle peer
            assert answer.status_code == 400 and "Not connected" in answer.text
        # The merchant's real approval still finds the callback server listening.
        page = httpx2.get(url, follow_redirects=True, timeout=30)
        assert page.status_code == 200, page.text
        assert "Connected" in page.text
    finally:
        idle.close()
    returncode, out, err = connect.finish()
    assert returncode == 0, out + err
    assert f"connected store {world.server.store_id()}" in out


@pytest.mark.slow
def test_connect_timeout_holds_with_an_idle_connection(world: ConnectWorld) -> None:
    connect = _Connect(world, "--timeout", "2")
    connect.authorize_url()
    started = time.monotonic()
    idle = _idle_connection(world.redirect_uri)
    try:
        bogus = httpx2.get(f"{world.redirect_uri}?code=x&state=forged", timeout=10)
        assert bogus.status_code == 400
        returncode, out, err = connect.finish()
        elapsed = time.monotonic() - started
    finally:
        idle.close()
    assert returncode == 1, out + err
    text = " ".join(out.split())
    assert "within 2 s (1 with a bad state were ignored)" in text
    assert "Traceback" not in err
    assert elapsed < 10  # the timeout, not the idle connection, ended it


# ---------------------------------------------------------------- bad settings (no network)


def _settings_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        "SALLAKIT_CLIENT_ID": CLIENT_ID,
        "SALLAKIT_CLIENT_SECRET": CLIENT_SECRET,
        "SALLAKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
        "SALLAKIT_TOKEN_KEYS": generate_key(),
        "SALLAKIT_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
        "SALLAKIT_ACCOUNTS_URL": "http://127.0.0.1:9",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(f"SALLAKIT_{name.upper()}")
        else:
            env[f"SALLAKIT_{name.upper()}"] = value
    return env


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": None}, "needs SALLAKIT_CLIENT_ID"),
        (
            {"client_id": None, "client_secret": None},
            "SALLAKIT_CLIENT_ID and SALLAKIT_CLIENT_SECRET",
        ),
        ({"token_keys": None}, "set SALLAKIT_TOKEN_KEYS"),
        ({"token_keys": "not-a-key"}, "token key #1 is not a valid Fernet key"),
        ({"redirect_uri": "https://app.example/callback"}, "must be http://127.0.0.1:PORT/PATH"),
        ({"state_secret": "short"}, "at least 16 bytes"),
    ],
)
def test_connect_reports_bad_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    overrides: dict[str, str | None],
    message: str,
) -> None:
    for name in [n for n in os.environ if n.startswith("SALLAKIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file
    result = CliRunner().invoke(
        app, ["connect", "--no-browser"], env=_settings_env(tmp_path, **overrides)
    )
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert "oauth2/auth" not in result.output  # failed before any consent URL was shown


def test_connect_port_taken_or_inconsistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _settings_env(tmp_path, redirect_uri=f"http://127.0.0.1:{port}/callback")
        result = CliRunner().invoke(app, ["connect", "--no-browser"], env=env)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"cannot listen for the callback on 127.0.0.1:{port}" in text

    result = CliRunner().invoke(app, ["connect", "--no-browser", "--port", str(port + 1)], env=env)
    assert result.exit_code == 1
    assert "differs from the redirect URI's port" in " ".join(result.output.split())
