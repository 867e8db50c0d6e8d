"""The one error hierarchy of sallakit.

Every exception sallakit raises on purpose derives from :class:`SallaError`; third-party
exceptions (httpx2, SQLAlchemy, json, cryptography) are translated at the boundary with
``raise ... from exc`` and never escape the public API.

```text
SallaError
├── ConfigurationError                 bad arguments or settings, found before any I/O
│   └── MissingExtraError              an optional part's dependencies are not installed
├── APIError                           .method, .url, .message
│   ├── APIConnectionError             no response (DNS, refused, reset); .request_sent
│   │   └── APITimeoutError
│   ├── APIResponseError               a response we cannot read (malformed JSON, wrong shape)
│   └── APIStatusError                 .status_code, .code, .fields, .body, .retry_after, .headers
│       ├── BadRequestError            400
│       ├── AuthenticationError        401
│       │   ├── InvalidTokenError      401 invalid / expired / revoked access token
│       │   ├── MissingScopeError      401 "should have access to one of those scopes"; .scopes
│       │   └── InactiveUserError      401 user deleted or inactive
│       ├── PermissionDeniedError      403
│       ├── NotFoundError              404
│       ├── ConflictError              409
│       ├── UnprocessableEntityError   422; .fields
│       ├── RateLimitError             429; .retry_after
│       └── InternalServerError        5xx
├── OAuthError                         the accounts server or the OAuth dance
│   ├── ReinstallRequiredError         invalid_grant: the grant is gone, the merchant must reinstall
│   ├── TokenExchangeError             /oauth2/token answered something other than tokens
│   ├── InvalidStateError              the callback's state is bad, expired or replayed
│   ├── AuthorizationDeniedError       the merchant declined consent
│   └── RedirectURIMismatchError       the callback came back to another redirect URI
├── TokenVaultError                    storing or reading tokens
│   ├── StoreNotFoundError             no tokens for that store
│   ├── TokenDecryptionError           no configured key opens the row (or it belongs elsewhere)
│   └── RefreshInterruptedError        a refresh started and never committed (crash); see the note
├── WebhookError
│   ├── SignatureVerificationError     bad or missing signature / token
│   └── PayloadTooLargeError
├── SyncError                          the store mirror
│   ├── AuditFailedError               remote totals and the mirror disagree after a run; .audit
│   └── StoreError                     the mirror's database refused a read or write
└── EmulatorError                      the emulator's control surface refused a request
    ├── UnknownEntityError             404: no such store, app, order or product (also a KeyError)
    ├── EntityExistsError              409: the id is taken
    └── InvalidControlInputError       422: an argument it cannot use (also a ValueError)
```

Classification never relies on Salla's ``error.code`` (it is unstable: ``"Unauthorized"``,
``"error"``, ``404``...) and works for Arabic messages: it keys on the HTTP status and, for the
401 subtypes, on stable fragments of the message with a safe default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuditFailedError",
    "AuthenticationError",
    "AuthorizationDeniedError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "EmulatorError",
    "EntityExistsError",
    "InactiveUserError",
    "InternalServerError",
    "InvalidControlInputError",
    "InvalidStateError",
    "InvalidTokenError",
    "MissingExtraError",
    "MissingScopeError",
    "NotFoundError",
    "OAuthError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectURIMismatchError",
    "RefreshInterruptedError",
    "ReinstallRequiredError",
    "SallaError",
    "SignatureVerificationError",
    "StoreError",
    "StoreNotFoundError",
    "SyncError",
    "TokenDecryptionError",
    "TokenExchangeError",
    "TokenVaultError",
    "UnknownEntityError",
    "UnprocessableEntityError",
    "WebhookError",
]


class SallaError(Exception):
    """Base class of every error sallakit raises."""

    def __init__(self, message: str | None = None) -> None:
        # Like procrastinate, the docstring's first line is the default message.
        if message is None:
            message = (type(self).__doc__ or type(self).__name__).strip().splitlines()[0]
        self.message = message
        super().__init__(message)


class ConfigurationError(SallaError):
    """sallakit was given invalid arguments or settings."""


class MissingExtraError(ConfigurationError, ImportError):
    """An optional part of sallakit is used without its extra installed.

    Also an :class:`ImportError`, so ``except ImportError`` around an optional import works.
    """

    def __init__(self, message: str | None = None, *, extra: str = "", module: str = "") -> None:
        super().__init__(message)
        self.extra = extra
        self.missing_module = module


# --------------------------------------------------------------------------------------- API


class APIError(SallaError):
    """A call to the Salla API failed."""

    def __init__(self, message: str | None = None, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """No response was received from Salla."""

    def __init__(
        self,
        message: str | None = None,
        *,
        method: str = "",
        url: str = "",
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, method=method, url=url)
        # False only when we know the request never left (connect failure): the one case in
        # which a write may be replayed safely.
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request to Salla timed out."""


