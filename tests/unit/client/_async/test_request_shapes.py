"""Request shapes and client behaviour: query strings in paths, bodies with
Decimal and dates, multipart fields and files, array parameters, replay safety per endpoint,
governor keys, validation, list shapes and model-error messages."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from sallakit import APIResponseError, ConfigurationError, InternalServerError
from sallakit.api import AsyncSalla, GovernorRegistry


def ok(data: Any = None, **extra: Any) -> httpx2.Response:
    return httpx2.Response(200, json={"status": 200, "success": True, "data": data, **extra})


class Recorder:
    def __init__(self, *answers: httpx2.Response) -> None:
        self.requests: list[httpx2.Request] = []
        self.answers = list(answers)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        return self.answers.pop(0) if self.answers else ok({})


def make(handler: Any, governors: GovernorRegistry, **kwargs: Any) -> AsyncSalla:
    return AsyncSalla("tok", transport=httpx2.MockTransport(handler), governor=governors, **kwargs)


# ------------------------------------------------------------------------- path query string


@pytest.mark.anyio
async def test_query_string_in_path_is_kept_and_merged(governors: GovernorRegistry) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        await client.request("GET", "/orders?page=2&status[]=1", params={"per_page": 10})
        await client.request("GET", "/orders?page=2", params={"page": 3})
    first, second = rec.requests
    assert first.url.path == "/admin/v2/orders"
    assert first.url.params.multi_items() == [("page", "2"), ("status[]", "1"), ("per_page", "10")]
    assert second.url.params.multi_items() == [("page", "3")]


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["https://evil.example/orders", "//evil.example/orders"])
async def test_absolute_url_as_path_is_refused(governors: GovernorRegistry, path: str) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        with pytest.raises(ConfigurationError):
            await client.request("GET", path)
    assert rec.requests == []


# ---------------------------------------------------------------------------- JSON bodies


@pytest.mark.anyio
async def test_decimal_and_dates_in_a_json_body(governors: GovernorRegistry) -> None:
    rec = Recorder(ok({}), ok({"id": 1}))
    async with make(rec, governors) as client:
        await client.request(
            "POST",
            "/products",
            json={
                "price": Decimal("19.90"),
                "nested": [Decimal("0.1")],
                "date": dt.date(2025, 1, 2),
                "at": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                "name": "عطر",
            },
        )
        await client.products.create(
            name="x", price=Decimal("10.05"), product_type="product", extra_body={"d": 1}
        )
    raw = rec.requests[0].content.decode()
    assert '"price": 19.90' in raw
    assert '"nested": [0.1]' in raw
    assert json.loads(raw)["date"] == "2025-01-02"
    assert json.loads(raw)["at"] == "2025-01-02T03:04:05+00:00"
    assert json.loads(raw)["name"] == "عطر"
    assert rec.requests[0].headers["content-type"] == "application/json"
    assert '"price": 10.05' in rec.requests[1].content.decode()


@pytest.mark.anyio
async def test_unencodable_body_is_a_configuration_error(governors: GovernorRegistry) -> None:
    async with make(Recorder(), governors) as client:
        with pytest.raises(ConfigurationError):
            await client.request("POST", "/products", json={"x": object()})
        with pytest.raises(ConfigurationError):
            await client.request("POST", "/products", json={"x": Decimal("NaN")})


# ------------------------------------------------------------------------------- multipart


@pytest.mark.anyio
async def test_multipart_booleans_are_1_0_and_binary_fields_are_files(
    governors: GovernorRegistry,
) -> None:
    rec = Recorder()
    async with make(rec, governors) as client:
        await client.products.images.create(
            5, photo=("a.png", b"\x89PNG-bytes", "image/png"), main=True, sort=2
        )
        await client.products.import_file(file=b"sku,price\n", type="csv")
    image, upload = rec.requests
    body = image.content
    assert image.headers["content-type"].startswith("multipart/form-data")
    assert b'name="main"\r\n\r\n1\r\n' in body
    assert b'name="sort"\r\n\r\n2\r\n' in body
    assert b'name="photo"; filename="a.png"' in body
    assert b"\x89PNG-bytes" in body
    assert b'name="file"; filename=' in upload.content


# ---------------------------------------------------------------------------- array params


@pytest.mark.anyio
async def test_array_params_go_on_the_wire_with_brackets(governors: GovernorRegistry) -> None:
    rec = Recorder(ok([], pagination={"currentPage": 1, "totalPages": 1}))
    rec.answers.append(ok([], pagination={"currentPage": 1, "totalPages": 1}))
    async with make(rec, governors) as client:
        async for _ in client.orders.list(status=[1, 2], selling_channel=["mobile", "desktop"]):
            pass
        async for _ in client.orders.list(status=7):
            pass
    first, second = rec.requests
    items = first.url.params.multi_items()
    assert ("status[]", "1") in items and ("status[]", "2") in items
    assert ("selling_channel[]", "mobile") in items and ("selling_channel[]", "desktop") in items
    assert ("status[]", "7") in second.url.params.multi_items()


# ------------------------------------------------------------------------ replay per endpoint


@pytest.mark.anyio
async def test_refund_put_is_not_replayed_after_a_server_error(
    governors: GovernorRegistry,
) -> None:
    rec = Recorder(httpx2.Response(502, content=b"Bad gateway"), ok({}))
    async with make(rec, governors, max_retries=3) as client:
        with pytest.raises(InternalServerError):
            await client.transactions.update(9, action="refund", amount=Decimal("10"))
    assert len(rec.requests) == 1

    # An ordinary PUT still is.
    rec = Recorder(httpx2.Response(502, content=b"Bad gateway"), ok({}))
    async with make(rec, governors, max_retries=3) as client:
        await client.request("PUT", "/brands/3", json={"name": "x"})
    assert len(rec.requests) == 2


# ---------------------------------------------------------------------------- governor keys


class Provider:
    def __init__(self, token: str, store_id: int | None = None) -> None:
        self.token = token
        if store_id is not None:
            self.store_id = store_id

    async def get_token(self) -> str:
        return self.token

    async def refresh_token(self, rejected_token: str) -> str:
        return self.token + "-new"


@pytest.mark.anyio
async def test_governor_key_comes_from_the_provider_not_the_token(
    governors: GovernorRegistry,
) -> None:
    with pytest.raises(ConfigurationError, match="store_id"):
        AsyncSalla(token_provider=Provider("a"), governor=governors)

    async with (
        AsyncSalla(
            token_provider=Provider("old", store_id=42),
            transport=httpx2.MockTransport(Recorder()),
            governor=governors,
        ) as one,
        AsyncSalla(
            token_provider=Provider("rotated", store_id=42),
            transport=httpx2.MockTransport(Recorder()),
            governor=governors,
        ) as two,
        AsyncSalla(
            token_provider=Provider("rotated"),
            store_id=42,
            transport=httpx2.MockTransport(Recorder()),
            governor=governors,
        ) as three,
    ):
        await one.request("GET", "/store/info")
        await two.request("GET", "/store/info")
        await three.request("GET", "/store/info")
        assert one._governor is two._governor is three._governor
        assert one.store_id == 42


# ------------------------------------------------------------------------------ validation


def test_base_url_and_per_page_are_validated(governors: GovernorRegistry) -> None:
    for bad in ("api.salla.dev/admin/v2", "ftp://x/y", "", "https://"):
        with pytest.raises(ConfigurationError, match="base_url"):
            AsyncSalla("tok", base_url=bad, governor=governors)
    client = AsyncSalla("tok", governor=governors)
    with pytest.raises(ConfigurationError, match="per_page"):
        client.products.list(per_page=61)
    with pytest.raises(ConfigurationError, match="per_page"):
        client.products.list(per_page=0)
    client.products.list(per_page=60)


# ------------------------------------------------------------------------------ list shapes


@pytest.mark.anyio
async def test_non_paginated_and_paginated_lists_iterate_alike(
    governors: GovernorRegistry,
) -> None:
    items = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    rec = Recorder(
        ok(items),
        ok(items),
        ok(items, pagination={"currentPage": 1, "totalPages": 1}),
    )
    async with make(rec, governors) as client:
        via_loop = [item.id async for item in client.orders.items.list(order_id=1)]
        via_await = await client.orders.items.list(order_id=1)
        paginated = [p.id async for p in client.products.list()]
    assert via_loop == [1, 2]
    assert [i.id for i in via_await] == [1, 2]
    assert isinstance(via_await, list)
    assert paginated == [1, 2]


@pytest.mark.anyio
async def test_page_drift_yields_each_id_once(
    governors: GovernorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    def page(ids: list[int], number: int) -> httpx2.Response:
        return ok(
            [{"id": i, "name": str(i)} for i in ids],
            pagination={"currentPage": number, "totalPages": 2},
        )

    rec = Recorder(page([1, 2, 3], 1), page([3, 4], 2))
    async with make(rec, governors) as client:
        with caplog.at_level(logging.INFO, logger="sallakit.api"):
            ids = [p.id async for p in client.products.list(per_page=3)]
    assert ids == [1, 2, 3, 4]
    assert sum("seen on an earlier page" in r.getMessage() for r in caplog.records) == 1


# ---------------------------------------------------------------------- model error messages


@pytest.mark.anyio
async def test_model_error_message_has_no_input_but_has_the_request(
    governors: GovernorRegistry,
) -> None:
    secret = "customer-private-phone-0555"
    rec = Recorder(ok({"id": {"nested": secret}, "name": secret}))
    async with make(rec, governors) as client:
        with pytest.raises(APIResponseError) as info:
            await client.products.retrieve(1)
    assert secret not in str(info.value)
    assert info.value.method == "GET"
    assert info.value.url.endswith("/products/1")
    assert "id" in str(info.value)
