"""Webhooks out of the emulator: Easy mode app events, store events, signing, retries, rules."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from sallakit.emulator import Emulator

pytestmark = pytest.mark.anyio

SECRET = "emulator-webhook-secret"


def _verify(body: bytes, headers: dict[str, str], secret: str = SECRET) -> None:
    assert headers["x-salla-security-strategy"] == "Signature"
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-salla-signature"], expected)


async def test_easy_mode_install_update_uninstall(emulator: Emulator, receiver, api):
    store = emulator.stores[0]
    installed = emulator.install_app(store.id)
    await emulator.deliver_due()
    assert receiver.events == ["app.installed", "app.store.authorize"]
    for body, headers in receiver.requests:
        _verify(body, headers)
    first, authorize = receiver.payloads()
    assert first["merchant"] == store.id
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first["created_at"])
    assert set(first["data"]) >= {"id", "app_name", "app_scopes", "installation_date", "store_type"}
    data = authorize["data"]
    assert data == installed
    # Easy mode's expires is an absolute epoch, 14 days out.
    assert data["expires"] == int(emulator.now().timestamp()) + 14 * 86400
    assert data["access_token"].startswith("ory_at_") and data["refresh_token"].startswith(
        "ory_rt_"
    )

    updated = emulator.update_app(store.id)
    await emulator.deliver_due()
    assert receiver.events[2:] == ["app.updated", "app.store.authorize"]
    assert receiver.payloads()[3]["data"]["access_token"] == updated["access_token"]
    async with api(installed["access_token"]) as client:
        assert (await client.get("/store/info")).status_code == 401
    async with api(updated["access_token"]) as client:
        assert (await client.get("/store/info")).status_code == 200

    emulator.uninstall_app(store.id, refunded=True)
    await emulator.deliver_due()
    assert receiver.events[4:] == ["app.uninstalled"]
    gone = receiver.payloads()[4]["data"]
    assert gone["refunded"] is True and "uninstallation_date" in gone
    async with api(updated["access_token"]) as client:
        assert (await client.get("/store/info")).status_code == 401
    assert emulator.counters()["grants_issued"][store.id] == 2


async def test_easy_mode_consent_page_installs(make_emulator, receiver):
    em = make_emulator(easy_mode=True)
    import httpx2

    async with httpx2.AsyncClient(transport=em.async_transport(), base_url="https://a") as c:
        app = em.default_app
        answer = await c.post(
            "/oauth2/auth",
            data={
                "client_id": app.client_id,
                "redirect_uri": app.redirect_uri,
                "decision": "approve",
            },
        )
    assert answer.status_code == 200 and 'id="installed"' in answer.text
    await em.deliver_due()
    assert receiver.events == ["app.installed", "app.store.authorize"]


async def _subscribe(api, token: str, em: Emulator | None = None, **body) -> dict:
    async with api(token, em) as client:
        answer = await client.post("/webhooks/subscribe", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def test_store_event_signed_with_custom_headers(emulator, receiver, api):
    tokens = emulator.issue_tokens()
    await _subscribe(
        api,
        tokens["access_token"],
        event="order.created",
        url="https://receiver.example/orders",
        headers=[{"key": "X-Tenant", "value": "t-1"}],
    )
    order = emulator.place_order()
    made = await emulator.deliver_due()
    assert [r.status for r in made] == [200]
    body, headers = receiver.requests[0]
    _verify(body, headers)
    assert headers["x-tenant"] == "t-1"
    doc = json.loads(body)
    assert doc["event"] == "order.created" and doc["data"]["id"] == order["id"]
    assert doc["merchant"] == emulator.stores[0].id
    assert re.fullmatch(r"\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT\+0300", doc["created_at"])


async def test_token_strategy(make_emulator, receiver, api):
    em = make_emulator(security_strategy="token")
    em.install_app()
    await em.deliver_due()
    _, headers = receiver.requests[0]
    assert headers["x-salla-security-strategy"] == "Token"
    assert headers["authorization"] == SECRET
    assert "x-salla-signature" not in headers


async def test_retries_on_failure_follow_the_clock(make_emulator, receiver):
    em = make_emulator(webhook_retry_interval=300)
    receiver.statuses = [500, 404, 500, 500]
    em.install_app()  # two events; keep only the first failing
    receiver.statuses = [500, 200, 404, 500, 500]
    made = await em.deliver_due()
    assert [(r.event, r.attempt, r.status) for r in made] == [
        ("app.installed", 1, 500),
        ("app.store.authorize", 1, 200),
    ]
    assert await em.deliver_due() == []  # nothing due until the interval passes
    em.advance(299)
    assert await em.deliver_due() == []
    em.advance(1)
    assert [(r.attempt, r.status) for r in await em.deliver_due()] == [(2, 404)]
    em.advance(300)
    assert [(r.attempt, r.status) for r in await em.deliver_due()] == [(3, 500)]
    em.advance(300)
    assert [(r.attempt, r.status) for r in await em.deliver_due()] == [(4, 500)]
    em.advance(3600)
    assert await em.deliver_due() == []  # 1 try + 3 retries, then given up
    deliveries = em.counters()["deliveries"]
    assert deliveries["attempts"] == 5 and deliveries["delivered"] == 1
    assert deliveries["pending"] == 0
    assert [r.ok for r in em.delivery_log] == [False, True, False, False, False]


async def test_success_with_201_stops_retries(make_emulator, receiver):
    em = make_emulator()
    receiver.statuses = [201, 201]
    em.install_app()
    await em.deliver_due()
    em.advance(10_000)
    assert await em.deliver_due() == []


async def test_connection_errors_are_logged_and_retried(make_emulator):
    import httpx2

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    em = make_emulator(webhook_transport=httpx2.MockTransport(refuse))
    em.install_app()
    made = await em.deliver_due()
    assert [r.event for r in made] == ["app.installed", "app.store.authorize"]
    assert all(r.status is None and "ConnectError" in (r.error or "") for r in made)
    assert len(em.pending_deliveries) == 2


@pytest.mark.parametrize("option", [{"duplicate_every": 1}, {"duplicate_rate": 1.0}])
async def test_duplicate_delivery(make_emulator, receiver, api, option):
    em = make_emulator(**option)
    tokens = em.issue_tokens()
    await _subscribe(
        api, tokens["access_token"], em, event="customer.created", url="https://r.example/c"
    )
    em.add_customer(
        fields={
            "first_name": "Sara",
            "last_name": "Ali",
            "mobile": "512345678",
            "mobile_code": "+966",
            "email": "sara@example.sa",
        }
    )
    made = await em.deliver_due()
    assert [r.duplicate for r in made] == [False, True]
    assert receiver.requests[0][0] == receiver.requests[1][0]
    assert em.counters()["deliveries"]["duplicates"] == 1


async def test_rules_filter_events(emulator, receiver, api):
    tokens = emulator.issue_tokens()
    store_id = emulator.stores[0].id
    await _subscribe(
        api,
        tokens["access_token"],
        event="order.created",
        url="https://r.example/o",
        rule="payment_method = `cod` OR total > 100000",
    )
    emulator.emit(store_id, "order.created", {"id": 1, "payment_method": "mada", "total": 5})
    emulator.emit(store_id, "order.created", {"id": 2, "payment_method": "cod", "total": 5})
    emulator.emit(
        store_id,
        "order.created",
        {"id": 3, "payment_method": "mada", "amounts": {"total": {"amount": 200000}}},
    )
    emulator.emit(store_id, "order.updated", {"id": 4, "payment_method": "cod"})
    await emulator.deliver_due()
    assert [p["data"]["id"] for p in receiver.payloads()] == [2, 3]