class APIResponseError(APIError):
    """Salla answered with a body sallakit cannot interpret."""

    def __init__(
        self,
        message: str | None = None,
        *,
        method: str = "",
        url: str = "",
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body


class APIStatusError(APIError):
    """Salla answered with an error status."""

    status_code: int = 0

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        method: str = "",
        url: str = "",
        code: str | int | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        if status_code is not None:
            self.status_code = status_code
        self.code = code
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{self.status_code} {self.message}{where}"


class BadRequestError(APIStatusError):
    """Salla rejected the request as malformed (400)."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """Salla refused the credentials (401)."""

    status_code = 401


class InvalidTokenError(AuthenticationError):
    """The access token is invalid, expired or revoked (401)."""


class MissingScopeError(AuthenticationError):
    """The access token lacks a scope this endpoint needs (401)."""

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.scopes: list[str] = _scopes_from_message(self.message)


class InactiveUserError(AuthenticationError):
    """The user who authorized the app is deleted or inactive (401)."""


class PermissionDeniedError(APIStatusError):
    """The app may not do this (403)."""

    status_code = 403


class NotFoundError(APIStatusError):
    """The resource does not exist (404)."""

    status_code = 404


class ConflictError(APIStatusError):
    """The request conflicts with the resource's state (409)."""

    status_code = 409


class UnprocessableEntityError(APIStatusError):
    """Salla rejected the fields of the request (422); see ``.fields``."""

    status_code = 422


class RateLimitError(APIStatusError):
    """Too many requests for this store (429); see ``.retry_after``."""

    status_code = 429


class InternalServerError(APIStatusError):
    """Salla failed to answer (5xx)."""

    status_code = 500


def _scopes_from_message(message: str) -> list[str]:
    # "The access token should have access to one of those scopes: products.read_write"
    _, sep, tail = message.rpartition(":")
    if not sep:
        return []
    return [s.strip() for s in tail.replace(",", " ").split() if "." in s or s == "offline_access"]


# ------------------------------------------------------------------------------------- OAuth


class OAuthError(SallaError):
    """The OAuth flow with Salla's accounts server failed."""


class ReinstallRequiredError(OAuthError):
    """The grant is revoked (invalid_grant): the merchant must reinstall the app."""

    def __init__(
        self,
        message: str | None = None,
        *,
        store_id: int | str | None = None,
        description: str | None = None,
        status_code: int | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.store_id = store_id
        self.description = description
        # Set when an API call (rather than the token endpoint) revealed the revoked grant.
        self.status_code = status_code
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.status_code} {self.method} {self.url})" if self.method else ""
        store = f" [store {self.store_id}]" if self.store_id is not None else ""
        return f"{self.message}{store}{where}"


class TokenExchangeError(OAuthError):
    """The token endpoint did not return tokens."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        error: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.description = description


class InvalidStateError(OAuthError):
    """The OAuth state is missing, forged, expired or already used."""


class AuthorizationDeniedError(OAuthError):
    """The merchant declined to authorize the app."""


class RedirectURIMismatchError(OAuthError):
    """The OAuth callback arrived at a redirect URI other than the registered one."""


# ------------------------------------------------------------------------------- Token vault


class TokenVaultError(SallaError):
    """The token vault could not store or read tokens."""


class StoreNotFoundError(TokenVaultError):
    """No tokens are stored for this store."""


class TokenDecryptionError(TokenVaultError):
    """No configured key decrypts this token, or it was bound to another store."""


class RefreshInterruptedError(TokenVaultError):
    """A token refresh was started and never committed; the store may need a reinstall."""


# ---------------------------------------------------------------------------------- Webhooks


class WebhookError(SallaError):
    """A webhook delivery could not be accepted."""


class SignatureVerificationError(WebhookError):
    """The webhook's signature or token is missing or wrong."""


class PayloadTooLargeError(WebhookError):
    """The webhook body is larger than the configured limit."""


class SyncError(SallaError):
    """The store mirror could not complete a sync."""


class AuditFailedError(SyncError):
    """After a run, Salla's totals and the mirror's counts disagree (``.audit`` has the numbers)."""

    def __init__(self, message: str, *, audit: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.audit = dict(audit or {})


class StoreError(SyncError):
    """The mirror's database refused a read or a write."""


# ---------------------------------------------------------------------------------- Emulator


class EmulatorError(SallaError):
    """The emulator's control surface refused a request."""

    status = 400
    """The control API's HTTP status for this error."""


class UnknownEntityError(EmulatorError, KeyError):
    """No such store, app, order, product or customer in the emulator."""

    status = 404

    def __str__(self) -> str:
        # KeyError's own __str__ quotes its argument; this is a message, not a key.
        return self.message


class EntityExistsError(EmulatorError):
    """The emulator already has an entity with that id."""

    status = 409


class InvalidControlInputError(EmulatorError, ValueError):
    """The emulator was given an argument it cannot use."""

    status = 422
