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
