"""Schema-driven groups keep state: what is created is listed, echoed, updated and deleted,
and ids nobody holds are 404 (over HTTP, in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest

from sallakit.emulator import Emulator

API = "https://api.salla.dev/admin/v2"


@pytest.fixture
def client() -> Iterator[httpx2.Client]:
    emulator = Emulator(products=6, orders=4, customers=4, now=datetime(2025, 6, 1, tzinfo=UTC))
    token = emulator.issue_tokens()["access_token"]
    with httpx2.Client(
        transport=emulator.sync_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        yield c


def _ids(client: httpx2.Client, path: str) -> list[int]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()["data"]]


def test_created_dns_record_is_listed_echoed_and_deleted(client: httpx2.Client) -> None:
    before = _ids(client, "/dns-records")
    assert before, "a seeded store has records to list"
    made = client.post("/dns-records", json={"type": "A", "name": "shop", "priority": 10})
    assert made.status_code in (200, 201), made.text
    record = made.json()["data"]
    assert (record["type"], record["name"], record["priority"]) == ("A", "shop", 10)
    assert _ids(client, "/dns-records") == [*before, record["id"]]
    assert client.delete(f"/dns-records/{record['id']}").status_code in (200, 202)
    assert _ids(client, "/dns-records") == before
    assert client.delete(f"/dns-records/{record['id']}").status_code == 404


def test_export_template_update_shows_in_the_list(client: httpx2.Client) -> None:
    before = set(_ids(client, "/exports/templates"))
    made = client.post(
        "/exports/templates", json={"name": "طلبات اليوم", "entity": "orders", "columns": []}
    )
    assert made.status_code in (200, 201), made.text  # documented answer: a message only
    (new_id,) = set(_ids(client, "/exports/templates")) - before
    updated = client.put(f"/exports/templates/{new_id}", json={"name": "Daily orders"})
    assert updated.status_code == 200, updated.text
    listed = {row["id"]: row for row in client.get("/exports/templates").json()["data"]}
    assert listed[new_id]["name"] == "Daily orders"
    assert client.put("/exports/templates/987654321", json={"name": "x"}).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/affiliates/987654321/links",
        "/countries/987654321/cities",
        "/specialoffers/987654321/status",
        "/transactions/987654321/print",
        "/products/987654321/images",
        "/products/images/987654321",
    ],
)
def test_unknown_ids_are_404(client: httpx2.Client, path: str) -> None:
    method = "GET" if path.endswith(("links", "cities")) else "POST"
    if path.endswith("/status"):
        method = "PUT"
    if path.startswith("/products/images/"):
        method = "DELETE"
    answer = client.request(method, path, json={} if method != "GET" else None)
    assert answer.status_code == 404, (path, answer.text)


def test_uploaded_image_is_addressable_by_its_id(client: httpx2.Client) -> None:
    product = client.get("/products").json()["data"][0]["id"]
    made = client.post(
        f"/products/{product}/images",
        files={"photo": ("front.jpg", b"\xff\xd8\xff jpeg", "image/jpeg")},
    )
    assert made.status_code in (200, 201), made.text
    image = made.json()["data"]["id"]
    assert client.delete(f"/products/images/{image}").status_code in (200, 202)
    assert client.delete(f"/products/images/{image}").status_code == 404
