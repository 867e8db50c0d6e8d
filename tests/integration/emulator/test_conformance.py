"""Every registry endpoint answered by the merchant handlers, validated against its schema.

Requests go straight to ``dispatch`` through a small harness (no HTTP; the shell's own tests
cover the wire). The validator below is written here, independently of the emulator's
conformer: types, required, enum, nullable, items and properties. Quirks mode may show the
documented type drift (numeric strings, ``{}`` for an empty value) and nothing else.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from sallakit._registry import Endpoint, load_registry
from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext
from sallakit.emulator._merchant import StoreData, dispatch, example, make_profile

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
# The shell answers these itself (OAuth user info and webhook management).
SHELL_GROUPS = ("webhooks.", "oauth.")
# Salla's examples carry fractional money (39.46) where some schemas declare an integer.
FRACTIONAL_OK = frozenset({"amount"})
# Documented deviations (each shown by Salla's own examples; see published_exceptions.json):
# the order list is a summary without customer; DNS record types are sent as DNS spells them
# ("CNAME"), not space-padded as the enum has them; a product created without a brand shows
# ``brand: {}``; setting values keep their own type where the schema says text.
DEVIATIONS = {
    "orders.list": frozenset({"$[].customer"}),
    "dns_records.list": frozenset({"$[].type"}),
    "products.create": frozenset({"$.brand"}),
    "settings.list": frozenset({"$[].value"}),
}


# -- an independent validator ----------------------------------------------------------


def _flatten(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    if "allOf" in schema:
        props: dict[str, Any] = dict(schema.get("properties") or {})
        required = list(schema.get("required") or [])
        out = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _flatten(part)
            props.update(part.get("properties") or {})
            required += list(part.get("required") or [])
            out.setdefault("type", part.get("type"))
        return {**out, "properties": props, "required": required}
    return schema


def _type_of(schema: Mapping[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and "properties" in schema:
        return "object"
    if t is None and "items" in schema:
        return "array"
    return t


def _is_numeric_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def validate(
    value: Any, schema: Any, *, quirks: bool, path: str = "$", skip: frozenset[str] = frozenset()
) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``path: problem`` strings (a member whose
    path is in ``skip`` may be absent or differ from its schema: a documented deviation)."""
    if not isinstance(schema, Mapping) or path in skip:
        return []
    schema = _flatten(schema)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [o for o in schema[key] if isinstance(o, Mapping)]
            results = [validate(value, o, quirks=quirks, path=path, skip=skip) for o in options]
            return [] if any(not r for r in results) or not results else results[0]
    if value is None:
        nullable = schema.get("nullable") or "null" in (schema.get("type") or [])
        return [] if nullable or _type_of(schema) is None else [f"{path}: null not allowed"]
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return [f"{path}: {value!r} not in enum"]
    kind = _type_of(schema)
    name = path.rsplit(".", 1)[-1]
    if kind == "object":
        if not isinstance(value, dict):
            if quirks and value == []:
                return []
            return [f"{path}: expected object, got {type(value).__name__}"]
        errors = [
            f"{path}.{req}: required member missing"
            for req in schema.get("required") or ()
            if req not in value and f"{path}.{req}" not in skip
        ]
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                errors += validate(value[key], sub, quirks=quirks, path=f"{path}.{key}", skip=skip)
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array, got {type(value).__name__}"]
        errors = []
        for item in value:
            errors += validate(
                item, schema.get("items"), quirks=quirks, path=f"{path}[]", skip=skip
            )
        return errors
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return []
        if isinstance(value, float) and (value.is_integer() or name in FRACTIONAL_OK):
            return []
        if quirks and _is_numeric_string(value):
            return []
        return [f"{path}: expected integer, got {value!r}"]
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return []
        if quirks and _is_numeric_string(value):
            return []
        return [f"{path}: expected number, got {value!r}"]
    if kind == "string":
        if isinstance(value, str):
            return []
        if quirks and (value == {} or isinstance(value, int | float | dict)):
            return []
        return [f"{path}: expected string, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected boolean, got {value!r}"]
    return []


