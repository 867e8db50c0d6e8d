"""Every registry endpoint has exactly one generated method, and every method one endpoint."""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import httpx2
import pytest

from sallakit import APIResponseError
from sallakit.api import AsyncPaginator, AsyncSalla, GovernorRegistry, load_registry
from sallakit.api.resources._async._base import AsyncAPIResource

REGISTRY = load_registry()


def generated_methods(client: AsyncSalla) -> dict[str, Any]:
    """``"orders.items.list"`` -> bound method, for every generated method."""
    found: dict[str, Any] = {}

    def walk(resource: AsyncAPIResource, prefix: str) -> None:
        for name, value in vars(resource).items():
            if isinstance(value, AsyncAPIResource):
                walk(value, f"{prefix}{name}.")
        for name, member in vars(type(resource)).items():
            if not name.startswith("_") and inspect.isfunction(member):
                found[prefix + name] = getattr(resource, name)

    for name, value in vars(client).items():
        if isinstance(value, AsyncAPIResource):
            walk(value, f"{name}.")
    return found


def docstring_key(method: Any) -> tuple[str, str]:
    verb, path, *_ = (method.__doc__ or "").split()
    return verb, path


def test_registry_and_methods_are_a_bijection(governors: GovernorRegistry) -> None:
    methods = generated_methods(AsyncSalla("tok", governor=governors))
    assert set(methods) == {e.client_method for e in REGISTRY}
    keys = {name: docstring_key(m) for name, m in methods.items()}
    assert len(set(keys.values())) == len(keys), "two methods claim one endpoint"
    for endpoint in REGISTRY:
        assert keys[endpoint.client_method] == (endpoint.method, endpoint.path)


def dummy(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return args[0]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if bytes in args:  # a file field: a str would be refused as an ambiguous path
            return b"x"
        return dummy(next(a for a in args if a is not type(None)))
    if hint is bool:
        return True
    if hint is int:
        return 1
    if hint is float:
        return 1.5
    if hint is str:
        return "x"
    if origin is not None and issubclass(origin, Mapping):
        return {"k": "v"}
    if origin is not None and issubclass(origin, Sequence):
        return [dummy(args[0]) if args else "x"]
    return "x"


@pytest.mark.anyio
@pytest.mark.parametrize("client_method", [e.client_method for e in REGISTRY])
async def test_method_calls_its_endpoint(client_method: str, governors: GovernorRegistry) -> None:
    endpoint = REGISTRY[client_method]
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        data: Any = [] if endpoint.paginated else {"id": 1}
        return httpx2.Response(200, json={"status": 200, "success": True, "data": data})

    client = AsyncSalla("tok", transport=httpx2.MockTransport(handler), governor=governors)
    method = generated_methods(client)[client_method]
    hints = typing.get_type_hints(method)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for name, param in inspect.signature(method).parameters.items():
        if param.default is not inspect.Parameter.empty:
            continue
        if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            positional.append(1)
        elif param.kind is inspect.Parameter.KEYWORD_ONLY:
            keywords[name] = dummy(hints[name])
    # A typed model may need more than {"id": 1}; only the request matters here.
    async with client:
        with contextlib.suppress(APIResponseError):
            result = method(*positional, **keywords)
            if isinstance(result, AsyncPaginator):
                async for _ in result.pages():
                    pass
            else:
                await result
    assert len(seen) == 1
    request = seen[0]
    assert request.method == endpoint.method
    expected = endpoint.path.format_map({p.name: "1" for p in endpoint.path_params})
    assert request.url.path == "/admin/v2" + expected
