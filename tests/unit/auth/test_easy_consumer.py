"""Easy mode as a consumer of the webhook receiver: stored (sealed) before the 200, applied by
the worker, once per delivery; the deprecated standalone endpoint warns."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from sallakit.auth import EasyMode, StoreStatus, TokenVault, easy_mode_app, generate_key
from sallakit.testing import MemoryTokenStore
from sallakit.webhooks import DeliveryFilter, MemoryInbox, WebhookReceiver, compute_signature

pytestmark = pytest.mark.anyio

SECRET = "whsec-consumer"
SOON = int(time.time()) + 14 * 86_400


@pytest.fixture
def vault() -> Iterator[TokenVault]:
    v = TokenVault(MemoryTokenStore(), [generate_key()])
    yield v
    v.close()


def _body(event: str, data: dict[str, Any], when: str = "2026-01-01 10:00:00") -> bytes:
    return json.dumps({"event": event, "merchant": 4242, "created_at": when, "data": data}).encode()


async def _post(receiver: WebhookReceiver, raw: bytes) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=receiver)
    async with httpx2.AsyncClient(transport=transport, base_url="https://app.example") as http:
        return await http.post(
            "/webhooks", content=raw, headers={"X-Salla-Signature": compute_signature(raw, SECRET)}
        )


async def test_authorize_is_sealed_in_the_inbox_then_applied_once(vault: TokenVault) -> None:
    inbox = MemoryInbox(cipher=vault.body_cipher())
    receiver = WebhookReceiver(inbox, SECRET)
    EasyMode(vault).register(receiver)
    raw = _body(
        "app.store.authorize",
        {"access_token": "ory_at_C", "refresh_token": "ory_rt_C", "expires": SOON},
    )
    assert (await _post(receiver, raw)).status_code == 200
    (row,) = inbox.search(DeliveryFilter())
    assert row.sealed  # the tokens never sit in clear in the inbox
    assert vault.list_stores() == []  # applied by the worker, not the request
    await receiver.worker.drain()
    assert vault.tokens(4242).access_token == "ory_at_C"
    record = vault.get(4242)
    assert record.status is StoreStatus.ACTIVE and record.pending
    generation = record.generation
    assert (await _post(receiver, raw)).status_code == 200  # Salla's retry
    await receiver.worker.drain()
    assert vault.get(4242).generation == generation


async def test_uninstall_through_the_receiver(vault: TokenVault) -> None:
    receiver = WebhookReceiver(MemoryInbox(cipher=vault.body_cipher()), SECRET)
    EasyMode(vault, uninstall_retention="purge").register(receiver)
    authorize = {"access_token": "ory_at_U", "refresh_token": "ory_rt_U", "expires": SOON}
    await _post(receiver, _body("app.store.authorize", authorize))
    await _post(receiver, _body("app.uninstalled", {}, "2026-01-01 11:00:00"))
    await receiver.worker.drain()
    assert vault.list_stores() == []


async def test_the_standalone_endpoint_is_deprecated(vault: TokenVault) -> None:
    with pytest.deprecated_call():
        easy_mode_app(EasyMode(vault, SECRET))


async def test_the_standalone_endpoint_never_acknowledges_a_store_event(vault: TokenVault) -> None:
    with pytest.deprecated_call():
        app = easy_mode_app(EasyMode(vault, SECRET))
    raw = _body("order.created", {"id": 1})
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="https://app.example") as http:
        response = await http.post(
            "/", content=raw, headers={"X-Salla-Signature": compute_signature(raw, SECRET)}
        )
    assert response.status_code == 422
    assert "WebhookReceiver" in response.json()["error"]
