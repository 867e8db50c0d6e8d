"""Custom and Easy mode end to end against the in-process emulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest

from sallakit._exceptions import (
    AuthorizationDeniedError,
    InvalidStateError,
    RedirectURIMismatchError,
    StoreNotFoundError,
    TokenDecryptionError,
)
from sallakit.auth import (
    AsyncOAuthClient,
    CustomMode,
    EasyMode,
    StoreStatus,
    TokenVault,
    generate_key,
)
from sallakit.db import create_engine
from sallakit.emulator import Emulator
from sallakit.webhooks import Event, MemoryInbox, WebhookReceiver

REDIRECT = "http://127.0.0.1:8000/oauth/callback"
WEBHOOK_URL = "http://app.test/webhooks"
STATE_SECRET = "a-state-secret-of-32-characters!"


@dataclass
class World:
    emulator: Emulator
    vault: TokenVault
    oauth: AsyncOAuthClient
    db_path: Path
    key: str


async def _world(tmp_path: Path, **emulator_kwargs: object) -> World:
    emulator = Emulator(
        stores=1, products=2, orders=1, customers=1, redirect_uri=REDIRECT, **emulator_kwargs
    )
    oauth = AsyncOAuthClient(
        emulator.default_app.client_id,
        emulator.default_app.client_secret,
        accounts_url="http://emulator.test",
        transport=emulator.async_transport(),
        clock=emulator.clock.time,
    )
    db_path = tmp_path / "vault.db"
    key = generate_key()
    vault = TokenVault(
        create_engine(f"sqlite:///{db_path}"),
        [key],
        async_oauth=oauth,
        clock=emulator.clock.time,
    )
    return World(emulator, vault, oauth, db_path, key)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = await _world(tmp_path, auto_approve=True)
    yield w
    await w.oauth.aclose()
    w.vault.close()


async def _consent(world: World, url: str, **form: str) -> httpx2.Response:
    async with httpx2.AsyncClient(transport=world.emulator.async_transport()) as http:
        if form:
            query = dict(parse_qsl(urlsplit(url).query))
            return await http.post("http://emulator.test/oauth2/auth", data={**query, **form})
        return await http.get(url)


def _callback(response: httpx2.Response) -> tuple[dict[str, str], str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    parts = urlsplit(location)
    return dict(parse_qsl(parts.query)), f"{parts.scheme}://{parts.netloc}{parts.path}"


@pytest.mark.anyio
async def test_custom_mode_connects_refreshes_and_rejects_replays(world: World) -> None:
    custom = CustomMode(world.vault, world.oauth, redirect_uri=REDIRECT, state_secret=STATE_SECRET)
    url = custom.authorize_url()
    assert "-" not in dict(parse_qsl(urlsplit(url).query))["state"]
    params, callback_url = _callback(await _consent(world, url))

    record = await custom.handle_callback(params, callback_url=callback_url)

    store_id = world.emulator.stores[0].id
    assert record.store_id == store_id
    assert record.status is StoreStatus.ACTIVE
    assert record.connected_via == "custom"
    assert record.merchant and record.merchant["id"] == store_id
    assert "offline_access" in record.scopes
    # The same callback again: the state is single use.
    with pytest.raises(InvalidStateError):
        await custom.handle_callback(params, callback_url=callback_url)
    # Callback served somewhere else than the registered redirect URI.
    params2, _ = _callback(await _consent(world, custom.authorize_url()))
    with pytest.raises(RedirectURIMismatchError):
        await custom.handle_callback(params2, callback_url="http://127.0.0.1:9999/elsewhere")
    # A forged state.
    with pytest.raises(InvalidStateError):
        await custom.handle_callback({**params2, "state": "0" * 80}, callback_url=callback_url)

    # 15 days later the access token is dead at Salla: the client refreshes once and replays.
    world.emulator.advance(15 * 86_400)
    async with world.vault.async_client(
        store_id,
        base_url="http://emulator.test/admin/v2",
        transport=world.emulator.async_transport(),
    ) as client:
        response = await client.request("GET", "/store/info")
    assert response is not None
    assert world.emulator.counters()["token_refreshes"] == {store_id: 1}
    assert world.vault.get(store_id).generation == 2


@pytest.mark.anyio
async def test_custom_mode_denied_consent(tmp_path: Path) -> None:
    w = await _world(tmp_path)
    try:
        custom = CustomMode(w.vault, w.oauth, redirect_uri=REDIRECT, state_secret=STATE_SECRET)
        params, callback_url = _callback(await _consent(w, custom.authorize_url(), decision="deny"))
        assert params["error"] == "access_denied"
        with pytest.raises(AuthorizationDeniedError):
            await custom.handle_callback(params, callback_url=callback_url)
        assert w.vault.list_stores() == []
    finally:
        await w.oauth.aclose()
        w.vault.close()


@pytest.mark.anyio
async def test_easy_mode_install_update_uninstall(tmp_path: Path) -> None:
    # Easy mode as a consumer of the webhook receiver: deliveries are stored (token bodies
    # sealed with the vault's keys) before the 200, then applied by the worker.
    holder: dict[str, EasyMode] = {}

    async def apply(event: Event) -> None:
        await holder["easy"].handle_event(event)

    receiver_box: dict[str, WebhookReceiver] = {}

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await receiver_box["r"](scope, receive, send)

    w = await _world(
        tmp_path,
        webhook_url=WEBHOOK_URL,
        webhook_transport=httpx2.ASGITransport(app=app),
    )

    async def deliver() -> list[Any]:
        attempts = await w.emulator.deliver_due()
        await receiver.worker.drain()
        return attempts

    try:
        inbox = MemoryInbox(cipher=w.vault.body_cipher())
        receiver = WebhookReceiver(inbox, w.emulator.default_app.webhook_secret)
        receiver.on("app.*", name="sallakit.auth.easy_mode")(apply)
        receiver_box["r"] = receiver
        easy = EasyMode(w.vault, oauth=w.oauth)
        holder["easy"] = easy
        store_id = w.emulator.stores[0].id

        data = w.emulator.install_app(store_id)
        attempts = await deliver()
        assert [(a.event, a.status) for a in attempts] == [
            ("app.installed", 200),
            ("app.store.authorize", 200),
        ]
        record = w.vault.get(store_id)
        assert record.status is StoreStatus.ACTIVE
        assert record.connected_via == "easy"
        # ``expires`` arrived as an absolute epoch and was taken as such (not as a duration).
        assert record.expires_at == pytest.approx(float(data["expires"]))
        assert record.merchant and record.merchant["id"] == store_id
        assert record.app and record.app["app_name"]
        assert w.vault.tokens(store_id).access_token == data["access_token"]

        # Update: the old grant is revoked and new tokens replace the stored ones.
        new = w.emulator.update_app(store_id)
        await deliver()
        assert w.vault.tokens(store_id).access_token == new["access_token"]
        assert w.vault.get(store_id).generation == record.generation + 1
        async with w.vault.async_client(
            store_id,
            base_url="http://emulator.test/admin/v2",
            transport=w.emulator.async_transport(),
        ) as client:
            await client.request("GET", "/store/info")

        # Uninstall (retention "keep"): tokens erased, the row stays.
        w.emulator.uninstall_app(store_id)
        await deliver()
        record = w.vault.get(store_id)
        assert record.status is StoreStatus.UNINSTALLED
        assert not record.has_tokens
        with pytest.raises(StoreNotFoundError):
            w.vault.tokens(store_id)

        # Reinstall, then uninstall with retention "purge": nothing left about the store.
        # (A minute later: identical uninstall bodies are one delivery, recorded by digest.)
        w.emulator.advance(60)
        w.emulator.install_app(store_id)
        await deliver()
        assert w.vault.get(store_id).status is StoreStatus.ACTIVE
        holder["easy"] = EasyMode(w.vault, uninstall_retention="purge")
        w.emulator.uninstall_app(store_id)
        await deliver()
        assert w.vault.list_stores() == []
    finally:
        await w.oauth.aclose()
        w.vault.close()


@pytest.mark.anyio
async def test_no_clear_token_on_disk_or_in_logs_and_rotation(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    custom = CustomMode(world.vault, world.oauth, redirect_uri=REDIRECT, state_secret=STATE_SECRET)
    params, callback_url = _callback(await _consent(world, custom.authorize_url()))
    record = await custom.handle_callback(params, callback_url=callback_url)
    store_id = record.store_id
    world.emulator.advance(15 * 86_400)
    await world.vault.async_token_provider(store_id).get_token()  # a refresh, logged
    tokens = world.vault.tokens(store_id)
    secrets = [tokens.access_token, tokens.refresh_token or "", params["code"]]

    # Rotate: a new key first, the old one kept for decryption; every store still works.
    old_engine = world.vault.store.engine
    old_key_vault = world.vault
    new_key = generate_key()
    rotated = TokenVault(
        old_engine,
        [new_key, world.key],
        async_oauth=world.oauth,
        clock=world.emulator.clock.time,
    )
    assert rotated.rotate_keys() == 1
    only_new = TokenVault(old_engine, [new_key], clock=world.emulator.clock.time)
    assert only_new.tokens(store_id).access_token == tokens.access_token
    with pytest.raises(TokenDecryptionError):
        old_key_vault.tokens(store_id)

    # A ciphertext copied into another store's row does not open.
    import sqlalchemy as sa

    from sallakit.db._schema import stores

    with old_engine.begin() as conn:
        row = conn.execute(sa.select(stores).where(stores.c.store_id == store_id)).mappings().one()
        conn.execute(
            stores.insert().values(
                {**dict(row), "store_id": store_id + 1, "merchant": None, "user_info": None}
            )
        )
    with pytest.raises(TokenDecryptionError):
        only_new.tokens(store_id + 1)

    # Nothing on disk (database file, WAL) or in the logs carries a token in clear.
    on_disk = b"".join(
        p.read_bytes() for p in world.db_path.parent.iterdir() if p.name.startswith("vault.db")
    )
    assert any(p.name.endswith("-wal") for p in world.db_path.parent.iterdir())
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "token_refreshed" in logged
    for secret in secrets:
        assert secret and secret.encode() not in on_disk
        assert secret not in logged