def test_validator_catches_mistakes() -> None:
    schema = {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["sale", "out"]},
            "price": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "sale_end": {"type": "string", "nullable": True},
        },
    }
    assert validate({"id": 1, "status": "sale", "sale_end": None}, schema, quirks=False) == []
    errors = validate({"id": "1", "price": "15.00", "tags": [3]}, schema, quirks=False)
    assert len(errors) == 4
    assert validate({"id": 1, "status": "sale", "price": "15.00"}, schema, quirks=True) == []
    assert validate({"id": 1, "status": "hidden"}, schema, quirks=True) != []


# -- harness ---------------------------------------------------------------------------


def _store() -> StoreData:
    profile = make_profile(1_305_146_709, plan="pro", seed=3, now=NOW)
    return StoreData.create(profile, seed=3, products=30, orders=20, customers=15, now=NOW)


def _ctx(store: StoreData, *, quirks: bool, language: str) -> RequestContext:
    ids = itertools.count(2_100_000_001)
    return RequestContext(
        store=store.profile,
        data=store,
        scopes=frozenset(),
        language=language,
        quirks=quirks,
        links_as_list=False,
        now=lambda: NOW,
        emit=lambda name, data: None,
        next_id=lambda: next(ids),
    )


def _request(
    endpoint: Endpoint, path: dict[str, str], query: dict[str, str], body: Any
) -> ApiRequest:
    return ApiRequest(
        endpoint=endpoint,
        path_params=path,
        query={k: [v] for k, v in query.items()},
        body=body,
        headers={},
    )


def _path_values(store: StoreData, endpoint: Endpoint) -> dict[str, str]:
    product = next(p for p in store.products.values() if p.variant_qty)
    order = next(iter(store.orders.values()))
    from sallakit.emulator._merchant._render import variant_id

    ctx = _ctx(store, quirks=False, language="ar")
    product_options = store.product_payload(ctx, product)["options"]
    tag_id, _ = store.tag_order(ctx, order.id, "VIP")
    if len(order.items) < 2:
        # An order keeps at least one line, so deleting one needs a second.
        store.add_order_item(ctx, {"order_id": order.id, "identifier": product.id})

    core = {
        "product": str(product.id),
        "sku": product.sku,
        "order_id": str(order.id),
        "customer": str(next(iter(store.customers))),
        "category": str(next(iter(store.categories))),
        "brand": str(next(iter(store.brands))),
        "shipment_id": str(next(iter(store.shipments))),
        "variant": str(variant_id(product, 0)),
        "status_id": "566146469",
        # Options, option values, order items and order tags are stateful: an unknown id is
        # Salla's 404, so these endpoints are exercised with ids the store really holds.
        "option": str(product_options[0]["id"]),
        "value": str(product_options[0]["values"][-1]["id"]),
        "item_id": str(order.items[-1].id),
        "tag_id": str(tag_id),
        "image": str(store.product_payload(ctx, product)["images"][0]["id"]),
        "image_id": str(store.product_payload(ctx, product)["images"][0]["id"]),
        # Languages and settings are addressed by ISO code and slug, not by id.
        "locale": "en",
        "slug": "orders.reorder",
    }
    if endpoint.client_method == "products.digital_files.delete":
        upload = _request(
            load_registry()["products.digital_files.create"],
            {"product": str(product.id)},
            {},
            {"file": "guide.pdf"},
        )
        core["file"] = str(dispatch(upload, ctx).data["id"])
    if endpoint.client_method == "orders.statuses.update":
        custom = store.add_custom_status(ctx, {"name": "جاهز", "parent_id": 566146469})
        core["status_id"] = str(custom.id)
    values = {}
    for param in endpoint.path_params:
        if endpoint.group.lower().startswith("categor") and param.name == "id":
            values[param.name] = core["category"]
        elif param.name in core and not (
            param.name == "status_id" and "statuses" not in endpoint.path
        ):
            values[param.name] = core[param.name]
        else:
            values[param.name] = _generic_id(store, endpoint, param.name) or "123456789"
    return values


def _generic_id(store: StoreData, endpoint: Endpoint, name: str) -> str | None:
    """An id from the generic collection's list endpoint, when there is one."""
    prefix = endpoint.path.split("{" + name + "}")[0].rstrip("/")
    lists = [e for e in load_registry() if e.method == "GET" and e.path == prefix]
    if not lists or lists[0].path_params:
        return None
    response = dispatch(_request(lists[0], {}, {}, None), _ctx(store, quirks=False, language="ar"))
    if isinstance(response.data, list) and response.data and "id" in response.data[0]:
        return str(response.data[0]["id"])
    return None


