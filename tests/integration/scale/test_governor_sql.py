"""The shared governor's SQL backend: many "processes" (registries of their own) on one database
never hold more than four slots of a store, share what Salla says, and get a dead process's
slots back when its leases expire. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sallakit.api import SharedGovernorRegistry, SQLGovernorBackend
from sallakit.db import create_engine, migrate

API = "https://api.salla.dev/admin/v2"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLGovernorBackend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/governor.db"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    engine = create_engine(url)
    migrate(engine)
    try:
        yield SQLGovernorBackend(engine)
    finally:
        engine.dispose()


def test_never_more_than_four_in_flight_across_processes(backend: SQLGovernorBackend) -> None:
    processes = [SharedGovernorRegistry(backend).get(API, "42") for _ in range(4)]
    lock = threading.Lock()
    holding = peak = granted = 0

    def hammer(governor) -> None:  # type: ignore[no-untyped-def]
        nonlocal holding, peak, granted
        for _ in range(10):
            assert governor.acquire("/products").granted
            with lock:
                holding += 1
                granted += 1
                peak = max(peak, holding)
            time.sleep(0.005)
            with lock:
                holding -= 1
            governor.release("/products", {})

    threads = [
        threading.Thread(target=hammer, args=(governor,))
        for governor in processes
        for _ in range(3)  # three callers in each "process"
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for registry_governor in processes:
        registry_governor._releaser.shutdown(wait=True)  # type: ignore[attr-defined]
    assert granted == 120
    assert peak <= 4
    assert backend.in_flight(processes[0].key, now=time.time()) == 0


def test_the_budget_and_dead_leases_are_shared(backend: SQLGovernorBackend) -> None:
    first, second, third = (
        SharedGovernorRegistry(backend, lease_seconds=1.0).get(API, "43") for _ in range(3)
    )
    for _ in range(4):
        assert first.acquire("/products").granted  # a process that dies holding them
    assert not second.acquire("/products", deadline=time.time() + 0.2).granted
    time.sleep(1.1)
    assert second.acquire("/products", deadline=time.time() + 0.5).granted
    second._releaser = None  # type: ignore[attr-defined]  # release inline, to read it back
    reset = int(time.time()) + 30
    second.release(
        "/products",
        {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    refused = third.acquire("/products", deadline=time.time() + 1)
    assert not refused.granted and refused.retry_after > 20
    with backend.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM sallakit_governor_buckets")).scalar()
    assert rows == 1
