"""Snapshots, the sync transport and the control API."""

from __future__ import annotations

import httpx2
import pytest

from sallakit._exceptions import ConfigurationError
from sallakit.emulator import Emulator

API = "https://api.salla.dev/admin/v2"


@pytest.mark.anyio
async def test_snapshot_round_trip(emulator, api, tmp_path):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        await client.post(
            "/webhooks/subscribe", json={"event": "order.created", "url": "https://a.example/h"}
        )
    order = emulator.place_order()
    emulator.advance(42)
    path = tmp_path / "state.snapshot"
    emulator.save(path)

    restored = Emulator.load(path)
    assert restored.now() == emulator.now()
    assert restored.describe()["stores"] == emulator.describe()["stores"]
    assert len(restored.pending_deliveries) == 1
    async with api(tokens["access_token"], restored) as client:
        found = await client.get(f"/orders/{order['id']}")
        hooks = (await client.get("/webhooks")).json()["data"]
    assert found.status_code == 200 and found.json()["data"]["id"] == order["id"]
    assert [h["event"] for h in hooks] == ["order.created"]
    # The two emulators are independent from here on.
    restored.place_order()
    assert restored.store().data.counts()["orders"] == emulator.store().data.counts()["orders"] + 1


def test_snapshot_refuses_other_files(tmp_path):
    bogus = tmp_path / "bogus"
    bogus.write_bytes(b"not a snapshot")
    with pytest.raises(ConfigurationError, match="not a sallakit emulator snapshot"):
        Emulator.load(bogus)
    future = tmp_path / "future"
    future.write_bytes(b"SALLAKIT-EMULATOR-SNAPSHOT\n99\n")
    with pytest.raises(ConfigurationError, match="format 99"):
        Emulator.load(future)


def test_sync_transport_serves_the_same_app(emulator):
    tokens = emulator.issue_tokens()
    transport = emulator.sync_transport()
    with httpx2.Client(
        transport=transport,
        base_url=API,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ) as client:
        answer = client.get("/products", params={"per_page": 5})
        assert answer.status_code == 200
        assert len(answer.json()["data"]) == 5
        assert answer.headers["x-ratelimit-limit"] == "360"
        created = client.post(
            "/webhooks/subscribe", json={"event": "order.created", "url": "https://a.example/h"}
        )
        assert created.status_code == 200
        emulator.inject_fault("reset", remaining=1)
        with pytest.raises(httpx2.ReadError):
            client.get("/store/info")
    assert emulator.counters()["requests"][emulator.stores[0].id]["total"] == 3


@pytest.mark.anyio
async def test_control_api(emulator):
    async with httpx2.AsyncClient(
        transport=emulator.async_transport(), base_url="http://emulator"
    ) as c:
        state = (await c.get("/_emulator/state")).json()
        store_id = state["stores"][0]["id"]
        assert state["app"]["client_id"] == emulator.default_app.client_id
        assert state["stores"][0]["counts"]["products"] == 25

        tokens = (
            await c.post(f"/_emulator/stores/{store_id}/tokens", json={"scopes": ["products.read"]})
        ).json()
        assert set(tokens) == {"access_token", "expires_in", "scope", "token_type"}
        assert tokens["scope"] == "products.read"

        before = emulator.now()
        moved = (await c.post("/_emulator/clock/advance", json={"seconds": 3600})).json()
        assert (emulator.now() - before).total_seconds() == 3600
        assert moved["epoch"] == int(emulator.now().timestamp())

        order = (await c.post(f"/_emulator/stores/{store_id}/orders", json={})).json()
        assert order["id"]
        fault = (await c.post("/_emulator/faults", json={"kind": "error", "remaining": 1})).json()
        assert fault["kind"] == "error"
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await c.get("/admin/v2/products", headers=headers)).status_code == 500
        assert (await c.get("/admin/v2/products", headers=headers)).status_code == 200

        counters = (await c.get("/_emulator/counters")).json()
        assert counters["requests"][str(store_id)]["by_endpoint"]["products.list"] == 2
        assert "token_refreshes" in counters and "deliveries" in counters

        log = (await c.get("/_emulator/requests", params={"store_id": store_id})).json()
        assert [(e["endpoint"], e["status"]) for e in log] == [
            ("products.list", 500),
            ("products.list", 200),
        ]
        assert log[0]["path"] == "/admin/v2/products"

        missing = await c.post("/_emulator/stores/1/tokens", json={})
        assert missing.status_code == 404
        bad = await c.post("/_emulator/clock/advance", json={"seconds": -1})
        assert bad.status_code == 422
