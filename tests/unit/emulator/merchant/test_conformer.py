"""The compiled conformer (``compile_conformer``) against the reference ``conform``.

The emulator answers every request through a plan compiled once per endpoint schema; these tests
pin that the plan gives byte-identical output to the uncached ``conform`` walk, on rendered data,
on generated examples and on deliberately broken values, so the optimisation cannot silently
change a response's shape.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

import pytest

from sallakit._registry import load_registry
from sallakit.emulator._context import ApiRequest
from sallakit.emulator._merchant import _dispatch
from sallakit.emulator._merchant._handlers import HANDLERS
from sallakit.emulator._merchant._schema import (
    compile_conformer,
    conform,
    data_schema,
    example,
    merged,
)

ENDPOINTS = [
    "products.list",
    "products.retrieve",
    "orders.list",
    "orders.retrieve",
    "orders.items.list",
    "customers.list",
    "customers.retrieve",
    "abandoned_carts.list",
    "branches.retrieve",
]


def _wire(value: Any) -> str:
    """What the emulator would send: the JSON text, member order included."""
    return json.dumps(value, ensure_ascii=False)


def _typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its type (JSON text alone says 1 == 1.0)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return [type(value).__name__, value]


def _assert_same(schema: Mapping[str, Any], value: Any, **kwargs: Any) -> None:
    quirks = kwargs.pop("quirks", False)
    expected = conform(value, schema, quirks=quirks, **kwargs)
    got = compile_conformer(schema, **kwargs)(value, quirks=quirks)
    assert _wire(got) == _wire(expected)
    assert _typed(got) == _typed(expected)


_WRONG: list[Any] = [None, "", "12.5", "x", 7, 2.5, True, False, [], {}, {"date": "2024-01-02 03"}]


def _broken(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """A copy of ``value`` with members dropped and scalars/containers swapped at random."""
    if depth < 12 and isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, member in value.items():
            roll = rng.random()
            if roll < 0.08:
                continue  # dropped: a required member must be filled
            out[key] = rng.choice(_WRONG) if roll < 0.2 else _broken(member, rng, depth + 1)
        return out
    if depth < 12 and isinstance(value, list):
        return [_broken(v, rng, depth + 1) for v in value]
    return rng.choice(_WRONG) if rng.random() < 0.3 else value


def _schema(client_method: str) -> tuple[Mapping[str, Any], frozenset[str]]:
    endpoint = load_registry()[client_method]
    schema = data_schema(endpoint.response_schema)
    assert schema is not None
    return merged(schema), _dispatch.DOCUMENTED_OMISSIONS.get(client_method, frozenset())


@pytest.mark.parametrize("client_method", ENDPOINTS)
@pytest.mark.parametrize("quirks", [False, True])
def test_plan_matches_conform_on_examples_and_broken_values(
    client_method: str, quirks: bool
) -> None:
    schema, omit = _schema(client_method)
    rng = random.Random(f"{client_method}:{quirks}")
    for seed in range(3):
        sample = example(schema, seed)
        _assert_same(schema, sample, quirks=quirks, omit=omit, seed=seed)
        for _ in range(8):
            _assert_same(schema, _broken(sample, rng), quirks=quirks, omit=omit, seed=seed)
    for odd in _WRONG:
        _assert_same(schema, odd, quirks=quirks, omit=omit)


@pytest.mark.parametrize("quirks", [False, True])
def test_plan_matches_conform_on_rendered_pages(h: Any, quirks: bool) -> None:
    h.quirks = quirks
    order = next(iter(h.store.orders))
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("products.list", {}, {"per_page": 60}),
        ("orders.list", {}, {"per_page": 60}),
        ("customers.list", {}, {"per_page": 60}),
        ("orders.retrieve", {"order_id": order}, {}),
    ]
    for client_method, path, query in calls:
        endpoint = load_registry()[client_method]
        handler = HANDLERS[client_method]
        request = h_request(endpoint, path, query)
        rendered = handler(request, h.ctx(), h.store).data
        schema, omit = _schema(client_method)
        _assert_same(schema, rendered, quirks=quirks, omit=omit)
        # And dispatch (which uses the cached plan) answers exactly that.
        expected = conform(rendered, schema, quirks=quirks, omit=omit)
        answered = h.call(client_method, path, query).data
        assert _wire(answered) == _wire(expected)


def h_request(endpoint: Any, path: dict[str, Any], query: dict[str, Any]) -> ApiRequest:
    return ApiRequest(
        endpoint=endpoint,
        path_params={k: str(v) for k, v in path.items()},
        query={k: [str(v)] for k, v in query.items()},
        body=None,
        headers={},
    )


SYNTHETIC: list[dict[str, Any]] = [
    {
        "allOf": [
            {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            {
                "properties": {
                    "name": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "tags", "undeclared"],
            },
        ],
        "properties": {"meta": {"type": "object", "properties": {"a": {"type": "number"}}}},
    },
    {
        "type": "object",
        "properties": {
            "choice": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"]},
                ]
            },
            "maybe": {"type": "string", "nullable": True},
            "kind": {"type": "string", "enum": ["a", "b", None]},
            "free": {},
            "bad": 3,
            "amount": {"type": "integer"},
            "rows": {"type": "array", "items": {"type": "object"}},
            "nested": {"type": ["null", "object"], "properties": {"when": {"type": "string"}}},
        },
        "required": ["choice", "maybe", "kind", "free", "bad", "amount", "rows", "nested", "z"],
    },
    {"type": "array", "items": {"type": "integer"}},
    {"type": "string"},
    {"type": "object"},
]


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for n in range(levels):
        node = {
            "type": "object",
            "properties": {f"l{n}": node, "v": {"type": "integer"}},
            "required": [f"l{n}", "v"],
        }
    return node


@pytest.mark.parametrize("schema", [*SYNTHETIC, _deep(20)])
@pytest.mark.parametrize("quirks", [False, True])
def test_plan_matches_conform_on_synthetic_schemas(schema: dict[str, Any], quirks: bool) -> None:
    rng = random.Random(_wire(schema))
    values: list[Any] = [*_WRONG, example(schema), example(schema, 5)]
    values += [_broken(example(schema, n), rng) for n in range(10)]
    values.append({"amount": 12.5, "maybe": None, "extra": {"kept": 1}, "rows": [{}, 3]})
    for value in values:
        _assert_same(schema, value, quirks=quirks)
        _assert_same(schema, value, quirks=quirks, omit=frozenset({"$.choice", "$.z"}))


def test_filled_values_are_fresh_copies() -> None:
    schema = {
        "type": "object",
        "properties": {"box": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        "required": ["box"],
    }
    plan = compile_conformer(schema)
    first = plan({})
    first["box"]["n"] = -1
    assert plan({}) == conform({}, schema)
    assert plan({})["box"] is not plan({})["box"]


def test_input_is_not_modified() -> None:
    schema, omit = _schema("orders.list")
    value = [{"id": "12", "customer": {"id": 1}, "total": None}]
    snapshot = _wire(value)
    compile_conformer(schema, omit=omit)(value)
    assert _wire(value) == snapshot


def test_registry_plans_are_compiled_once() -> None:
    source, plan = _dispatch._registry_conformer("products.list")
    assert source is load_registry()["products.list"].response_schema
    assert _dispatch._registry_conformer("products.list")[1] is plan


def test_order_item_lookups_follow_writes(h: Any) -> None:
    order = next(iter(h.store.orders.values()))
    first = order.items[0].id
    product = next(p for p in h.store.products.values() if p.status == "sale")
    h.call("orders.items.list", query={"order_id": order.id})  # builds nothing yet
    h.call(
        "orders.items.update", {"item_id": first}, body={"quantity": 2}
    )  # first lookup builds the index
    added = h.call(
        "orders.items.create",
        body={"order_id": order.id, "identifier": product.id, "identifier_type": "id"},
    ).data
    new_id = added[-1]["id"]
    assert h.call("orders.items.update", {"item_id": new_id}, body={"quantity": 3}).data
    h.call("orders.items.delete", {"item_id": new_id})
    assert h.error("orders.items.update", {"item_id": new_id}, body={"quantity": 1}).status == 404
    placed = h.store.place_order(h.ctx())
    placed_item = placed["items"][0]["id"]
    assert h.store._order_item(h.ctx(), placed_item)[0].id == placed["id"]


def test_option_lookups_follow_writes(h: Any) -> None:
    product = next(iter(h.store.products.values()))
    created = h.call(
        "products.options.create",
        {"product": product.id},
        body={"name": "Size", "values": [{"name": "S"}, {"name": "M"}]},
    ).data
    option_id = created["id"]
    value_ids = [v["id"] for v in created["values"]]
    assert h.call("products.options.retrieve", {"option": option_id}).data["id"] == option_id
    grown = h.call("products.option_values.create", {"option": option_id}, body={"name": "L"})
    new_value = grown.data["values"][-1]["id"]
    assert h.call("products.option_values.retrieve", {"value": new_value}).data["id"] == new_value
    h.call("products.option_values.delete", {"value": value_ids[0]})
    assert h.error("products.option_values.retrieve", {"value": value_ids[0]}).status == 404
    h.call("products.options.delete", {"option": option_id})
    assert h.error("products.options.retrieve", {"option": option_id}).status == 404
    assert h.error("products.option_values.retrieve", {"value": new_value}).status == 404
