"""Custom mode: the authorization-code flow with a signed, expiring, single-use ``state``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

import anyio

from sallakit._exceptions import (
    AuthorizationDeniedError,
    ConfigurationError,
    InvalidStateError,
    OAuthError,
    RedirectURIMismatchError,
)
from sallakit.auth._oauth import DEFAULT_SCOPES
from sallakit.auth._state import DEFAULT_STATE_TTL, sign_state, verify_state

if TYPE_CHECKING:
    from sallakit.auth._oauth import AsyncOAuthClient
    from sallakit.auth._vault import StoredStore, TokenVault

__all__ = ["CustomMode", "same_redirect_uri"]


def same_redirect_uri(expected: str, actual: str) -> bool:
    """Whether a callback URL was served at the registered redirect URI (query ignored)."""
    a, b = urlsplit(expected), urlsplit(actual)

    def port(parts: SplitResult) -> int | None:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)

    return (
        a.scheme.lower() == b.scheme.lower()
        and (a.hostname or "").lower() == (b.hostname or "").lower()
        and port(a) == port(b)
        and (a.path.rstrip("/") or "/") == (b.path.rstrip("/") or "/")
    )


class CustomMode:
    """Connects stores through your own callback.

    Args:
        vault: where tokens go.
        oauth: the OAuth client (client id and secret, accounts URL).
        redirect_uri: the callback URL registered for the app in the Partner Portal.
        state_secret: HMAC key for the state (at least 16 bytes).
        scopes: requested scopes; ``offline_access`` is needed for refresh tokens.
        state_ttl: seconds a state stays valid.
    """

    def __init__(
        self,
        vault: TokenVault,
        oauth: AsyncOAuthClient,
        *,
        redirect_uri: str,
        state_secret: str,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        state_ttl: float = DEFAULT_STATE_TTL,
    ) -> None:
        if not redirect_uri:
            raise ConfigurationError("Custom mode needs the redirect URI (SALLAKIT_REDIRECT_URI)")
        if not state_secret:
            raise ConfigurationError("Custom mode needs a state secret (SALLAKIT_STATE_SECRET)")
        self.vault = vault
        self.oauth = oauth
        self.redirect_uri = redirect_uri
        self._state_secret = state_secret
        self.scopes = tuple(scopes)
        self.state_ttl = state_ttl
        sign_state(state_secret, now=0)  # validates the secret's length early

    def __repr__(self) -> str:
        return f"CustomMode(redirect_uri={self.redirect_uri!r})"

    def new_state(self) -> str:
        """A fresh signed state (80 hex characters, no hyphen)."""
        return sign_state(
            self._state_secret,
            now=self.vault.now(),
            ttl=self.state_ttl,
            nonce=secrets.token_bytes(16),
        )

    def authorize_url(self, state: str | None = None) -> str:
        """The consent URL to send the merchant to; mints a state unless one is given."""
        return self.oauth.authorize_url(
            redirect_uri=self.redirect_uri,
            state=state if state is not None else self.new_state(),
            scopes=self.scopes,
        )

    def check_state(self, query_params: Mapping[str, str]) -> None:
        """Check the callback's state (form, signature, expiry) without using it up.

        Raises:
            InvalidStateError: missing, forged or expired.
        """
        verify_state(self._state_secret, query_params.get("state"), now=self.vault.now())

    async def handle_callback(
        self, query_params: Mapping[str, str], *, callback_url: str | None = None
    ) -> StoredStore:
        """Finish a connection: check the callback, exchange the code, store the tokens.

        Args:
            query_params: the callback's query parameters.
            callback_url: the URL the callback was served at; when given it must be the
                registered redirect URI.

        Returns:
            The connected store (``data.merchant.id`` of the user info).

        Raises:
            InvalidStateError: missing, forged, expired or already used state (checked first,
                before any ``error`` parameter is believed).
            RedirectURIMismatchError: the callback or the token endpoint reports another URI.
            AuthorizationDeniedError: the merchant declined (``error=access_denied``).
            OAuthError: the callback carries another error or no code.
            TokenExchangeError: the code exchange or user info failed.
            TokenVaultError: storing failed.
        """
        if callback_url is not None and not same_redirect_uri(self.redirect_uri, callback_url):
            raise RedirectURIMismatchError(
                f"the callback arrived at {callback_url}, not at the registered {self.redirect_uri}"
            )
        # The state first: an unauthenticated callback (forged error= included) proves nothing.
        verified = verify_state(self._state_secret, query_params.get("state"), now=self.vault.now())
        fresh = await anyio.to_thread.run_sync(
            self.vault.consume_state_nonce, verified.nonce, float(verified.expires_at)
        )
        if not fresh:
            raise InvalidStateError("this state was already used; start the connection again")
        error = query_params.get("error")
        if error:
            description = query_params.get("error_description") or error
            if error == "access_denied":
                raise AuthorizationDeniedError(f"the merchant declined: {description}")
            if error == "redirect_uri_mismatch" or "redirect" in description.lower():
                raise RedirectURIMismatchError(f"Salla refused the redirect URI: {description}")
            raise OAuthError(f"the authorization failed: {error}: {description}")
        code = query_params.get("code")
        if not code:
            raise OAuthError("the callback has no authorization code")
        tokens = await self.oauth.exchange_code(code, redirect_uri=self.redirect_uri)
        info = await self.oauth.user_info(tokens.access_token)
        return await anyio.to_thread.run_sync(
            lambda: self.vault.save_tokens(
                info.store_id,
                tokens,
                merchant=info.merchant,
                user=info.user,
                connected_via="custom",
            )
        )
