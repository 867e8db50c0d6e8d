"""The OAuth HTTP calls to Salla's accounts server: code exchange, refresh, user info.

Thin shells over httpx2 around the pure interpretation in ``_tokens.py``. Requests are
form-encoded with the client credentials in the body (client_secret_post), as Salla's own
clients do. The transport is injectable so tests and the in-process emulator can stand in for
``accounts.salla.sa``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

import anyio
import httpx2

from sallakit._exceptions import ConfigurationError, TokenExchangeError
from sallakit.auth._tokens import (
    CONNECT_FAILED,
    UNKNOWN_OUTCOME,
    TokenSet,
    UserInfo,
    parse_token_response,
    parse_user_info,
)
from sallakit.settings import DEFAULT_ACCOUNTS_URL

__all__ = [
    "DEFAULT_OAUTH_TIMEOUT",
    "DEFAULT_SCOPES",
    "AsyncOAuthClient",
    "OAuthClient",
    "build_authorize_url",
]

#: Overall deadline of one call to the accounts server, in seconds: connect, send and the whole
#: answer (not per read), so a server trickling its answer cannot keep a refresh lease open.
DEFAULT_OAUTH_TIMEOUT = 30.0
#: Answers larger than this are not token answers.
_MAX_ANSWER = 1024 * 1024

#: Errors raised before any byte of the request reached the server: retrying is safe.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.UnsupportedProtocol,
    httpx2.ProxyError,
)
#: offline_access is what makes Salla issue a refresh token.
DEFAULT_SCOPES: tuple[str, ...] = ("offline_access",)


def build_authorize_url(
    *,
    accounts_url: str,
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
) -> str:
    """The URL that sends a merchant to Salla's consent screen (Custom mode)."""
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            # Space-separated, as the docs and Salla's JS client do.
            "scope": " ".join(scopes),
            "state": state,
        }
    )
    return f"{accounts_url.rstrip('/')}/oauth2/auth?{query}"


def _decode(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _complete(response: httpx2.Response, content: bytes) -> httpx2.Response:
    """A detached, fully read copy of a streamed response."""
    return httpx2.Response(
        response.status_code,
        headers=[(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"],
        content=content,
        request=response.request,
    )


def _not_sent(exc: Exception) -> TokenExchangeError:
    return TokenExchangeError(
        f"cannot reach the accounts server (nothing was sent): {exc!r}", error=CONNECT_FAILED
    )


def _no_answer(exc: BaseException) -> TokenExchangeError:
    return TokenExchangeError(
        f"no complete answer from the accounts server: {exc!r}", error=UNKNOWN_OUTCOME
    )


class _OAuthBase:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        timeout: float = DEFAULT_OAUTH_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("client_id and client_secret are required for OAuth calls")
        self.client_id = client_id
        self._client_secret = client_secret
        self.accounts_url = accounts_url.rstrip("/")
        self.timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, url={self.accounts_url!r})"

    def authorize_url(
        self, *, redirect_uri: str, state: str, scopes: Sequence[str] = DEFAULT_SCOPES
    ) -> str:
        """See :func:`build_authorize_url`."""
        return build_authorize_url(
            accounts_url=self.accounts_url,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            state=state,
            scopes=scopes,
        )

    def _code_form(self, code: str, redirect_uri: str) -> dict[str, str]:
        return {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": redirect_uri,
        }

    def _refresh_form(self, refresh_token: str) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }

    def _tokens(
        self, response: httpx2.Response, grant: Literal["refresh", "code"] = "refresh"
    ) -> TokenSet:
        return parse_token_response(
            response.status_code, _decode(response), now=self._clock(), grant=grant
        )

    @staticmethod
    def _user_info(response: httpx2.Response) -> UserInfo:
        if response.status_code != 200:
            raise TokenExchangeError(
                f"user info answered {response.status_code}", status_code=response.status_code
            )
        return parse_user_info(_decode(response))


class AsyncOAuthClient(_OAuthBase):
    """Async calls to ``/oauth2/token`` and ``/oauth2/user/info``."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_OAUTH_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client_id, client_secret, accounts_url=accounts_url, timeout=timeout, clock=clock
        )
        self._http = httpx2.AsyncClient(
            base_url=self.accounts_url, transport=transport, timeout=timeout
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncOAuthClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        try:
            with anyio.fail_after(self.timeout):
                async with self._http.stream(method, path, **kwargs) as response:
                    size = 0
                    chunks: list[bytes] = []
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > _MAX_ANSWER:
                            raise TokenExchangeError("the accounts server answer is too large")
                        chunks.append(chunk)
                    return _complete(response, b"".join(chunks))
        except _NOT_SENT as exc:
            # The request never left: safe to try again, nothing was consumed.
            raise _not_sent(exc) from exc
        except (httpx2.HTTPError, TimeoutError) as exc:
            # Maybe sent, no complete answer: a refresh token may or may not have been consumed.
            raise _no_answer(exc) from exc

    async def exchange_code(self, code: str, *, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens."""
        return self._tokens(
            await self._send("POST", "/oauth2/token", data=self._code_form(code, redirect_uri)),
            "code",
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token (single use!) for a new token pair.

        Raises:
            ReinstallRequiredError: invalid_grant.
            TokenExchangeError: any other failure, including no answer. Note that on a lost
                answer the refresh token may or may not have been consumed.
        """
        return self._tokens(
            await self._send("POST", "/oauth2/token", data=self._refresh_form(refresh_token))
        )

    async def user_info(self, access_token: str) -> UserInfo:
        """Who authorized the app, for which store."""
        return self._user_info(
            await self._send(
                "GET", "/oauth2/user/info", headers={"Authorization": f"Bearer {access_token}"}
            )
        )


class OAuthClient(_OAuthBase):
    """Blocking twin of :class:`AsyncOAuthClient`."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        transport: httpx2.BaseTransport | None = None,
        timeout: float = DEFAULT_OAUTH_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client_id, client_secret, accounts_url=accounts_url, timeout=timeout, clock=clock
        )
        self._http = httpx2.Client(base_url=self.accounts_url, transport=transport, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        # The deadline is checked between chunks; each read is bounded by the time left.
        deadline = time.monotonic() + self.timeout
        try:
            with self._http.stream(method, path, **kwargs) as response:
                size = 0
                chunks: list[bytes] = []
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > _MAX_ANSWER:
                        raise TokenExchangeError("the accounts server answer is too large")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"no complete answer within {self.timeout:g} s")
                    chunks.append(chunk)
                return _complete(response, b"".join(chunks))
        except _NOT_SENT as exc:
            # The request never left: safe to try again, nothing was consumed.
            raise _not_sent(exc) from exc
        except (httpx2.HTTPError, TimeoutError) as exc:
            # Maybe sent, no complete answer: a refresh token may or may not have been consumed.
            raise _no_answer(exc) from exc

    def exchange_code(self, code: str, *, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens."""
        return self._tokens(
            self._send("POST", "/oauth2/token", data=self._code_form(code, redirect_uri)), "code"
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token (single use!) for a new token pair."""
        return self._tokens(
            self._send("POST", "/oauth2/token", data=self._refresh_form(refresh_token))
        )

    def user_info(self, access_token: str) -> UserInfo:
        """Who authorized the app, for which store."""
        return self._user_info(
            self._send(
                "GET", "/oauth2/user/info", headers={"Authorization": f"Bearer {access_token}"}
            )
        )
