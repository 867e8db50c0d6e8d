"""``create_app`` and ``sallakit serve``: the receiver at POST /webhooks/salla with its worker
in-process, /healthz, handlers loaded by ``module:attribute``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import pytest
from starlette.testclient import TestClient

from sallakit._exceptions import ConfigurationError
from sallakit.auth import generate_key
from sallakit.server import FernetBodyCipher, create_app, load_handlers
from sallakit.settings import Settings
from sallakit.webhooks import DeliveryFilter, Event, Handlers, compute_signature

SECRET = "serve-secret"

HANDLERS_MODULE = """
import sqlalchemy as sa
from sallakit.webhooks import Handlers

handlers = Handlers()

@handlers.on("order.*")
def count(event):
    event.connection.execute(
        sa.text("CREATE TABLE IF NOT EXISTS seen (event TEXT, store BIGINT)"))
    event.connection.execute(
        sa.text("INSERT INTO seen VALUES (:e, :s)"), {"e": event.name, "s": event.store_id})
"""


def _signed(event: str, data: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps({"event": event, "merchant": 7, "created_at": "x", "data": data}).encode()
    return raw, {"X-Salla-Signature": compute_signature(raw, SECRET)}


def test_create_app_receives_and_handles_in_process(tmp_path: Path) -> None:
    seen: list[str] = []
    handlers = Handlers()

    @handlers.on("*")
    def remember(event: Event) -> None:
        seen.append(event.name)

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        webhook_secret=SECRET,
        token_keys=generate_key(),
    )
    app = create_app(settings, handlers=handlers)
    with TestClient(app) as http:
        assert http.get("/healthz").json() == {"status": "ok", "webhooks_paused": False}
        raw, headers = _signed("order.created", {"id": 1})
        assert http.post("/webhooks/salla", content=raw, headers=headers).status_code == 200
        raw, headers = _signed(
            "app.store.authorize", {"access_token": "at", "refresh_token": "rt", "expires": 1}
        )
        assert http.post("/webhooks/salla", content=raw, headers=headers).status_code == 200
        again = http.post("/webhooks/salla/", content=raw, headers=headers, follow_redirects=False)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert http.get("/webhooks/salla").status_code == 405
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sorted(seen) == ["app.store.authorize", "order.created"]
    inbox = app.state.receiver.inbox
    sealed = [d for d in inbox.search(DeliveryFilter()) if d.sealed]
    assert [d.event for d in sealed] == ["app.store.authorize"]


def test_create_app_needs_a_webhook_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SALLAKIT_WEBHOOK_SECRET"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))


def test_load_handlers_errors_are_clear() -> None:
    for spec in ("nocolon", "no_such_module_xyz:handlers", "json:nope"):
        with pytest.raises(ConfigurationError):
            load_handlers(spec)


def test_fernet_body_cipher_round_trip_and_rotation() -> None:
    old, new = generate_key(), generate_key()
    sealed = FernetBodyCipher([old]).seal(b'{"access_token":"x"}')
    assert b"access_token" not in sealed
    assert FernetBodyCipher([new, old]).open(sealed) == b'{"access_token":"x"}'
    with pytest.raises(Exception, match="no configured token key"):
        FernetBodyCipher([new]).open(sealed)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sallakit_serve_runs_the_receiver_and_the_worker(tmp_path: Path) -> None:
    (tmp_path / "serve_handlers.py").write_text(HANDLERS_MODULE)
    db = tmp_path / "serve.db"
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "SALLAKIT_WEBHOOK_SECRET": SECRET,
        "SALLAKIT_DATABASE_URL": f"sqlite:///{db}",
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sallakit.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--handlers",
            "serve_handlers:handlers",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert process.poll() is None, "sallakit serve exited"
            assert time.monotonic() < deadline, "sallakit serve did not start"
            time.sleep(0.1)
        raw, headers = _signed("order.created", {"id": 42})
        response = httpx2.post(f"{base}/webhooks/salla", content=raw, headers=headers)
        assert response.status_code == 200 and response.json()["duplicate"] is False
        import sqlalchemy as sa

        engine = sa.create_engine(f"sqlite:///{db}")
        deadline = time.monotonic() + 15
        rows: list[tuple[str, int]] = []
        while time.monotonic() < deadline and not rows:
            with engine.connect() as conn:
                if sa.inspect(conn).has_table("seen"):
                    rows = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM seen"))]
            time.sleep(0.1)
        engine.dispose()
        assert rows == [("order.created", 7)]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    assert "sallakit serving on" in output
