"""Never a 5xx: random paths, ids, queries and bodies against the Merchant API and control API.

Hypothesis draws requests over every endpoint of the registry (real ids, unknown ids, huge
numbers, nested JSON, wrong types) and over the control API; the only acceptable answers are
2xx, 3xx and 4xx. A 500 here is an emulator bug that a client would mistake for a Salla outage.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sallakit._registry import load_registry
from sallakit.emulator import Emulator

START = datetime(2025, 1, 21, 15, 0, 32, tzinfo=UTC)
ENDPOINTS = sorted(load_registry(), key=lambda e: e.client_method)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 10**400, 0, -1, 0.5, 1.5e-300]),
    st.text(max_size=20),
    st.sampled_from(["", "1", "abc", "9" * 5000, "(((", "%00", "1e999", "ar", "sale"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
_ids = st.one_of(
    st.integers(min_value=-5, max_value=2**63),
    st.sampled_from(["9" * 5000, "abc", "1.5", "-1", "0", "%20", "1e3", "١٢٣"]),
    st.text(alphabet="abcdef0123456789-_.", min_size=1, max_size=12),
)


def _field_bodies(fields: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """Bodies that use the endpoint's own field names with random values."""
    names = [f.name for f in fields] or ["name"]
    return st.dictionaries(st.sampled_from(names), _json, max_size=len(names))


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Emulator, httpx2.Client, dict[str, list[int]]]]:
    em = Emulator(products=12, orders=6, customers=6, now=START, plan="1000000")
    token = em.issue_tokens()["access_token"]
    with httpx2.Client(
        transport=em.sync_transport(),
        base_url="https://api.salla.dev/admin/v2",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        real: dict[str, list[int]] = {}
        for name in ("products", "orders", "customers", "categories", "brands", "shipments"):
            real[name] = [row["id"] for row in client.get(f"/{name}").json()["data"]][:3]
        # Subscriptions with rules, so that emitted events go through rule evaluation.
        for event in ("order.created", "product.created", "customer.updated"):
            client.post(
                "/webhooks/subscribe",
                json={"event": event, "url": "https://h.example/x", "rule": "id > 5 OR id = 1"},
            )
        yield em, client, real


def _path(template: str, ids: list[Any]) -> str:
    out = template
    for value in ids:
        start = out.find("{")
        if start < 0:
            break
        end = out.find("}", start)
        out = out[:start] + str(value) + out[end + 1 :]
    return out


@st.composite
def merchant_requests(draw: st.DrawFn, real: dict[str, list[int]]) -> tuple[str, str, Any, Any]:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    pool = [i for ids in real.values() for i in ids]
    ids = [draw(st.one_of(st.sampled_from(pool), _ids)) for _ in range(endpoint.path.count("{"))]
    query_names = [p.name for p in endpoint.query_params] + ["page", "per_page"]
    query = draw(
        st.dictionaries(
            st.sampled_from(query_names),
            st.one_of(st.text(max_size=8), st.sampled_from(["9" * 5000, "-1", "0", "1e308"])),
            max_size=3,
        )
    )
    body = draw(st.one_of(st.none(), _json, _field_bodies(endpoint.body_fields)))
    if draw(st.integers(0, 9)) == 0:
        # Now and then a path of no endpoint, with any method: a 404 or 405, never a 500.
        segments = draw(
            st.lists(
                st.text(alphabet="abcdefgh0123456789-_.~%", min_size=1, max_size=9), max_size=5
            )
        )
        method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
        return method, "/" + "/".join(segments), query, body
    return endpoint.method, _path(endpoint.path, ids), query, body


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_merchant_api_never_answers_5xx(world, data):
    _em, client, real = world
    method, path, query, body = data.draw(merchant_requests(real))
    response = client.request(method, path, params=query, json=body)
    assert response.status_code < 500, (method, path, query, body, response.text[:300])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/products", {"name": "x", "price": 1e308}),
        ("POST", "/products", {"name": "x", "price": "1e400"}),
        ("POST", "/products", {"name": "x", "price": 10**400}),
        ("GET", "/products/" + "9" * 5000, None),
        ("PUT", "/orders/" + "9" * 5000 + "/status", {"slug": "completed"}),
        (
            "POST",
            "/webhooks/subscribe",
            {"event": "order.created", "url": "https://h.example/a", "rule": "((("},
        ),
    ],
)
def test_documented_hostile_inputs_are_client_errors(world, method, path, body):
    _, client, _real = world
    response = client.request(method, path, json=body)
    assert 400 <= response.status_code < 500, response.text[:300]


