"""Crash test: ``sallakit serve`` killed with SIGKILL in the middle of a burst of deliveries
sent by the emulator server, restarted, and fed the emulator's retries on its clock.

Proves, with real processes and the emulator as an independent sender:

* nothing acknowledged is lost: every order of the burst ends up in the inbox (an
  acknowledged delivery is never resent, so a lost one would stay missing), and right after the
  kill the inbox holds at least as many deliveries as the emulator saw acknowledged;
* exactly one handler effect per event, counted in the database through the worker's session,
  although handlers were cut off mid-run and retries delivered copies of stored events.

The default run uses a reduced burst (300); the 2,000-delivery form takes minutes and is marked
``e2e`` and ``slow`` (run it with ``-m e2e``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest
import sqlalchemy as sa

from sallakit.auth import generate_key

from ..auth.conftest import WEBHOOK_SECRET, EmulatorServer, free_port, start_emulator_server

HANDLERS = """
import time

import sqlalchemy as sa

from sallakit.webhooks import Handlers

handlers = Handlers()


@handlers.on("order.created")
def count_order(event):
    time.sleep(0.002)  # outside the transaction: a kill often lands while handlers run
    event.connection.execute(
        sa.text("INSERT INTO crash_effects (order_id, delivery_id) VALUES (:o, :d)"),
        {"o": event.data.id, "d": event.delivery_id},
    )
"""


@contextmanager
def _serve(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", "from sallakit.cli import main; main()", "serve"),
            *("--port", str(port), "--handlers", "crash_handlers:handlers"),
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 120  # the whole service starts slowly on a loaded machine
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"sallakit serve did not start: {log.read()[-2000:]!r}")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _count(engine: sa.Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def _deliveries(server: EmulatorServer) -> dict[str, int]:
    # The sender is busy during a burst: a generous timeout, and the small counters document.
    response = httpx2.get(f"{server.url}/_emulator/counters", timeout=120)
    response.raise_for_status()
    return dict(response.json()["deliveries"])


def _wait_for(condition: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def _run_crash(tmp_path: Path, burst: int) -> None:
    (tmp_path / "crash_handlers.py").write_text(HANDLERS)
    db = tmp_path / "crash.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE crash_effects (order_id BIGINT, delivery_id BIGINT)")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "SALLAKIT_DATABASE_URL": f"sqlite:///{db}",
        "SALLAKIT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SALLAKIT_WEBHOOK_STRATEGY": "signature",
        "SALLAKIT_TOKEN_KEYS": generate_key(),
        "SALLAKIT_ADMIN_PASSWORD": "crash test password",
        "SALLAKIT_SESSION_SECRET": "c" * 40,
        # A killed worker's claims come back quickly after the restart.
        "SALLAKIT_WEBHOOK_LEASE_SECONDS": "2",
    }
    with start_emulator_server() as server:
        store_id = server.store_id()
        token = server.control("POST", f"/stores/{store_id}/tokens", {})["access_token"]
        subscribed = httpx2.post(
            f"{server.url}/admin/v2/webhooks/subscribe",
            json={"event": "order.created", "url": f"http://127.0.0.1:{port}/webhooks/salla"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert subscribed.status_code in (200, 201), subscribed.text
        with _serve(port, env) as first:
            # Creating 2,000 orders takes the emulator more than control()'s 10 s on a loaded
            # machine: the same call with a generous timeout.
            made = httpx2.post(
                f"{server.url}/_emulator/stores/{store_id}/orders/burst",
                json={"count": burst},
                timeout=120,
            )
            made.raise_for_status()
            orders = made.json()
            order_ids = set(orders["orders"])
            assert len(order_ids) == burst
            deadline = time.monotonic() + 60
            while _count(engine, "SELECT COUNT(*) FROM sallakit_webhook_deliveries") < burst // 4:
                assert time.monotonic() < deadline, "the burst never reached the receiver"
                time.sleep(0.01)
            first.send_signal(signal.SIGKILL)
            first.wait()
        # Let the sender finish its first round (the rest fail: nobody listens), then check that
        # everything it saw acknowledged is in the database (no duplicates are injected, so
        # each acknowledgement is a distinct event).
        _wait_for(lambda: _deliveries(server)["attempts"] >= burst, "no first round")
        stored_at_kill = _count(engine, "SELECT COUNT(*) FROM sallakit_webhook_deliveries")
        acknowledged_at_kill = _deliveries(server)["succeeded"]
        assert 0 < acknowledged_at_kill <= stored_at_kill
        assert stored_at_kill < burst, "the kill came after the whole burst"
        with _serve(port, env):
            # Salla retries about 5 minutes later: move the emulator's clock, round by round.
            for _ in range(4):
                before = _deliveries(server)
                if not before["pending"]:
                    break
                server.control("POST", "/clock/advance", {"seconds": 301})
                _wait_for(
                    lambda before=before: (
                        _deliveries(server)["attempts"] >= before["attempts"] + before["pending"]
                    ),
                    "the retries were not sent",
                )
            assert _deliveries(server)["pending"] == 0
            _wait_for(
                lambda: (
                    _count(
                        engine,
                        "SELECT COUNT(*) FROM sallakit_webhook_deliveries WHERE status = 'done'",
                    )
                    >= burst
                ),
                "the worker did not finish after the restart",
            )
        sent = _deliveries(server)
    assert sent["failed_attempts"] > 0, "no delivery failed: the kill did not interrupt the burst"
    assert sent["delivered"] >= burst and sent["pending"] == 0
    with engine.connect() as conn:
        effects = dict(
            conn.execute(
                sa.text("SELECT order_id, COUNT(*) FROM crash_effects GROUP BY order_id")
            ).all()
        )
        stored = conn.execute(
            sa.text("SELECT COUNT(*), SUM(duplicates) FROM sallakit_webhook_deliveries")
        ).one()
        statuses = dict(
            conn.execute(
                sa.text("SELECT status, COUNT(*) FROM sallakit_webhook_deliveries GROUP BY status")
            ).all()
        )
    engine.dispose()
    assert set(effects) == order_ids, "an order's event is missing"
    assert set(effects.values()) == {1}, "a handler effect happened twice"
    assert stored[0] == burst and statuses == {"done": burst}


def test_sigkill_mid_burst_loses_nothing_and_handles_each_event_once(tmp_path: Path) -> None:
    _run_crash(tmp_path, burst=300)


@pytest.mark.e2e
@pytest.mark.soak
def test_sigkill_mid_burst_of_2000(tmp_path: Path) -> None:
    _run_crash(tmp_path, burst=2000)
