"""The emulator sends what it lists: a walk over every event of ``GET /webhooks/events``.

Each offered event is subscribed to; then every modelled cause happens through the Merchant API
or the control API, and each event must arrive at the receiver, signed, with the resource in
``data``. Events whose cause the emulator does not model (shopper actions) are listed, with why,
in ``UNMODELED_EVENTS`` and sent through the control API instead. Deprecated events are not
offered and cannot be subscribed to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx2
import pytest

from sallakit.emulator import Emulator
from sallakit.emulator._webhooks import DEPRECATED_EVENTS, UNMODELED_EVENTS

from .conftest import HOOK_URL, Receiver

pytestmark = pytest.mark.anyio

SECRET = "emulator-webhook-secret"


async def _ok(response: httpx2.Response) -> Any:
    assert response.status_code < 300, (response.request.url, response.text[:400])
    return response.json()["data"] if response.content else None


async def _walk(api: httpx2.AsyncClient, control: httpx2.AsyncClient, em: Emulator) -> None:
    """Every modelled cause, once."""
    store = em.stores[0].id
    # Products.
    product = await _ok(
        await api.post("/products", json={"name": "عطر", "price": 120, "quantity": 9})
    )
    pid = product["id"]
    category = await _ok(await api.post("/categories", json={"name": "عطور"}))
    await _ok(await api.put(f"/categories/{category['id']}", json={"name": "عطور فاخرة"}))
    brand = await _ok(await api.post("/brands", json={"name": "ورد", "description": "ورد"}))
    await _ok(await api.put(f"/brands/{brand['id']}", json={"name": "ورد الطائف"}))
    await _ok(
        await api.put(
            f"/products/{pid}",
            json={"price": 150, "categories": [category["id"]], "brand_id": brand["id"]},
        )
    )
    await _ok(await api.put(f"/products/{pid}", json={"status": "hidden"}))
    await _ok(await api.put(f"/products/{pid}", json={"status": "sale"}))
    await _ok(
        await api.post(
            f"/products/{pid}/images",
            files={"photo": ("p.jpg", b"\xff\xd8\xff", "image/jpeg")},
        )
    )
    # Stock under the notify threshold (product.quantity.low), through the control API.
    await _ok_control(
        await control.put(f"/stores/{store}/products/{pid}/stock", json={"quantity": 0})
    )
    await _ok(await api.delete(f"/brands/{brand['id']}"))
    # Customers.
    customer = await _ok(
        await api.post(
            "/customers",
            json={"first_name": "سارة", "last_name": "القحطاني", "mobile": "555123456"},
        )
    )
    await _ok(await api.put(f"/customers/{customer['id']}", json={"first_name": "ساره"}))
    # Orders.
    on_sale = await _ok(await api.get("/products", params={"status": "sale", "per_page": 2}))
    body = {
        "customer": {"id": customer["id"]},
        "products": [{"identifier_type": "id", "identifier": on_sale[0]["id"], "quantity": 1}],
        "payment": {"status": "paid", "method": "bank"},
    }
    orders = [await _ok(await api.post("/orders", json=body)) for _ in range(3)]
    first, second, third = (o["id"] for o in orders)
    await _ok(await api.put(f"/orders/{first}", json={"payment_method": "mada"}))
    await _ok(
        await api.post(
            "/orders/items",
            json={"order_id": first, "identifier_type": "id", "identifier": on_sale[1]["id"]},
        )
    )
    shipment = await _ok(
        await api.post(
            "/shipments",
            json={
                "order_id": first,
                "courier_id": 1927161457,
                "shipment_type": "shipment",
                "payment_method": "pre_paid",
            },
        )
    )
    await _ok(await api.put(f"/shipments/{shipment['id']}", json={"status": "shipped"}))
    returned = await _ok(await api.post(f"/shipments/{shipment['id']}/return"))
    await _ok(await api.post(f"/shipments/{returned['id']}/cancel"))
    await _ok(await api.post(f"/shipments/{shipment['id']}/cancel"))
    await _ok(await api.post(f"/orders/{first}/status", json={"slug": "completed"}))
    await _ok(await api.post(f"/orders/{second}/status", json={"slug": "canceled"}))
    await _ok(await api.post(f"/orders/{third}/status", json={"slug": "restored"}))
    await _ok_control(await control.delete(f"/stores/{store}/orders/{second}"))
    await _ok(await api.delete(f"/products/{pid}"))
    # Settings resources served by the generic collections.
    zone = await _ok(await api.post("/shipping/zones", json={"company_id": 1, "country": 1}))
    await _ok(await api.put(f"/shipping/zones/{zone['id']}", json={"country": 1}))
    company = await _ok(await api.post("/shipping/companies", json={"name": "سمسا"}))
    await _ok(await api.put(f"/shipping/companies/{company['id']}", json={"name": "سمسا إكسبرس"}))
    await _ok(await api.delete(f"/shipping/companies/{company['id']}"))
    branch = await _ok(await api.post("/branches", json={"name": "فرع الرياض"}))
    await _ok(
        await api.put(
            f"/branches/{branch['id']}",
            json={"name": "فرع الرياض", "is_default": True, "status": "active"},
        )
    )
    await _ok(await api.delete(f"/branches/{branch['id']}"))
    await _ok(await api.post("/taxes", json={"tax": 15, "country_id": 1}))
    offer = await _ok(
        await api.post(
            "/specialoffers", json={"name": "عرض", "applied_channel": "browser_and_application"}
        )
    )
    await _ok(await api.put(f"/specialoffers/{offer['id']}", json={"name": "عرض الصيف"}))


async def _ok_control(response: httpx2.Response) -> Any:
    assert response.status_code == 200, (response.request.url, response.text[:400])
    return response.json()


async def test_every_offered_event_is_sent(make_emulator, receiver: Receiver):
    em: Emulator = make_emulator(products=10, orders=4, customers=4)
    token = em.issue_tokens()["access_token"]
    store = em.stores[0].id
    async with (
        httpx2.AsyncClient(
            transport=em.async_transport(),
            base_url="https://api.salla.dev/admin/v2",
            headers={"Authorization": f"Bearer {token}"},
        ) as api,
        httpx2.AsyncClient(
            transport=em.async_transport(), base_url="http://emulator.test/_emulator"
        ) as control,
    ):
        offered = [row["event"] for row in await _ok(await api.get("/webhooks/events"))]
        assert not set(DEPRECATED_EVENTS) & set(offered)
        assert set(UNMODELED_EVENTS) <= set(offered)
        for event in offered:
            await _ok(await api.post("/webhooks/subscribe", json={"event": event, "url": HOOK_URL}))
        await _walk(api, control, em)
        for event in UNMODELED_EVENTS:
            answer = await _ok_control(
                await control.post(
                    f"/stores/{store}/events", json={"event": event, "data": {"id": 7}}
                )
            )
            assert answer == {"queued": 1}
    await em.deliver_due()
    sent = set(receiver.events)
    missing = sorted(set(offered) - sent)
    assert missing == [], f"offered but never sent: {missing}"
    for body, headers in receiver.requests:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-salla-signature"] == expected
        payload = json.loads(body)
        assert payload["merchant"] == store and isinstance(payload["data"], dict)
    deleted = next(p for p in receiver.payloads() if p["event"] == "order.deleted")
    assert deleted["data"]["id"] and deleted["data"]["status"]["slug"] == "canceled"


@pytest.mark.parametrize("event", sorted(DEPRECATED_EVENTS))
async def test_a_deprecated_event_is_refused_not_silently_dropped(emulator, api, event):
    async with api(emulator.issue_tokens()["access_token"]) as client:
        offered = [row["event"] for row in (await client.get("/webhooks/events")).json()["data"]]
        answer = await client.post("/webhooks/subscribe", json={"event": event, "url": HOOK_URL})
    assert event not in offered
    assert answer.status_code == 422
    assert "deprecated" in answer.json()["error"]["fields"]["event"][0]


async def test_a_burst_of_orders_queues_one_delivery_each(make_emulator, receiver: Receiver):
    em: Emulator = make_emulator(products=10, orders=0, customers=3)
    token = em.issue_tokens()["access_token"]
    store = em.stores[0].id
    async with (
        httpx2.AsyncClient(
            transport=em.async_transport(),
            base_url="https://api.salla.dev/admin/v2",
            headers={"Authorization": f"Bearer {token}"},
        ) as api,
        httpx2.AsyncClient(
            transport=em.async_transport(), base_url="http://emulator.test/_emulator"
        ) as control,
    ):
        await _ok(
            await api.post("/webhooks/subscribe", json={"event": "order.created", "url": HOOK_URL})
        )
        answer = await _ok_control(
            await control.post(f"/stores/{store}/orders/burst", json={"count": 150})
        )
        listed = await api.get("/orders", params={"per_page": 1})
    assert len(answer["orders"]) == len(set(answer["orders"])) == 150
    assert answer["queued"] == 150
    assert listed.json()["pagination"]["total"] == 150
    await em.deliver_due()
    ids = [p["data"]["id"] for p in receiver.payloads()]
    assert sorted(ids) == sorted(answer["orders"])


async def test_the_control_api_sends_any_event_with_its_payload(make_emulator, receiver):
    em: Emulator = make_emulator(products=2, orders=0, customers=1)
    token = em.issue_tokens()["access_token"]
    store = em.stores[0].id
    data = {"id": 42, "cart": {"total": {"amount": 10, "currency": "SAR"}}, "note": "مرحبا"}
    async with (
        httpx2.AsyncClient(
            transport=em.async_transport(),
            base_url="https://api.salla.dev/admin/v2",
            headers={"Authorization": f"Bearer {token}"},
        ) as api,
        httpx2.AsyncClient(
            transport=em.async_transport(), base_url="http://emulator.test/_emulator"
        ) as control,
    ):
        await _ok(
            await api.post("/webhooks/subscribe", json={"event": "abandoned.cart", "url": HOOK_URL})
        )
        sent = await control.post(
            f"/stores/{store}/events", json={"event": "abandoned.cart", "data": data}
        )
        unknown_store = await control.post(
            "/stores/1/events", json={"event": "abandoned.cart", "data": data}
        )
    assert sent.json() == {"queued": 1}
    assert unknown_store.status_code == 404
    await em.deliver_due()
    (payload,) = receiver.payloads()
    assert payload["event"] == "abandoned.cart" and payload["data"] == data
