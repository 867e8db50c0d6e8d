"""Test helpers for code that uses sallakit: emulator fixtures and a signed-webhook builder.

Enable the fixtures in a ``conftest.py``::

    pytest_plugins = ["sallakit.testing"]

Fixtures:

- ``salla_emulator_options``: keyword arguments for the emulator; override it with only what you
  change (``{"products": 200}``): they are merged over :data:`SALLA_EMULATOR_DEFAULTS`.
- ``salla_webhook_transport``: the httpx2 async transport the emulator delivers webhooks through
  (None: none are delivered); override it, e.g. with ``httpx2.ASGITransport(app=your_app)``, or
  set ``salla_emulator.webhook_transport`` at any time.
- ``salla_emulator``: an in-process :class:`~sallakit.emulator.Emulator` with one small seeded
  store (manual clock, seed 1).
- ``salla_store``: that store's :class:`~sallakit.emulator.StoreProfile`.
- ``salla_tokens``: a token pair for that store with every scope of the app and
  ``offline_access``, in the ``/oauth2/token`` shape.
- ``salla_vault``: a :class:`~sallakit.auth.TokenVault` in memory holding that store's tokens,
  whose OAuth clients refresh against the emulator:
  ``salla_vault.async_client(salla_store.id, transport=salla_emulator.async_transport())``.

:class:`MemoryTokenStore` is the in-memory twin of the token vault's SQL store:
``TokenVault(MemoryTokenStore(), keys)`` runs the whole token protocol without a database.

:func:`signed_webhook` builds a webhook body and the headers Salla would send with it, for
testing a receiver without an emulator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from sallakit.auth import AsyncOAuthClient, OAuthClient, TokenVault, generate_key
from sallakit.auth._memstore import MemoryTokenStore
from sallakit.auth._tokens import parse_token_response
from sallakit.emulator import Emulator, StoreProfile
from sallakit.emulator._webhooks import envelope, security_headers, store_time

__all__ = [
    "MemoryTokenStore",
    "SALLA_EMULATOR_DEFAULTS",
    "salla_emulator",
    "salla_emulator_options",
    "salla_store",
    "salla_tokens",
    "salla_vault",
    "salla_webhook_transport",
    "signed_webhook",
    "webhook_body",
]

SALLA_EMULATOR_DEFAULTS: Mapping[str, Any] = {
    "stores": 1,
    "products": 25,
    "orders": 10,
    "customers": 10,
    "seed": 1,
}
"""What ``salla_emulator`` is built with; ``salla_emulator_options`` is merged over it."""


def webhook_body(
    event: str,
    data: Any,
    *,
    merchant: int = 1305146709,
    created_at: datetime | str | None = None,
) -> bytes:
    """The raw body of a store-event webhook: ``{event, merchant, created_at, data}``."""
    if not isinstance(created_at, str):
        created_at = store_time(created_at or datetime.now(UTC))
    return envelope(event, merchant, created_at, data)


def signed_webhook(
    payload: Mapping[str, Any] | bytes,
    secret: str,
    *,
    strategy: str = "signature",
    headers: Mapping[str, str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and the headers Salla sends with it.

    Args:
        payload: The whole JSON document (``{"event": ..., "merchant": ..., "data": ...}``) or
            its raw bytes.
        secret: The app's webhook secret.
        strategy: ``signature`` (``X-Salla-Signature``: hex HMAC-SHA256 of the body), ``token``
            (``Authorization: <secret>``) or ``none``.
        headers: Extra headers (a webhook's custom headers).

    Returns:
        ``(body, headers)``, ready for ``client.post(url, content=body, headers=headers)``.
    """
    if isinstance(payload, bytes):
        body = payload
    else:
        body = json.dumps(dict(payload), ensure_ascii=False).encode()
    out = {"Content-Type": "application/json", **dict(headers or {})}
    out.update(security_headers(strategy, secret, body))
    return body, out


@pytest.fixture
def salla_emulator_options() -> dict[str, Any]:
    """Keyword arguments of the ``salla_emulator`` fixture, merged over the defaults.

    Override it with only what you change; a key set to a value replaces the default.
    """
    return {}


@pytest.fixture
def salla_webhook_transport() -> httpx2.AsyncBaseTransport | None:
    """Where the emulator delivers webhooks (None: nowhere); override to receive them."""
    return None


@pytest.fixture
def salla_emulator(
    salla_emulator_options: dict[str, Any],
    salla_webhook_transport: httpx2.AsyncBaseTransport | None,
) -> Iterator[Emulator]:
    """An in-process emulator with one small seeded store."""
    options = {**SALLA_EMULATOR_DEFAULTS, **salla_emulator_options}
    if salla_webhook_transport is not None:
        options.setdefault("webhook_transport", salla_webhook_transport)
    yield Emulator(**options)


@pytest.fixture
def salla_store(salla_emulator: Emulator) -> StoreProfile:
    """The emulator's first store."""
    return salla_emulator.stores[0]


@pytest.fixture
def salla_tokens(salla_emulator: Emulator, salla_store: StoreProfile) -> dict[str, Any]:
    """A fresh token pair for the first store (all the app's scopes + ``offline_access``)."""
    return salla_emulator.issue_tokens(salla_store.id)


@pytest.fixture
def salla_vault(
    salla_emulator: Emulator, salla_store: StoreProfile, salla_tokens: dict[str, Any]
) -> Iterator[TokenVault]:
    """A vault in memory holding the first store's tokens; refreshes go to the emulator."""
    app = salla_emulator.default_app
    oauth = OAuthClient(app.client_id, app.client_secret, transport=salla_emulator.sync_transport())
    async_oauth = AsyncOAuthClient(
        app.client_id, app.client_secret, transport=salla_emulator.async_transport()
    )
    vault = TokenVault(MemoryTokenStore(), [generate_key()], oauth=oauth, async_oauth=async_oauth)
    tokens = parse_token_response(200, salla_tokens, now=time.time(), grant="code")
    vault.save_tokens(salla_store.id, tokens, connected_via="test")
    yield vault
    vault.close()
    oauth.close()
