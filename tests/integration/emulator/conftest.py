"""Fixtures of the emulator shell's integration tests: an emulator, API clients, a receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import Response

from sallakit.emulator import Emulator

START = datetime(2025, 1, 21, 15, 0, 32, tzinfo=UTC)
API = "https://api.salla.dev/admin/v2"
ACCOUNTS = "https://accounts.salla.sa"
HOOK_URL = "https://receiver.example/hooks"


@dataclass
class Receiver:
    """An in-process webhook receiver: records every request, answers ``statuses`` in turn."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        self.requests.append((body, dict(request.headers)))
        status = self.statuses.pop(0) if self.statuses else 200
        await Response(b"ok", status)(scope, receive, send)

    @property
    def events(self) -> list[str]:
        return [json.loads(body)["event"] for body, _ in self.requests]

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self.requests]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def make_emulator(receiver: Receiver) -> Callable[..., Emulator]:
    def make(**kwargs: Any) -> Emulator:
        options: dict[str, Any] = {
            "products": 25,
            "orders": 10,
            "customers": 10,
            "now": START,
            "webhook_url": HOOK_URL,
            "webhook_transport": httpx2.ASGITransport(app=receiver),
        }
        options.update(kwargs)
        return Emulator(**options)

    return make


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


@pytest.fixture
async def accounts(emulator: Emulator) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=emulator.async_transport(), base_url=ACCOUNTS) as c:
        yield c


@pytest.fixture
def api(emulator: Emulator) -> Callable[..., httpx2.AsyncClient]:
    """``api(token, **headers)``: an AsyncClient on the emulator's Merchant API."""

    def make(token: str, em: Emulator | None = None, **headers: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            transport=(em or emulator).async_transport(),
            base_url=API,
            headers={"Authorization": f"Bearer {token}", **headers},
        )

    return make
