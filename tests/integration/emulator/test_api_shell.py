"""The Merchant API shell: authentication, routing, scopes, rate limits, webhook management."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.anyio


async def test_missing_or_unknown_token_is_salla_401(emulator, api):
    async with api("ory_at_unknown") as client:
        answer = await client.get("/products")
        del client.headers["Authorization"]
        anonymous = await client.get("/products")
    for r in (answer, anonymous):
        assert r.status_code == 401
        assert r.json()["error"] == {
            "code": "Unauthorized",
            "message": "The access token is invalid",
        }


async def test_missing_scope_lists_the_endpoint_scopes(emulator, api):
    tokens = emulator.issue_tokens(scopes=["orders.read"])
    async with api(tokens["access_token"]) as client:
        answer = await client.post("/products", json={"name": "x"})
        allowed = await client.get("/orders")
    assert answer.status_code == 401
    assert answer.json() == {
        "status": 401,
        "success": False,
        "error": {
            "code": "Unauthorized",
            "message": "The access token should have access to one of those scopes: "
            "products.read_write",
        },
    }
    assert allowed.status_code == 200


async def test_read_write_grant_satisfies_read(emulator, api):
    tokens = emulator.issue_tokens(scopes=["products.read_write"])
    async with api(tokens["access_token"]) as client:
        assert (await client.get("/products")).status_code == 200
        assert (await client.get("/orders")).status_code == 401


async def test_unknown_path_and_wrong_method(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        missing = await client.get("/no/such/thing")
        wrong = await client.patch("/webhooks/events")
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET, PUT"  # PUT is /webhooks/{id}
    # Rate-limit headers are on every Merchant API response, errors included.
    assert "x-ratelimit-remaining" in missing.headers


async def test_envelope_and_pagination(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        answer = await client.get("/products", params={"per_page": 10, "page": 2})
    body = answer.json()
    assert body["status"] == 200 and body["success"] is True
    assert len(body["data"]) == 10
    assert body["pagination"]["currentPage"] == 2


async def test_rate_limit_headers_and_429_drained_by_the_clock(make_emulator, api):
    em = make_emulator(plan="plus")
    tokens = em.issue_tokens()
    async with api(tokens["access_token"], em) as client:
        first = await client.get("/store/info")
        assert first.headers["x-ratelimit-limit"] == "120"
        assert first.headers["x-ratelimit-remaining"] == "119"
        # The bucket leaks 120 per minute: one request drains in half a second.
        assert int(first.headers["x-ratelimit-reset"]) == math.ceil(em.now().timestamp() + 0.5)
        for _ in range(119):
            ok = await client.get("/store/info")
            assert ok.status_code == 200
        assert ok.headers["x-ratelimit-remaining"] == "0"
        refused = await client.get("/store/info")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "status": 429,
            "success": False,
            "error": {"code": "too_many_requests", "message": refused.json()["error"]["message"]},
        }
        assert int(refused.headers["x-ratelimit-reset"]) <= em.now().timestamp() + 60
        # Then two requests per second as the bucket leaks (120 per minute).
        em.advance(1)
        assert (await client.get("/store/info")).status_code == 200
        assert (await client.get("/store/info")).status_code == 200
        assert (await client.get("/store/info")).status_code == 429
        # A full bucket is empty again after one minute (not two).
        em.advance(60)
        drained = await client.get("/store/info")
        assert drained.headers["x-ratelimit-remaining"] == "119"
    assert em.counters()["rate_limited"][em.stores[0].id] == 2


async def test_custom_numeric_plan(make_emulator, api):
    em = make_emulator(plan="3")
    tokens = em.issue_tokens()
    async with api(tokens["access_token"], em) as client:
        codes = [(await client.get("/store/info")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


async def test_customers_have_their_own_bucket(make_emulator, api):
    em = make_emulator(plan="100000")
    tokens = em.issue_tokens()
    async with api(tokens["access_token"], em) as client:
        for _ in range(500):
            assert (await client.get("/customers", params={"per_page": 1})).status_code == 200
        refused = await client.get("/customers")
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-limit"] == "500"
        assert (await client.get("/store/info")).status_code == 200
        em.advance(2)  # 500 per 10 minutes leaks 0.83 per second
        assert (await client.get("/customers", params={"per_page": 1})).status_code == 200


async def test_peak_in_flight_and_request_counters(emulator, api):
    import anyio

    emulator.inject_fault("latency", seconds=0.05)
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client, anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(client.get, "/store/info")
    counters = emulator.counters()
    store_id = emulator.stores[0].id
    assert counters["peak_in_flight"][store_id] == 4
    assert counters["requests"][store_id]["by_endpoint"]["store.info"] == 4


async def test_accept_language_reaches_the_handlers(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"], **{"Accept-Language": "en"}) as client:
        english = (await client.get("/store/info")).json()["data"]["name"]
    async with api(tokens["access_token"]) as client:
        arabic = (await client.get("/store/info")).json()["data"]["name"]
    assert english == emulator.stores[0].name_en
    assert arabic == emulator.stores[0].name


# --------------------------------------------------------------------- webhook management


async def test_subscribe_upserts_one_webhook_per_event(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        a = (
            await client.post(
                "/webhooks/subscribe", json={"event": "order.created", "url": "https://a.example/h"}
            )
        ).json()
        b = (
            await client.post(
                "/webhooks/subscribe",
                json={"event": "order.created", "url": "https://b.example/h", "rule": "total > 5"},
            )
        ).json()
        await client.post(
            "/webhooks/subscribe", json={"event": "order.updated", "url": "https://b.example/h"}
        )
        listed = (await client.get("/webhooks")).json()
    assert a["data"]["id"] == b["data"]["id"]
    assert b["data"]["url"] == "https://b.example/h" and b["data"]["rule"] == "total > 5"
    assert b["data"]["type"] == "manual" and b["data"]["version"] == 2
    assert sorted(w["event"] for w in listed["data"]) == ["order.created", "order.updated"]
    assert listed["pagination"]["total"] == 2


async def test_webhook_validation(make_emulator, api):
    em = make_emulator(strict_urls=True)
    tokens = em.issue_tokens()
    async with api(tokens["access_token"], em) as client:
        for url in ("http://localhost:8000/h", "http://127.0.0.1/h", "https://test.example.com/h"):
            answer = await client.post(
                "/webhooks/subscribe", json={"event": "order.created", "url": url}
            )
            assert answer.status_code == 422, url
            assert "localhost" in answer.json()["error"]["fields"]["url"][0]
        bad_event = await client.post(
            "/webhooks/subscribe", json={"event": "nope", "url": "https://a.example"}
        )
        bad_rule = await client.post(
            "/webhooks/subscribe",
            json={"event": "order.created", "url": "https://a.example", "rule": "total >"},
        )
    assert bad_event.status_code == 422 and bad_rule.status_code == 422


async def test_events_update_and_unsubscribe(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        events = (await client.get("/webhooks/events")).json()["data"]
        assert {"order.created", "product.created", "customer.created"} <= {
            e["event"] for e in events
        }
        assert all(set(e) == {"id", "label", "event"} for e in events)
        hook = (
            await client.post(
                "/webhooks/subscribe", json={"event": "order.created", "url": "https://a.example/h"}
            )
        ).json()["data"]
        await client.post(
            "/webhooks/subscribe", json={"event": "order.updated", "url": "https://a.example/h"}
        )
        await client.post(
            "/webhooks/subscribe",
            json={"event": "product.created", "url": "https://keep.example/h"},
        )
        updated = await client.put(f"/webhooks/{hook['id']}", json={"name": "renamed"})
        assert updated.json()["data"]["name"] == "renamed"
        not_int = await client.delete("/webhooks/unsubscribe", params={"id": "abc"})
        assert not_int.status_code == 422
        by_url = await client.delete("/webhooks/unsubscribe", params={"url": "https://a.example/h"})
        assert by_url.status_code == 202
        assert by_url.json() == {
            "status": 202,
            "success": True,
            "data": {"message": "The Object has been removed successfully", "code": 202},
        }
        left = (await client.get("/webhooks")).json()["data"]
        assert [w["url"] for w in left] == ["https://keep.example/h"]
        by_id = await client.delete("/webhooks/unsubscribe", params={"id": str(left[0]["id"])})
        assert by_id.status_code == 202
        assert (await client.get("/webhooks")).json()["data"] == []


async def test_webhook_scopes(emulator, api):
    tokens = emulator.issue_tokens(scopes=["webhooks.read"])
    async with api(tokens["access_token"]) as client:
        assert (await client.get("/webhooks")).status_code == 200
        denied = await client.post(
            "/webhooks/subscribe", json={"event": "order.created", "url": "https://a.example"}
        )
    assert denied.status_code == 401
    assert denied.json()["error"]["message"].endswith("webhooks.read_write")


async def test_links_as_list_option(make_emulator, api):
    em = make_emulator(links_as_list=True)
    tokens = em.issue_tokens()
    async with api(tokens["access_token"], em) as client:
        hooks = (await client.get("/webhooks")).json()
    assert hooks["pagination"]["links"] == []


async def test_invalid_json_body_is_a_400_envelope(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        answer = await client.post(
            "/webhooks/subscribe",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert answer.json()["success"] is False
