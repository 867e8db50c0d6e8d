"""The library reads the same SALLAKIT_* settings as the CLI, through from_settings()."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry, Salla
from sallakit.auth import TokenVault, generate_key
from sallakit.settings import Settings


def test_clients_take_the_api_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALLAKIT_API_BASE_URL", "http://127.0.0.1:8765/admin/v2")
    assert AsyncSalla.from_settings(access_token="tok").base_url == (
        "http://127.0.0.1:8765/admin/v2"
    )
    assert Salla.from_settings(access_token="tok").base_url == "http://127.0.0.1:8765/admin/v2"
    explicit = Salla.from_settings(Settings(api_base_url="http://h/admin/v2"), "tok")
    assert explicit.base_url == "http://h/admin/v2"


def test_a_vault_from_settings_refreshes_and_builds_clients_on_the_configured_api(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'v.db'}",
        token_keys=generate_key(),
        client_id="cid",
        client_secret="secret",
        accounts_url="http://127.0.0.1:9/",
        api_base_url="http://127.0.0.1:9/admin/v2",
    )
    vault = TokenVault.from_settings(settings)
    assert vault.oauth is not None and vault.async_oauth is not None
    with caplog.at_level(logging.WARNING):
        client = vault.client(7, governor=GovernorRegistry())
        async_client = vault.async_client(7, governor=GovernorRegistry())
    assert client.base_url == async_client.base_url == "http://127.0.0.1:9/admin/v2"
    assert not [r for r in caplog.records if getattr(r, "action", "") == "vault_cannot_refresh"]
    client.close()


def test_a_vault_that_cannot_refresh_says_so_when_its_client_is_built(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'v.db'}", token_keys=generate_key())
    vault = TokenVault.from_settings(settings)
    assert vault.oauth is None
    with caplog.at_level(logging.WARNING):
        vault.client(7, transport=httpx2.MockTransport(lambda r: httpx2.Response(200)))
    warned = [r for r in caplog.records if getattr(r, "action", "") == "vault_cannot_refresh"]
    assert warned and "cannot be refreshed" in warned[0].getMessage()
