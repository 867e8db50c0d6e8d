"""Independent conformance: every published endpoint, answered by the emulator over HTTP,
validated with the standard ``jsonschema`` validator against Salla's own documents.

Nothing here reads the package's endpoint registry or the emulator's schema code: the endpoint
list, paths, parameters, request examples and response schemas all come from the published
per-endpoint OpenAPI documents (``../shared/salla-openapi``). Requests go through the in-process
emulator like any HTTP client's would (real ids taken from the emulator's own lists). Every
answer the documents describe (2xx, 401, 404, 422) is validated with format checks on.

Where a document contradicts itself (its own example breaks its schema), the exception is listed
once, with the evidence, in ``published_exceptions.json`` beside this file; the test widens the
schema there and nowhere else.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT4

from sallakit.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[3]
SOURCE = REPO_ROOT.parent / "shared" / "salla-openapi"
EXCEPTIONS_FILE = Path(__file__).with_name("published_exceptions.json")
API = "https://api.salla.dev/admin/v2"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
UNKNOWN_ID = "987654321"
DOC_URI = "urn:salla-doc"

if not SOURCE.is_dir():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI is set but the published documents are missing: {SOURCE}")
    pytest.skip(
        "../shared/salla-openapi (Salla's published documents) is not beside the repository",
        allow_module_level=True,
    )

yaml = pytest.importorskip("yaml")


# -- the published documents ------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One published operation, read from its document."""

    group: str
    method: str
    path: str
    """The path template exactly as published (``/carts/abandoned/{cart-id}``)."""
    file: str

    @property
    def doc(self) -> dict[str, Any]:
        # Parsed on first use: each test worker reads only the documents of its own tests.
        return _load(self.file)

    @property
    def op(self) -> dict[str, Any]:
        op: dict[str, Any] = self.doc["paths"][self.path][self.method.lower()]
        return op

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def responses(self) -> dict[str, Any]:
        return {str(k): v for k, v in (self.op.get("responses") or {}).items()}

    def success_code(self) -> str:
        return min(c for c in self.responses() if c.startswith("2"))

    def schema_pointer(self, code: str) -> str | None:
        """The JSON pointer of the documented JSON schema of a response, if any."""
        response = self.responses().get(code) or {}
        content = (response.get("content") or {}).get("application/json") or {}
        if "schema" not in content:
            return None
        path = self.path.replace("~", "~0").replace("/", "~1")
        return (
            f"/paths/{path}/{self.method.lower()}/responses/{code}/content/application~1json/schema"
        )

    def request_example(self) -> tuple[str | None, Any]:
        """``(content type, the document's own request example)``."""
        content = (self.op.get("requestBody") or {}).get("content") or {}
        for ctype, media in content.items():
            media = media or {}
            if "example" in media:
                return ctype, copy.deepcopy(media["example"])
            examples = media.get("examples") or {}
            for value in examples.values():
                if isinstance(value, Mapping) and "value" in value:
                    return ctype, copy.deepcopy(value["value"])
            schema = media.get("schema") or {}
            if "example" in schema:
                return ctype, copy.deepcopy(schema["example"])
            return ctype, None
        return None, None

    def parameters(self) -> list[dict[str, Any]]:
        item = self.doc["paths"][self.path]
        return [*(item.get("parameters") or ()), *(self.op.get("parameters") or ())]


