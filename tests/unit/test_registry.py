"""The committed endpoint registry: shape, naming and invariants, plus the generator's rules."""

from __future__ import annotations

import functools
import importlib.util
import json
import keyword
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import pytest

from sallakit._registry import Endpoint, Param, Registry, load_registry

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATOR = REPO_ROOT / "scripts" / "gen_registry.py"
SOURCE = REPO_ROOT.parent / "shared" / "salla-openapi"

REQUIRED: dict[str, tuple[str, str]] = {
    "products.list": ("GET", "/products"),
    "products.retrieve": ("GET", "/products/{product}"),
    "products.create": ("POST", "/products"),
    "products.update": ("PUT", "/products/{product}"),
    "products.delete": ("DELETE", "/products/{product}"),
    "products.retrieve_by_sku": ("GET", "/products/sku/{sku}"),
    "products.update_by_sku": ("PUT", "/products/sku/{sku}"),
    "products.delete_by_sku": ("DELETE", "/products/sku/{sku}"),
    "orders.list": ("GET", "/orders"),
    "orders.retrieve": ("GET", "/orders/{order_id}"),
    "orders.create": ("POST", "/orders"),
    "orders.update": ("PUT", "/orders/{order_id}"),
    "orders.items.list": ("GET", "/orders/items"),
    "orders.histories.list": ("GET", "/orders/{order_id}/histories"),
    "orders.histories.create": ("POST", "/orders/{order_id}/histories"),
    "orders.statuses.list": ("GET", "/orders/statuses"),
    "customers.list": ("GET", "/customers"),
    "customers.retrieve": ("GET", "/customers/{customer}"),
    "categories.list": ("GET", "/categories"),
    "brands.list": ("GET", "/brands"),
    "shipments.list": ("GET", "/shipments"),
    "shipments.retrieve": ("GET", "/shipments/{shipment_id}"),
    "store.info": ("GET", "/store/info"),
    "oauth.user_info": ("GET", "/oauth2/user/info"),
    "webhooks.subscribe": ("POST", "/webhooks/subscribe"),
    "webhooks.list": ("GET", "/webhooks"),
    "webhooks.events": ("GET", "/webhooks/events"),
    "webhooks.update": ("PUT", "/webhooks/{id}"),
    "webhooks.unsubscribe": ("DELETE", "/webhooks/unsubscribe"),
}

PLACEHOLDER = re.compile(r"\{([^}]+)\}")
DROPPED_KEYS = {"description", "example", "examples", "title", "$ref"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def _walk_keys(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) in a schema, except the names inside ``properties`` maps."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    yield from _walk_keys(sub)
            else:
                yield from _walk_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_keys(item)


def _load_generator() -> ModuleType:
    pytest.importorskip("yaml")
    return _generator_module()


@functools.cache
def _generator_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_registry", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_registry"] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------ the committed data


def test_data_file_is_versioned_json_one_endpoint_per_line() -> None:
    text = resources.files("sallakit").joinpath("_registry_data.json").read_text("utf-8")
    raw = json.loads(text)
    assert raw["version"] == 1
    lines = text.splitlines()
    # header line, one line per endpoint, closing line
    assert len(lines) == len(raw["endpoints"]) + 2


def test_registry_covers_the_whole_api(registry: Registry) -> None:
    assert len(registry) >= 240
    assert len({e.group for e in registry}) >= 55


def test_client_methods_are_unique_dotted_identifiers(registry: Registry) -> None:
    names = [e.client_method for e in registry]
    assert len(names) == len(set(names))
    for name in names:
        parts = name.split(".")
        assert len(parts) >= 2, name
        for part in parts:
            assert part.isidentifier() and part == part.lower(), name
            assert not keyword.iskeyword(part), name


def test_no_method_shadows_a_sub_resource(registry: Registry) -> None:
    names = {e.client_method for e in registry}
    resources_ = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
    assert not names & resources_
    assert "orders.items" in resources_  # the sub-resource exists, as a resource only


