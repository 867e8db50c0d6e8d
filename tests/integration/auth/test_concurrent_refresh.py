"""Many processes, many tasks, one expired token: exactly one refresh (emulator server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sallakit._exceptions import RefreshInterruptedError, ReinstallRequiredError
from sallakit.auth import OAuthClient, StoreStatus, TokenSet, TokenVault, generate_key
from sallakit.db import create_engine

from .conftest import CLIENT_ID, CLIENT_SECRET, EmulatorServer

WORKER = Path(__file__).with_name("_worker.py")
PROCESSES = 4
TASKS = 25
FIFTEEN_DAYS = 15 * 86_400


def _seed_expired(server: EmulatorServer, db_url: str, keys: list[str]) -> tuple[int, TokenVault]:
    """Tokens from the control API, stored as already expired; the emulator agrees."""
    store_id = server.store_id()
    issued = server.control("POST", f"/stores/{store_id}/tokens", json={})
    vault = TokenVault.from_url(db_url, keys)
    vault.save_tokens(
        store_id,
        TokenSet(
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            expires_at=time.time() - 60,
            scopes=tuple(issued["scope"].split()),
        ),
    )
    # The emulator's clock moves past the access token's 14 days too, so a worker that skipped
    # the proactive refresh would get a 401 and go through refresh_token(rejected).
    server.control("POST", "/clock/advance", json={"seconds": FIFTEEN_DAYS})
    return store_id, vault


def _run_workers(
    server: EmulatorServer,
    db_url: str,
    keys: list[str],
    store_id: int,
    *extra: str,
    processes: int = PROCESSES,
) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "SALLAKIT_TOKEN_KEYS": ",".join(keys)}
    start_at = time.time() + 2.0  # every interpreter is up before the first call
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                db_url,
                str(store_id),
                server.url,
                str(TASKS),
                str(start_at),
                *extra,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def _assert_exactly_one_refresh(server: EmulatorServer, db_url: str, keys: list[str]) -> None:
    store_id, vault = _seed_expired(server, db_url, keys)
    # A slow token endpoint: every process reaches the store while the refresh is in flight.
    results = _run_workers(server, db_url, keys, store_id, "--slow-token")
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome == {"ok": TASKS, "errors": []}
    counters = server.counters()
    assert counters["token_refreshes"] == {str(store_id): 1}
    assert not any(counters["invalid_grant"].values())
    record = vault.get(store_id)
    assert record.status is StoreStatus.ACTIVE
    assert record.generation == 2  # saved once, refreshed once
    assert record.expires_at is not None and record.expires_at > time.time() + 86_400
    vault.close()


@pytest.mark.slow
def test_four_processes_one_refresh_sqlite(emulator_server: EmulatorServer, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'vault.db'}"
    keys = [generate_key()]
    create_engine(db_url).dispose()
    _assert_exactly_one_refresh(emulator_server, db_url, keys)


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_one_refresh_postgres(
    emulator_server: EmulatorServer, postgres_url: str
) -> None:
    _assert_exactly_one_refresh(emulator_server, postgres_url, [generate_key()])


@pytest.mark.slow
def test_crash_between_refresh_and_commit_is_reported(
    emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'vault.db'}"
    keys = [generate_key()]
    store_id, vault = _seed_expired(emulator_server, db_url, keys)

    # One process whose 25 tasks all need the refresh: it sends the refresh token and dies with
    # the answer, so Salla has rotated the tokens and the vault never learned the new ones.
    [result] = _run_workers(
        emulator_server, db_url, keys, store_id, "--crash-after-refresh", processes=1
    )
    assert result.returncode == 17, result.stderr[-3000:]
    assert list(emulator_server.counters()["token_refreshes"].values()) == [1]

    # The next start: the abandoned journal entry is found and explained.
    found = vault.recover_interrupted()
    assert [item.store_id for item in found] == [store_id]
    assert "sallakit stores refresh" in found[0].message
    assert "merchant must reinstall" in found[0].message
    record = vault.get(store_id)
    assert record.status is StoreStatus.REFRESH_INTERRUPTED
    assert record.status_detail == found[0].message

    # Nothing hands out or refreshes that store until an operator acts...
    with pytest.raises(RefreshInterruptedError):
        vault.token_provider(store_id).get_token()

    # ...and the operator's single try meets invalid_grant (the token was consumed): reinstall.
    with OAuthClient(CLIENT_ID, CLIENT_SECRET, accounts_url=emulator_server.url) as oauth:
        vault.oauth = oauth
        with pytest.raises(ReinstallRequiredError):
            vault.token_provider(store_id).force_refresh()
    assert vault.get(store_id).status is StoreStatus.REINSTALL_REQUIRED
    assert list(emulator_server.counters()["invalid_grant"].values()) == [1]
    vault.close()


@pytest.mark.slow
def test_crash_seen_by_the_other_workers(emulator_server: EmulatorServer, tmp_path: Path) -> None:
    """Workers waiting on the dead worker's lease report the interruption instead of refreshing."""
    db_url = f"sqlite:///{tmp_path / 'vault.db'}"
    keys = [generate_key()]
    store_id, vault = _seed_expired(emulator_server, db_url, keys)
    results = _run_workers(emulator_server, db_url, keys, store_id, "--crash-after-refresh")
    assert 17 in [r.returncode for r in results]
    for result in results:
        if result.returncode == 0:
            outcome = json.loads(result.stdout.strip().splitlines()[-1])
            assert outcome["ok"] == 0
            assert all(e.startswith("RefreshInterruptedError") for e in outcome["errors"])
    counters = emulator_server.counters()
    # Nobody re-used the consumed refresh token behind the operator's back.
    assert list(counters["token_refreshes"].values()) == [1]
    assert not any(counters["invalid_grant"].values())
    assert vault.get(store_id).status is StoreStatus.REFRESH_INTERRUPTED
    vault.close()


