"""A sync killed with SIGKILL in the middle of its backfill, then restarted: it completes, the
mirror equals the source, and the restart requests less than 1.2x the work still missing.

Everything runs as real processes: ``sallakit emulator`` (a server, real clock, a per-request
latency so the kill lands mid-backfill) and ``sallakit sync`` (the durable worker on DBOS).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from sallakit.auth import TokenVault, generate_key
from sallakit.auth._tokens import parse_token_response
from sallakit.db import create_engine, migrate
from sallakit.mirror import InMemoryMirrorStore, Mirror
from tests.integration.auth.conftest import free_port


def _start_emulator(port: int, **sizes: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from sallakit.cli import main; main()", "emulator"]
    command += ["--port", str(port), "--stores", "1", "--plan", "1000000"]
    for name, value in sizes.items():
        command += [f"--{name}", str(value)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _control(url: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx2.request(method, f"{url}/_emulator{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _requests(url: str, store_id: int) -> int:
    counters = _control(url, "GET", "/counters")
    return int(counters["requests"].get(str(store_id), {}).get("total", 0))


def _sync(env: dict[str, str], store_id: int, *, quiet: bool = False) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from sallakit.cli import main; main()"]
    command += ["sync", "--store", str(store_id), "--json"]
    pipe = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe)


def _scenario(tmp_path: Path, products: int, orders: int, customers: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_emulator(port, products=products, orders=orders, customers=customers)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                store_id = int(_control(url, "GET", "/state")["stores"][0]["id"])
                break
            except httpx2.HTTPError:
                assert time.monotonic() < deadline, "the emulator server did not start"
                time.sleep(0.2)
        # Each request takes a little while, so the kill lands in the middle of the backfill.
        _control(url, "POST", "/faults", {"kind": "latency", "seconds": 0.005, "rate": 1.0})
        db = f"sqlite:///{tmp_path}/mirror.db"
        key = generate_key()
        engine = create_engine(db)
        vault = TokenVault(engine, [key])
        tokens = _control(url, "POST", f"/stores/{store_id}/tokens")
        vault.save_tokens(store_id, parse_token_response(200, tokens, now=time.time()))
        env = {
            **os.environ,
            "SALLAKIT_DATABASE_URL": db,
            "SALLAKIT_TOKEN_KEYS": key,
            "SALLAKIT_API_BASE_URL": f"{url}/admin/v2",
        }

        # The work a whole sync needs, measured by a reference run of the same store.
        reference = Mirror(InMemoryMirrorStore(), _reference_clients(url, tokens["access_token"]))
        import anyio

        start = _requests(url, store_id)
        ref = anyio.run(reference.sync, store_id)
        assert ref.status == "succeeded", (ref.error, ref.audit)
        full = _requests(url, store_id) - start

        begin = _requests(url, store_id)
        first = _sync(env, store_id, quiet=True)
        while _requests(url, store_id) - begin < full * 0.45:
            assert first.poll() is None, "the first sync ended before it could be killed"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = _requests(url, store_id) - begin
        assert before < full, "the sync finished before it could be killed"

        second = _sync(env, store_id)
        out, err = second.communicate(timeout=600)
        assert second.returncode == 0, err.decode()[-3000:]
        after = _requests(url, store_id) - begin - before
        runs = json.loads(out)
        assert [r["status"] for r in runs] == ["succeeded"]
        missing = full - before
        assert after < 1.2 * missing, (after, missing, full, before)

        # The mirror equals the source: the reference mirror read it independently.
        migrate(engine)
        from sallakit.mirror import TABLES, SQLMirrorStore

        resumed = SQLMirrorStore(engine)
        for table in TABLES:
            got = {r["id"]: r["data"] for r in resumed.rows(store_id, table)}
            want = {r["id"]: r["data"] for r in reference.store.rows(store_id, table)}
            assert got == want, table
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _reference_clients(url: str, token: str) -> Any:
    from sallakit.api import AsyncSalla, GovernorRegistry

    registry = GovernorRegistry()

    def clients(store_id: int, transport: Any, on_wait: Any) -> AsyncSalla:
        return AsyncSalla(
            token,
            base_url=f"{url}/admin/v2",
            transport=transport,
            governor=registry,
            store_id=store_id,
        )

    return clients


def test_sigkill_mid_backfill_then_restart_completes(tmp_path):
    _scenario(tmp_path, products=190, orders=70, customers=70)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_sigkill_mid_backfill_at_scale(tmp_path):
    _scenario(tmp_path, products=5000, orders=2000, customers=3000)