@pytest.mark.parametrize(("client_method", "route"), sorted(REQUIRED.items()))
def test_required_names(registry: Registry, client_method: str, route: tuple[str, str]) -> None:
    endpoint = registry[client_method]
    assert (endpoint.method, endpoint.path) == route
    assert registry.by_key(*route) is endpoint


def test_order_items_list_takes_order_id_query(registry: Registry) -> None:
    params = {p.name: p for p in registry["orders.items.list"].query_params}
    assert params["order_id"].required
    assert params["order_id"].type == "integer"


def test_no_duplicate_routes(registry: Registry) -> None:
    counts = Counter(e.key for e in registry)
    assert [k for k, n in counts.items() if n > 1] == []


def test_every_placeholder_has_exactly_one_path_param(registry: Registry) -> None:
    for e in registry:
        placeholders = PLACEHOLDER.findall(e.path)
        assert sorted(placeholders) == sorted(p.name for p in e.path_params), e.client_method
        assert len(set(placeholders)) == len(placeholders), e.client_method
        for p in e.path_params:
            assert p.name.isidentifier() and p.required and p.location == "path"


def test_paths_are_normalized(registry: Registry) -> None:
    for e in registry:
        assert e.path.startswith("/") and not e.path.endswith("/"), e.path
        for placeholder in PLACEHOLDER.findall(e.path):
            assert placeholder.isidentifier() and placeholder == placeholder.lower(), e.path
    assert registry["abandoned_carts.retrieve"].path == "/carts/abandoned/{cart_id}"
    assert registry["products.images.update"].path == "/products/images/{image_id}"
    assert registry["branches.allocations.update"].path == "/branches/allocation/{id}"
    assert registry["shipping.companies.list"].path == "/shipping/companies"


def test_params_are_identifiers_with_types(registry: Registry) -> None:
    valid_types = {"integer", "number", "string", "boolean", "array", "object"}
    for e in registry:
        for p in (*e.path_params, *e.query_params, *e.body_fields):
            assert p.name.isidentifier() and not keyword.iskeyword(p.name), (e.client_method, p)
            assert p.type in valid_types, (e.client_method, p)
            if p.type == "array":
                assert p.items_type in valid_types, (e.client_method, p)


def test_array_query_params_keep_their_item_enum(registry: Registry) -> None:
    channel = {p.name: p for p in registry["orders.list"].query_params}["selling_channel"]
    assert channel.type == "array" and channel.items_type == "string"
    assert channel.enum is not None and "mobile-app" in channel.enum


def test_bracketed_query_params_get_identifier_names(registry: Registry) -> None:
    params = {p.wire_name: p for p in registry["shipments.list"].query_params}
    assert params["ship_to[city_id]"].name == "ship_to_city_id"
    assert params["ship_to[city_id]"].type == "integer"


def test_keyword_params_are_escaped(registry: Registry) -> None:
    params = {p.wire_name: p for p in registry["categories.list"].query_params}
    assert params["with"].name == "with_"


def test_scopes(registry: Registry) -> None:
    assert registry["products.list"].scopes == ("products.read",)
    assert registry["products.create"].scopes == ("products.read_write",)
    unscoped = {e.client_method for e in registry if not e.scopes}
    assert unscoped == {
        "employees.list",
        "oauth.user_info",
        "store.info",
        "orders.assignments.retrieve",
        "shipping.companies.list_estimate_rates",
        "shipping.companies.list_options",
    }


def test_pagination_and_success_status(registry: Registry) -> None:
    assert registry["orders.list"].paginated
    assert not registry["orders.retrieve"].paginated
    assert registry["products.create"].success_status == 201
    assert registry["webhooks.unsubscribe"].success_status == 202
    assert {e.success_status for e in registry} <= {200, 201, 202}


def test_bodies(registry: Registry) -> None:
    create = registry["products.create"]
    assert create.body_content_type == "application/json"
    fields = {p.name: p for p in create.body_fields}
    assert {"name", "price", "product_type"} <= fields.keys()
    assert fields["name"].required
    upload = registry["products.images.create"]
    assert upload.body_content_type == "multipart/form-data"
    assert registry["products.list"].body_fields == ()
    assert registry["products.list"].body_content_type is None


