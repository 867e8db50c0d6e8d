"""Hardening of the emulator shell: validation before mutation, concurrency, isolation."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import Response

from sallakit.cli._emulator import _build
from sallakit.emulator import Emulator

from .conftest import API, START

pytestmark = pytest.mark.anyio


def _control(em: Emulator) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=em.async_transport(), base_url="http://emulator.test")


async def _order_body(client: httpx2.AsyncClient) -> dict[str, Any]:
    customer = (await client.get("/customers?per_page=1")).json()["data"][0]["id"]
    product = (await client.get("/products?per_page=1&status=sale")).json()["data"][0]["id"]
    return {
        "customer_id": customer,
        "products": [{"identifier_type": "id", "identifier": product, "quantity": 1}],
        "payment": {"status": "paid", "method": "bank"},
    }


# ------------------------------------------------------------------ 1. webhook validation


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"secret": 123}, "secret"),
        ({"version": "abc"}, "version"),
        ({"version": 3}, "version"),
        ({"version": True}, "version"),
        ({"security_strategy": "hmac"}, "security_strategy"),
        ({"security_strategy": ["token"]}, "security_strategy"),
        ({"headers": "x"}, "headers"),
        ({"headers": [{"key": "X-A", "value": 1}]}, "headers"),
        ({"headers": [{"key": 5, "value": "v"}]}, "headers"),
        ({"name": {"a": 1}}, "name"),
        ({"url": "ftp://h.example/a"}, "url"),
        ({"url": "/relative"}, "url"),
        ({"url": 5}, "url"),
        ({"event": "order.exploded"}, "event"),
    ],
)
async def test_subscribe_validates_every_field_before_applying(emulator, api, extra, field):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        ok = await client.post(
            "/webhooks/subscribe",
            json={"event": "order.created", "url": "https://h.example/a", "name": "before"},
        )
        assert ok.status_code in (200, 201)
        bad = await client.post(
            "/webhooks/subscribe",
            json={
                "event": "order.created",
                "url": "https://h.example/NEW",
                "name": "after",
                **extra,
            },
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["success"] is False
        assert field in bad.json()["error"]["fields"]
        listed = (await client.get("/webhooks")).json()["data"]
        assert [(w["url"], w["name"]) for w in listed] == [("https://h.example/a", "before")]
        wid = listed[0]["id"]
        put = await client.put(f"/webhooks/{wid}", json={"name": "after", **extra})
        assert put.status_code == 422, put.text
        listed = (await client.get("/webhooks")).json()["data"]
        assert [(w["url"], w["name"]) for w in listed] == [("https://h.example/a", "before")]


async def test_subscribe_accepts_documented_values(emulator, api):
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        made = await client.post(
            "/webhooks/subscribe",
            json={
                "event": "order.created",
                "url": "https://h.example/a",
                "version": "1",
                "security_strategy": "Token",
                "secret": "s3",
                "headers": [{"key": "X-A", "value": "1"}],
            },
        )
        assert made.status_code in (200, 201)
        assert made.json()["data"]["version"] == 1
        assert made.json()["data"]["headers"] == {"X-A": "1"}


async def test_a_failing_event_never_turns_a_committed_write_into_a_500(
    emulator, api, monkeypatch, caplog
):
    tokens = emulator.issue_tokens()
    sid = emulator.stores[0].id
    async with api(tokens["access_token"]) as client:
        await client.post(
            "/webhooks/subscribe", json={"event": "order.created", "url": "https://h.example/o"}
        )
        before = emulator.store(sid).data.counts()["orders"]

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("queue is broken")

        monkeypatch.setattr(emulator, "_enqueue", broken)
        with caplog.at_level(logging.ERROR):
            created = await client.post("/orders", json=await _order_body(client))
        assert created.status_code in (200, 201), created.text
        assert emulator.store(sid).data.counts()["orders"] == before + 1
        assert any("webhook not queued" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------- 2. concurrent delivery


async def test_concurrent_deliver_due_sends_each_delivery_once():
    got: list[str] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        body = await Request(scope, receive).body()
        got.append(json.loads(body)["event"])
        await anyio.sleep(0.05)
        await Response(b"", 200)(scope, receive, send)

    em = Emulator(
        products=3,
        orders=1,
        customers=1,
        now=START,
        webhook_url="https://r.example/h",
        webhook_transport=httpx2.ASGITransport(app=receiver),
    )
    em.install_app(em.stores[0].id)
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(em.deliver_due)
    assert sorted(got) == ["app.installed", "app.store.authorize"]
    assert [(r.event, r.attempt) for r in em.delivery_log] == [
        ("app.installed", 1),
        ("app.store.authorize", 1),
    ]
    assert em.pending_deliveries == []


async def test_due_deliveries_are_sent_concurrently():
    async def slow_or_fast(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        await request.body()
        await anyio.sleep(0.5)
        await Response(b"", 200)(scope, receive, send)

    em = Emulator(
        products=3,
        orders=1,
        customers=1,
        now=START,
        webhook_transport=httpx2.ASGITransport(app=slow_or_fast),
    )
    sid = em.stores[0].id
    for path in ["/slow1", "/slow2", "/slow3", "/slow4"]:
        em._enqueue(sid, "order.created", f"https://r.example{path}", b"{}", "none", "", {})
    started = anyio.current_time()
    made = await em.deliver_due()
    elapsed = anyio.current_time() - started
    assert len(made) == 4 and all(r.ok for r in made)
    assert elapsed < 1.5  # four 0.5 s receivers in sequence would take 2 s
    assert [r.url for r in made] == [f"https://r.example/slow{n}" for n in range(1, 5)]


async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt():
    async def hangs(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep(10)

    em = Emulator(
        products=3,
        orders=1,
        customers=1,
        now=START,
        webhook_transport=httpx2.ASGITransport(app=hangs),
    )
    em.state.settings.webhook_timeout = 0.2
    em._enqueue(em.stores[0].id, "order.created", "https://r.example/h", b"{}", "none", "", {})
    with anyio.fail_after(5):
        made = await em.deliver_due()
    assert made[0].status is None and "timeout" in (made[0].error or "")


# ------------------------------------------------------------------ 3. sync transport threads


def test_sync_transport_is_thread_safe_on_first_use(monkeypatch):
    real_start = anyio.from_thread.start_blocking_portal
    started: list[int] = []

    def slow_start(*args: Any, **kwargs: Any) -> Any:
        # Widen the window between "no portal yet" and "portal set" so the race is certain.
        started.append(threading.get_ident())
        time.sleep(0.05)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(anyio.from_thread, "start_blocking_portal", slow_start)
    em = Emulator(products=3, orders=1, customers=1, now=START, plan="100000")
    token = em.issue_tokens()["access_token"]
    transport = em.sync_transport()
    barrier = threading.Barrier(32)
    errors: list[str] = []
    codes: list[int] = []

    def work() -> None:
        client = httpx2.Client(
            transport=transport, base_url=API, headers={"Authorization": f"Bearer {token}"}
        )
        barrier.wait()
        try:
            for _ in range(3):
                codes.append(client.get("/store/info").status_code)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(32)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: widen the race
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    transport.close()
    assert errors == []
    assert codes == [200] * 96
    assert len(started) == 1  # one event-loop thread, however many threads raced for it


# --------------------------------------------------------------------------- 4. clock


@pytest.mark.parametrize(
    "body",
    [
        '{"seconds": 1e12}',
        '{"seconds": NaN}',
        '{"seconds": 1e300}',
        '{"seconds": Infinity}',
        '{"seconds": -1}',
        '{"seconds": "5"}',
    ],
)
async def test_a_bad_clock_request_is_refused_and_changes_nothing(body):
    em = Emulator(products=3, orders=1, customers=1, now=START)
    token = em.issue_tokens()["access_token"]
    async with _control(em) as ctl:
        refused = await ctl.post("/_emulator/clock/advance", content=body)
        assert refused.status_code == 422
        assert em.now() == START
        assert (await ctl.get("/_emulator/state")).status_code == 200
        ok = await ctl.post("/_emulator/clock/advance", json={"seconds": 5})
        assert ok.status_code == 200
    async with httpx2.AsyncClient(
        transport=em.async_transport(), base_url=API, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        assert (await client.get("/store/info")).status_code == 200


# --------------------------------------------------------------------------- 5. faults


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "latency", "seconds": "x"},
        {"kind": "latency", "seconds": -1},
        {"kind": "latency", "seconds": float("inf")},
        {"kind": "error", "status": "abc"},
        {"kind": "error", "status": 200},
        {"kind": "error", "status": 99},
        {"kind": "rate_limit", "retry_after": "soon"},
        {"kind": "rate_limit", "retry_after": 1.5},
        {"kind": "page_drift", "count": "2"},
        {"kind": "reset", "remaining": "1"},
        {"kind": "error", "rate": "1"},
        {"kind": "error", "store_id": "x"},
    ],
)
async def test_fault_options_are_validated_on_injection(body):
    em = Emulator(products=3, orders=1, customers=1, now=START)
    async with _control(em) as ctl:
        refused = await ctl.post("/_emulator/faults", content=json.dumps(body))
        assert refused.status_code == 422, refused.text
    assert em.state.faults == []


async def test_fault_status_429_allowed():
    em = Emulator(products=3, orders=1, customers=1, now=START)
    assert em.inject_fault("error", status=429).status == 429


# --------------------------------------------------------------------- 6. per-app webhooks


async def test_webhooks_belong_to_the_app_that_registered_them(make_emulator, receiver, api):
    em = make_emulator()
    sid = em.stores[0].id
    other = em.create_app(client_id="other-app", webhook_secret="other-secret")
    mine = em.issue_tokens(sid)["access_token"]
    theirs = em.issue_tokens(sid, client_id="other-app")["access_token"]
    async with api(mine, em) as a, api(theirs, em) as b:
        sub_a = (
            await a.post(
                "/webhooks/subscribe", json={"event": "order.created", "url": "https://a.example/h"}
            )
        ).json()["data"]
        sub_b = (
            await b.post(
                "/webhooks/subscribe", json={"event": "order.created", "url": "https://b.example/h"}
            )
        ).json()["data"]
        assert sub_a["id"] != sub_b["id"]
        assert [w["url"] for w in (await a.get("/webhooks")).json()["data"]] == [
            "https://a.example/h"
        ]
        assert [w["url"] for w in (await b.get("/webhooks")).json()["data"]] == [
            "https://b.example/h"
        ]
        # Another app's webhook is invisible: not updatable, not removable.
        assert (await a.put(f"/webhooks/{sub_b['id']}", json={"name": "x"})).status_code == 404
        gone = await a.delete("/webhooks/unsubscribe", params={"id": sub_b["id"]})
        assert gone.status_code == 404
    em.place_order(sid)
    await em.deliver_due()
    by_url = {h["host"]: (body, h) for body, h in receiver.requests}
    import hashlib
    import hmac

    body_b, headers_b = by_url["b.example"]
    assert (
        headers_b["x-salla-signature"]
        == hmac.new(other.webhook_secret.encode(), body_b, hashlib.sha256).hexdigest()
    )
    body_a, headers_a = by_url["a.example"]
    assert (
        headers_a["x-salla-signature"]
        == hmac.new(em.default_app.webhook_secret.encode(), body_a, hashlib.sha256).hexdigest()
    )
    # Uninstalling one app stops its webhooks only.
    em.uninstall_app(sid, client_id="other-app")
    receiver.requests.clear()
    em.place_order(sid)
    await em.deliver_due()
    hosts = sorted(h["host"] for _, h in receiver.requests if b"order.created" in _)
    assert hosts == ["a.example"]


# ------------------------------------------------------------------- 9. strict URLs


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost./h",
        "http://LOCALHOST/h",
        "http://127.1/h",
        "http://2130706433/h",
        "http://0x7f.0.0.1/h",
        "http://0177.0.0.1/h",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://10.0.0.8/h",
        "http://169.254.169.254/h",
        "http://0.0.0.0/h",
        "https://test.example.com/h",
        "https://app.test.example.com/h",
        "https://my-localhost-tunnel.example/h",
        "https://h.example/localhost",
        "https://h.example/test.php",
    ],
)
async def test_strict_urls_refuses_local_spellings(make_emulator, api, url):
    em = make_emulator(strict_urls=True)
    async with api(em.issue_tokens()["access_token"], em) as client:
        refused = await client.post(
            "/webhooks/subscribe", json={"event": "order.created", "url": url}
        )
    assert refused.status_code == 422
    assert "localhost" in refused.json()["error"]["fields"]["url"][0]


async def test_strict_urls_accepts_public_urls(make_emulator, api):
    em = make_emulator(strict_urls=True)
    async with api(em.issue_tokens()["access_token"], em) as client:
        ok = await client.post(
            "/webhooks/subscribe", json={"event": "order.created", "url": "https://8.8.8.8/h"}
        )
    assert ok.status_code in (200, 201)


# -------------------------------------------------------------- 10. statuses/sort validation


@pytest.mark.parametrize("body", ['"x"', "5", '{"statuses": "x"}', '[1, "x"]', "null"])
async def test_statuses_sort_rejects_bad_bodies_with_422(emulator, api, body):
    async with api(emulator.issue_tokens()["access_token"]) as client:
        response = await client.post(
            "/orders/statuses/sort", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text


async def test_statuses_sort_applies_nothing_when_one_row_is_bad(emulator, api):
    data = emulator.store().data
    before = dict(data.status_sort)
    async with api(emulator.issue_tokens()["access_token"]) as client:
        statuses = (await client.get("/orders/statuses")).json()["data"]
        good = statuses[0]["id"]
        response = await client.post(
            "/orders/statuses/sort",
            json=[{"status_id": good, "sort": 99}, {"status_id": "x", "sort": "y"}],
        )
    assert response.status_code == 422
    assert "1.status_id" in response.json()["error"]["fields"]
    assert dict(data.status_sort) == before
    assert all(c.sort != 99 for c in data.custom_statuses.values())


# ------------------------------------------------------------------------- 11. state file


def test_state_file_applies_explicit_behaviour_flags_and_refuses_seeding_ones(tmp_path):
    path = tmp_path / "state.snapshot"
    Emulator(products=3, orders=1, customers=1, now=START).save(path)
    defaults: dict[str, Any] = {
        "stores": 1,
        "plan": "pro",
        "products": 500,
        "orders": 200,
        "customers": 300,
        "seed": 1,
        "client_id": "emulator-client-id",
        "client_secret": "emulator-client-secret",
        "webhook_secret": "emulator-webhook-secret",
        "webhook_url": None,
        "redirect_uri": "http://127.0.0.1:8000/oauth/callback",
        "easy_mode": False,
        "auto_approve": False,
        "strict_urls": False,
        "quirks": False,
    }
    restored = _build(
        path,
        explicit={"strict_urls", "quirks", "webhook_url"},
        on_command_line={"strict_urls"},
        **{**defaults, "strict_urls": True, "quirks": True, "webhook_url": "https://x.example/h"},
    )
    assert restored.settings.strict_urls and restored.settings.quirks
    assert not restored.settings.auto_approve
    assert restored.default_app.webhook_url == "https://x.example/h"
    assert restored.store().data.counts()["products"] == 3
    with pytest.raises(ValueError, match="--products"):
        _build(path, explicit={"products"}, on_command_line={"products"}, **defaults)


# ------------------------------------------------------------------------- 12. quirks


async def test_quirks_change_types_not_values(make_emulator, api):
    plain, quirky = make_emulator(), make_emulator(quirks=True)
    for em in (plain, quirky):
        for product in em.store().data.products.values():
            product.cost = 3550  # 35.50 SAR
    async with api(plain.issue_tokens()["access_token"], plain) as a:
        p = (await a.get("/products?per_page=1")).json()["data"][0]
    async with api(quirky.issue_tokens()["access_token"], quirky) as b:
        q = (await b.get("/products?per_page=1")).json()["data"][0]
    assert p["cost_price"] == 35.5
    assert q["cost_price"] == "35.5"


# ------------------------------------------------------------------------ 13. control API


@pytest.mark.parametrize("scopes", ["products.read", [1, None], [""], {"a": 1}])
async def test_token_scopes_must_be_a_list_of_strings(scopes):
    em = Emulator(products=3, orders=1, customers=1, now=START)
    async with _control(em) as ctl:
        response = await ctl.post(
            f"/_emulator/stores/{em.stores[0].id}/tokens", json={"scopes": scopes}
        )
    assert response.status_code == 422


async def test_creating_a_store_with_an_existing_id_is_refused():
    em = Emulator(products=3, orders=1, customers=1, now=START)
    sid = em.stores[0].id
    before = em.store(sid).data
    async with _control(em) as ctl:
        response = await ctl.post("/_emulator/stores", json={"store_id": sid})
    assert response.status_code == 409
    assert em.store(sid).data is before


# ------------------------------------------------------------------------ 14. determinism


def test_injecting_a_fault_does_not_change_data_ids():
    a = Emulator(products=3, orders=1, customers=1, now=START, seed=5)
    b = Emulator(products=3, orders=1, customers=1, now=START, seed=5)
    b.inject_fault("latency", seconds=0.0)
    assert a.place_order()["id"] == b.place_order()["id"]
    assert a.create_app().client_id == b.create_app().client_id


# --------------------------------------------------------------- 15. customers bucket paths


async def test_double_slash_customers_path_uses_the_customers_bucket(emulator, api):
    record = emulator.store()
    async with httpx2.AsyncClient(
        transport=emulator.async_transport(),
        base_url="https://api.salla.dev",
        headers={"Authorization": f"Bearer {emulator.issue_tokens()['access_token']}"},
    ) as client:
        response = await client.get("/admin/v2//customers")
    assert response.status_code == 200
    assert record.customers_bucket.level == 1


# ----------------------------------------------------------- 16. restore by URL on subscribe


async def test_resubscribing_a_url_restores_the_old_webhook(emulator, api):
    async with api(emulator.issue_tokens()["access_token"]) as client:
        body = {"event": "order.created", "url": "https://h.example/a"}
        first = (await client.post("/webhooks/subscribe", json=body)).json()["data"]
        gone = await client.delete("/webhooks/unsubscribe", params={"url": body["url"]})
        assert gone.status_code == 202
        assert (await client.get("/webhooks")).json()["data"] == []
        again = (await client.post("/webhooks/subscribe", json=body)).json()["data"]
        assert again["id"] == first["id"]
        # One webhook per event: a new URL for the same event updates it.
        moved = (
            await client.post(
                "/webhooks/subscribe",
                json={"event": "order.created", "url": "https://h.example/b"},
            )
        ).json()["data"]
        assert moved["id"] == first["id"]
        assert len((await client.get("/webhooks")).json()["data"]) == 1


# ---------------------------------------------------------------- 17. installation date


async def test_installation_date_is_the_install_time(make_emulator, receiver):
    em = make_emulator()
    em.advance(86400 * 3)
    em.install_app(em.stores[0].id)
    await em.deliver_due()
    installed = receiver.payloads()[0]
    assert installed["event"] == "app.installed"
    assert installed["data"]["installation_date"] == installed["created_at"]


# ------------------------------------------------------ 18. shell errors follow the language


async def test_shell_errors_follow_accept_language(emulator, api):
    token = emulator.issue_tokens()["access_token"]
    async with api(token) as client:
        ar = await client.get("/nope")
        en = await client.get("/nope", headers={"Accept-Language": "en"})
        assert ar.json()["error"]["message"] == "المحتوى الذي تحاول الوصول اليه غير متوفر"
        assert en.json()["error"]["message"] == (
            "The content you are trying to access is no longer available"
        )
        bad = await client.post(
            "/products", content=b"{bad", headers={"content-type": "application/json"}
        )
        bad_en = await client.post(
            "/products",
            content=b"{bad",
            headers={"content-type": "application/json", "Accept-Language": "en"},
        )
        assert bad.status_code == bad_en.status_code == 400
        assert bad.json()["error"]["message"] != bad_en.json()["error"]["message"]
        assert bad_en.json()["error"]["message"] == "The request body is not valid JSON."
        wrong = await client.delete("/store/info")
        wrong_en = await client.delete("/store/info", headers={"Accept-Language": "en"})
        assert wrong.status_code == 405
        assert "not supported" in wrong_en.json()["error"]["message"]
        assert "not supported" not in wrong.json()["error"]["message"]
    em = Emulator(products=3, orders=1, customers=1, now=START, plan="1")
    async with httpx2.AsyncClient(
        transport=em.async_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {em.issue_tokens()['access_token']}"},
    ) as client:
        await client.get("/store/info")
        await client.get("/store/info", headers={"Accept-Language": "en"})
        limited_ar = await client.get("/store/info")
        limited_en = await client.get("/store/info", headers={"Accept-Language": "en"})
    assert limited_ar.status_code == limited_en.status_code == 429
    assert limited_en.json()["error"]["message"].startswith("Too many requests")
    assert not limited_ar.json()["error"]["message"].startswith("Too many requests")


# ---------------------------------------------------------------- 19. snapshot over HTTP


async def test_snapshot_over_http_is_confined(tmp_path: Path):
    em = Emulator(products=3, orders=1, customers=1, now=START)
    outside = tmp_path / "elsewhere.snapshot"
    async with _control(em) as ctl:
        refused = await ctl.post("/_emulator/snapshot", json={"path": str(outside)})
        assert refused.status_code == 403 and not outside.exists()
        em.snapshot_dir = tmp_path / "snaps"
        em.snapshot_dir.mkdir()
        ok = await ctl.post("/_emulator/snapshot", json={"path": "one.snapshot"})
        assert ok.status_code == 200 and (em.snapshot_dir / "one.snapshot").exists()
        escape = await ctl.post("/_emulator/snapshot", json={"path": "../escape.snapshot"})
        assert escape.status_code == 403 and not (tmp_path / "escape.snapshot").exists()
        absolute = await ctl.post("/_emulator/snapshot", json={"path": str(outside)})
        assert absolute.status_code == 403 and not outside.exists()
        em.state_file = tmp_path / "state.snapshot"
        default = await ctl.post("/_emulator/snapshot", json={})
        assert default.status_code == 200 and em.state_file.exists()


# ------------------------------------------------------------ 8. in-process client timeouts


async def test_async_transport_applies_the_client_timeout():
    em = Emulator(products=3, orders=1, customers=1, now=START)
    em.inject_fault("latency", seconds=2.0)
    token = em.issue_tokens()["access_token"]
    async with httpx2.AsyncClient(
        transport=em.async_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {token}"},
        timeout=0.2,
    ) as client:
        started = anyio.current_time()
        with pytest.raises(httpx2.ReadTimeout):
            await client.get("/store/info")
        assert anyio.current_time() - started < 1.5
        em.clear_faults()
        assert (await client.get("/store/info")).status_code == 200
    assert em.counters()["peak_in_flight"][em.stores[0].id] == 1
    assert em.state.counters.in_flight[em.stores[0].id] == 0


def test_sync_transport_applies_the_client_timeout():
    em = Emulator(products=3, orders=1, customers=1, now=START)
    em.inject_fault("latency", seconds=2.0, remaining=1)
    token = em.issue_tokens()["access_token"]
    with httpx2.Client(
        transport=em.sync_transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {token}"},
        timeout=0.2,
    ) as client:
        started = time.monotonic()
        with pytest.raises(httpx2.ReadTimeout) as info:
            client.get("/store/info")
        assert time.monotonic() - started < 1.5
        assert info.value.request.url.path == "/admin/v2/store/info"
        assert client.get("/store/info").status_code == 200