def test_a_page_number_that_is_no_number_is_the_first_page(world):
    # Laravel's paginator falls back to page 1 for a page it cannot read as an integer.
    _, client, _ = world
    response = client.get("/products", params={"page": "9" * 5000})
    assert response.status_code == 200
    assert response.json()["pagination"]["currentPage"] == 1


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_literals_are_refused(world, literal):
    _, client, _ = world
    response = client.post(
        "/products",
        content=b'{"name": "x", "price": ' + literal + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("depth", [100, 5_000, 100_000])
def test_deeply_nested_json_is_a_client_error(world, depth):
    _, client, _ = world
    raw = b'{"a":' * depth + b"1" + b"}" * depth
    response = client.post("/products", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text[:300]
    # The price of a product PUT is checked too, nested or not.
    nested = b"[" * depth + b"]" * depth
    response = client.put(
        f"/products/{1}", content=nested, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 404, 422)


# ------------------------------------------------------------------------- control API

CONTROL_ROUTES = [
    ("GET", "/state"),
    ("GET", "/counters"),
    ("POST", "/clock/advance"),
    ("POST", "/stores"),
    ("POST", "/apps"),
    ("POST", "/stores/{s}/tokens"),
    ("POST", "/stores/{s}/install"),
    ("POST", "/stores/{s}/update"),
    ("POST", "/stores/{s}/uninstall"),
    ("POST", "/stores/{s}/revoke"),
    ("POST", "/stores/{s}/orders"),
    ("POST", "/stores/{s}/orders/burst"),
    ("PUT", "/stores/{s}/orders/{o}/status"),
    ("DELETE", "/stores/{s}/orders/{o}"),
    ("POST", "/stores/{s}/products"),
    ("PATCH", "/stores/{s}/products/{p}"),
    ("DELETE", "/stores/{s}/products/{p}"),
    ("PUT", "/stores/{s}/products/{p}/stock"),
    ("POST", "/stores/{s}/customers"),
    ("PATCH", "/stores/{s}/customers/{c}"),
    ("POST", "/stores/{s}/events"),
    ("POST", "/faults"),
    ("GET", "/faults"),
    ("DELETE", "/faults"),
    ("GET", "/deliveries"),
    ("POST", "/deliveries/deliver"),
    ("GET", "/requests"),
    ("POST", "/snapshot"),
]
_CONTROL_FIELDS = [
    "seconds", "plan", "products", "orders", "customers", "store_id", "name", "client_id",
    "scopes", "refunded", "customer_id", "items", "payment_method", "count", "price",
    "quantity", "sku_id", "slug", "event", "data", "kind", "rate", "status", "path",
    "first_name", "last_name", "mobile", "webhook_url", "easy_mode", "sale_price", "categories",
]  # fmt: skip
# Small integers: a fuzzer must not ask for a store of a million products.
_small = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.sampled_from([10**30, 2**63, 1e308, -0.5, "1e999", {"amount": 5}, [1], "completed"]),
)
_control_json = st.recursive(
    st.one_of(st.none(), st.booleans(), _small, st.text(max_size=10)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def control_world() -> Iterator[tuple[Emulator, httpx2.Client, dict[str, list[int]]]]:
    em = Emulator(products=8, orders=4, customers=4, now=START, plan="1000000")
    store = em.stores[0].id
    data = em.store(store).data
    real = {
        "s": [store],
        "o": list(data.orders)[:2],
        "p": list(data.products)[:2],
        "c": list(data.customers)[:2],
    }
    with httpx2.Client(transport=em.sync_transport(), base_url="http://emulator.test") as client:
        yield em, client, real


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_control_api_never_answers_5xx(control_world, data):
    _em, client, real = control_world
    method, template = data.draw(st.sampled_from(CONTROL_ROUTES))
    path = template
    for key in ("s", "o", "p", "c"):
        if "{" + key + "}" in path:
            value = data.draw(
                st.one_of(st.sampled_from(real[key]), st.integers(min_value=0, max_value=2**70))
            )
            path = path.replace("{" + key + "}", str(value))
    body = data.draw(
        st.one_of(
            st.none(),
            _control_json,
            st.dictionaries(st.sampled_from(_CONTROL_FIELDS), _control_json, max_size=4),
        )
    )
    response = client.request(method, "/_emulator" + path, json=body)
    assert response.status_code < 500, (method, path, body, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/stores/{s}/orders", {"customer_id": 1}, 404),
        ("PATCH", "/stores/{s}/products/123", {"price": 1}, 404),
        ("PUT", "/stores/{s}/orders/123/status", {"slug": "completed"}, 404),
        ("PATCH", "/stores/{s}/products/{p}", {"price": {"a": 1}}, 422),
        ("POST", "/stores/{s}/products", {"name": "x", "price": {"a": 1}}, 422),
        ("PUT", "/stores/{s}/products/{p}/stock", {"quantity": "x"}, 422),
        ("PUT", "/stores/{s}/products/{p}/stock", {}, 422),
        ("PUT", "/stores/{s}/orders/{o}/status", {"slug": "no-such-status"}, 422),
        ("POST", "/stores/999/orders", {}, 404),
        ("POST", "/stores/{s}/tokens", {"client_id": "nobody"}, 404),
        ("POST", "/faults", {"kind": "nope"}, 422),
        ("POST", "/stores", {"plan": {"a": 1}}, 422),
        ("POST", "/stores", {"products": "many"}, 422),
        ("POST", "/stores", {"store_id": "{s}"}, 409),
        ("POST", "/apps", {"zzz": 1}, 422),
        ("POST", "/apps", {"client_id": "emulator-client-id"}, 409),
        ("POST", "/clock/advance", {"seconds": 1e308}, 422),
        ("POST", "/snapshot", {"path": "x.snap"}, 403),
        ("POST", "/stores/{s}/orders/burst", {"count": 0}, 422),
    ],
)
def test_control_errors_are_typed(method, path, body, status):
    em = Emulator(products=3, orders=1, customers=1, now=START)
    data = em.store().data
    path = path.format(s=em.stores[0].id, o=next(iter(data.orders)), p=next(iter(data.products)))
    if body.get("store_id") == "{s}":
        body = {"store_id": em.stores[0].id}
    with httpx2.Client(transport=em.sync_transport(), base_url="http://emulator.test") as client:
        response = client.request(method, "/_emulator" + path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_a_snapshot_to_a_directory_is_refused(tmp_path):
    em = Emulator(products=2, orders=1, customers=1, now=START)
    em.snapshot_dir = tmp_path
    (tmp_path / "sub").mkdir()
    with httpx2.Client(transport=em.sync_transport(), base_url="http://emulator.test") as client:
        for path in ("sub", str(tmp_path / "sub"), "missing/x.snap"):
            response = client.post("/_emulator/snapshot", json={"path": path})
            assert response.status_code == 422, response.text
        ok = client.post("/_emulator/snapshot", json={"path": "x.snap"})
    assert ok.status_code == 200 and (tmp_path / "x.snap").is_file()


def test_control_bodies_are_capped():
    em = Emulator(products=2, orders=1, customers=1, now=START)
    with httpx2.Client(transport=em.sync_transport(), base_url="http://emulator.test") as client:
        big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        response = client.post(
            f"/_emulator/stores/{em.stores[0].id}/customers",
            content=big,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert em.store().data.counts()["customers"] == 1


def test_an_emulator_bug_is_a_logged_500_not_a_client_error(caplog, monkeypatch):
    em = Emulator(products=2, orders=1, customers=1, now=START)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug, not a missing store")

    monkeypatch.setattr(em, "counters", broken)
    with httpx2.Client(transport=em.sync_transport(), base_url="http://emulator.test") as client:
        response = client.get("/_emulator/counters")
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    assert any(r.getMessage() == "control API handler failed" for r in caplog.records)


def test_the_control_module_does_not_import_the_emulator_module():
    import ast
    from pathlib import Path

    import sallakit.emulator._control as control

    tree = ast.parse(Path(control.__file__).read_text())
    runtime_imports = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "sallakit.emulator._emulator"
    ]
    assert runtime_imports == []
