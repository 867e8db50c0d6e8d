"""The emulated accounts server: consent, code exchange, refresh rotation, revocation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from sallakit.emulator import Emulator

pytestmark = pytest.mark.anyio


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _auth_params(em: Emulator, **extra: str) -> dict[str, str]:
    app = em.default_app
    return {
        "client_id": app.client_id,
        "response_type": "code",
        "redirect_uri": app.redirect_uri,
        "scope": "offline_access",
        "state": "st-123",
        **extra,
    }


def _token_form(em: Emulator, **fields: str) -> dict[str, str]:
    app = em.default_app
    return {"client_id": app.client_id, "client_secret": app.client_secret, **fields}


async def _code(accounts: httpx2.AsyncClient, em: Emulator, scope: str = "offline_access") -> str:
    page = await accounts.get("/oauth2/auth", params=_auth_params(em, scope=scope))
    assert page.status_code == 200
    answer = await accounts.post(
        "/oauth2/auth",
        data={
            **_auth_params(em, scope=scope),
            "store_id": str(em.stores[0].id),
            "decision": "approve",
        },
    )
    assert answer.status_code == 302
    return _query(answer.headers["location"])["code"]


async def test_consent_page_lists_stores_and_posts_back(emulator, accounts):
    page = await accounts.get("/oauth2/auth", params=_auth_params(emulator))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert f'value="{emulator.stores[0].id}"' in html
    assert 'name="decision" value="approve"' in html and 'value="deny"' in html
    assert 'method="post" action="/oauth2/auth"' in html


async def test_approve_redirects_to_exact_redirect_uri_with_code_scope_state(emulator, accounts):
    answer = await accounts.post(
        "/oauth2/auth",
        data={
            **_auth_params(emulator),
            "store_id": str(emulator.stores[0].id),
            "decision": "approve",
        },
    )
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(emulator.default_app.redirect_uri + "?")
    query = _query(location)
    assert query["state"] == "st-123"
    assert query["code"]
    scopes = query["scope"].split(" ")
    assert "offline_access" in scopes and "products.read_write" in scopes


async def test_deny_redirects_with_access_denied(emulator, accounts):
    answer = await accounts.post(
        "/oauth2/auth", data={**_auth_params(emulator), "decision": "deny"}
    )
    assert answer.status_code == 302
    query = _query(answer.headers["location"])
    assert query["error"] == "access_denied" and query["state"] == "st-123"
    assert "code" not in query


@pytest.mark.parametrize(
    "override",
    [{"client_id": "nope"}, {"redirect_uri": "https://evil.example/callback"}],
)
async def test_unknown_client_or_redirect_mismatch_is_an_error_page(emulator, accounts, override):
    page = await accounts.get("/oauth2/auth", params=_auth_params(emulator, **override))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert 'id="error"' in page.text


async def test_auto_approve_redirects_at_once_for_first_or_given_store(make_emulator):
    em = make_emulator(auto_approve=True, stores=2)
    async with httpx2.AsyncClient(transport=em.async_transport(), base_url="https://a") as c:
        first = await c.get("/oauth2/auth", params=_auth_params(em))
        second = await c.get("/oauth2/auth", params=_auth_params(em, store_id=str(em.stores[1].id)))
        assert first.status_code == second.status_code == 302
        for answer, store in ((first, em.stores[0]), (second, em.stores[1])):
            code = _query(answer.headers["location"])["code"]
            tokens = (
                await c.post(
                    "/oauth2/token",
                    data=_token_form(em, grant_type="authorization_code", code=code),
                )
            ).json()
            info = await c.get(
                "/oauth2/user/info", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            assert info.json()["data"]["merchant"]["id"] == store.id


async def test_code_exchange_and_single_use_codes(emulator, accounts):
    code = await _code(accounts, emulator)
    form = _token_form(
        emulator,
        grant_type="authorization_code",
        code=code,
        redirect_uri=emulator.default_app.redirect_uri,
    )
    first = await accounts.post("/oauth2/token", data=form)
    assert first.status_code == 200
    body = first.json()
    assert body["access_token"].startswith("ory_at_")
    assert body["refresh_token"].startswith("ory_rt_")
    assert body["expires_in"] in (1209599, 1209600)
    assert body["token_type"] == "bearer"
    assert "offline_access" in body["scope"].split(" ")

    again = await accounts.post("/oauth2/token", data=form)
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_grant"
    # Replaying a code revokes what it issued.
    assert emulator.grant_for(body["access_token"]) is None


async def test_code_expires_after_ten_minutes(emulator, accounts):
    code = await _code(accounts, emulator)
    emulator.advance(601)
    answer = await accounts.post(
        "/oauth2/token", data=_token_form(emulator, grant_type="authorization_code", code=code)
    )
    assert answer.json()["error"] == "invalid_grant"


async def test_no_refresh_token_without_offline_access(emulator, accounts):
    code = await _code(accounts, emulator, scope="products.read")
    body = (
        await accounts.post(
            "/oauth2/token", data=_token_form(emulator, grant_type="authorization_code", code=code)
        )
    ).json()
    assert "refresh_token" not in body
    assert "offline_access" not in body["scope"].split(" ")


async def test_expires_mode_prints_expires_for_the_code_exchange(make_emulator):
    em = make_emulator(expires_field="expires", auto_approve=True)
    async with httpx2.AsyncClient(transport=em.async_transport(), base_url="https://a") as c:
        code = _query((await c.get("/oauth2/auth", params=_auth_params(em))).headers["location"])[
            "code"
        ]
        body = (
            await c.post(
                "/oauth2/token", data=_token_form(em, grant_type="authorization_code", code=code)
            )
        ).json()
        assert body["expires"] == 1209599 and "expires_in" not in body
        refreshed = (
            await c.post(
                "/oauth2/token",
                data=_token_form(
                    em, grant_type="refresh_token", refresh_token=body["refresh_token"]
                ),
            )
        ).json()
        assert "expires_in" in refreshed


async def test_bad_client_credentials_are_invalid_client(emulator, accounts):
    answer = await accounts.post(
        "/oauth2/token",
        data={
            "client_id": emulator.default_app.client_id,
            "client_secret": "wrong",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_refresh_rotates_and_retires_the_old_tokens(emulator, accounts, api):
    tokens = emulator.issue_tokens()
    answer = await accounts.post(
        "/oauth2/token",
        data=_token_form(
            emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        ),
    )
    assert answer.status_code == 200
    new = answer.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    async with api(new["access_token"]) as client:
        assert (await client.get("/store/info")).status_code == 200
    async with api(tokens["access_token"]) as client:
        assert (await client.get("/store/info")).status_code == 401
    store_id = emulator.stores[0].id
    assert emulator.counters()["token_refreshes"] == {store_id: 1}


async def test_refresh_token_reuse_revokes_the_whole_grant(emulator, accounts, api):
    tokens = emulator.issue_tokens()
    form = _token_form(emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    current = (await accounts.post("/oauth2/token", data=form)).json()

    reused = await accounts.post("/oauth2/token", data=form)
    assert reused.status_code == 401
    assert reused.json()["error"] == "invalid_grant"
    assert reused.json()["error_description"]

    async with api(current["access_token"]) as client:
        denied = await client.get("/products")
    assert denied.status_code == 401
    assert denied.json() == {
        "status": 401,
        "success": False,
        "error": {"code": "Unauthorized", "message": "The access token is invalid"},
    }
    # The newest refresh token died with the grant.
    latest = await accounts.post(
        "/oauth2/token",
        data=_token_form(
            emulator, grant_type="refresh_token", refresh_token=current["refresh_token"]
        ),
    )
    assert latest.json()["error"] == "invalid_grant"
    assert emulator.counters()["invalid_grant"][emulator.stores[0].id] == 2


async def test_invalid_grant_status_can_be_400(make_emulator):
    em = make_emulator(invalid_grant_status=400)
    async with httpx2.AsyncClient(transport=em.async_transport(), base_url="https://a") as c:
        answer = await c.post(
            "/oauth2/token",
            data=_token_form(em, grant_type="refresh_token", refresh_token="ory_rt_x"),
        )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_tokens_expire_by_the_emulator_clock(emulator, accounts, api):
    tokens = emulator.issue_tokens()
    emulator.advance(timedelta(days=14).total_seconds() - 5)
    async with api(tokens["access_token"]) as client:
        assert (await client.get("/store/info")).status_code == 200
        emulator.advance(10)
        assert (await client.get("/store/info")).status_code == 401
    # The refresh token still works (30 days) ...
    refreshed = await accounts.post(
        "/oauth2/token",
        data=_token_form(
            emulator, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        ),
    )
    assert refreshed.status_code == 200
    # ... and a refresh token older than 30 days is invalid_grant.
    emulator.advance(timedelta(days=30).total_seconds() + 1)
    expired = await accounts.post(
        "/oauth2/token",
        data=_token_form(
            emulator, grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"]
        ),
    )
    assert expired.json()["error"] == "invalid_grant"


async def test_user_info_on_both_hosts(emulator, accounts, api):
    tokens = emulator.issue_tokens(scopes=["products.read"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    accounts_answer = (await accounts.get("/oauth2/user/info", headers=headers)).json()
    async with api(tokens["access_token"]) as client:
        api_answer = (await client.get("/oauth2/user/info")).json()
    assert accounts_answer == api_answer
    data = accounts_answer["data"]
    store = emulator.stores[0]
    assert accounts_answer["status"] == 200 and accounts_answer["success"] is True
    assert set(data) >= {
        "id",
        "name",
        "email",
        "mobile",
        "role",
        "created_at",
        "merchant",
        "context",
    }
    assert data["merchant"]["id"] == store.id and data["merchant"]["plan"] == store.plan
    assert data["context"]["scope"] == "products.read"
    assert data["context"]["exp"] == int((emulator.now() + timedelta(days=14)).timestamp())
    bad = await accounts.get("/oauth2/user/info", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
