"""The refresh protocol's failure modes: each test fails on the defect it is named after."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx2
import pytest

from sallakit._exceptions import (
    InvalidStateError,
    RefreshInterruptedError,
    ReinstallRequiredError,
    TokenExchangeError,
    TokenVaultError,
)
from sallakit.auth import (
    AsyncOAuthClient,
    CustomMode,
    EasyMode,
    OAuthClient,
    StoreStatus,
    TokenSet,
    TokenVault,
    easy_mode_app,
    generate_key,
)
from sallakit.auth import _identity as identity_module
from sallakit.auth._identity import ProcessIdentity
from sallakit.webhooks import compute_signature

from .conftest import StoreFactory, hog, set_lease

Hook = Callable[[httpx2.Request, dict[str, Any]], httpx2.Response | None]


class Accounts:
    """Single-use refresh tokens; a reuse revokes the grant, as at Salla."""

    def __init__(self) -> None:
        self.valid: set[str] = set()
        self.used: set[str] = set()
        self.presented: list[str] = []
        self.reuses = 0
        self.n = 0
        self.lock = threading.Lock()
        self.before: Callable[[httpx2.Request], None] | None = None
        self.after: Hook | None = None

    def mint(self) -> dict[str, Any]:
        self.n += 1
        rt = f"ory_rt_{self.n}"
        self.valid.add(rt)
        return {"access_token": f"ory_at_{self.n}", "refresh_token": rt, "expires_in": 1209600}

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if self.before is not None:
            self.before(request)
        rt = parse_qs(request.content.decode())["refresh_token"][0]
        with self.lock:
            self.presented.append(rt)
            if rt not in self.valid:
                self.reuses += rt in self.used
                return httpx2.Response(400, json={"error": "invalid_grant"})
            self.valid.discard(rt)
            self.used.add(rt)
            minted = self.mint()
        if self.after is not None:
            answer = self.after(request, minted)
            if answer is not None:
                return answer
        return httpx2.Response(200, json=minted)

    async def async_handler(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return await anyio.to_thread.run_sync(self.handler, request)


@pytest.fixture
def acc() -> Accounts:
    return Accounts()


def make_vault(
    make_store: StoreFactory, acc: Accounts, keys: list[str] | None = None, **kw: Any
) -> TokenVault:
    busy = kw.pop("busy_timeout", 60.0)
    oauth = OAuthClient(
        "cid", "cs", accounts_url="https://a.test", transport=httpx2.MockTransport(acc.handler)
    )
    aoauth = AsyncOAuthClient(
        "cid",
        "cs",
        accounts_url="https://a.test",
        transport=httpx2.MockTransport(acc.async_handler),
    )
    store = make_store(busy_timeout=busy)
    return TokenVault(store, keys or [generate_key()], oauth=oauth, async_oauth=aoauth, **kw)


@pytest.fixture
def vault(make_store: StoreFactory, acc: Accounts) -> Iterator[TokenVault]:
    v = make_vault(make_store, acc)
    yield v
    v.close()


def seed(vault: TokenVault, acc: Accounts, expires_at: float | None = None) -> None:
    m = acc.mint()
    vault.save_tokens(
        111,
        TokenSet(m["access_token"], m["refresh_token"], expires_at or time.time() - 10),
    )


# ------------------------------------------------------------------ answers (item 2 and 8)


@pytest.mark.parametrize(
    "answer",
    [
        httpx2.Response(502, text="Bad gateway"),
        httpx2.Response(524, text="A timeout occurred"),
        httpx2.Response(500, json={"error": "server_error"}),
        httpx2.Response(200, text="<html>ok</html>"),
        httpx2.Response(200, json={"ok": True}),
    ],
    ids=["502", "524", "500-oauth-body", "200-html", "200-no-access-token"],
)
def test_unusable_answers_never_resend_the_token(
    vault: TokenVault, acc: Accounts, answer: httpx2.Response
) -> None:
    seed(vault, acc)
    acc.after = lambda req, minted: answer  # Salla rotated, the answer that came back is junk
    for _ in range(2):
        with pytest.raises(RefreshInterruptedError):
            vault.token_provider(111).get_token()
    assert acc.presented == ["ory_rt_1"]
    assert vault.get(111).status is StoreStatus.REFRESH_INTERRUPTED


def test_answer_without_expiry_is_stored_with_a_default(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc)

    def no_expiry(req: httpx2.Request, minted: dict[str, Any]) -> httpx2.Response:
        minted.pop("expires_in")
        return httpx2.Response(200, json=minted)

    acc.after = no_expiry
    assert vault.token_provider(111).get_token() == "ory_at_2"
    tokens = vault.tokens(111)
    assert tokens.refresh_token == "ory_rt_2"
    assert tokens.expires_at == pytest.approx(time.time() + 13 * 86400, abs=60)


def test_answer_without_refresh_token_drops_the_used_one(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc)

    def no_rt(req: httpx2.Request, minted: dict[str, Any]) -> httpx2.Response:
        minted.pop("refresh_token")
        minted["expires_in"] = 10
        return httpx2.Response(200, json=minted)

    acc.after = no_rt
    assert vault.token_provider(111).get_token() == "ory_at_2"
    assert vault.tokens(111).refresh_token is None
    with pytest.raises(ReinstallRequiredError):
        vault.token_provider(111).refresh_token("ory_at_2")
    assert acc.presented == ["ory_rt_1"]  # the consumed token was never sent again


@pytest.mark.parametrize(
    "error",
    [
        httpx2.ConnectError,
        httpx2.ConnectTimeout,
        httpx2.PoolTimeout,
        httpx2.UnsupportedProtocol,
        httpx2.ProxyError,
    ],
)
def test_errors_before_sending_keep_the_store_active(
    vault: TokenVault, acc: Accounts, error: type[Exception]
) -> None:
    seed(vault, acc)

    def fail(request: httpx2.Request) -> None:
        raise error("boom", request=request)  # type: ignore[call-arg]

    acc.before = fail
    with pytest.raises(TokenExchangeError) as info:
        vault.token_provider(111).get_token()
    assert info.value.error == "connect_failed"
    assert vault.get(111).status is StoreStatus.ACTIVE
    acc.before = None
    assert vault.token_provider(111).get_token() == "ory_at_2"


def test_oauth_timeout_is_an_overall_deadline() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        body = b'{"access_token":"a","refresh_token":"r","expires_in":1209600}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            for ch in body:
                conn.sendall(bytes([ch]))
                time.sleep(0.05)
        except OSError:
            pass
        conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    with OAuthClient("c", "s", accounts_url=f"http://127.0.0.1:{port}", timeout=0.5) as oauth:
        started = time.monotonic()
        with pytest.raises(TokenExchangeError) as info:
            oauth.refresh("r0")
        assert time.monotonic() - started < 1.5  # each read is fast; the whole is not
    assert info.value.error == "unknown_outcome"
    thread.join(5)
    server.close()


# -------------------------------------------------------------------- cancellation (item 3)


@pytest.mark.parametrize("how", ["wait_for", "fail_after"])
def test_cancelled_refresh_still_stores_the_tokens(
    vault: TokenVault, acc: Accounts, how: str
) -> None:
    seed(vault, acc)
    acc.after = lambda req, minted: time.sleep(0.6)  # type: ignore[func-returns-value]

    async def main() -> None:
        call = vault.async_token_provider(111).get_token()
        if how == "wait_for":
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(call, timeout=0.2)
        else:
            with anyio.move_on_after(0.2):
                await call
                pytest.fail("not cancelled")

    anyio.run(main, backend="asyncio")
    assert vault.get(111).status is StoreStatus.ACTIVE
    assert vault.tokens(111).access_token == "ory_at_2"
    assert acc.presented == ["ory_rt_1"]


def test_one_vault_from_two_event_loops(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc)
    acc.after = lambda req, minted: time.sleep(0.3)  # type: ignore[func-returns-value]
    results: list[str] = []

    def worker() -> None:
        results.append(anyio.run(vault.async_token_provider(111).get_token))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["ory_at_2", "ory_at_2"]


# ---------------------------------------------------------------- failed commit (item 4)


def test_commit_is_retried_while_the_database_is_busy(
    make_store: StoreFactory, acc: Accounts
) -> None:
    vault = make_vault(make_store, acc, busy_timeout=0.2, commit_budget=5.0)
    seed(vault, acc)
    hogs: list[threading.Thread] = []

    def after(req: httpx2.Request, minted: dict[str, Any]) -> None:
        hogs.append(hog(vault, 111, 0.8))
        time.sleep(0.1)

    acc.after = after  # type: ignore[assignment]
    assert vault.token_provider(111).get_token() == "ory_at_2"
    hogs[0].join()
    assert vault.tokens(111).access_token == "ory_at_2"
    vault.close()


def test_commit_that_finally_fails_is_reported_not_waited_for(
    make_store: StoreFactory, acc: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    vault = make_vault(make_store, acc, busy_timeout=0.1, commit_budget=0.3)
    seed(vault, acc)
    hogs: list[threading.Thread] = []

    def after(req: httpx2.Request, minted: dict[str, Any]) -> None:
        hogs.append(hog(vault, 111, 1.0))
        time.sleep(0.1)

    acc.after = after  # type: ignore[assignment]
    with pytest.raises(TokenVaultError, match="could not be stored"):
        vault.token_provider(111).get_token()
    assert "ory_at_2" not in caplog.text and "ory_rt_2" not in caplog.text
    hogs[0].join()
    acc.after = None
    started = time.monotonic()
    with pytest.raises(RefreshInterruptedError):  # its own lease: not waited for
        vault.token_provider(111).get_token()
    assert time.monotonic() - started < 2
    assert vault.get(111).status is StoreStatus.REFRESH_INTERRUPTED
    assert acc.presented == ["ory_rt_1"]
    vault.close()


# ------------------------------------------------------------ generation, uninstall (item 5)


def test_invalid_grant_for_an_older_generation_is_superseded(
    vault: TokenVault, acc: Accounts
) -> None:
    seed(vault, acc)

    def update_meanwhile(request: httpx2.Request) -> None:
        # The merchant updates the app: Salla revokes the old grant and delivers new tokens.
        acc.valid.clear()
        m = acc.mint()
        vault.save_tokens(111, TokenSet(m["access_token"], m["refresh_token"], time.time() + 1e6))
        acc.before = None

    acc.before = update_meanwhile
    assert vault.token_provider(111).get_token() == "ory_at_2"
    record = vault.get(111)
    assert record.status is StoreStatus.ACTIVE
    assert [entry.state for entry in vault.journal(111)] == ["superseded"]


def test_failure_never_overwrites_uninstalled(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc)

    def uninstall_meanwhile(request: httpx2.Request) -> None:
        acc.valid.clear()
        vault.uninstall(111)

    acc.before = uninstall_meanwhile
    with pytest.raises(Exception):  # noqa: B017 (any error: no tokens are left)
        vault.token_provider(111).get_token()
    assert vault.get(111).status is StoreStatus.UNINSTALLED


# ------------------------------------------------------------ leases and clocks (item 6)


def _foreign_lease(vault: TokenVault, age: float) -> None:
    set_lease(vault, 111, age=age)


def test_lease_age_uses_the_database_clock(make_store: StoreFactory, acc: Accounts) -> None:
    keys = [generate_key()]
    skewed = make_vault(make_store, acc, keys, clock=lambda: time.time() + 3600)
    seed(skewed, acc)
    _foreign_lease(skewed, age=1)
    assert skewed.find_interrupted() == []
    assert skewed.recover_interrupted() == []
    assert skewed.get(111).status is StoreStatus.ACTIVE
    skewed.close()


def test_list_is_read_only_and_operator_retry_waits_for_the_timeout(
    vault: TokenVault, acc: Accounts
) -> None:
    seed(vault, acc)
    with vault.store.write() as tx:
        tx.update(111, {"status": StoreStatus.REFRESH_INTERRUPTED.value})
    _foreign_lease(vault, age=10)
    assert [i.store_id for i in vault.find_interrupted()] == [111]
    with pytest.raises(RefreshInterruptedError, match="Retry"):
        vault.token_provider(111).force_refresh()
    assert acc.presented == []
    _foreign_lease(vault, age=vault.lease_timeout + 1)
    assert vault.token_provider(111).force_refresh() == "ory_at_2"


def test_lease_owner_is_renewed_after_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = ProcessIdentity()
    parent = identity.current()
    monkeypatch.setattr(identity_module.os, "getpid", lambda: parent.pid + 100_000)
    child = identity.current()
    assert child.pid == parent.pid + 100_000 and child.owner != parent.owner
    monkeypatch.undo()
    assert identity.current().pid == os.getpid()


# ------------------------------------------------------------------- fast path (item 11)


def test_fresh_token_needs_no_write_lock(make_store: StoreFactory, acc: Accounts) -> None:
    vault = make_vault(make_store, acc, busy_timeout=0.2)
    seed(vault, acc, expires_at=time.time() + 10 * 86400)
    holder = hog(vault, 111, 1.0)
    assert vault.token_provider(111).get_token() == "ory_at_1"
    holder.join()
    vault.close()


# ------------------------------------------------------------ Easy and Custom mode (9, 13, 14)

#: An absolute expiry two weeks ahead, as Salla sends in app.store.authorize.
SOON = int(time.time()) + 14 * 86_400

SECRET = "whsec"


def _event(event: str, when: str, data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event": event, "merchant": 321, "created_at": when, "data": data})
    raw = body.encode()
    return raw, {"X-Salla-Signature": compute_signature(raw, SECRET)}


def _authorize(token: str, when: str, expires: int = SOON) -> tuple[bytes, dict[str, str]]:
    data = {"access_token": token, "refresh_token": "rt" + token, "expires": expires}
    return _event("app.store.authorize", when, data)


def test_late_authorize_is_ignored(vault: TokenVault) -> None:
    easy = EasyMode(vault, SECRET)

    async def main() -> None:
        await easy.handle_app_event(*_authorize("atB", "2025-01-01 10:02:00"))
        await easy.handle_app_event(*_authorize("atA", "2025-01-01 10:00:00"))
        # Same second: the later expiry wins.
        await easy.handle_app_event(*_authorize("atC", "2025-01-01 10:02:00", SOON - 3600))

    anyio.run(main)
    assert vault.tokens(321).access_token == "atB"


def test_old_uninstall_after_a_reinstall_is_ignored(vault: TokenVault) -> None:
    easy = EasyMode(vault, SECRET)
    uninstall = _event("app.uninstalled", "2025-01-02 10:00:00", {})

    async def main() -> None:
        await easy.handle_app_event(*_authorize("at1", "2025-01-01 10:00:00"))
        await easy.handle_app_event(*uninstall)
        await easy.handle_app_event(*_authorize("at2", "2025-01-02 10:03:00"))
        await easy.handle_app_event(*uninstall)  # a retry or a replay
        # An uninstall older than the authorize, never delivered before: ignored too.
        await easy.handle_app_event(*_event("app.uninstalled", "2025-01-02 10:01:00", {}))

    anyio.run(main)
    assert vault.get(321).status is StoreStatus.ACTIVE
    assert vault.tokens(321).access_token == "at2"


@pytest.mark.filterwarnings("ignore:easy_mode_app is deprecated:DeprecationWarning")
def test_chunked_body_is_cut_at_the_limit(vault: TokenVault) -> None:
    app = easy_mode_app(EasyMode(vault, SECRET, max_body_size=1000))
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 4096, "more_body": received < 100}

    status: dict[str, int] = {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status["code"] = message["status"]

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"transfer-encoding", b"chunked")],
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("t", 80),
        "root_path": "",
    }
    anyio.run(app, scope, receive, send)
    assert status["code"] == 413 and received == 1


def test_custom_mode_checks_state_before_error(vault: TokenVault) -> None:
    oauth = AsyncOAuthClient("cid", "cs", accounts_url="https://a.test")
    custom = CustomMode(vault, oauth, redirect_uri="https://app/cb", state_secret="s" * 32)

    async def main() -> None:
        with pytest.raises(InvalidStateError):
            await custom.handle_callback({"error": "access_denied", "state": "0" * 80})
        await oauth.aclose()

    anyio.run(main)
