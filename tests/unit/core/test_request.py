"""Request building (pure)."""

from __future__ import annotations

from sallakit.api._core._request import build_headers, build_path, encode_params


def test_encode_params() -> None:
    assert encode_params(
        {
            "status[]": [1, 2],
            "branch": ["a"],
            "unread": False,
            "keyword": None,
            "ship_to": {"country_id": 1, "city_id": None},
            "page": 2,
        }
    ) == [
        ("status[]", "1"),
        ("status[]", "2"),
        ("branch[]", "a"),
        ("unread", "0"),
        ("ship_to[country_id]", "1"),
        ("page", "2"),
    ]
    assert encode_params(None) == []


def test_build_path_quotes_segments() -> None:
    assert build_path("/orders/{order_id}/histories", {"order_id": 5}) == "/orders/5/histories"
    assert build_path("/products/sku/{sku}", {"sku": "a/b c"}) == "/products/sku/a%2Fb%20c"


def test_headers() -> None:
    headers = build_headers("t", language="en", version="1.2.3")
    assert headers["Authorization"] == "Bearer t"
    assert headers["Accept-Language"] == "en"
    assert headers["User-Agent"] == "sallakit/1.2.3"
