"""Real processes on PostgreSQL for the production-mode tests: ``sallakit emulator``, a
``sallakit serve`` with external workers, and any number of ``sallakit worker`` processes with
their executor ids, each started, signalled and restarted by the test.

DBOS's tables live in a schema of their own per test (``SALLAKIT_WORKFLOW_SCHEMA``), dropped
afterwards, next to the sallakit tables in the ``postgres_url`` fixture's schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import sqlalchemy as sa

from sallakit.auth import generate_key
from sallakit.db import create_engine
from sallakit.mirror import RunRecord, SQLMirrorStore

from ._stack import ADMIN_TOKEN, WEBHOOK_SECRET, _cli, _stop, free_port, start_emulator, wait_until

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Fleet:
    """The emulator, one web process and the workers started so far."""

    emulator_url: str
    service_url: str
    store_ids: list[int]
    database_url: str
    workflow_schema: str
    env: dict[str, str]
    logs: Path
    workers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    log_of: dict[int, Path] = field(default_factory=dict)
    _engine: sa.Engine | None = None
    _started: int = 0

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        return self._engine

    def start_worker(self, executor_id: str, **env: str) -> subprocess.Popen[str]:
        """Start ``sallakit worker --executor-id ID`` (replacing a stopped one of that id); its
        output goes to a log file (a pipe nobody reads would block a chatty process)."""
        self._started += 1
        path = self.logs / f"worker-{executor_id}-{self._started}.log"
        with path.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                _cli("worker", "--executor-id", executor_id),
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
                env={**self.env, **env},
            )
        self.workers[executor_id] = proc
        self.log_of[proc.pid] = path
        deadline = time.monotonic() + 120
        while f"sallakit worker {executor_id} ready" not in self.log(proc):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {executor_id} did not start: {self.log(proc)}")
            time.sleep(0.1)
        return proc

    def log(self, proc: subprocess.Popen[str]) -> str:
        """What a worker wrote to stderr."""
        path = self.log_of.get(proc.pid)
        return path.read_text("utf-8") if path is not None and path.exists() else ""

    def stop_gracefully(
        self, proc: subprocess.Popen[str], timeout: float = 60.0
    ) -> tuple[int, str]:
        """SIGTERM, wait; returns the exit code and the worker's log."""
        proc.terminate()
        proc.wait(timeout=timeout)
        return proc.returncode, self.log(proc)

    def api(self) -> httpx2.Client:
        return httpx2.Client(
            base_url=self.service_url,
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30.0,
        )

    def install(self, store_id: int) -> None:
        """Install the app on a store (Easy mode); wait until a worker applied its tokens."""
        httpx2.post(
            f"{self.emulator_url}/_emulator/stores/{store_id}/install", json={}, timeout=30
        ).raise_for_status()
        deadline = time.monotonic() + 60
        with self.api() as api:
            while time.monotonic() < deadline:
                stores = api.get("/api/stores").json()
                if any(s["store_id"] == store_id and s["status"] == "active" for s in stores):
                    return
                time.sleep(0.2)
        raise TimeoutError(f"store {store_id} never became active")

    def counters(self) -> dict[str, Any]:
        response = httpx2.get(f"{self.emulator_url}/_emulator/counters", timeout=30)
        response.raise_for_status()
        counters: dict[str, Any] = response.json()
        return counters

    def runs(self, store_id: int) -> list[RunRecord]:
        return SQLMirrorStore(self.engine).list_runs(store_id, 500)

    def wait_runs(
        self, store_id: int, *, count: int = 1, timeout: float = 180.0
    ) -> list[RunRecord]:
        """Wait until the store has ``count`` runs, all finished; returns them oldest first."""
        deadline = time.monotonic() + timeout
        runs: list[RunRecord] = []
        while time.monotonic() < deadline:
            runs = self.runs(store_id)
            if len(runs) >= count and all(r.status in TERMINAL for r in runs):
                return sorted(runs, key=lambda r: r.created_at)
            time.sleep(0.5)
        raise TimeoutError(f"runs of store {store_id}: {[(r.run_id, r.status) for r in runs]}")

    def executors(self) -> set[str]:
        """The DBOS executor ids that ran mirror runs."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    f'SELECT DISTINCT executor_id FROM "{self.workflow_schema}".workflow_status '
                    "WHERE name = 'sallakit.mirror.run'"
                )
            )
            return {row[0] for row in rows}


@contextmanager
def running_fleet(
    postgres_url: str,
    logs: Path,
    *,
    stores: int = 1,
    plan: str = "pro",
    products: int = 30,
    orders: int = 10,
    customers: int = 10,
    env: dict[str, str] | None = None,
) -> Iterator[Fleet]:
    """The emulator and ``sallakit serve`` (``SALLAKIT_WORKER=external``) on PostgreSQL; the
    test starts the workers. Every process is stopped at the end, the DBOS schema dropped."""
    emulator_port, service_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    service_url = f"http://127.0.0.1:{service_port}"
    workflow_schema = f"dbos_{uuid.uuid4().hex[:12]}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SALLAKIT_")}
    emulator = start_emulator(
        emulator_port,
        service_url,
        base_env,
        "--stores",
        str(stores),
        "--plan",
        plan,
        "--products",
        str(products),
        "--orders",
        str(orders),
        "--customers",
        str(customers),
    )
    service: subprocess.Popen[str] | None = None
    fleet: Fleet | None = None
    try:
        assert emulator.stdout is not None
        described: dict[str, Any] = json.loads(emulator.stdout.readline())
        app = described["app"]
        full_env = {
            **base_env,
            "SALLAKIT_DATABASE_URL": postgres_url,
            "SALLAKIT_WORKFLOW_SCHEMA": workflow_schema,
            "SALLAKIT_WORKER": "external",
            "SALLAKIT_TOKEN_KEYS": generate_key(),
            "SALLAKIT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SALLAKIT_ADMIN_TOKEN": ADMIN_TOKEN,
            "SALLAKIT_SESSION_SECRET": "e2e-session-secret-" + "s" * 20,
            "SALLAKIT_CLIENT_ID": app["client_id"],
            "SALLAKIT_CLIENT_SECRET": app["client_secret"],
            "SALLAKIT_ACCOUNTS_URL": emulator_url,
            "SALLAKIT_API_BASE_URL": f"{emulator_url}/admin/v2",
            "SALLAKIT_PUBLIC_URL": service_url,
            "SALLAKIT_DATABASE_POOL_SIZE": "3",
            "SALLAKIT_DATABASE_MAX_OVERFLOW": "4",
            **(env or {}),
        }
        with (logs / "serve.log").open("w", encoding="utf-8") as log:
            service = subprocess.Popen(
                _cli("serve", "--port", str(service_port)),
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
                env=full_env,
            )
        wait_until(f"{service_url}/healthz", proc=service)
        fleet = Fleet(
            emulator_url,
            service_url,
            [int(s["id"]) for s in described["stores"]],
            postgres_url,
            workflow_schema,
            full_env,
            logs,
        )
        yield fleet
    finally:
        for proc in fleet.workers.values() if fleet else ():
            _stop(proc)
            text = fleet.log(proc) if fleet else ""
            if "Traceback" in text:
                print(text)  # shown by pytest when the test failed
        if service is not None:
            _stop(service)
        _stop(emulator)
        if fleet is not None and fleet._engine is not None:
            fleet._engine.dispose()
        _drop_schema(postgres_url, workflow_schema)


def _drop_schema(postgres_url: str, schema: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
