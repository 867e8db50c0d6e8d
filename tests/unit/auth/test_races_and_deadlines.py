"""Races and deadlines of the token vault: Easy-mode events against refreshes and uninstalls,
generation numbers across purges, owner liveness, bounded waits and commits, and error text
that carries no secrets."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest

from sallakit._exceptions import (
    ReinstallRequiredError,
    StoreNotFoundError,
    TokenExchangeError,
    TokenVaultError,
)
from sallakit.auth import (
    AsyncOAuthClient,
    EasyMode,
    OAuthClient,
    StoreStatus,
    TokenSet,
    TokenVault,
)
from sallakit.auth import _identity as identity_module
from sallakit.auth import _oauth as oauth_module
from sallakit.auth._identity import ProcessIdentity
from sallakit.auth._refresh import Lease
from sallakit.webhooks import compute_signature

from .conftest import StoreFactory, hog, set_lease
from .test_protocol import Accounts, make_vault, seed


@pytest.fixture
def acc() -> Accounts:
    return Accounts()


@pytest.fixture
def vault(make_store: StoreFactory, acc: Accounts) -> Iterator[TokenVault]:
    v = make_vault(make_store, acc)
    yield v
    v.close()


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port whose accept backlog is full: connects hang in SYN, nothing is ever sent."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.2)
    yield port
    for s in fillers:
        s.close()
    server.close()


@pytest.mark.parametrize(("kind", "share"), [("sync", 0.5), ("async", 0.5), ("async", 5.0)])
def test_connect_timeout_is_connect_failed(
    make_store: StoreFactory,
    acc: Accounts,
    blackhole: int,
    kind: str,
    share: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # share > 1: the connect timeout is longer than the overall deadline; the trace tells the
    # async deadline fired while still connecting.
    monkeypatch.setattr(oauth_module, "_CONNECT_SHARE", share)
    vault = make_vault(make_store, acc)
    url = f"http://127.0.0.1:{blackhole}"
    if kind == "async":
        vault.async_oauth = AsyncOAuthClient("c", "s", accounts_url=url, timeout=0.6)
    else:
        vault.oauth = OAuthClient("c", "s", accounts_url=url, timeout=0.6)
    seed(vault, acc)
    with pytest.raises(TokenExchangeError) as info:
        if kind == "async":
            anyio.run(vault.async_token_provider(111).get_token)
        else:
            vault.token_provider(111).get_token()
    assert info.value.error == "connect_failed"
    assert vault.get(111).status is StoreStatus.ACTIVE
    vault.close()


#: An absolute expiry two weeks ahead, as Salla sends in app.store.authorize.
SOON = int(time.time()) + 14 * 86_400

SECRET = "whsec-review2"


def _event(event: str, when: str, data: dict[str, Any], indent: int | None = None) -> bytes:
    body = {"event": event, "merchant": 111, "created_at": when, "data": data}
    return json.dumps(body, indent=indent).encode()


def _deliver(easy: EasyMode, raw: bytes) -> None:
    anyio.run(easy.handle_app_event, raw, {"X-Salla-Signature": compute_signature(raw, SECRET)})


def _authorize(access: str, refresh: str, when: str, indent: int | None = None) -> bytes:
    data = {"access_token": access, "refresh_token": refresh, "expires": SOON}
    return _event("app.store.authorize", when, data, indent)


@pytest.mark.parametrize("retention", ["keep", "purge"])
def test_authorize_created_before_the_uninstall_does_not_revive(
    vault: TokenVault, retention: str
) -> None:
    easy = EasyMode(vault, SECRET, uninstall_retention=retention)  # type: ignore[arg-type]
    _deliver(easy, _authorize("at1", "rt1", "2025-01-01 10:00:00"))
    _deliver(easy, _event("app.uninstalled", "2025-01-01 11:05:00", {}))
    _deliver(easy, _authorize("at2", "rt2", "2025-01-01 11:00:00"))  # a late retry
    if retention == "purge":
        with pytest.raises(StoreNotFoundError):
            vault.get(111)
    else:
        assert vault.get(111).status is StoreStatus.UNINSTALLED
        assert not vault.get(111).has_tokens
    # A real reinstall (after the uninstall) still works.
    _deliver(easy, _authorize("at3", "rt3", "2025-01-01 12:00:00"))
    assert vault.tokens(111).access_token == "at3"


def test_equal_authorize_never_puts_back_a_used_refresh_token(
    vault: TokenVault, acc: Accounts
) -> None:
    easy = EasyMode(vault, SECRET)
    m = acc.mint()
    data = {"access_token": m["access_token"], "refresh_token": m["refresh_token"]}
    data["expires"] = int(time.time()) - 10
    _deliver(easy, _event("app.store.authorize", "2025-01-01 10:00:00", data))
    assert vault.token_provider(111).get_token() == "ory_at_2"  # consumes ory_rt_1
    # The same event re-serialised (another digest), equal created_at and expires.
    _deliver(easy, _event("app.store.authorize", "2025-01-01 10:00:00", data, indent=1))
    assert vault.tokens(111).refresh_token == "ory_rt_2"


def test_equal_authorize_never_puts_back_a_replaced_refresh_token(vault: TokenVault) -> None:
    easy = EasyMode(vault, SECRET)
    _deliver(easy, _authorize("at1", "rt1", "2025-01-01 10:00:00"))
    _deliver(easy, _authorize("at2", "rt2", "2025-01-01 10:00:00"))
    _deliver(easy, _authorize("at1", "rt1", "2025-01-01 10:00:00", indent=1))
    assert vault.tokens(111).refresh_token == "rt2"


@pytest.mark.parametrize("answer", ["success", "invalid_grant"])
def test_generation_is_not_reused_after_purge(
    vault: TokenVault, acc: Accounts, answer: str
) -> None:
    seed(vault, acc)

    def during(request: httpx2.Request) -> None:
        acc.before = None
        vault.uninstall(111, purge=True)
        vault.save_tokens(111, TokenSet("at_REINSTALL", "rt_REINSTALL", time.time() + 1e6))

    acc.before = during
    if answer == "invalid_grant":
        acc.after = lambda request, minted: httpx2.Response(400, json={"error": "invalid_grant"})
    assert vault.token_provider(111).get_token() == "at_REINSTALL"
    assert vault.get(111).status is StoreStatus.ACTIVE
    assert vault.tokens(111).access_token == "at_REINSTALL"


# ------------------------------------------------------------ owner liveness (items 7, 12)


def _lease(pid: int, ticks: str) -> Lease:
    mine = ProcessIdentity().current().node.split("|")
    return Lease(
        lease_id="l",
        owner="someone-else",
        journal_id=1,
        started_at=0.0,
        age=1.0,
        pid=pid,
        host="h",
        node="|".join([*mine[:2], ticks]),
    )


def test_owner_liveness_checks_the_start_time(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = ProcessIdentity()
    pid = os.getppid()
    ticks = identity_module.process_start_ticks(pid)
    assert ticks != "?"
    assert identity.owner_alive(_lease(pid, ticks)) is True
    # The same pid, started at another time: a reused pid, not the lease's owner.
    assert identity.owner_alive(_lease(pid, str(int(ticks) + 1))) is False
    # /proc/<pid>/stat unreadable (hidepid, another user): unknown, never "dead".
    monkeypatch.setattr(identity_module, "_proc_stat", lambda pid: None)
    assert identity.owner_alive(_lease(pid, ticks)) is None


# ------------------------------------------------------------------ surviving mutants (12)


def test_authorize_during_a_successful_refresh_is_kept(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc)
    leases: list[str | None] = []

    def during(request: httpx2.Request) -> None:
        acc.before = None
        vault.save_tokens(111, TokenSet("at_AUTH", "rt_AUTH", time.time() + 1e6))
        with vault.store.read() as tx:  # save_tokens ends the refresh's lease
            row = tx.get(111)
            leases.append(row.lease_id if row else "gone")

    acc.before = during
    assert vault.token_provider(111).get_token() == "at_AUTH"
    assert leases == [None]
    assert vault.tokens(111).access_token == "at_AUTH"
    assert vault.tokens(111).refresh_token == "rt_AUTH"


def test_uninstall_during_a_refresh_leaves_the_store_uninstalled(
    vault: TokenVault, acc: Accounts
) -> None:
    seed(vault, acc)

    def during(request: httpx2.Request) -> None:
        acc.before = None
        vault.uninstall(111)

    acc.before = during
    with pytest.raises(StoreNotFoundError):
        vault.token_provider(111).get_token()
    assert vault.get(111).status is StoreStatus.UNINSTALLED
    assert not vault.get(111).has_tokens


def test_fast_path_honours_the_status(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc, expires_at=time.time() + 1e6)  # fresh: the fast path would serve it
    vault.mark_reinstall_required(111)
    with pytest.raises(ReinstallRequiredError):
        vault.token_provider(111).get_token()
    with pytest.raises(ReinstallRequiredError):
        anyio.run(vault.async_token_provider(111).get_token)


# ------------------------------------------------------------- sync overall deadline (item 6)


def test_sync_deadline_covers_a_dripped_status_line() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            for ch in b"HTTP/1.1 200 OK\r\nX-Pad: xxxxxxxxxxxxxxxxxxxx\r\n":
                conn.sendall(bytes([ch]))
                time.sleep(0.1)
        except OSError:
            pass
        conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    with OAuthClient("c", "s", accounts_url=f"http://127.0.0.1:{port}", timeout=0.5) as oauth:
        started = time.monotonic()
        with pytest.raises(TokenExchangeError) as info:
            oauth.refresh("r0")
        assert time.monotonic() - started < 1.5
    assert info.value.error == "unknown_outcome"
    thread.join(10)
    server.close()


# ------------------------------------------------------------------ commit budget (item 9)


def test_commit_budget_bounds_the_lock_wait(make_store: StoreFactory, acc: Accounts) -> None:
    vault = make_vault(make_store, acc, commit_budget=0.3, busy_timeout=5.0)
    seed(vault, acc)
    hogs: list[threading.Thread] = []

    def after(request: httpx2.Request, minted: dict[str, Any]) -> None:
        acc.after = None
        hogs.append(hog(vault, 111, 3.0))

    acc.after = after
    started = time.monotonic()
    with pytest.raises(TokenVaultError):
        vault.token_provider(111).get_token()
    assert time.monotonic() - started < 2.0
    hogs[0].join()
    vault.close()


# ------------------------------------------------------- foreign lease wait cap (item 10)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_waiting_for_a_foreign_lease_is_bounded(
    make_store: StoreFactory, acc: Accounts, kind: str
) -> None:
    vault = make_vault(make_store, acc, lease_wait=0.3)
    seed(vault, acc)
    # A live refresh of a process on another host.
    set_lease(
        vault,
        111,
        age=0,
        lease_id="foreign",
        lease_pid=4242,
        lease_host="elsewhere",
        lease_node="other-boot|other-ns|1",
        lease_journal_id=1,
    )
    started = time.monotonic()
    with pytest.raises(TokenVaultError, match="in progress elsewhere"):
        if kind == "async":
            anyio.run(vault.async_token_provider(111).get_token)
        else:
            vault.token_provider(111).get_token()
    assert time.monotonic() - started < 3.0
    assert acc.presented == []
    vault.close()