@pytest.mark.postgres
def test_repeatable_read_engine_still_refreshes_once(postgres_url: str) -> None:
    """Two vaults (two 'processes') whose engine defaults to REPEATABLE READ."""
    import threading
    from urllib.parse import parse_qs

    import httpx2

    presented: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx2.Request) -> httpx2.Response:
        token = parse_qs(request.content.decode())["refresh_token"][0]
        time.sleep(0.3)
        with lock:
            presented.append(token)
            if token != "rt1" or presented.count(token) > 1:
                return httpx2.Response(400, json={"error": "invalid_grant"})
        return httpx2.Response(200, json={"access_token": "at2", "refresh_token": "rt2"})

    keys = [generate_key()]

    def make() -> TokenVault:
        engine = create_engine(postgres_url).execution_options(isolation_level="REPEATABLE READ")
        oauth = OAuthClient(
            "c", "s", accounts_url="https://a.test", transport=httpx2.MockTransport(handler)
        )
        return TokenVault(engine, keys, oauth=oauth)  # type: ignore[arg-type]

    one, two = make(), make()
    one.save_tokens(111, TokenSet("at1", "rt1", time.time() - 10))
    opened = one._cipher.open

    def slow_open(*args: object) -> str:
        time.sleep(0.5)  # inside one's locked transaction, after two took its snapshot
        return opened(*args)  # type: ignore[arg-type]

    one._cipher.open = slow_open  # type: ignore[method-assign]
    results: dict[str, str] = {}

    def work(name: str, vault: TokenVault) -> None:
        results[name] = vault.token_provider(111).get_token()

    first = threading.Thread(target=work, args=("one", one))
    first.start()
    time.sleep(0.15)
    second = threading.Thread(target=work, args=("two", two))
    second.start()
    first.join()
    second.join()
    assert presented == ["rt1"]
    assert results == {"one": "at2", "two": "at2"}
    assert one.get(111).status is StoreStatus.ACTIVE
    for vault in (one, two):
        vault.close()
