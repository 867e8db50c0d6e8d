"""``sallakit emulator`` option errors: one line each, and the banner only once it listens."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx2
import pytest
from typer.testing import CliRunner

from sallakit.cli import app
from sallakit.emulator import Emulator

SMALL = ["--products", "2", "--orders", "1", "--customers", "1"]


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_one_line(port):
    result = CliRunner().invoke(app, ["emulator", "--port", port, *SMALL])
    assert result.exit_code == 2
    assert len(_error_lines(result.output)) == 1
    assert "Traceback" not in result.output


def test_a_state_file_that_is_a_directory_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["emulator", "--state-file", str(tmp_path), *SMALL])
    assert result.exit_code == 2
    assert "is a directory" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(
        app, ["emulator", "--state-file", str(tmp_path / "no" / "s.snap"), *SMALL]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_seeding_flags_over_an_existing_state_file_are_refused(tmp_path):
    state = tmp_path / "s.snap"
    Emulator(products=2, orders=1, customers=1).save(state)
    result = CliRunner().invoke(app, ["emulator", "--state-file", str(state), "--products", "5"])
    assert result.exit_code == 2
    assert "--products" in result.output


def test_a_busy_port_prints_no_banner_and_one_error_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from sallakit.cli import main; main()",
                "emulator",
                "--port",
                str(port),
                *SMALL,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert result.stdout == ""  # no banner: nothing listens
    assert len(_error_lines(result.stderr)) == 1
    assert "Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_banner_comes_after_the_bind_and_names_the_real_port():
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sallakit.cli import main; main()",
            "emulator",
            "--port",
            "0",
            *SMALL,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            banner = json.loads(proc.stdout.readline())
            port = int(banner["base_url"].rsplit(":", 1)[1])
            assert port > 0
            # The socket is bound and listening when the banner is out: connecting works at
            # once (the backlog holds the connection until uvicorn accepts it).
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
            state = httpx2.get(f"{banner['base_url']}/_emulator/state", timeout=30)
            assert state.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