def test_schemas_hold_no_prose_and_no_refs(registry: Registry) -> None:
    for e in registry:
        for schema in (e.request_schema, e.response_schema):
            bad = {k for k, _ in _walk_keys(schema) if k in DROPPED_KEYS or k.startswith("x-")}
            refs = {v for k, v in _walk_keys(schema) if k == "$ref"}
            defs = (schema or {}).get("$defs") or {}
            # The one kind of reference kept: a recursive model, once under the root's $defs.
            assert all(
                r.startswith("#/$defs/") and unquote(r.removeprefix("#/$defs/")) in defs
                for r in refs
            ), (e.client_method, refs)
            assert not bad - {"$ref"}, (e.client_method, bad)


def test_recursive_models_are_kept_as_references(registry: Registry) -> None:
    schema = registry["categories.list"].response_schema
    assert schema is not None
    category = schema["properties"]["data"]["items"]
    assert category["properties"]["items"]["items"] == {"$ref": "#/$defs/Category"}
    kept = schema["$defs"]["Category"]
    assert kept["properties"]["items"]["items"] == {"$ref": "#/$defs/Category"}
    assert {"id", "name", "urls", "translations"} <= kept["properties"].keys()
    # Escaped component names are decoded, so their models are whole too.
    tracking = registry["shipments.retrieve_tracking"].response_schema
    assert tracking is not None and tracking["properties"]["data"].get("properties")
    status = registry["orders.statuses.retrieve"].response_schema
    assert status is not None
    assert {"color", "children"} <= status["properties"]["data"]["properties"].keys()


def _is_bare_object(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and node.get("type") == "object"
        and set(node)
        <= {
            "type",
            "nullable",
            "required",
        }
        and not node.get("properties")
    )


def _doc_ref(doc: dict[str, Any], ref: str) -> Any:
    """An independent JSON-pointer resolution of a document-local ``$ref`` (RFC 6901 + 3986)."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for token in unquote(ref[2:]).split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _bare_objects(
    doc: dict[str, Any], source: Any, ours: Any, where: str, seen: tuple[str, ...] = ()
) -> Iterator[str]:
    """Paths where the registry has a bare object while the document has a real model."""
    while isinstance(source, dict) and isinstance(source.get("$ref"), str):
        if source["$ref"] in seen:
            return
        seen = (*seen, source["$ref"])
        source = _doc_ref(doc, source["$ref"])
    if not isinstance(source, dict) or not isinstance(ours, dict) or "$ref" in ours:
        return
    if _is_bare_object(ours) and (
        source.get("properties") or any(k in source for k in ("allOf", "oneOf", "anyOf"))
    ):
        yield where
        return
    for name, sub in (source.get("properties") or {}).items():
        yield from _bare_objects(
            doc, sub, (ours.get("properties") or {}).get(name), f"{where}.{name}", seen
        )
    if "items" in source:
        yield from _bare_objects(doc, source["items"], ours.get("items"), f"{where}[]", seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for n, (sub, mine) in enumerate(
            zip(source.get(key) or (), ours.get(key) or (), strict=False)
        ):
            yield from _bare_objects(doc, sub, mine, f"{where}.{key}[{n}]", seen)


@pytest.mark.skipif(not SOURCE.is_dir(), reason="../shared/salla-openapi is not available")
def test_no_published_schema_ends_in_a_bare_object(registry: Registry) -> None:
    yaml = pytest.importorskip("yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    problems: list[str] = []
    for e in registry:
        if e.hand_added:
            continue
        rows = _index_rows()
        doc = yaml.load((SOURCE / rows[(e.method, e.path)]).read_text("utf-8"), Loader=loader)
        op = next(iter(doc["paths"].values()))[e.method.lower()]
        success = min(str(c) for c in op["responses"] if str(c).startswith("2"))
        content = op["responses"][success].get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        if schema is not None:
            problems += _bare_objects(doc, schema, e.response_schema, f"{e.client_method}:$")
        body = (op.get("requestBody") or {}).get("content") or {}
        for ctype in body:
            request = (body[ctype] or {}).get("schema")
            if request is not None and e.request_schema is not None:
                problems += _bare_objects(doc, request, e.request_schema, f"{e.client_method}:<")
                break
    assert problems == []


@functools.cache
def _index_rows() -> dict[tuple[str, str], str]:
    """(method, normalised path) -> document file, from the source's endpoints.tsv."""
    gen = _load_generator()
    return {(row.method, gen.normalize_path(row.path)): row.file for row in gen.read_index(SOURCE)}


