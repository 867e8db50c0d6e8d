"""The pure decisions: envelope checks, dedupe key, kept headers, patterns, retry policy,
typed event data, and the grouped commits' batching."""

from __future__ import annotations

import json
import random

import anyio
import pytest

from sallakit._exceptions import ConfigurationError, SignatureVerificationError, WebhookError
from sallakit.models import Brand, Order, Shipment
from sallakit.webhooks import (
    Handlers,
    NewDelivery,
    RetryPolicy,
    dedupe_key,
    parse_envelope,
    typed_data,
    verify_request,
)
from sallakit.webhooks._core import kept_headers, matches, validate_pattern
from sallakit.webhooks._inbox import Accepted
from sallakit.webhooks._receiver import GroupCommitter


def _raw(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_envelope_accepts_salla_shapes() -> None:
    env = parse_envelope(_raw(event="order.created", merchant=1305146709, data={"id": 1}))
    assert (env.event, env.store_id, env.data) == ("order.created", 1305146709, {"id": 1})
    assert parse_envelope(_raw(event="a.b", merchant="42", data=None)).store_id == 42
    assert parse_envelope(_raw(event="store.branch.setDefault", merchant=2**63 - 1)).data == {}
    digits = "9" * 200  # a long digit string (a reference) is text, not a number
    assert parse_envelope(_raw(event="a.b", merchant=1, data={"ref": digits})).data == {
        "ref": digits
    }
    tokens = {"access_token": "a", "refresh_token": "r"}
    assert parse_envelope(_raw(event="app.store.authorize", merchant=1, data=tokens))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        _raw(event="", merchant=1),
        _raw(event="x" * 200, merchant=1),
        _raw(event="a..b", merchant=1),
        _raw(event="order.created", merchant=2**63),
        _raw(event="order.created", merchant=1.5),
        _raw(event="order.created", merchant=None),
        _raw(event="order.created", merchant=1, data="text"),
        _raw(event="app.store.authorize", merchant=1, data={"access_token": "a"}),
        _raw(
            event="app.store.authorize",
            merchant=1,
            data={"access_token": " ", "refresh_token": "r"},
        ),
        b'{"event":"a.b","merchant":1,"data":' + b'{"a":' * 70 + b"1" + b"}" * 70 + b"}",
        b'{"event":"a.b","merchant":1,"x":-Infinity}',
        b'{"event":"a.b","merchant":1,"x":' + b"9" * 100 + b"}",
        b'{"event":"a.b","merchant":1,"x":' + b"9" * 5000 + b"}",
        b'{"event":"a.b","merchant":1,"x":1e400}',
    ],
)
def test_envelope_rejections(raw: bytes) -> None:
    with pytest.raises(WebhookError):
        parse_envelope(raw)


def test_dedupe_key_is_store_event_and_body_digest() -> None:
    one = parse_envelope(_raw(event="order.created", merchant=1, data={"id": 1}))
    same = parse_envelope(_raw(event="order.created", merchant=1, data={"id": 1}))
    other = parse_envelope(_raw(event="order.created", merchant=1, data={"id": 2}))
    assert dedupe_key(1, one.event, one.digest) == dedupe_key(1, same.event, same.digest)
    assert one.digest != other.digest and len(one.digest) == 64


def test_kept_headers_drop_secrets() -> None:
    kept = kept_headers(
        [
            ("Authorization", "secret"),
            ("X-Salla-Signature", "ab"),
            ("Cookie", "c"),
            ("X-Salla-Security-Strategy", "Token"),
            ("User-Agent", "Salla"),
        ]
    )
    assert kept == {"x-salla-security-strategy": "Token", "user-agent": "Salla"}


def test_patterns() -> None:
    assert matches("*", "app.installed") and matches("order.*", "order.status.updated")
    assert not matches("order.*", "orders.created") and not matches("order.*", "order")
    assert matches("order.created", "order.created")
    for bad in ("", "order.", "order.**", "*.created", "or der"):
        with pytest.raises(ConfigurationError):
            validate_pattern(bad)


def test_handler_names_are_unique() -> None:
    handlers = Handlers()

    def h(event: object) -> None: ...

    handlers.add("order.*", h)
    with pytest.raises(ConfigurationError, match="already registered"):
        handlers.add("product.*", h)
    handlers.add("product.*", h, name="products")
    assert [s.name for s in handlers.for_event("product.created")] == ["products"]


def test_retry_policy_backs_off_exponentially_to_a_cap_then_dies() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=5, factor=2, max_delay=30, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
    assert policy.delay(10_000) == 30
    assert not policy.is_dead(3) and policy.is_dead(4)
    jittered = RetryPolicy(base_delay=10, jitter=0.5).delay(1, random.Random(1))
    assert 10 <= jittered <= 15
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts=0)


def test_typed_data_for_resource_events_and_dicts_otherwise() -> None:
    assert isinstance(typed_data("order.created", {"id": 1}), Order)
    assert isinstance(typed_data("order.shipment.created", {"id": 1}), Shipment)
    assert isinstance(typed_data("brand.deleted", {"id": 1, "name": "b"}), Brand)
    assert typed_data("abandoned.cart", {"id": 1}) == {"id": 1}
    assert typed_data("order.created", {"id": {"not": "an id"}}) == {"id": {"not": "an id"}}


def test_unsigned_request_message_names_both_strategies() -> None:
    with pytest.raises(SignatureVerificationError, match="neither"):
        verify_request(b"{}", {}, "s")
    with pytest.raises(ConfigurationError):
        verify_request(b"{}", {}, ["s", ""])


def test_group_committer_batches_concurrent_submissions() -> None:
    batches: list[int] = []

    def write(items: list[NewDelivery]) -> list[Accepted]:
        batches.append(len(items))
        return [Accepted(i, False) for i, _ in enumerate(items)]

    committer = GroupCommitter(write)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(200):
                item = NewDelivery(1, "a.b", str(n), 0.0, {}, b"")
                tg.start_soon(committer.submit, item)

    anyio.run(main)
    assert sum(batches) == 200 and len(batches) < 200


def test_group_committer_reports_a_failed_batch_to_each_submitter() -> None:
    def write(items: list[NewDelivery]) -> list[Accepted]:
        raise WebhookError("database down")

    committer = GroupCommitter(write)
    errors: list[str] = []

    async def one(n: int) -> None:
        try:
            await committer.submit(NewDelivery(1, "a.b", str(n), 0.0, {}, b""))
        except WebhookError as exc:
            errors.append(exc.message)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(one, n)

    anyio.run(main)
    assert errors == ["database down"] * 20
