"""Token values and the pure interpretation of the accounts server's answers."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sallakit._exceptions import (
    ConfigurationError,
    RedirectURIMismatchError,
    ReinstallRequiredError,
    TokenExchangeError,
)

__all__ = [
    "CONNECT_FAILED",
    "DEFAULT_EXPIRY",
    "EPOCH_THRESHOLD",
    "INVALID_EXPIRY",
    "MAX_TOKEN_LIFETIME",
    "UNKNOWN_OUTCOME",
    "TokenSet",
    "UserInfo",
    "parse_expiry",
    "parse_scopes",
    "parse_token_response",
    "parse_user_info",
    "refresh_outcome",
]

logger = logging.getLogger(__name__)

#: ``expires`` values above this are absolute Unix timestamps (2001-09-09 onwards); below it they
#: are durations in seconds. Salla sends a duration from /oauth2/token (``expires`` or
#: ``expires_in``, ~1209600) and an absolute epoch in the app.store.authorize event.
EPOCH_THRESHOLD = 1_000_000_000

#: No token Salla issues lives longer than this (access tokens: 14 days; refresh tokens: about
#: a month): a longer duration, or an expiry further away, is a unit or parsing error.
MAX_TOKEN_LIFETIME = 400 * 86_400.0

#: ``TokenExchangeError.error`` for an absurd expiry value.
INVALID_EXPIRY = "invalid_expiry"

#: Lifetime assumed for an access token answered without any usable ``expires_in``/``expires``:
#: Salla's documented 14 days minus one day of safety, so the vault refreshes it early rather
#: than discarding tokens Salla has already issued (and for which it consumed the refresh token).
DEFAULT_EXPIRY = 13 * 86_400.0

#: ``TokenExchangeError.error`` when nothing reached the accounts server (safe to retry).
CONNECT_FAILED = "connect_failed"
#: ``TokenExchangeError.error`` when the request may have been processed but no usable answer
#: came back: a refresh token may have been consumed.
UNKNOWN_OUTCOME = "unknown_outcome"


@dataclass(frozen=True, slots=True)
class TokenSet:
    """An access token, its refresh token, their expiry (epoch seconds) and scopes.

    The ``repr`` never shows the tokens, so a TokenSet can be logged or shown in a traceback.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...] = ()
    #: Whether ``expires_at`` is :data:`DEFAULT_EXPIRY` after a response without any expiry.
    expiry_assumed: bool = False


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who authorized the app, and for which store (``merchant``)."""

    store_id: int
    merchant: dict[str, Any]
    user: dict[str, Any]


def parse_expiry(payload: Mapping[str, Any], *, now: float) -> float:
    """The absolute expiry (epoch seconds) of a token payload, validated.

    The rule (documented in docs/operating-tokens.md):

    - ``expires_in`` is a duration in seconds; it wins when both fields are present because it
      is never ambiguous.
    - ``expires`` up to :data:`EPOCH_THRESHOLD` is a duration too (``/oauth2/token``); above it
      is an absolute Unix time in seconds (``app.store.authorize``), or in milliseconds when
      read as seconds it lies beyond the longest lifetime and divided by 1000 it does not.
    - A duration must be in 0..:data:`MAX_TOKEN_LIFETIME`, an absolute time no later than
      ``now`` + :data:`MAX_TOKEN_LIFETIME`. NaN, infinities, negative values, booleans and
      anything else are refused.

    Args:
        payload: the token JSON (or the ``data`` of app.store.authorize).
        now: the current time, epoch seconds.

    Raises:
        TokenExchangeError: no expiry field (``error`` None), or an absurd one (``error ==
            "invalid_expiry"``; the message names the field, never the tokens).
    """
    for name in ("expires_in", "expires"):
        raw = payload.get(name)
        if raw is None:
            continue
        value = _number(raw)
        if value is None or value < 0:
            raise _invalid(name, "is not a non-negative number")
        if name == "expires" and value > EPOCH_THRESHOLD:
            latest = now + MAX_TOKEN_LIFETIME
            if value <= latest:
                return value
            if EPOCH_THRESHOLD < value / 1000 <= latest:
                return value / 1000  # an epoch in milliseconds
            raise _invalid(name, "lies impossibly far in the future")
        if value > MAX_TOKEN_LIFETIME:
            raise _invalid(name, "is a lifetime longer than any token's")
        return now + value
    raise TokenExchangeError("the token response has no usable expires_in or expires")


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _invalid(name: str, why: str) -> TokenExchangeError:
    return TokenExchangeError(
        f"the token answer's {name} {why}; the tokens are refused", error=INVALID_EXPIRY
    )


def parse_scopes(raw: Any) -> tuple[str, ...]:
    """Scopes from a space- (or comma-) separated string or a list, de-duplicated in order."""
    if raw is None:
        return ()
    items = raw.replace(",", " ").split() if isinstance(raw, str) else [str(s) for s in raw]
    return tuple(dict.fromkeys(s for s in items if s))


def parse_token_response(
    status_code: int,
    body: Any,
    *,
    now: float,
    grant: Literal["refresh", "code"] = "refresh",
    strict_expiry: bool = False,
) -> TokenSet:
    """Interpret an ``/oauth2/token`` answer (code exchange or refresh).

    Args:
        status_code: HTTP status.
        body: the decoded JSON body (or ``None`` when it was not JSON).
        now: the current time, epoch seconds.
        grant: which grant was asked for; ``invalid_grant`` means a dead grant only for a
            refresh (for a code it means a bad, used or expired code).
        strict_expiry: refuse an absurd expiry (pushed tokens: the old ones stay). Without it
            (answers to our own requests: Salla already issued the tokens and consumed what we
            sent) an absurd expiry is replaced like a missing one, and logged.

    Only a 4xx answer whose JSON body carries an OAuth ``error`` is a *definite* refusal (the
    token was not consumed). Anything else without tokens (5xx, gateway pages, HTML or JSON
    without ``access_token`` on a 2xx) raises :class:`TokenExchangeError` with
    ``error == UNKNOWN_OUTCOME``: the server may have rotated the refresh token. Any 2xx carrying
    an ``access_token`` is a token set: a missing expiry becomes :data:`DEFAULT_EXPIRY`, a
    missing refresh token ``None``.

    Raises:
        ReinstallRequiredError: ``error == "invalid_grant"`` (4xx) on a refresh: the grant is
            gone. The caller must never retry with the same refresh token.
        RedirectURIMismatchError: the server says the redirect URI does not match.
        TokenExchangeError: anything else that is not a token set.
    """
    oauth_error = (
        400 <= status_code < 500
        and isinstance(body, Mapping)
        and isinstance(body.get("error"), str)
        and bool(body.get("error"))
    )
    if oauth_error:
        assert isinstance(body, Mapping)
        error = str(body["error"])
        description = body.get("error_description")
        description = description if isinstance(description, str) else None
        if error == "invalid_grant" and grant == "code":
            raise TokenExchangeError(
                "the authorization code is invalid, already used or expired, or the redirect URI "
                "differs from the one used to authorize; start the connection again",
                status_code=status_code,
                error=error,
                description=description,
            )
        if error == "invalid_grant":
            # Keyed on the error string, not the status: the docs say 401, Hydra sends 400.
            raise ReinstallRequiredError(
                "Salla answered invalid_grant: the grant is revoked or the token was already used",
                description=description,
                status_code=status_code,
            )
        if error == "redirect_uri_mismatch" or (
            error == "invalid_request" and description and "redirect" in description.lower()
        ):
            raise RedirectURIMismatchError(
                "the redirect URI does not match the one registered for the app"
            )
        raise TokenExchangeError(
            f"token endpoint answered {status_code} {error}",
            status_code=status_code,
            error=error,
            description=description,
        )
    access = body.get("access_token") if isinstance(body, Mapping) else None
    if not (200 <= status_code < 300) or not isinstance(access, str) or not access:
        raise TokenExchangeError(
            f"token endpoint answered {status_code} without tokens (the outcome is unknown: a "
            "refresh token may have been consumed)",
            status_code=status_code,
            error=UNKNOWN_OUTCOME,
        )
    assert isinstance(body, Mapping)
    refresh = body.get("refresh_token")
    assumed = False
    try:
        expires_at = parse_expiry(body, now=now)
    except TokenExchangeError as exc:
        if strict_expiry:
            raise
        if exc.error == INVALID_EXPIRY:
            logger.warning(
                "%s; keeping the tokens with an assumed expiry",
                exc.message,
                extra={"action": "token_expiry_invalid"},
            )
        expires_at, assumed = now + DEFAULT_EXPIRY, True
    return TokenSet(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        scopes=parse_scopes(body.get("scope")),
        expiry_assumed=assumed,
    )


def refresh_outcome(
    exc: BaseException,
) -> Literal["reinstall", "unknown", "failed", "connect_failed"]:
    """How a failed refresh call left the refresh token.

    Returns ``reinstall`` (invalid_grant: the grant is gone), ``failed`` (a definite refusal or
    a local error before sending: nothing consumed), ``connect_failed`` (nothing reached the
    server) or ``unknown`` (the request may have been processed: the token may be consumed).
    """
    if isinstance(exc, ReinstallRequiredError):
        return "reinstall"
    if isinstance(exc, (RedirectURIMismatchError, ConfigurationError)):
        return "failed"
    if isinstance(exc, TokenExchangeError):
        if exc.error == CONNECT_FAILED:
            return "connect_failed"
        definite = (
            exc.status_code is not None
            and 400 <= exc.status_code < 500
            and exc.error not in (None, UNKNOWN_OUTCOME)
        )
        return "failed" if definite else "unknown"
    return "unknown"


def parse_user_info(body: Any) -> UserInfo:
    """Interpret ``/oauth2/user/info``, with or without the ``data`` envelope.

    The docs and official clients use ``data.merchant.id``; a secondary source claims there is no
    envelope, and older payloads carry ``store`` instead of ``merchant``. All three are accepted.

    Raises:
        TokenExchangeError: no store id can be found.
    """
    data = body.get("data", body) if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        raise TokenExchangeError("user info has no data")
    merchant = data.get("merchant") or data.get("store")
    if not isinstance(merchant, Mapping) or merchant.get("id") in (None, ""):
        raise TokenExchangeError("user info has no merchant id")
    try:
        store_id = int(merchant["id"])
    except (TypeError, ValueError) as exc:
        raise TokenExchangeError("user info has a non-numeric merchant id") from exc
    user = {k: v for k, v in data.items() if k not in ("merchant", "store")}
    return UserInfo(store_id=store_id, merchant=dict(merchant), user=user)