def test_response_schemas_are_resolved_envelopes(registry: Registry) -> None:
    schema = registry["products.retrieve"].response_schema
    assert schema is not None
    data = schema["properties"]["data"]
    assert data["type"] == "object"
    assert {"id", "sku", "price", "status"} <= data["properties"].keys()
    listing = registry["orders.list"].response_schema
    assert listing is not None
    assert listing["properties"]["data"]["type"] == "array"
    assert "pagination" in listing["properties"]


def test_hand_added_endpoints_are_marked(registry: Registry) -> None:
    hand = {e.client_method: e for e in registry if e.hand_added}
    assert {
        "orders.tags.create",
        "orders.tags.list",
        "orders.tags.delete",
        "orders.create_external",
        "orders.items.attach_digital",
        "coupons.retrieve_statistics",
        "shipping.delivery_promises.list",
        "shipping.delivery_promises.retrieve",
        "shipping.delivery_promises.update",
    } == hand.keys()
    for e in hand.values():
        assert e.source == "hand"
        assert e.response_schema is not None and "data" in e.response_schema["properties"]
    assert hand["orders.tags.create"].path == "/orders/{order_id}/tags"
    assert [p.name for p in hand["orders.tags.create"].body_fields] == ["tag_name"]
    assert {e.source for e in registry if not e.hand_added} == {"vodo", "mashraf"}


def test_data_is_sorted_by_group_path_method(registry: Registry) -> None:
    keys = [(e.group, e.path, e.method) for e in registry]
    assert keys == sorted(keys)


def test_endpoint_from_json_defaults() -> None:
    endpoint = Endpoint.from_json(
        {
            "client_method": "things.list",
            "group": "Things",
            "name": "List Things",
            "method": "get",
            "path": "/things",
        }
    )
    assert endpoint.method == "GET"
    assert endpoint.success_status == 200
    assert endpoint.scopes == ()
    param = Param.from_json({"name": "status", "wire_name": "status[]", "location": "query"})
    assert (param.type, param.enum) == ("string", None)
    # Data written before the flags existed: replay safety by method, paths confirmed.
    assert endpoint.idempotent is None and endpoint.is_idempotent
    assert endpoint.unconfirmed is False
    post = Endpoint.from_json({**_MINIMAL, "method": "POST"})
    assert post.is_idempotent is False
    put = Endpoint.from_json({**_MINIMAL, "method": "PUT", "idempotent": False})
    assert put.is_idempotent is False


_MINIMAL = {"client_method": "t.x", "group": "T", "name": "X", "method": "GET", "path": "/t"}


def test_idempotent_flag_per_endpoint(registry: Registry) -> None:
    for endpoint in registry:
        assert endpoint.idempotent is not None, endpoint.client_method
        if endpoint.method in ("POST", "PATCH"):
            assert endpoint.idempotent is False, endpoint.client_method
    # PUTs whose body is an action: a refund, a payout.
    assert registry["transactions.update"].idempotent is False
    assert registry["settlements.instant.update"].idempotent is False
    assert registry["brands.update"].idempotent is True
    assert registry["products.list"].idempotent is True


def test_unconfirmed_hand_endpoints_are_flagged(registry: Registry) -> None:
    assert {e.client_method for e in registry if e.unconfirmed} == {
        "orders.tags.list",
        "orders.tags.delete",
        "orders.items.attach_digital",
        "coupons.retrieve_statistics",
        "shipping.delivery_promises.list",
        "shipping.delivery_promises.retrieve",
    }
    assert all(e.hand_added for e in registry if e.unconfirmed)


def test_webhook_subscribe_sends_security_strategy_and_secret(registry: Registry) -> None:
    fields = {p.name: p for p in registry["webhooks.subscribe"].body_fields}
    assert {"security_strategy", "secret", "event", "url"} <= fields.keys()
    assert fields["security_strategy"].enum == ("signature", "token", "none")


