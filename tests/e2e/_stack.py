"""Real processes for the end-to-end tests: ``sallakit emulator`` and ``sallakit serve``.

Each runs as its own interpreter on a free loopback port and is stopped (SIGTERM, then SIGKILL)
when the test ends, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from sallakit.auth import generate_key

ADMIN_PASSWORD = "e2e admin password"
ADMIN_TOKEN = "e2e-admin-token-" + "x" * 24
WEBHOOK_SECRET = "e2e-webhook-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from sallakit._main import main; main()", *args]


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    err = proc.stderr.read() if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return err or ""


def wait_until(
    url: str, *, timeout: float = 120.0, proc: subprocess.Popen[str] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process exited ({proc.returncode}): {_stop(proc)}")
        try:
            if httpx2.get(url, timeout=2.0).status_code < 500:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class Stack:
    """The emulator and the service, and what a test needs to drive them."""

    emulator_url: str
    service_url: str
    store_id: int
    database_url: str
    env: Mapping[str, str]

    def api(self) -> httpx2.Client:
        """A client of the service's JSON API with the admin token."""
        return httpx2.Client(
            base_url=self.service_url,
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30.0,
        )

    def install(self) -> None:
        """Install the app on the store in Easy mode; wait for its tokens in the service."""
        httpx2.post(
            f"{self.emulator_url}/_emulator/stores/{self.store_id}/install", json={}, timeout=30
        ).raise_for_status()
        deadline = time.monotonic() + 30
        with self.api() as api:
            while time.monotonic() < deadline:
                stores = api.get("/api/stores").json()
                if any(s["store_id"] == self.store_id and s["status"] == "active" for s in stores):
                    return
                time.sleep(0.2)
        raise TimeoutError("the app.store.authorize event never reached the service")


def start_emulator(
    port: int, service_url: str, env: Mapping[str, str], *seeding: str
) -> subprocess.Popen[str]:
    """``sallakit emulator`` in Easy mode, sending signed webhooks to the service's endpoint;
    ``seeding`` adds the store options (``--products 30`` ...)."""
    return subprocess.Popen(
        _cli(
            "emulator",
            "--port",
            str(port),
            *seeding,
            "--easy-mode",
            "--webhook-url",
            f"{service_url}/webhooks/salla",
            "--webhook-secret",
            WEBHOOK_SECRET,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )


@contextmanager
def running_stack(
    tmp: Path,
    *,
    products: int = 30,
    orders: int = 12,
    external_worker: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start the emulator (Easy mode, webhooks to the service) and ``sallakit serve``; with
    ``external_worker`` the service only receives and a ``sallakit worker`` process works;
    ``extra_env`` adds settings of the service."""
    emulator_port, service_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    service_url = f"http://127.0.0.1:{service_port}"
    database_url = f"sqlite:///{tmp / 'service.db'}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SALLAKIT_")}
    emulator = start_emulator(
        emulator_port,
        service_url,
        base_env,
        "--products",
        str(products),
        "--orders",
        str(orders),
        "--customers",
        "10",
    )
    service: subprocess.Popen[str] | None = None
    worker: subprocess.Popen[str] | None = None
    try:
        assert emulator.stdout is not None
        described: dict[str, Any] = json.loads(emulator.stdout.readline())
        app = described["app"]
        store_id = int(described["stores"][0]["id"])
        env = {
            **base_env,
            "SALLAKIT_DATABASE_URL": database_url,
            "SALLAKIT_TOKEN_KEYS": generate_key(),
            "SALLAKIT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SALLAKIT_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "SALLAKIT_ADMIN_TOKEN": ADMIN_TOKEN,
            "SALLAKIT_SESSION_SECRET": "e2e-session-secret-" + "s" * 20,
            "SALLAKIT_CLIENT_ID": app["client_id"],
            "SALLAKIT_CLIENT_SECRET": app["client_secret"],
            "SALLAKIT_ACCOUNTS_URL": emulator_url,
            "SALLAKIT_API_BASE_URL": f"{emulator_url}/admin/v2",
            "SALLAKIT_PUBLIC_URL": service_url,
            **(extra_env or {}),
        }
        if external_worker:
            env["SALLAKIT_WORKER"] = "external"
            worker = subprocess.Popen(
                _cli("worker"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
        service = subprocess.Popen(
            _cli("serve", "--port", str(service_port)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        wait_until(f"{service_url}/healthz", proc=service)
        yield Stack(emulator_url, service_url, store_id, database_url, env)
    finally:
        errors = []
        for process in (service, worker):
            if process is not None:
                errors.append(_stop(process))
        errors.append(_stop(emulator))
        for text in errors:
            if "Traceback" in text:
                print(text, file=sys.stderr)  # shown by pytest when the test failed
