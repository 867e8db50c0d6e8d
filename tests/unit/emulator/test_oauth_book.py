"""Token bookkeeping of the emulated accounts server, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sallakit.emulator._oauth import (
    AppRegistration,
    Grant,
    OAuthFailure,
    TokenBook,
    token_response,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)
APP = AppRegistration(1, "cid", "secret", "App", "https://app.example/cb", ("products.read",))
OTHER = AppRegistration(2, "other", "secret", "Other", "https://o.example/cb", ())


def _grant(book: TokenBook, scopes=("products.read", "offline_access")) -> Grant:
    return book.issue_grant("cid", 7, scopes, NOW)


def test_code_flow_single_use_and_bound_to_client_and_redirect():
    book = TokenBook()
    code = book.issue_code(APP, 7, ["products.read", "offline_access"], APP.redirect_uri, NOW)
    assert isinstance(book.exchange_code(OTHER, code.code, None, NOW), OAuthFailure)
    assert isinstance(book.exchange_code(APP, code.code, "https://evil.example", NOW), OAuthFailure)
    grant = book.exchange_code(APP, code.code, APP.redirect_uri, NOW)
    assert isinstance(grant, Grant)
    replay = book.exchange_code(APP, code.code, APP.redirect_uri, NOW)
    assert isinstance(replay, OAuthFailure) and replay.error == "invalid_grant"
    assert book.authenticate(grant.access_token, NOW) is None


def test_token_response_shape():
    book = TokenBook()
    grant = _grant(book)
    body = token_response(grant, NOW)
    assert body["expires_in"] == 14 * 86400 - 1
    assert body["scope"] == "products.read offline_access"
    assert list(token_response(book.issue_grant("cid", 7, ["x.read"], NOW), NOW)) == [
        "access_token",
        "expires_in",
        "scope",
        "token_type",
    ]
    assert "expires" in token_response(grant, NOW, expires_field="expires")


def test_refresh_rotation_reuse_revokes_everything():
    book = TokenBook()
    grant = _grant(book)
    first_rt, first_at = grant.refresh_token, grant.access_token
    assert first_rt is not None
    rotated = book.refresh(APP, first_rt, NOW)
    assert isinstance(rotated, Grant) and rotated.refresh_token != first_rt
    assert book.authenticate(first_at, NOW) is None
    assert book.authenticate(rotated.access_token, NOW) is rotated
    reused = book.refresh(APP, first_rt, NOW)
    assert isinstance(reused, OAuthFailure) and reused.status == 401
    assert book.authenticate(rotated.access_token, NOW) is None
    assert rotated.refresh_token is not None
    assert isinstance(book.refresh(APP, rotated.refresh_token, NOW), OAuthFailure)
    assert book.counters["token_refreshes"][7] == 1
    assert book.counters["invalid_grant"][7] == 2


def test_expiry():
    book = TokenBook(invalid_grant_status=400)
    grant = _grant(book)
    assert book.authenticate(grant.access_token, NOW + timedelta(days=14, seconds=-1))
    assert book.authenticate(grant.access_token, NOW + timedelta(days=14)) is None
    assert grant.refresh_token is not None
    late = book.refresh(APP, grant.refresh_token, NOW + timedelta(days=30))
    assert isinstance(late, OAuthFailure) and late.status == 400


def test_revoke_store_per_app():
    book = TokenBook()
    mine = _grant(book)
    theirs = book.issue_grant("other", 7, ["x.read"], NOW)
    assert book.revoke_store(7, "cid") == 1
    assert book.authenticate(mine.access_token, NOW) is None
    assert book.authenticate(theirs.access_token, NOW) is theirs
