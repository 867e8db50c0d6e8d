"""Registry routing and the pure parts of the webhook sender."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from sallakit._registry import Endpoint, load_registry
from sallakit.emulator._routing import MethodNotAllowed, RouteNotFound, Router
from sallakit.emulator._webhooks import (
    Delivery,
    WebhookBook,
    after_attempt,
    app_time,
    security_headers,
    sign,
    store_time,
)


def _endpoint(method: str, path: str, name: str) -> Endpoint:
    return Endpoint.from_json(
        {"client_method": name, "group": "g", "name": name, "method": method, "path": path}
    )


ROUTER = Router(
    [
        _endpoint("GET", "/products/options/{option}", "options.retrieve"),
        _endpoint("GET", "/products/options/templates/{id}", "templates.retrieve"),
        _endpoint("DELETE", "/products/{product}", "products.delete"),
        _endpoint("GET", "/products/{product}", "products.retrieve"),
        _endpoint("GET", "/products/sku/{sku}", "products.by_sku"),
    ]
)


def test_literal_segments_win_over_placeholders():
    endpoint, params = ROUTER.match("GET", "/products/options/templates/7")
    assert endpoint.client_method == "templates.retrieve" and params == {"id": "7"}
    endpoint, params = ROUTER.match("GET", "/products/options/9")
    assert endpoint.client_method == "options.retrieve" and params == {"option": "9"}
    assert ROUTER.match("GET", "/products/sku/AB%2F1")[1] == {"sku": "AB/1"}


def test_not_found_and_method_not_allowed():
    with pytest.raises(RouteNotFound):
        ROUTER.match("GET", "/nothing")
    with pytest.raises(MethodNotAllowed) as info:
        ROUTER.match("PUT", "/products/5")
    assert info.value.allowed == ["DELETE", "GET"]


def test_every_registry_endpoint_routes_to_itself():
    registry = load_registry()
    router = Router(registry)
    for endpoint in registry:
        concrete = endpoint.path
        for param in endpoint.path_params:
            concrete = concrete.replace("{" + param.name + "}", "12345")
        matched, params = router.match(endpoint.method, concrete)
        if matched is endpoint:
            assert set(params) == {param.name for param in endpoint.path_params}
            continue
        # With "12345" everywhere, a more specific template may win (e.g. a literal segment
        # where this one has a parameter). Then this endpoint must still route to itself with
        # values that cannot be mistaken for the other template's literals.
        assert "{" in endpoint.path, endpoint.client_method
        distinct = endpoint.path
        for param in endpoint.path_params:
            distinct = distinct.replace("{" + param.name + "}", f"zz-{param.name}-value")
        exact, exact_params = router.match(endpoint.method, distinct)
        assert exact is endpoint, (endpoint.client_method, exact.client_method)
        assert exact_params == {p.name: f"zz-{p.name}-value" for p in endpoint.path_params}


def test_signing_and_strategies():
    body = b'{"event":"order.created"}'
    assert sign(body, "k") == hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert security_headers("signature", "k", body)["X-Salla-Signature"] == sign(body, "k")
    assert security_headers("token", "k", body) == {
        "X-Salla-Security-Strategy": "Token",
        "Authorization": "k",
    }
    assert security_headers("none", "k", body) == {}


def test_event_time_formats():
    moment = datetime(2025, 1, 21, 15, 0, 32, tzinfo=UTC)
    assert store_time(moment) == "Tue Jan 21 2025 18:00:32 GMT+0300"
    assert app_time(moment) == "2025-01-21 18:00:32"


def test_retry_schedule():
    delivery = Delivery(1, 1, "order.created", "https://x", b"{}", {}, due_at=0.0)
    after_attempt(delivery, 500, 0.0, retries=3, interval=300)
    assert not delivery.done and delivery.due_at == 300
    for t in (300.0, 600.0):
        after_attempt(delivery, None, t, retries=3, interval=300)
    assert delivery.due_at == 900 and not delivery.done
    after_attempt(delivery, 404, 900.0, retries=3, interval=300)
    assert delivery.done and delivery.outcome == "failed" and delivery.attempts == 4
    ok = Delivery(2, 1, "e", "https://x", b"{}", {}, due_at=0.0)
    after_attempt(ok, 201, 0.0, retries=3, interval=300)
    assert ok.outcome == "delivered"


def test_subscription_book_matches_rules():
    book = WebhookBook()
    ids = iter(range(100, 200))
    book.subscribe(
        1,
        "c",
        {"event": "order.created", "url": "https://a.example", "rule": "total > 10"},
        strict_urls=False,
        next_id=lambda: next(ids),
    )
    assert book.matching(1, "order.created", {"total": 11})
    assert not book.matching(1, "order.created", {"total": 9})
    assert not book.matching(2, "order.created", {"total": 11})


def test_public_names_are_sorted_and_exported():
    import sallakit.emulator as emulator
    import sallakit.testing as testing

    for module in (emulator, testing):
        assert module.__all__ == sorted(module.__all__)
        assert all(hasattr(module, name) for name in module.__all__)
