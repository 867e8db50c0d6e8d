"""``sallakit emulator`` as a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx2
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_server_prints_state_serves_it_and_saves_on_exit(tmp_path):
    port = _free_port()
    state_file = tmp_path / "emulator.snapshot"
    env = {**os.environ, "SALLAKIT_EMULATOR_PLAN": "plus"}  # flags have env twins
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sallakit.cli import main; main()",
            "emulator",
            "--port",
            str(port),
            "--products",
            "12",
            "--orders",
            "3",
            "--customers",
            "4",
            "--client-id",
            "cli-app",
            "--state-file",
            str(state_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as proc:
        _exercise(proc, port)
    assert state_file.exists()
    assert state_file.read_bytes().startswith(b"SALLAKIT-EMULATOR-SNAPSHOT\n")


def _exercise(proc: subprocess.Popen[str], port: int) -> None:
    try:
        assert proc.stdout is not None
        printed = json.loads(proc.stdout.readline())
        assert printed["app"]["client_id"] == "cli-app"
        assert printed["stores"][0]["plan"] == "plus"
        assert printed["stores"][0]["counts"]["products"] == 12
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                served = httpx2.get(f"{base}/_emulator/state", timeout=1).json()
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert served["stores"] == printed["stores"]
        tokens = httpx2.post(
            f"{base}/_emulator/stores/{printed['stores'][0]['id']}/tokens", json={}, timeout=5
        ).json()
        info = httpx2.get(
            f"{base}/admin/v2/store/info",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=5,
        )
        assert info.status_code == 200
        assert info.headers["x-ratelimit-limit"] == "120"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_help_shows_env_twins_and_bad_plan_is_a_usage_error():
    from typer.testing import CliRunner

    from sallakit.cli import app

    runner = CliRunner()
    help_text = runner.invoke(app, ["emulator", "--help"], env={"COLUMNS": "200"}).output
    for flag in ("PORT", "PLAN", "AUTO_APPROVE", "STRICT_URLS", "STATE_FILE", "WEBHOOK_URL"):
        assert f"SALLAKIT_EMULATOR_{flag}" in help_text
    bad = runner.invoke(app, ["emulator", "--plan", "gold"])
    assert bad.exit_code == 2
    assert "unknown plan" in bad.output
