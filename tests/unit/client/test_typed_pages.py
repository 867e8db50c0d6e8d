"""A page read from its bytes straight into models equals the general path's models.

The fast path (``_core/_typed_page``) validates JSON bytes in one pass; the general path decodes
them and validates each item. They must agree on every page, drift included (the emulator in
quirks mode and Salla's published examples), and the fast path must step aside (None) for
anything that is not a well-formed page, so that the general path reports it as before.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pydantic_core
import pytest

from sallakit.api._core._routes import match_endpoint
from sallakit.api._core._typed_page import read_typed_page
from sallakit.api._response import APIResponse
from sallakit.emulator import Emulator
from sallakit.models import Customer, OrderSummary, Product, SallaModel

BASE = "https://api.salla.dev/admin/v2"


def _pages(quirks: bool) -> list[tuple[type[SallaModel], bytes]]:
    emulator = Emulator(products=70, orders=70, customers=70, quirks=quirks)
    token = emulator.issue_tokens(
        emulator.stores[0].id, scopes=["products.read", "orders.read", "customers.read"]
    )["access_token"]
    out: list[tuple[type[SallaModel], bytes]] = []
    with httpx2.Client(
        transport=emulator.sync_transport(),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        for path, model in (("/products", Product), ("/orders", OrderSummary)):
            for page in (1, 2):
                content = client.get(path, params={"page": page, "per_page": 60}).content
                out.append((model, content))
        out.append((Customer, client.get("/customers", params={"per_page": 60}).content))
    return out


@pytest.mark.parametrize("quirks", [False, True])
def test_the_fast_path_and_the_general_path_agree(quirks: bool) -> None:
    for model, content in _pages(quirks):
        read = read_typed_page(model, content)
        assert read is not None, model.__name__
        items, pagination = read
        body = pydantic_core.from_json(content)
        expected = [model.model_validate(item) for item in body["data"]]
        assert len(items) == len(expected) > 0
        assert [i.model_dump() for i in items] == [e.model_dump() for e in expected]
        assert [i.model_extra for i in items] == [e.model_extra for e in expected]
        assert pagination == APIResponse.from_body(body, status_code=200, headers={}).pagination


@pytest.mark.parametrize(
    "content",
    [
        b'{"status": 200, "success": true, "data": {}}',
        b'{"status": 200, "success": true, "data": null}',
        b'{"status": 200, "success": true, "data": [{"name": "no id"}]}',
        b'{"status": 200, "success": true, "data": [{"id": 1, "name": "cut',
        b"<html>bad gateway</html>",
        b"",
    ],
)
def test_anything_else_is_left_to_the_general_path(content: bytes) -> None:
    assert read_typed_page(Product, content) is None


def test_an_undecoded_response_decodes_on_use() -> None:
    body: dict[str, Any] = {"status": 200, "success": True, "data": [{"id": 1}]}
    response = APIResponse.undecoded(
        json.dumps(body).encode(), pagination=None, status_code=200, headers={}
    )
    assert response.data == [{"id": 1}]
    assert response.raw == body
    assert response == APIResponse.from_body(body, status_code=200, headers={})


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", "/transactions/5", "transactions.update"),
        ("GET", "/orders/12", "orders.retrieve"),
        ("GET", "/products/sku/ABC-1", "products.retrieve_by_sku"),
        ("POST", "/orders/12/status", "orders.update_status"),
        ("get", "orders/items?order_id=3", "orders.items.list"),
        ("GET", "/nothing/1", None),
        ("GET", "/", None),
    ],
)
def test_routes_are_matched_through_the_index(method: str, path: str, expected: str | None) -> None:
    endpoint = match_endpoint(method, path)
    assert (endpoint.client_method if endpoint else None) == expected
