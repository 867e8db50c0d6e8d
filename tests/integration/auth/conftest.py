"""Fixtures for the auth integration tests: PostgreSQL discovery and an emulator server.

PostgreSQL tests use ``SALLAKIT_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it is unreachable they skip with the reason,
except under ``CI`` where they fail: CI must run them. Each test gets its own schema, dropped
afterwards, so concurrent runs never collide.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

CLIENT_ID = "itest-client"
CLIENT_SECRET = "itest-client-secret"
WEBHOOK_SECRET = "itest-webhook-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmulatorServer:
    url: str
    process: subprocess.Popen[bytes]

    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx2.request(method, f"{self.url}/_emulator{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def store_id(self) -> int:
        return int(self.control("GET", "/state")["stores"][0]["id"])

    def counters(self) -> dict[str, Any]:
        return dict(self.control("GET", "/counters"))


@contextmanager
def start_emulator_server(
    redirect_uri: str = "http://127.0.0.1:1/callback",
) -> Iterator[EmulatorServer]:
    """Run ``sallakit emulator --auto-approve`` as a subprocess on a free port until exit."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from sallakit.cli import main; main()",
        "emulator",
        "--port",
        str(port),
        "--stores",
        "1",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--webhook-secret",
        WEBHOOK_SECRET,
        "--redirect-uri",
        redirect_uri,
        "--auto-approve",
    ]
    # stderr goes to a file, not a pipe: an unread pipe fills up and blocks a chatty server.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    server = EmulatorServer(url=url, process=process)
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                pytest.fail(f"the emulator server exited: {err[-2000:]}")
            try:
                server.control("GET", "/state")
                break
            except httpx2.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail("the emulator server did not start within 30 s")
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def emulator_server() -> Iterator[EmulatorServer]:
    """``sallakit emulator`` running as a subprocess on a free port."""
    with start_emulator_server() as server:
        yield server
