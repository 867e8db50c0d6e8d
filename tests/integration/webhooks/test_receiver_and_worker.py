"""The receiver and the worker against a real inbox (SQLite, PostgreSQL, in memory).

Every rejection stores nothing; duplicates are acknowledged once stored and handled once; a
handler that fails is retried with backoff, dead-lettered after the last attempt, and replayed
after a fix; pause keeps storing; token events are sealed.
"""

from __future__ import annotations

import json
import random
from typing import Any

import anyio
import httpx2
import pytest
import sqlalchemy as sa

from sallakit.models import Order, Product
from sallakit.webhooks import (
    DeliveryFilter,
    Event,
    Handlers,
    MemoryInbox,
    Outcome,
    RetryPolicy,
    SQLInbox,
    WebhookReceiver,
)

from .conftest import SECRET, STORE, body, signed

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def client(receiver: WebhookReceiver) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=receiver), base_url="https://app.example"
    )


async def post(receiver: WebhookReceiver, raw: bytes, headers: dict[str, str]) -> httpx2.Response:
    async with client(receiver) as http:
        return await http.post("/webhooks/salla", content=raw, headers=headers)


def stored(inbox: Any) -> int:
    return sum(inbox.counts().values())


# ------------------------------------------------------------------------------ rejections


REJECTIONS: list[tuple[str, bytes, dict[str, str] | None, int]] = [
    ("unsigned", body("order.created", {"id": 1}), {}, 401),
    ("wrong signature", body("order.created", {"id": 1}), {"X-Salla-Signature": "ab" * 32}, 401),
    ("wrong token", body("order.created", {"id": 1}), {"Authorization": "nope"}, 401),
    ("bad json", b"{not json", None, 400),
    ("not an object", b"[1,2]", None, 400),
    (
        "deep nesting",
        b'{"event":"a.b","merchant":1,"data":' + b"[" * 5000 + b"]" * 5000 + b"}",
        None,
        400,
    ),
    (
        "huge number",
        b'{"event":"order.created","merchant":1,"data":{"id":' + b"9" * 5000 + b"}}",
        None,
        400,
    ),
    (
        "huge merchant",
        b'{"event":"order.created","merchant":' + b"9" * 300 + b',"data":{}}',
        None,
        400,
    ),
    ("huge float", b'{"event":"order.created","merchant":1,"data":{"x":1e999}}', None, 400),
    ("merchant zero", body("order.created", {}, merchant=0), None, 400),
    ("merchant negative", body("order.created", {}, merchant=-5), None, 400),
    ("merchant too big", body("order.created", {}, merchant=2**64), None, 400),
    ("merchant text", body("order.created", {}, merchant="shop"), None, 400),
    ("merchant bool", body("order.created", {}, merchant=True), None, 400),
    ("no event", json.dumps({"merchant": 1, "data": {}}).encode(), None, 400),
    ("bad event name", body("order created; drop", {}), None, 400),
    ("authorize without tokens", body("app.store.authorize", {"access_token": "a"}), None, 400),
    ("NaN", b'{"event":"order.created","merchant":1,"data":{"x":NaN}}', None, 400),
    ("not utf-8", b'{"event":"order.created","merchant":1,"data":"\xff"}', None, 400),
]


@pytest.mark.parametrize(
    ("raw", "headers", "status"),
    [pytest.param(r, h, s, id=name) for name, r, h, s in REJECTIONS],
)
async def test_every_rejection_stores_nothing(
    inbox: Any, raw: bytes, headers: dict[str, str] | None, status: int
) -> None:
    receiver = WebhookReceiver(inbox, SECRET, strategy="signature")
    response = await post(receiver, raw, signed(raw) if headers is None else headers)
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert stored(inbox) == 0


async def test_oversized_bodies_get_413_declared_or_streamed(inbox: Any) -> None:
    receiver = WebhookReceiver(inbox, SECRET, max_body_size=100)
    raw = body("order.created", {"note": "x" * 200})
    assert (await post(receiver, raw, signed(raw))).status_code == 413

    async def chunks() -> Any:
        for _ in range(50):
            yield b"x" * 10  # no Content-Length: streamed past the cap

    async with client(receiver) as http:
        response = await http.post("/", content=chunks(), headers=signed(raw))
    assert response.status_code == 413
    assert stored(inbox) == 0


async def test_a_non_ascii_content_length_is_400(inbox: Any) -> None:
    receiver = WebhookReceiver(inbox, SECRET)
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-length", "¹".encode("latin-1"))],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await receiver(scope, receive, send)
    assert sent[0]["status"] == 400 and stored(inbox) == 0