def _body(store: StoreData, endpoint: Endpoint) -> Any:
    product = next(iter(store.products.values()))
    special: dict[str, Any] = {
        "products.create": {"name": "قهوة", "price": 25, "product_type": "product"},
        "customers.create": {
            "first_name": "سارة",
            "last_name": "الحربي",
            "mobile": "555000111",
            "mobile_code_country": "+966",
        },
        "orders.create": {
            "customer": {"id": next(iter(store.customers))},
            "products": [{"identifier": str(product.id), "identifier_type": "id", "quantity": 1}],
        },
        "shipments.create": {
            "order_id": next(iter(store.orders)),
            "courier_id": 1927161457,
            "shipment_type": "shipment",
            "payment_method": "pre_paid",
            "packages": [],
        },
        "categories.create": {"name": "هدايا"},
        "brands.create": {"name": "نخيل", "logo": "https://cdn.example/logo.png"},
        "orders.histories.create": {"note": "تم التواصل مع العميل"},
        "orders.update_status": {"slug": "completed"},
        "orders.items.create": {"order_id": next(iter(store.orders)), "identifier": product.id},
        "orders.items.update": {"quantity": 2},
        "orders.tags.create": {"tag_name": "VIP"},
        "orders.statuses.sort": [{"status_id": 566146469, "sort": 3}],
        "products.quantities.bulk_update": {
            "products": [{"identifer": product.sku, "identifer_type": "sku", "quantity": 5}]
        },
        "orders.statuses.create": {"name": "جاهز", "parent_id": 566146469, "message": "جاهز"},
        "products.update_status": {"status": "hidden"},
        "products.update_price_by_sku": {"price": 10},
        "products.variants.update_quantity": {"quantity": 5},
        "products.update": {"name": "قهوة مختصة", "price": 30, "quantity": 3},
        "products.update_by_sku": {"name": "قهوة مختصة", "price": 30},
        "shipments.update": {"status": "delivered", "tracking_number": "TRK1"},
        "currencies.activate": {"currencies": [{"code": "USD", "status": True}]},
        "languages.create": {"locales": [{"iso_code": "fr", "sort_order": "1"}]},
        "dns_records.create": {"type": "A", "name": "shop", "value": "192.0.2.7"},
        "settings.update": {"value": False},
    }
    if endpoint.client_method in special:
        return special[endpoint.client_method]
    if endpoint.request_schema:
        return example(endpoint.request_schema, seed=1)
    return None


def _query(store: StoreData, endpoint: Endpoint) -> dict[str, str]:
    query = {p.name: "1" for p in endpoint.query_params if p.required}
    if endpoint.client_method == "orders.items.list":
        query["order_id"] = str(next(iter(store.orders)))
    if endpoint.client_method == "settings.list":
        query["entity"] = "orders"
    return query


ENDPOINTS = [e for e in load_registry() if not e.client_method.startswith(SHELL_GROUPS)]


def test_registry_is_covered() -> None:
    assert len(ENDPOINTS) > 200


@pytest.mark.parametrize("quirks", [False, True], ids=["typed", "quirks"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.client_method)
def test_endpoint_conforms(endpoint: Endpoint, quirks: bool) -> None:
    store = _store()
    language = "en" if quirks else "ar"
    request = _request(
        endpoint, _path_values(store, endpoint), _query(store, endpoint), _body(store, endpoint)
    )
    response = dispatch(request, _ctx(store, quirks=quirks, language=language))
    assert isinstance(response, ApiResponse)
    assert response.status == endpoint.success_status
    schema = endpoint.response_schema
    if not schema:
        return
    data_schema = _flatten(schema).get("properties", {}).get("data")
    skip = DEVIATIONS.get(endpoint.client_method, frozenset())
    # A raw answer is the whole document (the handler built the envelope itself).
    data = response.data["data"] if response.raw and "data" in response.data else response.data
    errors = validate(data, data_schema, quirks=quirks, skip=skip)
    assert errors == [], errors[:10]
    if endpoint.paginated:
        assert response.pagination is not None
        assert set(response.pagination) == {
            "count",
            "total",
            "perPage",
            "currentPage",
            "totalPages",
            "links",
        }