@functools.cache
def _load(file: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc: dict[str, Any] = yaml.load((SOURCE / file).read_text("utf-8"), Loader=loader)
    return doc


@functools.cache
def published() -> tuple[Published, ...]:
    with (SOURCE / "endpoints.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return tuple(Published(r["group"], r["method"].upper(), r["path"], r["file"]) for r in rows)


# -- document exceptions ------------------------------------------------------------------
#
# An entry of ``published_exceptions.json`` names the schema nodes it widens with ``select``
# (every node of a matching document held under ``properties[property]`` whose declared
# ``type``/``format`` and members match, or a component by name) and what it accepts there:
# ``accept`` (a JSON schema allowed as an alternative), ``drop_required`` (members the examples
# leave out) or ``drop_keywords`` (a clause no value can meet, such as ``allOf`` of strings
# inside an object). Its
# ``evidence`` points at the documents' own examples that break the schema; a test checks that
# each really does and is accepted once widened, so the file cannot excuse what it does not show.


@functools.cache
def _exceptions() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(EXCEPTIONS_FILE.read_text("utf-8"))
    entries: list[dict[str, Any]] = data["exceptions"]
    return entries


def _pointer_get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in pointer.lstrip("/").split("/") if pointer not in ("", "/") else ():
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _selected(select: Mapping[str, Any], name: str, node: Any) -> bool:
    if not isinstance(node, dict) or "$ref" in node:
        return False
    if "property" in select and select["property"] != name:
        return False
    if "component" in select and select["component"] != name:
        return False
    if "type" in select and node.get("type") != select["type"]:
        return False
    if "format" in select and node.get("format") != select["format"]:
        return False
    props = node.get("properties") or {}
    return all(m in props for m in select.get("has_properties", ()))


def _matches(select: Mapping[str, Any], doc: Any) -> Iterator[dict[str, Any]]:
    """Every schema node of ``doc`` the selector picks: a component by name, or any node held
    under ``properties`` (walking the whole document)."""
    for name, node in ((doc.get("components") or {}).get("schemas") or {}).items():
        if "component" in select and _selected(select, name, node):
            yield node
    if "component" in select:
        return
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                for name, sub in props.items():
                    if _selected(select, name, sub):
                        yield sub
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _widen(node: dict[str, Any], entry: Mapping[str, Any]) -> None:
    original = dict(node)
    if "drop_keywords" in entry:
        for keyword in entry["drop_keywords"]:
            node.pop(keyword, None)
        return
    if "drop_required" in entry:
        dropped = set(entry["drop_required"])
        node["required"] = [r for r in node.get("required") or () if r not in dropped]
        return
    node.clear()
    node["anyOf"] = [original, entry["accept"]]


def _applies(entry: Mapping[str, Any], file: str) -> bool:
    return re.fullmatch(entry["documents"], file) is not None


@functools.cache
def _widened(file: str) -> dict[str, Any]:
    """The document with every listed exception applied, as JSON Schema."""
    doc: dict[str, Any] = _to_json_schema(_widen_doc(_load(file), file))
    return doc


def _widen_doc(
    source: dict[str, Any], file: str, but: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    doc = copy.deepcopy(source)
    for entry in _exceptions():
        if entry != but and _applies(entry, file):
            for node in list(_matches(entry["select"], doc)):
                _widen(node, entry)
    return doc


# -- OpenAPI 3.0 -> JSON Schema -----------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema (the only keyword Draft 4 lacks)."""
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "$ref" in out or "type" not in out:
            ref_or_any = dict(out.items())
            out = {"anyOf": [ref_or_any, {"type": "null"}]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def _validator_for(index: int, code: str) -> jsonschema.protocols.Validator | None:
    p = published()[index]
    pointer = p.schema_pointer(code)
    if pointer is None:
        return None
    doc = _widened(p.file)
    registry: Registry[Any] = Registry().with_resource(DOC_URI, DRAFT4.create_resource(doc))
    return jsonschema.Draft4Validator(
        {"$ref": f"{DOC_URI}#{pointer}"},
        registry=registry,
        format_checker=jsonschema.FormatChecker(),
    )


def _problems(p: Published, code: str, body: Any) -> list[str]:
    validator = _validator_for(published().index(p), code)
    if validator is None:
        return []
    found = []
    for error in validator.iter_errors(body):
        # For anyOf/oneOf, the closest alternative's own error says what is wrong.
        shown = jsonschema.exceptions.best_match(error.context) if error.context else error
        where = "/".join(map(str, (shown or error).absolute_path)) or "<root>"
        found.append(f"{where}: {(shown or error).message[:200]}")
    return found


# -- requests -------------------------------------------------------------------------------


def _emulator() -> tuple[Emulator, str]:
    emulator = Emulator(products=8, orders=6, customers=6, seed=5, now=NOW)
    token = emulator.issue_tokens()["access_token"]
    return emulator, token


def _get(client: httpx2.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, (path, response.text[:300])
    return response.json()["data"]


def _first_id(client: httpx2.Client, path: str, **params: Any) -> str:
    data = _get(client, path, **params)
    assert isinstance(data, list) and data, f"{path} lists nothing to take an id from"
    return str(data[0]["id"])


class World:
    """Real ids of one emulated store, found through its own list endpoints."""

    def __init__(self, client: httpx2.Client, found: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.found: dict[str, str] = dict(found or {})

    def get(self, name: str) -> str:
        if name not in self.found:
            self.found[name] = self._find(name)
        return self.found[name]

    def _find(self, name: str) -> str:
        c = self.client
        if name == "product_with_options":
            products = _get(c, "/products", per_page=60)
            return str(next(p["id"] for p in products if p["options"]))
        if name == "option":
            product = _get(c, f"/products/{self.get('product_with_options')}")
            return str(product["options"][0]["id"])
        if name == "option_value":
            product = _get(c, f"/products/{self.get('product_with_options')}")
            return str(product["options"][0]["values"][-1]["id"])
        if name == "variant":
            return str(_get(c, f"/products/{self.get('product_with_options')}")["skus"][0]["id"])
        if name == "sku":
            return str(_get(c, f"/products/{self.get('product')}")["sku"])
        if name == "order_item":
            return _first_id(c, "/orders/items", order_id=self.get("order"))
        if name == "image":
            return str(_get(c, f"/products/{self.get('product')}")["images"][0]["id"])
        if name == "open_shipment":
            shipments = _get(c, "/shipments", per_page=60)
            open_ones = [s for s in shipments if s["status"] not in ("delivered", "cancelled")]
            if open_ones:
                return str(open_ones[0]["id"])
            made = c.post(
                "/shipments",
                json={
                    "order_id": int(self.get("order")),
                    "courier_id": 1927161457,
                    "shipment_type": "shipment",
                    "payment_method": "pre_paid",
                },
            )
            assert made.status_code in (200, 201), made.text[:300]
            return str(made.json()["data"]["id"])
        if name == "digital_file":
            made = c.post(
                f"/products/{self.get('product')}/digital-files",
                files={"file": ("guide.pdf", b"%PDF-1.4 guide", "application/pdf")},
            )
            assert made.status_code in (200, 201), made.text[:300]
            return str(made.json()["data"]["id"])
        if name == "status":
            return str(_get(c, "/orders/statuses")[0]["id"])
        if name == "setting":
            # The first setting the documents show the details of (Receive Orders).
            return str(_get(c, "/settings", entity="orders")[0]["slug"])
        if name == "language":
            # Languages are addressed by their ISO code (``/languages/{locale}``).
            return str(_get(c, "/languages")[-1]["iso_code"])
        if name == "webhook":
            made = c.post(
                "/webhooks/subscribe",
                json={
                    "name": "orders",
                    "event": "order.created",
                    "url": "https://example.sa/h",
                    # The custom headers every webhook the documents show carries.
                    "headers": [
                        {"key": "Authorization", "value": "secret-token"},
                        {"key": "Accept-Language", "value": "AR"},
                    ],
                },
            )
            assert made.status_code in (200, 201), made.text[:300]
            return str(made.json()["data"]["id"])
        if name == "custom_status":
            made = c.post("/orders/statuses", json={"name": "جاهز", "parent_id": 566146469})
            assert made.status_code in (200, 201), made.text[:300]
            return str(made.json()["data"]["id"])
        if name in LIST_OF:
            path, params = LIST_OF[name]
            return _first_id(c, path.format(**{k: self.get(k) for k in _fields(path)}), **params)
        raise KeyError(name)


def _fields(template: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", template)


# Which list reveals the ids of each kind of path parameter.
LIST_OF: dict[str, tuple[str, dict[str, Any]]] = {
    "product": ("/products", {}),
    "order": ("/orders", {}),
    "customer": ("/customers", {}),
    "category": ("/categories", {}),
    "brand": ("/brands", {}),
    "shipment": ("/shipments", {}),
    "coupon": ("/coupons", {}),
    "affiliate": ("/affiliates", {}),
    "advertisement": ("/advertisements", {}),
    "branch": ("/branches", {}),
    "delivery_zone": ("/branches/delivery-zones", {}),
    "allocation": ("/branches/allocation", {}),
    "cart": ("/carts/abandoned", {}),
    "country": ("/countries", {}),
    "customer_group": ("/customers/groups", {}),
    "exports_template": ("/exports/templates", {}),
    "feedback": ("/feedbacks", {}),
    "order_option": ("/orders/options", {}),
    "assignment_rule": ("/orders/assignment/rules", {}),
    "invoice": ("/orders/invoices", {}),
    "bank": ("/payment/banks", {}),
    "option_template": ("/products/options/templates", {}),
    "review": ("/reviews", {}),
    "settlement": ("/settlements/instant", {}),
    "shipping_company": ("/shipping/companies", {}),
    "route": ("/shipping/routes", {}),
    "zone": ("/shipping/zones", {}),
    "special_offer": ("/specialoffers", {}),
    "scope": ("/scopes", {}),
    "tax": ("/taxes", {}),
    "transaction": ("/transactions", {}),
    "webhook": ("/webhooks", {}),
    "currency": ("/currencies", {}),
    "language": ("/languages", {}),
    "dns_record": ("/dns-records", {}),
    "city": ("/countries/{country}/cities", {}),
}

# The kind of id each published path parameter holds (by path prefix and parameter name).
PARAM_KINDS: list[tuple[str, str, str]] = [
    (r"/products/options/values/", "value", "option_value"),
    (r"/products/options/templates", ".*", "option_template"),
    (r"/products/options/", "option", "option"),
    (r"/products/variants/|/products/quantities/variant/", ".*", "variant"),
    (r"/products/images/", ".*", "image"),
    (r"/products/digital-files/", ".*", "digital_file"),
    (r"/products/sku/", ".*", "sku"),
    (r"/products/", ".*", "product"),
    (r"/orders/statuses/", ".*", "custom_status"),
    (r"/orders/items/", ".*", "order_item"),
    (r"/orders/options/", ".*", "order_option"),
    (r"/orders/assignment/", ".*", "assignment_rule"),
    (r"/orders/invoices/", ".*", "invoice"),
    (r"/orders/", ".*", "order"),
    (r"/customers/groups/", ".*", "customer_group"),
    (r"/customers/", ".*", "customer"),
    (r"/categories/", ".*", "category"),
    (r"/brands/", ".*", "brand"),
    (r"/shipments/", ".*", "shipment"),
    (r"/coupons/", ".*", "coupon"),
    (r"/affiliates/", ".*", "affiliate"),
    (r"/advertisements/", ".*", "advertisement"),
    (r"/branches/delivery-zones/", ".*", "delivery_zone"),
    (r"/branches/allocation/", ".*", "allocation"),
    (r"/branches/", ".*", "branch"),
    (r"/carts/abandoned/", ".*", "cart"),
    (r"/countries/", ".*", "country"),
    (r"/cities/", ".*", "city"),
    (r"/exports/templates/", ".*", "exports_template"),
    (r"/feedbacks/", ".*", "feedback"),
    (r"/payment/banks/", ".*", "bank"),
    (r"/reviews/", ".*", "review"),
    (r"/settlements/instant/", ".*", "settlement"),
    (r"/shipping/companies/", ".*", "shipping_company"),
    (r"/shipping/routes/", ".*", "route"),
    (r"/shipping/zones/", ".*", "zone"),
    (r"/specialoffers/", ".*", "special_offer"),
    (r"/scopes/", ".*", "scope"),
    (r"/taxes/", ".*", "tax"),
    (r"/transactions/", ".*", "transaction"),
    (r"/webhooks/", ".*", "webhook"),
    (r"/currencies/", ".*", "currency"),
    (r"/languages/", ".*", "language"),
    (r"/dns-records/", ".*", "dns_record"),
]


def _kind(path: str, param: str) -> str:
    before = path.split("{" + param + "}")[0]
    for prefix, name, kind in PARAM_KINDS:
        if re.search(prefix, before) and re.fullmatch(name, param):
            return kind
    raise AssertionError(f"no id source for {{{param}}} in {path}; add one to PARAM_KINDS")


def _concrete(p: Published, world: World, unknown_last: bool = False) -> str:
    path = p.path
    names = _fields(path)
    for n, name in enumerate(names):
        if unknown_last and n == len(names) - 1:
            value = UNKNOWN_ID
        elif name == "slug" and "/settings/fields/" in path:
            value = world.get("setting")
        elif path.endswith("/cancel") and path.startswith("/shipments/"):
            value = world.get("open_shipment")  # a delivered shipment cannot be cancelled
        else:
            value = world.get(_kind(path, name))
        path = path.replace("{" + name + "}", value, 1)
    return path


def _query(p: Published, world: World) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for param in p.parameters():
        if param.get("in") != "query" or not param.get("required"):
            continue
        schema = param.get("schema") or {}
        value = param.get("example", schema.get("example"))
        if value is None and isinstance(schema.get("enum"), list):
            value = schema["enum"][0]
        if param["name"] in ("order_id",):
            value = world.get("order")
        query[param["name"]] = "1" if value is None else value
    for name, kind in OPTIONAL_QUERY_IDS.get(p.key, {}).items():
        query[name] = world.get(kind)
    return query


# Optional query parameters of which one is needed to name the target (Unsubscribe Webhook
# takes ``id`` or ``url``).
OPTIONAL_QUERY_IDS: dict[str, dict[str, str]] = {"DELETE /webhooks/unsubscribe": {"id": "webhook"}}


# What the ids in the documents' request examples refer to: the examples name entities of
# Salla's demo store, so each is pointed at the emulated store's own (found through its lists).
EXAMPLE_REFS: dict[str, str] = {
    "order_id": "order",
    "customer_id": "customer",
    "product_id": "product",
    "category_id": "category",
    "brand_id": "brand",
    "status_id": "status",
    "parent_id": "status",
    "variant_id": "variant",
}
IDENTIFIER_KINDS = {"id": "product", "variant_id": "variant", "sku": "sku"}


def _real_ids(body: Any, world: World, parent: str = "") -> Any:
    """The example's references to other entities pointed at entities the store holds."""
    if isinstance(body, list):
        return [_real_ids(v, world, parent) for v in body]
    if not isinstance(body, dict):
        return body
    out = {k: _real_ids(v, world, k) for k, v in body.items()}
    for key, kind in EXAMPLE_REFS.items():
        value = out.get(key)
        if isinstance(value, int | str) and not isinstance(value, bool) and value != "":
            real = world.get(kind)
            out[key] = real if isinstance(value, str) else int(real)
    if parent == "customer" and isinstance(out.get("id"), int):
        out["id"] = int(world.get("customer"))
    for spelling in ("identifier", "identifer"):
        kind = IDENTIFIER_KINDS.get(str(out.get(f"{spelling}_type", "")))
        if kind is not None and spelling in out:
            real = world.get(kind)
            out[spelling] = int(real) if isinstance(out[spelling], int) else real
            # Option ids of the demo store's product mean nothing for another product.
            out.pop("options", None)
    if parent in ("items",) or "quantity" in out:
        out.pop("options", None) if isinstance(out.get("options"), list) else None
    return out


def _example_body(p: Published, world: World) -> tuple[str | None, Any]:
    """The document's request example (a JSON text is parsed), ids made real."""
    ctype, example = p.request_example()
    if isinstance(example, str):
        # Some pages give their example as JSON text, written with trailing commas.
        text = re.sub(r",(\s*[}\]])", r"\1", example)
        with contextlib.suppress(ValueError):
            example = json.loads(text) if text.strip() else None
    if example is None and ctype is not None:
        example = _from_schema_examples(p)
    if p.key == "POST /webhooks/subscribe" and isinstance(example, dict):
        example["headers"] = _documented_webhook_headers(p)
    return ctype, _real_ids(example, world)


def _documented_webhook_headers(p: Published) -> list[dict[str, str]]:
    """The custom headers Register Webhook's answer example shows, as a request sends them.

    The page's request example names a placeholder header (``Your Secret token key name``)
    while its answer examples, and the schema's required members, show ``Authorization`` and
    ``Accept-Language``: the answer echoes the headers sent, so the test sends those.
    """
    examples = p.responses()["200"]["content"]["application/json"]["examples"]
    shown = next(iter(examples.values()))["value"]["data"]["headers"]
    return [{"key": k, "value": v} for k, v in shown.items()]


def _from_schema_examples(p: Published) -> Any:
    """A body from the request schema's per-property examples (when the page gives no body)."""
    content = (p.op.get("requestBody") or {}).get("content") or {}
    schema = next(iter(content.values()), {}).get("schema") or {}
    while "$ref" in schema:
        schema = _pointer_get(p.doc, unquote(schema["$ref"][1:]))
    body: dict[str, Any] = {}
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        if "example" in sub:
            body[name] = sub["example"]
        elif isinstance(sub.get("examples"), list) and sub["examples"]:
            body[name] = sub["examples"][0]
        elif name in (schema.get("required") or ()) and sub.get("type") == "string":
            body[name] = "تم التواصل مع العميل"  # a required text the page gives no example of
    return body or None


def _with_token(client: httpx2.Client, token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _client(emulator: Emulator, token: str) -> httpx2.Client:
    return httpx2.Client(
        transport=emulator.sync_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )


@pytest.fixture(scope="module")
def seeded_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str, dict[str, str]]:
    """One store seeded once, with every id any endpoint's request needs already found (and
    the entities some requests need created), saved as a snapshot: each test restores it, so
    every endpoint meets the same store and no test sees another's writes."""
    emulator, token = _emulator()
    with _client(emulator, token) as client:
        ids = World(client)
        for p in ENDPOINTS:
            _concrete(p, ids)
            _query(p, ids)
            _example_body(p, ids)
    snapshot = tmp_path_factory.mktemp("conformance") / "store.snapshot"
    emulator.save(snapshot)
    return snapshot, token, dict(ids.found)


@pytest.fixture
def world(
    seeded_store: tuple[Path, str, dict[str, str]],
) -> Iterator[tuple[httpx2.Client, World]]:
    snapshot, token, found = seeded_store
    with _client(Emulator.load(snapshot), token) as client:
        yield client, World(client, found)


def _send(
    client: httpx2.Client, p: Published, path: str, query: dict[str, Any], body: Any, ctype: Any
) -> httpx2.Response:
    if body is None:
        return client.request(p.method, path, params=query)
    if ctype and ctype.startswith("multipart/"):
        files = {"file": ("upload.xlsx", b"id,name\n1,x\n", "application/octet-stream")}
        data = {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        return client.request(p.method, path, params=query, data=data, files=files)
    return client.request(p.method, path, params=query, json=body)


def _json(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        pytest.fail(f"not JSON ({response.status_code}): {response.text[:200]}")


ENDPOINTS = published()


def _node_validator(node: Any, doc: Any) -> jsonschema.protocols.Validator:
    """A validator of one schema node of ``doc`` (its ``$ref``s resolved in ``doc``)."""
    # The node is checked in place: put beside the document so its refs resolve in it.
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, DRAFT4.create_resource(_to_json_schema({**doc, "x-node": node}))
    )
    return jsonschema.Draft4Validator(
        {"$ref": f"{DOC_URI}#/x-node"}, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def test_document_exceptions_show_their_evidence() -> None:
    """Each listed exception is real: the cited example breaks the selected schema node of its
    document and is accepted once widened; each applies to some document."""
    for entry in _exceptions():
        assert entry["why"] and entry["evidence"], entry
        assert any(_applies(entry, p.file) for p in ENDPOINTS), entry["why"]
        for evidence in entry["evidence"]:
            assert _applies(entry, evidence["document"]), evidence
            # The other exceptions hold too: an example may break its schema in two ways.
            doc = _widen_doc(_load(evidence["document"]), evidence["document"], but=entry)
            shown = _pointer_get(doc, evidence["example"])
            assert json.dumps(shown, ensure_ascii=False) == evidence["shows"], evidence
            nodes = list(_matches(entry["select"], doc))
            assert nodes, (entry["why"], evidence["document"])
            breaks = [n for n in nodes if not _node_validator(n, doc).is_valid(shown)]
            assert breaks, ("the example does not break the schema", evidence)
            for node in breaks:
                widened = copy.deepcopy(node)
                _widen(widened, entry)
                assert _node_validator(widened, doc).is_valid(shown), evidence


def test_every_published_endpoint_is_listed() -> None:
    assert len(ENDPOINTS) >= 240
    assert {p.file for p in ENDPOINTS} == {
        str(f.relative_to(SOURCE)) for f in SOURCE.rglob("*.yaml")
    }


def check(p: Published, client: httpx2.Client, ids: World) -> list[str]:
    """Every way the emulator's answers to ``p`` break its published document."""
    path = _concrete(p, ids)
    query = _query(p, ids)
    ctype, body = _example_body(p, ids)
    problems: list[str] = []

    answer = _send(client, p, path, query, body, ctype)
    documented = {c for c in p.responses() if c.startswith("2")}
    if str(answer.status_code) not in documented:
        return [
            f"answered {answer.status_code}, documented {sorted(documented)}: {answer.text[:300]}"
        ]
    problems += [
        f"{answer.status_code} {m}" for m in _problems(p, str(answer.status_code), _json(answer))
    ]

    if "401" in p.responses():
        denied = client.request(p.method, path, params=query, headers={"Authorization": ""})
        if denied.status_code != 401:
            problems.append(f"no token answered {denied.status_code}")
        else:
            problems += [f"401 {m}" for m in _problems(p, "401", _json(denied))]

    if "404" in p.responses() and _fields(p.path):
        missing = _send(client, p, _concrete(p, ids, unknown_last=True), query, body, ctype)
        if missing.status_code != 404:
            problems.append(f"unknown id answered {missing.status_code}, documented 404")
        else:
            problems += [f"404 {m}" for m in _problems(p, "404", _json(missing))]

    if "422" in p.responses() and p.method in ("POST", "PUT", "PATCH") and body:
        invalid = client.request(p.method, path, params=query, json={})
        if invalid.status_code == 422:
            problems += [f"422 {m}" for m in _problems(p, "422", _json(invalid))]
    return problems


# Where the emulator is known to fall short of a document, with the reason. Each is an
# expected failure that must keep failing (strict): fixing one makes its entry an error here.
KNOWN_GAPS: dict[str, str] = {}


def _case(p: Published) -> Any:
    gap = KNOWN_GAPS.get(p.key)
    marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
    return pytest.param(p, id=p.key, marks=marks)


def test_known_gaps_name_published_endpoints() -> None:
    assert set(KNOWN_GAPS) <= {p.key for p in ENDPOINTS}


@pytest.mark.parametrize("p", [_case(p) for p in ENDPOINTS])
def test_published_endpoint_conforms(p: Published, world: tuple[httpx2.Client, World]) -> None:
    client, ids = world
    problems = check(p, client, ids)
    assert problems == [], "\n".join(problems[:30])


# -- an independent fuzzer over every published document ------------------------------------
#
# Schemathesis (a standard OpenAPI fuzzer) generates requests from each published document
# (with the listed exceptions applied) and checks every answer of the emulator: never a 5xx and
# always the documented schema. The reduced form (one deterministic case for one operation of
# each group) runs by default; ``-m soak`` fuzzes every operation with many cases.


@functools.cache
def _fuzz_schema(file: str) -> Any:
    schemathesis = pytest.importorskip("schemathesis")
    return schemathesis.openapi.from_dict(_widen_doc(_load(file), file))


@pytest.fixture(scope="module")
def fuzzed_emulator() -> tuple[Emulator, str]:
    """One emulator for every fuzzed request: the checks hold in any state it reaches."""
    return _emulator()


def _fuzz(p: Published, emulator: Emulator, token: str, max_examples: int) -> list[str]:
    """What the fuzzer finds on one published operation (an empty list when nothing)."""
    hypothesis = pytest.importorskip("hypothesis")
    schemathesis = pytest.importorskip("schemathesis")
    schema = _fuzz_schema(p.file)
    schema.app = emulator.app
    operation = schema[p.path][p.method]
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.specs.openapi.checks.response_schema_conformance,
    ]
    found: list[str] = []

    @hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case: Any) -> None:
        try:
            case.call_and_validate(
                base_url="http://testserver/admin/v2",
                headers={"Authorization": f"Bearer {token}"},
                checks=checks,
            )
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' failure group
            found.append(str(exc)[:800])

    run()
    return found


def _one_per_group() -> list[Published]:
    chosen: dict[str, Published] = {}
    for p in ENDPOINTS:
        if p.group not in chosen or (p.method == "GET" and chosen[p.group].method != "GET"):
            chosen[p.group] = p
    return list(chosen.values())


@pytest.mark.parametrize("p", [pytest.param(p, id=p.key) for p in _one_per_group()])
def test_fuzzer_finds_nothing(p: Published, fuzzed_emulator: tuple[Emulator, str]) -> None:
    assert _fuzz(p, *fuzzed_emulator, max_examples=2) == []


@pytest.mark.soak
@pytest.mark.parametrize("p", [pytest.param(p, id=p.key) for p in ENDPOINTS])
def test_fuzzer_finds_nothing_soak(p: Published, fuzzed_emulator: tuple[Emulator, str]) -> None:
    assert _fuzz(p, *fuzzed_emulator, max_examples=30) == []
