"""Fixtures for driving the emulator through the sallakit client.

The client's governor gets an :class:`EmulatorClock`: it tells the emulator's time and "sleeps"
by advancing the emulator's (manual) clock, so rate-limit waits and retry backoffs cost no real
time while the emulator's buckets drain exactly as they would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx2
import pytest

from sallakit._exceptions import ReinstallRequiredError, TokenExchangeError
from sallakit.api import AsyncSalla, Clock, GovernorRegistry, Salla
from sallakit.emulator import Emulator

START = datetime(2025, 3, 2, 9, 30, 0, tzinfo=UTC)
ACCOUNTS = "https://accounts.salla.sa"
API = "https://api.salla.dev/admin/v2"


class EmulatorClock(Clock):
    """The client's clock on the emulator's time; sleeping advances the emulator instead."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.slept = 0.0

    def time(self) -> float:
        return self.emulator.clock.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.emulator.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.emulator.advance(seconds)
        await anyio.sleep(0)  # still yield, as the in-flight polling relies on


def new_emulator(**kwargs: Any) -> Emulator:
    options: dict[str, Any] = {"products": 20, "orders": 8, "customers": 10, "now": START}
    options.update(kwargs)
    return Emulator(**options)


@pytest.fixture
def emulator() -> Emulator:
    return new_emulator()


@pytest.fixture
def clock(emulator: Emulator) -> EmulatorClock:
    return EmulatorClock(emulator)


@pytest.fixture
def registry(clock: EmulatorClock) -> GovernorRegistry:
    """An isolated governor registry on the emulator's clock."""
    return GovernorRegistry(clock=clock)


@pytest.fixture
def tokens(emulator: Emulator) -> dict[str, Any]:
    return emulator.issue_tokens()


MakeClient = Callable[..., AsyncSalla]


@pytest.fixture
async def make_client(
    emulator: Emulator, registry: GovernorRegistry, tokens: dict[str, Any]
) -> AsyncIterator[MakeClient]:
    """``make_client(token=None, **options)``: an AsyncSalla on the emulator, closed after."""
    made: list[AsyncSalla] = []

    def make(token: str | None = None, **options: Any) -> AsyncSalla:
        kwargs: dict[str, Any] = {
            "transport": emulator.async_transport(),
            "governor": registry,
        }
        if "token_provider" not in options:
            kwargs["access_token"] = token or tokens["access_token"]
        kwargs.update(options)
        client = AsyncSalla(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def salla(make_client: MakeClient) -> AsyncSalla:
    return make_client()


@pytest.fixture
def make_sync_client(emulator: Emulator, registry: GovernorRegistry, tokens: dict[str, Any]) -> Any:
    made: list[Salla] = []

    def make(token: str | None = None, **options: Any) -> Salla:
        kwargs: dict[str, Any] = {
            "transport": emulator.sync_transport(),
            "governor": registry,
        }
        if "token_provider" not in options:
            kwargs["access_token"] = token or tokens["access_token"]
        kwargs.update(options)
        client = Salla(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def store_id(emulator: Emulator) -> int:
    return emulator.stores[0].id


def requests_to(emulator: Emulator, client_method: str, sid: int | None = None) -> int:
    """How many requests the emulator received for an endpoint (its ``client_method``)."""
    sid = sid if sid is not None else store_id(emulator)
    entry = emulator.counters()["requests"].get(sid, {"by_endpoint": {}})
    return int(entry["by_endpoint"].get(client_method, 0))


def status_count(emulator: Emulator, status: int, sid: int | None = None) -> int:
    sid = sid if sid is not None else store_id(emulator)
    return int(emulator.counters()["statuses"].get(sid, {}).get(str(status), 0))


class EmulatorTokenProvider:
    """A tiny ``AsyncTokenProvider``: refreshes through the emulator's ``/oauth2/token``.

    No lock and no persistence on purpose: tests use it to show what the client does with a
    provider, and what Salla does to a reused refresh token.
    """

    def __init__(self, emulator: Emulator, access_token: str, refresh_token: str) -> None:
        self.emulator = emulator
        self.access_token = access_token
        self.refresh_token_value = refresh_token
        self.refreshes = 0
        self.rejected: list[str] = []
        # Read by the client (duck-typed) to key the store's rate-limit governor.
        self.store_id = emulator.stores[0].id

    async def get_token(self) -> str:
        return self.access_token

    async def refresh_token(self, rejected_token: str) -> str:
        self.rejected.append(rejected_token)
        app = self.emulator.default_app
        async with httpx2.AsyncClient(
            transport=self.emulator.async_transport(), base_url=ACCOUNTS
        ) as http:
            response = await http.post(
                "/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh_token_value,
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                },
            )
        body = response.json()
        if body.get("error") == "invalid_grant":
            raise ReinstallRequiredError(
                description=body.get("error_description"),
                store_id=store_id(self.emulator),
            )
        if response.status_code != 200 or "access_token" not in body:
            raise TokenExchangeError(status_code=response.status_code, error=str(body.get("error")))
        self.refreshes += 1
        self.access_token = body["access_token"]
        self.refresh_token_value = body["refresh_token"]
        return self.access_token
