"""Parity: the generated sync ``Salla`` against the emulator's sync transport (written by hand)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from sallakit._exceptions import (
    InvalidTokenError,
    MissingScopeError,
    NotFoundError,
    ReinstallRequiredError,
    UnprocessableEntityError,
)
from sallakit.api import GovernorRegistry, Salla, TokenProvider
from sallakit.emulator import Emulator

from .conftest import (
    ACCOUNTS,
    EmulatorClock,
    new_emulator,
    requests_to,
    status_count,
)

FIFTEEN_DAYS = 15 * 24 * 3600


class SyncEmulatorTokenProvider:
    """A sync ``TokenProvider`` refreshing through the emulator's ``/oauth2/token``."""

    def __init__(self, emulator: Emulator, access_token: str, refresh_token: str) -> None:
        self.emulator = emulator
        self.access_token = access_token
        self.refresh = refresh_token
        self.refreshes = 0
        self.store_id = emulator.stores[0].id  # keys the store's rate-limit governor

    def get_token(self) -> str:
        return self.access_token

    def refresh_token(self, rejected_token: str) -> str:
        app = self.emulator.default_app
        with httpx2.Client(transport=self.emulator.sync_transport(), base_url=ACCOUNTS) as http:
            response = http.post(
                "/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh,
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                },
            )
        body = response.json()
        if body.get("error") == "invalid_grant":
            raise ReinstallRequiredError(description=body.get("error_description"))
        self.refreshes += 1
        self.access_token, self.refresh = body["access_token"], body["refresh_token"]
        return self.access_token


def test_sync_product_lifecycle(make_sync_client: Any) -> None:
    salla: Salla = make_sync_client()
    created = salla.products.create(name="عسل سدر", price=120, product_type="product", sku="HNY")
    pid = created.id
    assert salla.products.retrieve(pid).name == "عسل سدر"
    assert salla.products.retrieve_by_sku("HNY").id == pid
    salla.products.update(pid, price=130)
    product = salla.products.retrieve(pid)
    assert product.price is not None and product.price.amount == 130
    salla.products.delete(pid)
    with pytest.raises(NotFoundError) as ar:
        salla.products.retrieve(pid)
    assert ar.value.message == "المحتوى الذي تحاول الوصول اليه غير متوفر"
    with pytest.raises(NotFoundError) as en:
        salla.products.retrieve(pid, language="en")
    assert en.value.message == "The content you are trying to access is no longer available"
    with pytest.raises(UnprocessableEntityError) as invalid:
        salla.customers.create(first_name="x")
    assert "mobile" in invalid.value.fields


def test_sync_pagination(make_sync_client: Any) -> None:
    em = new_emulator(products=130)
    salla: Salla = make_sync_client(
        em.issue_tokens()["access_token"], transport=em.sync_transport()
    )
    ids = [p.id for p in salla.products.list()]
    assert len(ids) == len(set(ids)) == 130
    assert [len(page) for page in salla.products.list().pages()] == [60, 60, 10]
    assert requests_to(em, "products.list") == 6


def test_sync_missing_scope(make_sync_client: Any, emulator: Emulator) -> None:
    salla: Salla = make_sync_client(emulator.issue_tokens(scopes=["orders.read"])["access_token"])
    with pytest.raises(MissingScopeError) as info:
        list(salla.products.list())
    assert info.value.scopes == ["products.read"]
    assert list(salla.orders.list())


def test_sync_burst_sees_no_429(make_sync_client: Any) -> None:
    em = new_emulator(plan="10")
    clock = EmulatorClock(em)
    salla: Salla = make_sync_client(
        em.issue_tokens()["access_token"],
        transport=em.sync_transport(),
        governor=GovernorRegistry(clock=clock),
    )
    for _ in range(30):
        salla.store.info()
    assert status_count(em, 200) == 30
    assert status_count(em, 429) == 0
    assert clock.slept > 0


def test_sync_5xx_get_retried(make_sync_client: Any, emulator: Emulator) -> None:
    salla: Salla = make_sync_client()
    emulator.inject_fault("error", endpoint="store.info", status=502, remaining=2)
    assert salla.store.info().id == emulator.stores[0].id
    assert requests_to(emulator, "store.info") == 3


def test_sync_token_provider_refresh_and_reuse(
    make_sync_client: Any, emulator: Emulator, tokens: dict[str, Any]
) -> None:
    provider = SyncEmulatorTokenProvider(emulator, tokens["access_token"], tokens["refresh_token"])
    assert isinstance(provider, TokenProvider)
    emulator.advance(FIFTEEN_DAYS)
    with pytest.raises(InvalidTokenError):
        make_sync_client().store.info()
    salla: Salla = make_sync_client(token_provider=provider)
    assert salla.store.info().id == emulator.stores[0].id
    assert provider.refreshes == 1

    stale = SyncEmulatorTokenProvider(emulator, tokens["access_token"], tokens["refresh_token"])
    with pytest.raises(ReinstallRequiredError):
        make_sync_client(token_provider=stale).store.info()
    with pytest.raises(InvalidTokenError):
        make_sync_client(provider.access_token).store.info()
