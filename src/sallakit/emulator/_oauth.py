"""OAuth bookkeeping of the emulated accounts server (codes, grants, tokens), without I/O.

It reproduces what Salla's Ory-Hydra-based server does and what integrations trip over:

- authorization codes are single-use and live 10 minutes; replaying one revokes what it issued;
- access tokens (``ory_at_``) live 14 days, refresh tokens (``ory_rt_``) 30 days;
- no refresh token is issued without the ``offline_access`` scope;
- refresh tokens are single-use and rotate; a refresh also retires the previous access token;
- presenting an already-used refresh token answers ``invalid_grant`` **and revokes the whole
  grant**, so the current tokens stop working too (the merchant must reinstall).

Every method takes ``now`` from the emulator clock. Errors are returned as :class:`OAuthFailure`
values (the HTTP layer renders them) rather than raised through the app.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "ACCESS_TTL",
    "CODE_TTL",
    "INVALID_GRANT_DESCRIPTION",
    "REFRESH_TTL",
    "AppRegistration",
    "AuthCode",
    "Grant",
    "OAuthFailure",
    "TokenBook",
    "token_response",
]

ACCESS_TTL = timedelta(days=14)
REFRESH_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=10)
OFFLINE_ACCESS = "offline_access"

INVALID_GRANT_DESCRIPTION = (
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or "
    "refresh token is invalid, expired, revoked, does not match the redirection URI used in the "
    "authorization request, or was issued to another client."
)


@dataclass(slots=True)
class AppRegistration:
    """An app as registered in the Partners Portal: credentials, redirect URI, webhook target."""

    id: int
    client_id: str
    client_secret: str
    name: str
    redirect_uri: str
    scopes: tuple[str, ...]
    """The scopes the app asks for (granted as a whole on install)."""
    webhook_url: str | None = None
    webhook_secret: str = ""
    security_strategy: str = "signature"
    """``signature``, ``token`` or ``none``: how deliveries to this app are authenticated."""
    easy_mode: bool = False
    """Easy mode: approving the consent page sends ``app.store.authorize`` instead of a code."""


@dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    store_id: int
    scopes: tuple[str, ...]
    redirect_uri: str
    expires_at: datetime
    used: bool = False
    grant_id: int | None = None


@dataclass(slots=True)
class Grant:
    """One authorization of an app by a store; its tokens rotate, the grant stays."""

    id: int
    client_id: str
    store_id: int
    scopes: tuple[str, ...]
    issued_at: datetime
    access_token: str
    access_expires_at: datetime
    refresh_token: str | None
    refresh_expires_at: datetime | None
    revoked: bool = False
    refreshes: int = 0

    @property
    def scope_string(self) -> str:
        return " ".join(self.scopes)


@dataclass(frozen=True, slots=True)
class OAuthFailure:
    """An OAuth error answer: ``{"error": error, "error_description": description}``."""

    status: int
    error: str
    description: str

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _invalid_grant(status: int, detail: str = "") -> OAuthFailure:
    return OAuthFailure(status, "invalid_grant", f"{INVALID_GRANT_DESCRIPTION} {detail}".strip())


@dataclass
class TokenBook:
    """Every code, grant and token the emulated accounts server has issued.

    Args:
        invalid_grant_status: HTTP status of ``invalid_grant`` answers: Salla's docs say 401, a
            stock Hydra sends 400.
    """

    invalid_grant_status: int = 401
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[int, Grant] = field(default_factory=dict)
    access_index: dict[str, int] = field(default_factory=dict)
    refresh_index: dict[str, int] = field(default_factory=dict)
    """Every refresh token ever issued (used ones included, to detect reuse) -> grant id."""
    used_refresh: set[str] = field(default_factory=set)
    counters: dict[str, Counter[int]] = field(
        default_factory=lambda: {
            "token_refreshes": Counter(),
            "grants_issued": Counter(),
            "invalid_grant": Counter(),
            "codes_issued": Counter(),
        }
    )
    _next_grant: int = 1

    # ---------------------------------------------------------------------- codes and grants

    def issue_code(
        self,
        app: AppRegistration,
        store_id: int,
        scopes: Iterable[str],
        redirect_uri: str,
        now: datetime,
    ) -> AuthCode:
        """Issue a single-use authorization code for a consented store."""
        code = AuthCode(
            code=f"ory_ac_{secrets.token_urlsafe(32)}",
            client_id=app.client_id,
            store_id=store_id,
            scopes=tuple(scopes),
            redirect_uri=redirect_uri,
            expires_at=now + CODE_TTL,
        )
        self.codes[code.code] = code
        self.counters["codes_issued"][store_id] += 1
        return code

    def issue_grant(
        self, client_id: str, store_id: int, scopes: Iterable[str], now: datetime
    ) -> Grant:
        """Create a grant with a fresh token pair (no refresh token without offline_access)."""
        scopes = tuple(dict.fromkeys(scopes))
        offline = OFFLINE_ACCESS in scopes
        grant = Grant(
            id=self._next_grant,
            client_id=client_id,
            store_id=store_id,
            scopes=scopes,
            issued_at=now,
            access_token=_access_token(),
            access_expires_at=now + ACCESS_TTL,
            refresh_token=_refresh_token() if offline else None,
            refresh_expires_at=now + REFRESH_TTL if offline else None,
        )
        self._next_grant += 1
        self.grants[grant.id] = grant
        self.access_index[grant.access_token] = grant.id
        if grant.refresh_token:
            self.refresh_index[grant.refresh_token] = grant.id
        self.counters["grants_issued"][store_id] += 1
        return grant

    def revoke(self, grant: Grant) -> None:
        """Revoke a grant: its current access and refresh tokens stop working."""
        grant.revoked = True

    def revoke_store(self, store_id: int, client_id: str | None = None) -> int:
        """Revoke every live grant of a store (optionally for one app); return how many."""
        count = 0
        for grant in self.grants.values():
            mine = client_id is None or grant.client_id == client_id
            if grant.store_id == store_id and not grant.revoked and mine:
                grant.revoked = True
                count += 1
        return count

    # -------------------------------------------------------------------------- token grant

    def exchange_code(
        self, app: AppRegistration, code: str, redirect_uri: str | None, now: datetime
    ) -> Grant | OAuthFailure:
        """The ``authorization_code`` grant."""
        record = self.codes.get(code)
        if record is None or record.client_id != app.client_id:
            return _invalid_grant(self.invalid_grant_status)
        if record.used:
            # RFC 6749 §4.1.2: a replayed code should revoke the tokens it already issued.
            if record.grant_id is not None:
                self.revoke(self.grants[record.grant_id])
            self.counters["invalid_grant"][record.store_id] += 1
            return _invalid_grant(self.invalid_grant_status, "The authorization code was used.")
        if now >= record.expires_at:
            self.counters["invalid_grant"][record.store_id] += 1
            return _invalid_grant(self.invalid_grant_status, "The authorization code expired.")
        if redirect_uri is not None and redirect_uri != record.redirect_uri:
            return _invalid_grant(self.invalid_grant_status)
        record.used = True
        grant = self.issue_grant(app.client_id, record.store_id, record.scopes, now)
        record.grant_id = grant.id
        return grant

    def refresh(
        self, app: AppRegistration, refresh_token: str, now: datetime
    ) -> Grant | OAuthFailure:
        """The ``refresh_token`` grant: rotate both tokens, or revoke the grant on reuse."""
        grant_id = self.refresh_index.get(refresh_token)
        grant = self.grants.get(grant_id) if grant_id is not None else None
        if grant is None or grant.client_id != app.client_id:
            return _invalid_grant(self.invalid_grant_status)
        if refresh_token in self.used_refresh or grant.revoked:
            # The documented trap: a second use kills the whole grant, current tokens included.
            self.revoke(grant)
            self.counters["invalid_grant"][grant.store_id] += 1
            return _invalid_grant(self.invalid_grant_status, "The refresh token was used.")
        if grant.refresh_expires_at is None or now >= grant.refresh_expires_at:
            self.counters["invalid_grant"][grant.store_id] += 1
            return _invalid_grant(self.invalid_grant_status, "The refresh token expired.")
        self.used_refresh.add(refresh_token)
        # Hydra retires the access token issued with the old refresh token.
        self.access_index.pop(grant.access_token, None)
        grant.access_token = _access_token()
        grant.access_expires_at = now + ACCESS_TTL
        grant.refresh_token = _refresh_token()
        grant.refresh_expires_at = now + REFRESH_TTL
        grant.refreshes += 1
        self.access_index[grant.access_token] = grant.id
        self.refresh_index[grant.refresh_token] = grant.id
        self.counters["token_refreshes"][grant.store_id] += 1
        return grant

    # ------------------------------------------------------------------------- resource side

    def authenticate(self, access_token: str, now: datetime) -> Grant | None:
        """The live grant behind an access token, or None (unknown, expired or revoked)."""
        grant_id = self.access_index.get(access_token)
        if grant_id is None:
            return None
        grant = self.grants[grant_id]
        if grant.revoked or grant.access_token != access_token or now >= grant.access_expires_at:
            return None
        return grant


def token_response(
    grant: Grant, now: datetime, *, expires_field: str = "expires_in"
) -> dict[str, object]:
    """The JSON body of ``/oauth2/token`` for a grant.

    Args:
        expires_field: ``expires_in`` (what the server really sends) or ``expires`` (what
            Salla's docs print for the code exchange); either way a duration in seconds.
    """
    # Hydra answers one second short of the lifetime, hence 1209599 for 14 days.
    remaining = int((grant.access_expires_at - now).total_seconds()) - 1
    body: dict[str, object] = {"access_token": grant.access_token, expires_field: remaining}
    if grant.refresh_token:
        body["refresh_token"] = grant.refresh_token
    body["scope"] = grant.scope_string
    body["token_type"] = "bearer"
    return body


def _access_token() -> str:
    return f"ory_at_{secrets.token_urlsafe(32)}"


def _refresh_token() -> str:
    return f"ory_rt_{secrets.token_urlsafe(32)}"
