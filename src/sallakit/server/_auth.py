"""Dashboard login: admin credentials, signed sessions and CSRF tokens.

A session is a cookie sealed with Fernet (AES + HMAC, from ``cryptography``) under a key derived
from ``SALLAKIT_SESSION_SECRET``, so every web process with the same secret reads it and nothing
is stored server-side. It carries a random session id, the CSRF token of its forms and, once
logged in, who logged in. Fernet's timestamp bounds its age. A new session is minted at login,
so a session id planted before the login is worthless after it.

Anonymous visitors get the login page, the health checks and the webhook endpoint only; every
other route depends on :func:`require_user` (browsers are sent to the login page, API clients
get 401). Forms carry the session's CSRF token (field ``csrf_token`` or header ``X-CSRF-Token``).
The JSON endpoints and ``/metrics`` also accept ``Authorization: Bearer <SALLAKIT_ADMIN_TOKEN>``,
which needs no CSRF token since no browser sends it on its own.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import HTTPException, Request

from sallakit._exceptions import ConfigurationError

__all__ = [
    "COOKIE_NAME",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Credentials",
    "Session",
    "SessionCodec",
    "safe_next",
]

COOKIE_NAME = "sallakit_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Session:
    """What a session cookie holds (``user`` is None before the login)."""

    sid: str
    csrf: str
    user: str | None = None

    @property
    def logged_in(self) -> bool:
        """Whether the session belongs to a logged-in user."""
        return self.user is not None


class SessionCodec:
    """Seals sessions into cookie values and opens them.

    Args:
        secret: ``SALLAKIT_SESSION_SECRET``.
        max_age: seconds a session stays valid after it was issued.
        clock: epoch seconds (injectable for tests).
    """

    def __init__(
        self, secret: str, *, max_age: int, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ConfigurationError("the dashboard needs SALLAKIT_SESSION_SECRET")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"sallakit-session", info=b"v1"
        ).derive(secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self.max_age = max_age
        self._clock = clock

    def __repr__(self) -> str:
        return f"SessionCodec(max_age={self.max_age})"

    def new(self, user: str | None = None) -> Session:
        """A fresh session with a new id and CSRF token."""
        return Session(sid=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(24), user=user)

    def seal(self, session: Session) -> str:
        """The cookie value of ``session``."""
        payload = json.dumps({"sid": session.sid, "csrf": session.csrf, "user": session.user})
        return self._fernet.encrypt_at_time(payload.encode(), int(self._clock())).decode("ascii")

    def open(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``; None when absent, forged, expired or malformed."""
        if not cookie:
            return None
        try:
            raw = self._fernet.decrypt_at_time(
                cookie.encode("ascii"), ttl=self.max_age, current_time=int(self._clock())
            )
            data = json.loads(raw)
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        sid, csrf, user = data.get("sid"), data.get("csrf"), data.get("user")
        if not isinstance(sid, str) or not isinstance(csrf, str):
            return None
        return Session(sid=sid, csrf=csrf, user=user if isinstance(user, str) else None)


class Credentials:
    """The admin password and token from the settings; compared in constant time."""

    def __init__(self, password: str | None, token: str | None) -> None:
        if not password and not token:
            raise ConfigurationError(
                "the dashboard needs SALLAKIT_ADMIN_PASSWORD or SALLAKIT_ADMIN_TOKEN"
            )
        self._password = (password or "").encode("utf-8")
        self._token = (token or "").encode("utf-8")

    def __repr__(self) -> str:
        return "Credentials(***)"

    def check_login(self, given: str) -> bool:
        """Whether ``given`` (the login form's field) is the password or the token."""
        raw = given.encode("utf-8")
        # Both comparisons always run, so the timing does not tell which secret is configured.
        by_password = bool(self._password) & hmac.compare_digest(raw, self._password)
        by_token = bool(self._token) & hmac.compare_digest(raw, self._token)
        return bool(raw) and (by_password or by_token)

    def check_bearer(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the admin token."""
        if not self._token or not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode("utf-8"), self._token)


def safe_next(target: str | None, default: str = "/dashboard/") -> str:
    """A local path to go to after the login; anything else (another host) becomes ``default``."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target


class LoginRequired(Exception):
    """Raised by :func:`require_user` for an anonymous browser: the app redirects to the login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def current_session(request: Request) -> Session | None:
    """The request's session (None if it has no valid cookie)."""
    codec: SessionCodec = request.app.state.sessions
    return codec.open(request.cookies.get(COOKIE_NAME))


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def require_user(request: Request) -> Session | None:
    """FastAPI dependency: the logged-in session, or None for a valid bearer token.

    Raises:
        LoginRequired: an anonymous browser (the app answers with a redirect to the login).
        HTTPException: 401 for anything else anonymous.
    """
    credentials: Credentials = request.app.state.credentials
    if credentials.check_bearer(request.headers.get("authorization")):
        return None
    session = current_session(request)
    if session is not None and session.logged_in:
        return session
    if request.method == "GET" and _wants_html(request):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    raise HTTPException(
        status_code=401,
        detail="log in at /login, or send Authorization: Bearer <SALLAKIT_ADMIN_TOKEN>",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for state-changing routes: the session's CSRF token must come along.

    A bearer-token request is exempt (browsers never attach it on their own).

    Raises:
        HTTPException: 403 when the token is missing or wrong.
    """
    credentials: Credentials = request.app.state.credentials
    if credentials.check_bearer(request.headers.get("authorization")):
        return
    session = current_session(request)
    given: Any = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = (await request.form()).get(CSRF_FIELD)
    if (
        session is None
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), session.csrf.encode())
    ):
        raise HTTPException(
            status_code=403, detail="missing or wrong CSRF token: reload the page and try again"
        )
