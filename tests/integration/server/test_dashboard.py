"""The dashboard and JSON API in-process: login, CSRF, every page, replay and sync."""

from __future__ import annotations

import re

import httpx2
import pytest

from sallakit.server._parts import ServiceParts
from sallakit.server.dashboard import MemoryInbox, MemoryMirror

from .conftest import PASSWORD, STORE, TOKEN, csrf_of, html, log_in

pytestmark = pytest.mark.anyio

PAGES = [
    "/dashboard/",
    f"/dashboard/stores/{STORE}",
    "/dashboard/webhooks",
    "/dashboard/webhooks/1",
    "/dashboard/dead-letters",
    "/dashboard/lang/ar",
]
API = ["/api/stores", f"/api/stores/{STORE}", "/api/deliveries", "/api/deliveries/1", "/metrics"]


@pytest.mark.parametrize("path", PAGES)
async def test_anonymous_browsers_are_sent_to_the_login(
    client: httpx2.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers=html())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert "متجر" not in response.text


@pytest.mark.parametrize("path", PAGES + API)
async def test_anonymous_api_calls_are_refused(client: httpx2.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    bad = await client.get(path, headers={"authorization": "Bearer wrong"})
    assert bad.status_code == 401


@pytest.mark.parametrize("path", ["/login", "/healthz", "/readyz"])
async def test_anonymous_visitors_get_login_and_health(
    client: httpx2.AsyncClient, path: str
) -> None:
    assert (await client.get(path)).status_code == 200


async def test_wrong_secret_then_login_then_every_page_then_logout(
    client: httpx2.AsyncClient,
) -> None:
    refused = await log_in(client, "not the password")
    assert refused.status_code == 401
    assert "Wrong password or token." in refused.text
    assert (await client.get("/dashboard/", headers=html())).status_code == 303

    response = await log_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/"
    home = await client.get("/dashboard/")
    assert home.status_code == 200
    assert "متجر سلة التجريبي" in home.text
    for path in PAGES[1:-1]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert 'dir="ltr"' in page.text
    store = await client.get(f"/dashboard/stores/{STORE}")
    assert store.text.count("<svg") == 2  # rate-limit use and orders per day
    assert "passed" in store.text

    logout = await client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert logout.status_code == 303
    assert (await client.get("/dashboard/", headers=html())).status_code == 303


async def test_the_token_logs_in_too(client: httpx2.AsyncClient) -> None:
    assert (await log_in(client, TOKEN)).status_code == 303


async def test_arabic_pages_are_right_to_left(client: httpx2.AsyncClient) -> None:
    await log_in(client)
    response = await client.get("/dashboard/lang/ar")
    assert response.status_code == 303
    page = await client.get("/dashboard/")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "المتاجر" in page.text
    assert (await client.get("/dashboard/lang/xx")).status_code == 404


async def test_forms_need_the_csrf_token(client: httpx2.AsyncClient, parts: ServiceParts) -> None:
    await log_in(client)
    assert (await client.post(f"/dashboard/stores/{STORE}/sync")).status_code == 403
    assert (
        await client.post(f"/dashboard/stores/{STORE}/sync", data={"csrf_token": "forged"})
    ).status_code == 403
    assert (await client.post("/dashboard/webhooks/2/replay", data={})).status_code == 403
    assert (await client.post("/logout")).status_code == 403
    assert isinstance(parts.mirror, MemoryMirror) and parts.mirror.requested == []
    # The login form itself is protected (login CSRF).
    assert (
        await client.post("/login", data={"secret": PASSWORD, "csrf_token": "x"})
    ).status_code == 403


async def test_sync_now_and_replays(client: httpx2.AsyncClient, parts: ServiceParts) -> None:
    await log_in(client)
    page = await client.get(f"/dashboard/stores/{STORE}")
    csrf = csrf_of(page.text)
    response = await client.post(f"/dashboard/stores/{STORE}/sync", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert isinstance(parts.mirror, MemoryMirror) and parts.mirror.requested == [STORE]
    followed = await client.get(response.headers["location"])
    assert "Sync requested" in followed.text

    response = await client.post("/dashboard/webhooks/2/replay", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert isinstance(parts.inbox, MemoryInbox)
    assert parts.inbox.items[2].row.status == "pending"

    dead = await client.get("/dashboard/dead-letters")
    assert "customer.created" in dead.text and "product.updated" not in dead.text
    response = await client.post(
        "/dashboard/dead-letters/replay", data={"csrf_token": csrf, "all": "1"}
    )
    assert response.headers["location"].endswith("replayed:1")
    assert parts.inbox.replayed == [2, 3]
    assert (
        await client.post("/dashboard/webhooks/99/replay", data={"csrf_token": csrf})
    ).status_code == 404


async def test_webhook_filters(client: httpx2.AsyncClient) -> None:
    await log_in(client)

    def events(text: str) -> set[str]:
        return set(re.findall(r'<code dir="ltr">([a-z.]+)</code>', text))

    page = await client.get("/dashboard/webhooks", params={"status": "dead"})
    assert events(page.text) == {"product.updated", "customer.created"}
    page = await client.get("/dashboard/webhooks", params={"event": "order.created"})
    assert events(page.text) == {"order.created"}
    assert (await client.get("/dashboard/webhooks", params={"status": "bogus"})).status_code == 400
    assert (await client.get("/dashboard/webhooks", params={"store": "abc"})).status_code == 400


async def test_the_api_with_the_bearer_token(
    client: httpx2.AsyncClient, parts: ServiceParts
) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    stores = (await client.get("/api/stores", headers=auth)).json()
    assert [s["store_id"] for s in stores] == [STORE]
    assert stores[0]["token_health"] == "active"
    detail = (await client.get(f"/api/stores/{STORE}", headers=auth)).json()
    assert detail["resources"][0]["audit"] == "passed"
    assert (await client.get("/api/stores/5", headers=auth)).status_code == 404
    sync = await client.post(f"/api/stores/{STORE}/sync", headers=auth)
    assert sync.status_code == 202 and sync.json()["job"]
    deliveries = (await client.get("/api/deliveries?status=dead", headers=auth)).json()
    assert {d["id"] for d in deliveries} == {2, 3}
    one = (await client.get("/api/deliveries/1", headers=auth)).json()
    assert one["handlers"] == {"mirror.mark_dirty": "done"}
    replay = await client.post("/api/deliveries/replay", json={"ids": [3, 42]}, headers=auth)
    assert replay.json() == {"queued": 1}
    metrics = await client.get("/metrics", headers=auth)
    assert metrics.status_code == 200
    assert "# TYPE sallakit_salla_requests_total counter" in metrics.text


async def test_readiness_reports_each_check(
    client: httpx2.AsyncClient, parts: ServiceParts
) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok"}}

    async def down() -> str | None:
        return "worker not running"

    parts.readiness["worker"] = down
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "worker not running"
