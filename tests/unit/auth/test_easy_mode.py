"""The Easy mode endpoint: 200 only after the commit, 401/413/400 for bad input, 5xx on failure."""

from __future__ import annotations

import json

import httpx2
import pytest

from sallakit.auth import EasyMode, StoreStatus, TokenVault, easy_mode_app
from sallakit.webhooks import compute_signature

from .conftest import NOW

#: These tests cover the deprecated standalone endpoint; test_easy_consumer.py covers the
#: receiver path.
pytestmark = pytest.mark.filterwarnings("ignore:easy_mode_app is deprecated:DeprecationWarning")

SECRET = "whsec-test"


def _authorize_body(access: str = "ory_at_e", expires: int = 1_760_000_000) -> bytes:
    return json.dumps(
        {
            "event": "app.store.authorize",
            "merchant": 321,
            "created_at": "2025-01-01 10:00:00",
            "data": {
                "access_token": access,
                "refresh_token": "ory_rt_e",
                "expires": expires,
                "scope": "settings.read offline_access",
                "token_type": "bearer",
            },
        }
    ).encode()


async def _post(app: object, body: bytes, headers: dict[str, str]) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx2.AsyncClient(transport=transport, base_url="http://app.test") as http:
        return await http.post("/", content=body, headers=headers)


@pytest.mark.anyio
async def test_authorize_is_stored_before_200(vault: TokenVault) -> None:
    app = easy_mode_app(EasyMode(vault, SECRET))
    body = _authorize_body()
    response = await _post(app, body, {"X-Salla-Signature": compute_signature(body, SECRET)})
    assert response.status_code == 200
    record = vault.get(321)
    assert record.status is StoreStatus.ACTIVE
    assert record.expires_at == 1_760_000_000  # an absolute epoch, not NOW + 1.76e9
    assert record.expires_at < NOW + 10**9


@pytest.mark.anyio
async def test_redelivered_authorize_does_not_restore_old_tokens(vault: TokenVault) -> None:
    easy = EasyMode(vault, SECRET)
    first = _authorize_body("ory_at_first")
    headers = {"X-Salla-Signature": compute_signature(first, SECRET)}
    await easy.handle_app_event(first, headers)
    second = _authorize_body("ory_at_second")
    await easy.handle_app_event(second, {"X-Salla-Signature": compute_signature(second, SECRET)})
    await easy.handle_app_event(first, headers)  # Salla retries the first delivery late
    assert vault.tokens(321).access_token == "ory_at_second"
    assert vault.get(321).generation == 2


@pytest.mark.anyio
async def test_bad_requests(vault: TokenVault) -> None:
    easy = EasyMode(vault, SECRET, max_body_size=2000)
    app = easy_mode_app(easy)
    body = _authorize_body()
    assert (await _post(app, body, {"X-Salla-Signature": "00" * 32})).status_code == 401
    assert (await _post(app, body, {})).status_code == 401
    big = b" " * 3000
    assert (
        await _post(app, big, {"X-Salla-Signature": compute_signature(big, SECRET)})
    ).status_code == 413
    junk = b"not json"
    assert (
        await _post(app, junk, {"X-Salla-Signature": compute_signature(junk, SECRET)})
    ).status_code == 400
    assert vault.list_stores() == []