# ------------------------------------------------------------------------ the generator


def test_generator_identifier_rules() -> None:
    gen = _load_generator()
    assert gen.identifier("cart-id") == "cart_id"
    assert gen.identifier("Id") == "id"
    assert gen.identifier("status[]") == "status"
    assert gen.identifier("ship_to[country_id]") == "ship_to_country_id"
    assert gen.identifier("with") == "with_"
    assert gen.normalize_path("/shipping/companies/") == "/shipping/companies"
    assert gen.normalize_path("/products/images/{image-id}") == "/products/images/{image_id}"


def test_generator_bracket_array_param() -> None:
    gen = _load_generator()
    rec = gen._param_record(
        "status[]", "query", {"type": "integer", "enum": [1, 2]}, required=False
    )
    assert rec == {
        "name": "status",
        "wire_name": "status[]",
        "location": "query",
        "type": "array",
        "required": False,
        "enum": [1, 2],
        "items_type": "integer",
    }


def test_generator_schema_cleaner_decodes_escaped_refs() -> None:
    gen = _load_generator()
    components = {
        "schemas": {
            "ShipmentTracking ": {"type": "object", "properties": {"status": {"type": "string"}}},
            "a/b~c": {"type": "integer"},
        }
    }
    cleaner = gen.SchemaCleaner(components)
    assert cleaner.clean({"$ref": "#/components/schemas/ShipmentTracking%20"}) == {
        "type": "object",
        "properties": {"status": {"type": "string"}},
    }
    assert cleaner.clean({"$ref": "#/components/schemas/a~1b~0c"}) == {"type": "integer"}
    with pytest.raises(gen.UnresolvedRefError):
        cleaner.clean({"$ref": "#/components/schemas/Missing"})


def test_generator_schema_cleaner_resolves_and_keeps_cycles() -> None:
    gen = _load_generator()
    components = {
        "schemas": {
            "Category": {
                "type": "object",
                "description": "prose",
                "x-apidog-orders": ["id"],
                "properties": {
                    "id": {"type": ["integer", "null"], "example": 1},
                    "description": {"type": "string", "title": "a property named description"},
                    "children": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Category"},
                    },
                },
                "required": ["id"],
            }
        }
    }
    cleaned = gen.SchemaCleaner(components).clean_root({"$ref": "#/components/schemas/Category"})
    category = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "nullable": True},
            "description": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Category"}},
        },
        "required": ["id"],
    }
    assert cleaned == {**category, "$defs": {"Category": category}}


def test_generator_crud_derivation() -> None:
    gen = _load_generator()
    assert gen.derive_client_method("Brands", "GET", "/brands") == "brands.list"
    assert gen.derive_client_method("Brands", "PATCH", "/brands/{brand}") == "brands.update"
    assert gen.derive_client_method("Order Items", "GET", "/orders/items") == "orders.items.list"
    # Shapes outside plain CRUD need an explicit override.
    assert gen.derive_client_method("Products", "GET", "/products/sku/{sku}") is None
    assert gen.derive_client_method("Shipments", "POST", "/shipments/{shipment_id}/cancel") is None


def test_generator_validate_reports_shadowing_and_duplicates() -> None:
    gen = _load_generator()

    def ep(name: str, method: str, path: str) -> dict[str, Any]:
        return {"client_method": name, "method": method, "path": path, "path_params": []}

    problems = gen.validate(
        [
            ep("orders.items", "GET", "/a"),
            ep("orders.items.list", "GET", "/a"),
            ep("orders.items.list", "GET", "/b"),
        ]
    )
    text = "\n".join(problems)
    assert "orders.items shadows a sub-resource" in text
    assert "duplicate client_method orders.items.list" in text
    assert "duplicate endpoint ('GET', '/a')" in text


def test_generator_without_source_is_a_notice(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check", "--source", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "not found" in result.stdout


@pytest.mark.skipif(not SOURCE.is_dir(), reason="../shared/salla-openapi is not available")
def test_generator_check_passes() -> None:
    pytest.importorskip("yaml")
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
