"""Fixtures for the auth unit tests: a vault on a temporary SQLite file and a fake token server."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest

from sallakit.auth import AsyncOAuthClient, OAuthClient, TokenSet, TokenVault, generate_key
from sallakit.db import create_engine

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


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vault.db"


@pytest.fixture
def vault(
    db_path: Path, keys: list[str], clock: FakeClock, accounts: FakeAccounts
) -> Iterator[TokenVault]:
    transport = httpx2.MockTransport(accounts.handler)
    oauth = OAuthClient("cid", "csecret", accounts_url="https://accounts.test", transport=transport)
    async_oauth = AsyncOAuthClient(
        "cid", "csecret", accounts_url="https://accounts.test", transport=transport, clock=clock
    )
    engine = create_engine(f"sqlite:///{db_path}")
    vault = TokenVault(engine, keys, oauth=oauth, async_oauth=async_oauth, clock=clock)
    yield vault
    oauth.close()
    engine.dispose()


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