async def test_get_is_405_and_messages_name_the_expected_strategy(inbox: Any) -> None:
    raw = body("order.created", {"id": 1})
    signature = WebhookReceiver(inbox, SECRET, strategy="signature")
    response = await post(signature, raw, {})
    assert "X-Salla-Signature" in response.json()["error"]
    assert "Authorization" not in response.json()["error"]
    token = WebhookReceiver(inbox, SECRET, strategy="token")
    assert "Authorization" in (await post(token, raw, {})).json()["error"]
    async with client(signature) as http:
        assert (await http.get("/")).status_code == 405


async def test_both_strategies_and_a_rotated_secret(inbox: Any) -> None:
    receiver = WebhookReceiver(inbox, ["new-secret", "old-secret"])
    one = body("order.created", {"id": 1})
    two = body("order.created", {"id": 2})
    three = body("order.created", {"id": 3})
    assert (await post(receiver, one, signed(one, "old-secret"))).status_code == 200
    assert (await post(receiver, two, signed(two, "new-secret"))).status_code == 200
    token = {"X-Salla-Security-Strategy": "Token", "Authorization": "old-secret"}
    assert (await post(receiver, three, token)).status_code == 200
    assert (await post(receiver, three, signed(three, "third"))).status_code == 401
    assert stored(inbox) == 3


# --------------------------------------------------------------------- stored, then handled


async def test_stored_row_has_no_secret_headers_and_tokens_are_sealed(inbox: Any) -> None:
    receiver = WebhookReceiver(inbox, SECRET)
    raw = body(
        "app.store.authorize",
        {"access_token": "ory_at_SECRET", "refresh_token": "ory_rt_SECRET", "expires": 1},
    )
    headers = {**signed(raw), "Authorization": SECRET, "Cookie": "a=b", "Accept-Language": "ar"}
    headers["X-Salla-Security-Strategy"] = "Signature"
    response = await post(receiver, raw, headers)
    assert response.status_code == 200
    (row,) = inbox.search(DeliveryFilter())
    assert row.sealed and row.event == "app.store.authorize" and row.store_id == STORE
    assert "authorization" not in row.headers and "x-salla-signature" not in row.headers
    assert "cookie" not in row.headers and row.headers["accept-language"] == "ar"
    full = inbox.get(row.id)
    assert full.body == raw  # opened with the cipher
    if isinstance(inbox, SQLInbox):
        with inbox.engine.connect() as conn:
            raw_column = conn.execute(sa.text("SELECT body FROM sallakit_webhook_deliveries"))
            assert b"ory_at_SECRET" not in bytes(raw_column.scalar_one())


async def test_token_events_are_refused_without_a_cipher() -> None:
    inbox = MemoryInbox()
    receiver = WebhookReceiver(inbox, SECRET)
    raw = body("app.store.authorize", {"access_token": "a", "refresh_token": "r"})
    response = await post(receiver, raw, signed(raw))
    assert response.status_code == 503  # not stored: Salla retries once a cipher is set
    assert "token" in response.json()["error"]
    other = body("app.installed", {"id": 1})
    assert (await post(receiver, other, signed(other))).status_code == 200
    assert stored(inbox) == 1


async def test_duplicate_burst_out_of_order_gives_one_effect_per_event(sql_inbox: SQLInbox) -> None:
    with sql_inbox.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE effects (store_id BIGINT, order_id BIGINT)")
    handlers = Handlers()

    @handlers.on("order.created")
    def record(event: Event) -> None:
        assert isinstance(event.data, Order)
        event.connection.execute(
            sa.text("INSERT INTO effects VALUES (:s, :o)"),
            {"s": event.store_id, "o": event.data.id},
        )

    receiver = WebhookReceiver(sql_inbox, SECRET, handlers=handlers)
    bodies = [body("order.created", {"id": i, "reference_id": i}) for i in range(60)]
    deliveries = bodies * 2
    random.Random(7).shuffle(deliveries)
    statuses: list[int] = []
    async with client(receiver) as http:

        async def send(raw: bytes) -> None:
            statuses.append((await http.post("/", content=raw, headers=signed(raw))).status_code)

        async with anyio.create_task_group() as tg:
            for raw in deliveries:
                tg.start_soon(send, raw)
    assert statuses == [200] * 120
    await receiver.worker.drain()
    # A redelivery after processing is still answered 200 and not processed again.
    assert (await post(receiver, bodies[0], signed(bodies[0]))).json()["duplicate"] is True
    await receiver.worker.drain()
    with sql_inbox.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT order_id, COUNT(*) FROM effects GROUP BY order_id"))
        counts = dict(rows.all())
    assert counts == dict.fromkeys(range(60), 1)
    assert sql_inbox.counts()["done"] == 60
    assert sum(d.duplicates for d in sql_inbox.search(DeliveryFilter(limit=None))) == 61


