"""The merchant handlers behind the emulator's HTTP shell (in-process, httpx2 transport)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2

from sallakit.emulator import Emulator


def _client(quirks: bool = False) -> tuple[Emulator, httpx2.Client]:
    emulator = Emulator(
        stores=1,
        products=40,
        orders=25,
        customers=20,
        seed=11,
        quirks=quirks,
        now=datetime(2025, 6, 1, 12, tzinfo=UTC),
    )
    token = emulator.issue_tokens()["access_token"]
    client = httpx2.Client(
        transport=emulator.sync_transport(),
        base_url="https://api.salla.dev/admin/v2",
        headers={"Authorization": f"Bearer {token}"},
    )
    return emulator, client


def test_envelopes_pagination_and_errors_over_http() -> None:
    _, client = _client()
    body = client.get("/products", params={"per_page": 100}).json()
    assert body["success"] is True and body["status"] == 200
    assert body["pagination"]["perPage"] == 60 and body["pagination"]["total"] == 40
    missing = client.get("/orders/1", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == (
        "The content you are trying to access is no longer available"
    )
    invalid = client.post("/customers", json={"first_name": "سارة"})
    assert invalid.status_code == 422 and "mobile" in invalid.json()["error"]["fields"]


def test_status_change_over_http_reorders_updated_at_desc() -> None:
    emulator, client = _client()
    orders = client.get("/orders", params={"per_page": 60}).json()["data"]
    oldest = orders[-1]["id"]
    emulator.advance(60)
    changed = client.post(f"/orders/{oldest}/status", json={"slug": "delivered"})
    assert changed.status_code == 201
    first = client.get("/orders", params={"sort_by": "updated_at-desc"}).json()["data"][0]
    assert first["id"] == oldest and first["status"]["slug"] == "delivered"


def test_quirks_mode_over_http() -> None:
    _, client = _client(quirks=True)
    product = client.get("/products").json()["data"][0]
    assert isinstance(product["quantity"], str)


def test_option_value_and_order_item_writes_over_http() -> None:
    _, client = _client()
    products = client.get("/products", params={"per_page": 60}).json()["data"]
    product = next(p for p in products if p["options"])
    option_id = product["options"][0]["id"]
    created = client.post(f"/products/options/{option_id}", json={"name": "XXL", "quantity": 2})
    assert created.status_code == 201
    skus = client.get(f"/products/{product['id']}").json()["data"]["skus"]
    assert len(skus) == len(product["skus"]) + 1
    assert client.get("/products/options/values/1").status_code == 404
    order = client.get("/orders").json()["data"][0]
    added = client.post(
        "/orders/items", json={"order_id": order["id"], "identifier": product["id"]}
    )
    assert added.status_code == 200
    items = client.get("/orders/items", params={"order_id": order["id"]}).json()["data"]
    assert len(items) == len(order["items"]) + 1
