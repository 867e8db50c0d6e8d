"""Fixtures for the auth unit tests: a vault on the in-memory token store (no database file)
and a fake token server.

``make_store`` builds the token store every vault of a test uses; the integration suite
(``tests/integration/auth/test_logic_on_sql.py``) runs these same tests again with it returning
SQLite and PostgreSQL stores.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest

from sallakit.auth import (
    AsyncOAuthClient,
    OAuthClient,
    TokenSet,
    TokenStore,
    TokenVault,
    generate_key,
)
from sallakit.testing import MemoryTokenStore

NOW = 1_750_000_000.0


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeAccounts:
    """A tiny /oauth2/token + /oauth2/user/info with single-use refresh tokens."""

    def __init__(self, store_id: int = 111) -> None:
        self.store_id = store_id
        self.valid_refresh: set[str] = set()
        self.codes: dict[str, str] = {}
        self.refreshes = 0
        self.invalid_grants = 0
        self._n = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_next: str | None = None

    def mint(self) -> dict[str, Any]:
        n = next(self._n)
        refresh = f"ory_rt_{n}"
        self.valid_refresh.add(refresh)
        return {
            "access_token": f"ory_at_{n}",
            "refresh_token": refresh,
            "expires_in": 1209600,
            "scope": "settings.read offline_access",
            "token_type": "bearer",
        }

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/user/info":
            return httpx2.Response(
                200,
                json={
                    "status": 200,
                    "success": True,
                    "data": {
                        "id": 5,
                        "name": "Owner",
                        "merchant": {"id": self.store_id, "name": "متجر"},
                    },
                },
            )
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        with self._lock:
            if self.fail_next == "500":
                self.fail_next = None
                return httpx2.Response(500, json={"error": "server_error"})
            if self.fail_next == "invalid_client":
                self.fail_next = None
                return httpx2.Response(401, json={"error": "invalid_client"})
            if self.fail_next == "timeout":
                self.fail_next = None
                raise httpx2.ReadTimeout("slow", request=request)
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token", "")
                if token not in self.valid_refresh:
                    self.invalid_grants += 1
                    return httpx2.Response(400, json={"error": "invalid_grant"})
                self.valid_refresh.discard(token)
                self.refreshes += 1
                return httpx2.Response(200, json=self.mint())
            if form.get("grant_type") == "authorization_code":
                if form.get("redirect_uri") != "https://app.example/callback":
                    return httpx2.Response(
                        400,
                        json={"error": "invalid_request", "error_description": "redirect_uri"},
                    )
                if form.get("code") not in self.codes:
                    return httpx2.Response(400, json={"error": "invalid_grant"})
                self.codes.pop(form["code"])
                return httpx2.Response(200, json=json.loads(json.dumps(self.mint())))
        return httpx2.Response(404)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys() -> list[str]:
    return [generate_key()]


@pytest.fixture
def accounts() -> FakeAccounts:
    return FakeAccounts()


StoreFactory = Callable[..., TokenStore]


@pytest.fixture
def make_store() -> StoreFactory:
    """Builds a token store; ``busy_timeout`` is how long a writer waits for another."""

    def build(busy_timeout: float = 60.0) -> TokenStore:
        return MemoryTokenStore(lock_wait=busy_timeout)

    return build


@pytest.fixture
def vault(
    make_store: StoreFactory, keys: list[str], clock: FakeClock, accounts: FakeAccounts
) -> Iterator[TokenVault]:
    transport = httpx2.MockTransport(accounts.handler)
    oauth = OAuthClient("cid", "csecret", accounts_url="https://accounts.test", transport=transport)
    async_oauth = AsyncOAuthClient(
        "cid", "csecret", accounts_url="https://accounts.test", transport=transport, clock=clock
    )
    vault = TokenVault(make_store(), keys, oauth=oauth, async_oauth=async_oauth, clock=clock)
    yield vault
    oauth.close()
    vault.close()


def set_lease(vault: TokenVault, store_id: int, *, age: float, **fields: Any) -> None:
    """Put a lease of another process on a store's row, ``age`` seconds old (database clock)."""
    values = {
        "lease_id": "theirs",
        "lease_owner": "another-process",
        "lease_pid": 1,
        "lease_host": "host-a",
        "lease_node": "other-boot|pid:[9]|1",
        "lease_journal_id": 0,
        **fields,
    }
    with vault.store.write() as tx:
        values["lease_started_at"] = tx.now() - age
        tx.update(store_id, values)


def hog(vault: TokenVault, store_id: int, seconds: float) -> threading.Thread:
    """Hold the write lock on a store's row for ``seconds`` in another thread (returns once it
    is held)."""
    held = threading.Event()

    def run() -> None:
        with vault.store.write() as tx:
            tx.get(store_id, lock=True)
            held.set()
            time.sleep(seconds)

    thread = threading.Thread(target=run)
    thread.start()
    held.wait(10)
    return thread


def seed(vault: TokenVault, accounts: FakeAccounts, store_id: int, *, expires_at: float) -> str:
    """Store a token pair the fake server knows; returns the access token."""
    minted = accounts.mint()
    vault.save_tokens(
        store_id,
        TokenSet(
            access_token=minted["access_token"],
            refresh_token=minted["refresh_token"],
            expires_at=expires_at,
            scopes=("settings.read", "offline_access"),
        ),
    )
    return str(minted["access_token"])