async def test_a_handler_failing_twice_is_retried_with_backoff(inbox: Any) -> None:
    clock = Clock()
    calls: list[int] = []
    handlers = Handlers()

    @handlers.on("product.*")
    async def flaky(event: Event) -> None:
        calls.append(event.attempt)
        assert isinstance(event.data, Product)
        if len(calls) < 3:
            raise RuntimeError(f"boom {len(calls)}")

    policy = RetryPolicy(max_attempts=5, base_delay=10, factor=2, jitter=0)
    receiver = WebhookReceiver(inbox, SECRET, handlers=handlers, retry=policy, clock=clock)
    raw = body("product.price.updated", {"id": 9, "name": "x", "price": 10})
    assert (await post(receiver, raw, signed(raw))).status_code == 200
    await receiver.worker.drain()
    (row,) = inbox.search(DeliveryFilter())
    assert row.status == "failed" and "boom 1" in row.last_error
    assert row.next_attempt_at == clock.now + 10
    assert await receiver.worker.drain() == 0  # not due yet
    clock.now += 10
    await receiver.worker.drain()
    assert inbox.get(row.id).next_attempt_at == clock.now + 20  # doubled
    clock.now += 20
    await receiver.worker.drain()
    assert calls == [1, 2, 3]
    assert inbox.get(row.id).status == "done"


async def test_dead_letter_then_replay_after_a_fix(inbox: Any) -> None:
    clock = Clock()
    fixed = False
    effects: list[str] = []
    handlers = Handlers()

    @handlers.on("customer.created", name="ok")
    def ok(event: Event) -> None:
        effects.append("ok")

    @handlers.on("customer.*", name="broken")
    def broken(event: Event) -> None:
        if not fixed:
            raise ValueError("bug")
        effects.append("broken")

    policy = RetryPolicy(max_attempts=2, base_delay=1, jitter=0)
    receiver = WebhookReceiver(inbox, SECRET, handlers=handlers, retry=policy, clock=clock)
    outcomes: list[tuple[str, str]] = []
    unregister = receiver.worker.on_outcome(lambda d, o: outcomes.append((d.event, o.status)))
    raw = body("customer.created", {"id": 5, "first_name": "سارة"})
    await post(receiver, raw, signed(raw))
    await receiver.worker.drain()
    clock.now += 5
    await receiver.worker.drain()
    (row,) = inbox.search(DeliveryFilter(status="dead"))
    assert row.attempts == 2 and "broken: ValueError: bug" in row.last_error
    assert row.handlers_done == {"ok"} and effects == ["ok"]
    # The worker's hook saw each recorded outcome: a retry, then the dead letter.
    assert outcomes == [("customer.created", "failed"), ("customer.created", "dead")]
    unregister()
    fixed = True
    assert inbox.replay(where=DeliveryFilter(status="dead"), now=clock.now) == [row.id]
    await receiver.worker.drain()
    assert inbox.get(row.id).status == "done"
    assert effects == ["ok", "broken"]  # the handler that had succeeded did not run again
    assert inbox.replay(ids=[row.id], now=clock.now, rerun_succeeded=True) == [row.id]
    await receiver.worker.drain()
    assert effects == ["ok", "broken", "ok", "broken"]
    assert len(outcomes) == 2  # unregistered


async def test_pause_keeps_storing_and_resume_processes(inbox: Any) -> None:
    seen: list[str] = []
    receiver = WebhookReceiver(inbox, SECRET)
    receiver.on("*")(lambda event: seen.append(event.name))
    inbox.set_paused(True, now=0)
    raw = body("brand.created", {"id": 3, "name": "b"})
    assert (await post(receiver, raw, signed(raw))).status_code == 200
    assert await receiver.worker.drain() == 0 and seen == []
    assert inbox.counts()["pending"] == 1
    inbox.set_paused(False, now=0)
    await receiver.worker.drain()
    assert seen == ["brand.created"]


async def test_unknown_events_keep_a_dict_and_app_wildcards(inbox: Any) -> None:
    got: list[Any] = []
    receiver = WebhookReceiver(inbox, SECRET)

    @receiver.on("app.*")
    async def app_events(event: Event) -> None:
        got.append(event.data)

    raw = body("app.installed", {"id": 1, "app_name": "x"})
    other = body("review.added", {"id": 2})
    await post(receiver, raw, signed(raw))
    await post(receiver, other, signed(other))
    await receiver.worker.drain()
    assert got == [{"id": 1, "app_name": "x"}]
    assert inbox.counts()["done"] == 2  # no handler for review.added: done at once


