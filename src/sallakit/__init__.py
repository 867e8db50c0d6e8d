"""sallakit: the production toolkit for building Salla apps in Python.

The top level exports the clients and the whole error hierarchy::

    from sallakit import AsyncSalla, NotFoundError

Subpackages hold the rest: ``sallakit.api`` (clients, pagination, governor), ``sallakit.models``
(typed models), ``sallakit.auth`` (token vault, OAuth), ``sallakit.webhooks`` (verification),
``sallakit.emulator`` and ``sallakit.testing`` (a local Salla for tests).

The client names are loaded on first use, so that ``import sallakit.emulator`` does not import
the client: the emulator is an independent oracle and must not share the client's code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sallakit._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuditFailedError,
    AuthenticationError,
    AuthorizationDeniedError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    EmulatorError,
    EntityExistsError,
    InactiveUserError,
    InternalServerError,
    InvalidControlInputError,
    InvalidStateError,
    InvalidTokenError,
    MissingExtraError,
    MissingScopeError,
    NotFoundError,
    OAuthError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RedirectURIMismatchError,
    RefreshInterruptedError,
    ReinstallRequiredError,
    SallaError,
    SignatureVerificationError,
    StoreError,
    StoreNotFoundError,
    SyncError,
    TokenDecryptionError,
    TokenExchangeError,
    TokenVaultError,
    UnknownEntityError,
    UnprocessableEntityError,
    WebhookError,
)

if TYPE_CHECKING:
    from sallakit.api import (
        APIResponse,
        AsyncSalla,
        AsyncTokenProvider,
        Page,
        Salla,
        TokenProvider,
    )

__version__ = "0.1.0"

_LAZY = {
    "APIResponse": "sallakit.api",
    "AsyncSalla": "sallakit.api",
    "AsyncTokenProvider": "sallakit.api",
    "Page": "sallakit.api",
    "Salla": "sallakit.api",
    "TokenProvider": "sallakit.api",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncSalla",
    "AsyncTokenProvider",
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
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectURIMismatchError",
    "RefreshInterruptedError",
    "ReinstallRequiredError",
    "Salla",
    "SallaError",
    "SignatureVerificationError",
    "StoreError",
    "StoreNotFoundError",
    "SyncError",
    "TokenDecryptionError",
    "TokenExchangeError",
    "TokenProvider",
    "TokenVaultError",
    "UnknownEntityError",
    "UnprocessableEntityError",
    "WebhookError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sallakit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
