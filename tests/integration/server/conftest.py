"""A service app on a SQLite vault with in-memory inbox and mirror, driven in-process."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from sallakit.auth import TokenSet, TokenVault, generate_key
from sallakit.db import migrate
from sallakit.server._build import build_parts, service_app
from sallakit.server._parts import ServiceParts
from sallakit.server.dashboard import (
    DeliveryDetail,
    DeliveryRow,
    MemoryInbox,
    MemoryMirror,
    ResourceSync,
)
from sallakit.settings import Settings

PASSWORD = "correct horse battery staple"
TOKEN = "t0ken-" + "x" * 30
STORE = 1305146709


@pytest.fixture
def parts(tmp_path: Path) -> ServiceParts:
    key = generate_key()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'service.db'}",
        token_keys=key,
        admin_password=PASSWORD,
        admin_token=TOKEN,
        session_secret="s" * 40,
        webhook_secret="whsec",
    )
    vault = TokenVault.from_url(settings.database_url, [key])
    # A started service has migrated every component (readiness checks it).
    migrate(vault.engine)
    now = time.time()
    vault.save_tokens(
        STORE,
        TokenSet("access", "refresh", now + 14 * 86_400, ("products.read", "orders.read")),
        merchant={"id": STORE, "name": "متجر سلة التجريبي"},
        connected_via="easy",
    )
    inbox = MemoryInbox(
        [
            DeliveryDetail(
                DeliveryRow(1, STORE, "order.created", "done", 1, now - 60),
                f'{{"event": "order.created", "merchant": {STORE}, "data": {{"id": 5}}}}',
                {"content-type": "application/json"},
                {"mirror.mark_dirty": "done"},
            ),
            DeliveryDetail(
                DeliveryRow(2, STORE, "product.updated", "dead", 5, now - 30, "boom"),
                '{"event": "product.updated"}',
            ),
            DeliveryDetail(
                DeliveryRow(3, STORE, "customer.created", "dead", 5, now - 20, "boom"),
                '{"event": "customer.created"}',
            ),
        ]
    )
    mirror = MemoryMirror(
        {STORE: [ResourceSync("orders", "idle", now - 100, now - 100, 4.0, 10, 10, "passed")]},
        {STORE: [("2026-12-01", 4), ("2026-12-02", 6)]},
    )
    return build_parts(settings, vault, inbox=inbox, mirror=mirror)


@pytest.fixture
async def client(parts: ServiceParts) -> AsyncIterator[httpx2.AsyncClient]:
    app = service_app(parts)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://service.test") as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def log_in(client: httpx2.AsyncClient, secret: str = PASSWORD) -> httpx2.Response:
    page = await client.get("/login")
    return await client.post(
        "/login", data={"csrf_token": csrf_of(page.text), "secret": secret, "next": "/dashboard/"}
    )


def html(**headers: Any) -> dict[str, str]:
    return {"accept": "text/html", **headers}
