"""Lost answers, error texts that say what matters, and constructor arguments checked up front."""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest

from sallakit import (
    APIConnectionError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    UnprocessableEntityError,
)
from sallakit.api import AsyncSalla, GovernorRegistry, Salla

from .conftest import FakeClock


class Store:
    """Products that a DELETE or POST really changes, and an answer that may get lost."""

    def __init__(self, *, lose_answers: int = 0, fail_with: int | None = None) -> None:
        self.products = {1: {"id": 1, "name": "Mug"}}
        self.lose_answers = lose_answers
        self.fail_with = fail_with
        self.calls: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.method == "DELETE":
            product = int(request.url.path.rsplit("/", 1)[1])
            if product not in self.products:
                return httpx2.Response(404, json={"status": 404, "error": {"message": "gone"}})
            del self.products[product]
            answer = httpx2.Response(200, json={"status": 200, "data": {"message": "deleted"}})
        else:
            new_id = max(self.products) + 1
            self.products[new_id] = {"id": new_id}
            answer = httpx2.Response(201, json={"status": 201, "data": {"id": new_id}})
        if self.fail_with is not None:
            return httpx2.Response(self.fail_with, json={"status": self.fail_with, "error": {}})
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx2.ReadError("connection reset while reading the answer", request=request)
        return answer


def client(handler: Any, **options: Any) -> AsyncSalla:
    return AsyncSalla(
        "tok",
        transport=httpx2.MockTransport(handler),
        governor=GovernorRegistry(clock=FakeClock()),
        **options,
    )


@pytest.mark.anyio
async def test_a_delete_whose_answer_was_lost_counts_as_done() -> None:
    store = Store(lose_answers=1)
    async with client(store) as salla:
        response = await salla.products.delete(1)
    assert store.products == {}
    assert store.calls == ["DELETE /admin/v2/products/1"] * 2
    assert response.status_code == 404 and response.data is None


@pytest.mark.anyio
async def test_a_delete_of_something_absent_is_still_not_found() -> None:
    store = Store()
    async with client(store) as salla:
        with pytest.raises(NotFoundError):
            await salla.products.delete(99)
    assert len(store.calls) == 1


@pytest.mark.anyio
async def test_a_post_whose_answer_was_lost_says_it_may_have_been_applied() -> None:
    store = Store(lose_answers=1)
    async with client(store) as salla:
        with pytest.raises(APIConnectionError) as info:
            await salla.request("POST", "/products", json={"name": "Cup"})
    assert len(store.calls) == 1  # never replayed
    assert info.value.request_sent is True
    assert "request_sent=True" in str(info.value)
    assert "api.salla.dev" in str(info.value)  # the host is named


@pytest.mark.anyio
async def test_a_server_error_on_a_write_says_it_may_have_been_applied() -> None:
    async with client(Store(fail_with=500)) as salla:
        with pytest.raises(InternalServerError) as info:
            await salla.request("POST", "/products", json={"name": "Cup"})
    assert "request_sent=True" in str(info.value)


@pytest.mark.anyio
async def test_a_wrong_host_is_named() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    async with client(refuse, base_url="http://localhost:9/admin/v2", max_retries=0) as salla:
        with pytest.raises(APIConnectionError) as info:
            await salla.request("GET", "/products")
    assert "localhost:9" in str(info.value)
    assert "request_sent" not in str(info.value)  # it never left: nothing to warn about


@pytest.mark.anyio
async def test_field_errors_are_in_the_text() -> None:
    def invalid(request: httpx2.Request) -> httpx2.Response:
        body = {
            "status": 422,
            "success": False,
            "error": {
                "code": "error",
                "message": "alert.invalid_fields",
                "fields": {"name": ["The name is required."], "price": "Must be a number."},
            },
        }
        return httpx2.Response(422, json=body)

    async with client(invalid) as salla:
        with pytest.raises(UnprocessableEntityError) as info:
            await salla.request("POST", "/products", json={})
    text = str(info.value)
    assert "alert.invalid_fields" in text
    assert "name: The name is required." in text and "price: Must be a number." in text
    assert info.value.fields == {"name": ["The name is required."], "price": ["Must be a number."]}


@pytest.mark.parametrize(
    ("args", "options", "says"),
    [
        ((123,), {}, "access_token must be a str"),
        (("bad\udc80token",), {}, "not allowed in an HTTP header"),
        (("tok",), {"timeout": math.nan}, "timeout must be a finite"),
        (("tok",), {"timeout": -1}, "timeout must be a finite"),
        (("tok",), {"timeout": httpx2.Timeout(5, read=math.inf)}, "timeout must be a finite"),
        (("tok",), {"max_in_flight": 2.5}, "max_in_flight must be an integer"),
        (("tok",), {"max_in_flight": 0}, "max_in_flight must be >= 1"),
        (("tok",), {"max_retries": 1.5}, "max_retries must be an integer"),
        (("tok",), {"max_retries": True}, "max_retries must be an integer"),
        (("tok",), {"max_retry_after": math.inf}, "max_retry_after must be a finite"),
        (("tok",), {"base_url": "not a url"}, "base_url must be an absolute"),
        (("tok",), {"base_url": 5}, "base_url must be a str"),
        (("tok",), {"language": "ar\r\nX: y"}, "language holds characters"),
        (("tok",), {"store_id": 1.5}, "store_id must be an int"),
        (("tok",), {"on_wait": "print"}, "on_wait must be a callable"),
    ],
)
def test_constructor_arguments_are_checked(
    args: tuple[Any, ...], options: dict[str, Any], says: str
) -> None:
    for cls in (AsyncSalla, Salla):
        with pytest.raises(ConfigurationError, match=says):
            cls(*args, **options)