async def test_expired_lease_is_taken_over_and_the_late_run_is_rolled_back(
    sql_inbox: SQLInbox,
) -> None:
    with sql_inbox.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE effects (digest TEXT)")
    raw = body("order.updated", {"id": 1})
    receiver = WebhookReceiver(sql_inbox, SECRET, clock=lambda: 50.0)
    await post(receiver, raw, signed(raw))
    (first,) = sql_inbox.claim(owner="a", limit=5, lease_seconds=1, now=100)
    (second,) = sql_inbox.claim(owner="b", limit=5, lease_seconds=60, now=102)  # a's expired
    assert second.attempts == 2
    run_b = sql_inbox.run_handler(second.id, "h")
    run_b.connection.execute(sa.text("INSERT INTO effects VALUES ('b')"))
    assert run_b.succeed(103)
    run_a = sql_inbox.run_handler(first.id, "h")  # the slow first worker finishes late
    run_a.connection.execute(sa.text("INSERT INTO effects VALUES ('a')"))
    assert not run_a.succeed(104)
    assert not sql_inbox.finish(first.id, owner="a", status="done", now=104)
    assert sql_inbox.finish(second.id, owner="b", status="done", now=104)
    with sql_inbox.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT digest FROM effects")).scalars().all() == ["b"]


# ------------------------------------------------------- the worker's share of the writer


async def test_handlers_without_the_session_cost_one_write_per_batch(tmp_path: Any) -> None:
    """SQLite has one writer: a batch of deliveries whose handlers do not write through
    ``event.connection`` is claimed and recorded in two write transactions, not one per run."""
    inbox = SQLInbox.from_url(f"sqlite:///{tmp_path / 'inbox.db'}")
    seen: list[int] = []
    receiver = WebhookReceiver(inbox, SECRET)
    receiver.on("order.*")(lambda event: seen.append(event.data.id))
    for n in range(20):
        raw = body("order.updated", {"id": n})
        await post(receiver, raw, signed(raw))
    writes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            writes.append(statement)

    sa.event.listen(inbox.engine, "before_cursor_execute", count)
    try:
        assert await receiver.worker.run_once() == 20
    finally:
        sa.event.remove(inbox.engine, "before_cursor_execute", count)
        inbox.engine.dispose()
    assert sorted(seen) == list(range(20))
    assert len(writes) == 2  # the claim, and the outcomes with the success records
    assert {tuple(d.handlers_done) for d in inbox.search(DeliveryFilter())} == {
        (receiver.handlers.for_event("order.updated")[0].name,)
    }


async def test_an_interrupted_batch_keeps_the_successes_it_had(inbox: Any) -> None:
    started = anyio.Event()
    effects: list[str] = []
    handlers = Handlers()

    @handlers.on("brand.created", name="quick")
    def quick(event: Event) -> None:
        effects.append("quick")

    @handlers.on("brand.*", name="stuck")
    async def stuck(event: Event) -> None:
        started.set()
        await anyio.sleep_forever()

    receiver = WebhookReceiver(inbox, SECRET, handlers=handlers)
    raw = body("brand.created", {"id": 4, "name": "b"})
    await post(receiver, raw, signed(raw))
    async with anyio.create_task_group() as tg:
        tg.start_soon(receiver.worker.run_once)
        await started.wait()
        tg.cancel_scope.cancel()  # the worker stops mid-batch
    (row,) = inbox.search(DeliveryFilter())
    assert row.status == "failed" and "interrupted" in row.last_error
    assert row.handlers_done == {"quick"}
    handlers_after = Handlers()
    handlers_after.on("brand.created", name="quick")(quick)
    handlers_after.on("brand.*", name="stuck")(lambda event: effects.append("unstuck"))
    again = WebhookReceiver(inbox, SECRET, handlers=handlers_after)
    await again.worker.drain()
    assert effects == ["quick", "unstuck"]  # "quick" did not run twice
    assert inbox.get(row.id).status == "done"


async def test_a_late_finisher_records_its_successes_but_not_its_outcome(inbox: Any) -> None:
    raw = body("order.updated", {"id": 2})
    receiver = WebhookReceiver(inbox, SECRET, clock=lambda: 50.0)
    await post(receiver, raw, signed(raw))
    (first,) = inbox.claim(owner="a", limit=5, lease_seconds=1, now=100)
    (second,) = inbox.claim(owner="b", limit=5, lease_seconds=60, now=102)  # a's expired
    late = Outcome(first.id, "done", 104, handlers_succeeded=("quick",))
    assert inbox.finish_many([late], owner="a", now=104) == set()
    row = inbox.get(first.id)
    assert row.status == "processing" and row.lease_owner == "b"
    assert row.handlers_done == {"quick"}  # it did succeed: b will not run it again
    current = Outcome(second.id, "failed", 200, "x", handlers_succeeded=("quick", "other"))
    assert inbox.finish_many([current], owner="b", now=105) == {second.id}
    row = inbox.get(first.id)
    assert (row.status, row.next_attempt_at, row.last_error) == ("failed", 200, "x")
    assert row.handlers_done == {"quick", "other"}
