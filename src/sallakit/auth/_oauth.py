"""The OAuth HTTP calls to Salla's accounts server: code exchange, refresh, user info.

Thin shells over httpx2 around the pure interpretation in ``_tokens.py``. Requests are
form-encoded with the client credentials in the body (client_secret_post), as Salla's own
clients do. The transport is injectable so tests and the in-process emulator can stand in for
``accounts.salla.sa``.
"""

from __future__ import annotations

import contextlib
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import anyio
import httpx2

from sallakit._exceptions import ConfigurationError, TokenExchangeError
from sallakit.auth._refresh import boot_clock
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

#: Share of the overall deadline the TCP/TLS connect may use, so that an unreachable server
#: fails as a connect timeout (nothing sent: safe to retry) before the overall deadline fires.
_CONNECT_SHARE = 0.5
#: httpcore trace events that show the request has started to leave the process.
_SENDING_EVENTS = ("send_request_headers.started",)
#: httpcore trace events of the connection phase (nothing sent yet).
_CONNECT_EVENTS = ("connection.connect_tcp.", "connection.start_tls.")


def _http_timeout(timeout: float) -> httpx2.Timeout:
    """Per-phase httpx timeouts: connect (and pool) well inside the overall deadline."""
    return httpx2.Timeout(timeout, connect=timeout * _CONNECT_SHARE, pool=timeout * _CONNECT_SHARE)


class _SendWindowClosed(Exception):
    """The refresh attempt's send deadline passed before the request left (nothing sent)."""


def _check_window(send_deadline: float | None) -> None:
    if send_deadline is not None and boot_clock() > send_deadline:
        raise _SendWindowClosed


class _Progress:
    """What httpcore's ``trace`` extension reported: connecting started, request headers sent.

    A timeout is "nothing sent" only when the transport reported connecting and never reported
    sending; a transport that traces nothing (a mock) is conservatively "maybe sent".
    """

    __slots__ = ("connecting", "cut", "done", "guard", "send_deadline", "sending", "sock")

    def __init__(self, send_deadline: float | None = None) -> None:
        # With a deadline, the request must start leaving before it: checked by the trace hook
        # right before the headers are written (after connecting, which may take a while).
        self.send_deadline = send_deadline
        self.connecting = False
        self.sending = False
        self.sock: socket.socket | None = None
        self.guard = threading.Lock()
        self.done = False
        self.cut = False

    def note(self, name: str, info: dict[str, Any] | None = None) -> None:
        if name.startswith(_CONNECT_EVENTS):
            self.connecting = True
            if name.endswith(".complete") and info is not None:
                stream = info.get("return_value")
                get = getattr(stream, "get_extra_info", None)
                sock = get("socket") if get is not None else None
                if isinstance(sock, socket.socket):
                    with self.guard:
                        self.sock = sock
        elif name.endswith(_SENDING_EVENTS):
            _check_window(self.send_deadline)
            self.sending = True

    def expire(self) -> None:
        """The overall deadline passed: shut the connection down, which ends a blocked read."""
        with self.guard:
            if self.done or self.sock is None:
                return
            self.cut = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.guard:
            self.done = True

    @property
    def not_sent(self) -> bool:
        return self.connecting and not self.sending

    def sync_trace(self, name: str, info: dict[str, Any]) -> None:
        self.note(name, info)

    async def async_trace(self, name: str, info: dict[str, Any]) -> None:
        self.note(name)


#: Errors raised before any byte of the request reached the server: retrying is safe.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.UnsupportedProtocol,
    httpx2.ProxyError,
)
#: C0 controls and DEL: never part of a client id, a secret or a URL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
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
    """The URL that sends a merchant to Salla's consent screen (Custom mode).

    Raises:
        ConfigurationError: ``accounts_url`` is not an absolute http(s) URL, or ``client_id``
            is not a clean str.
    """
    accounts_url = _check_accounts_url(accounts_url)
    _check_credential("client_id", client_id)
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


def _window_closed() -> TokenExchangeError:
    return TokenExchangeError(
        "the refresh token was not sent: the refresh lease's send window had passed (the "
        "process was stalled); another worker or the operator may own the store's refresh now",
        error=CONNECT_FAILED,
    )


def _no_answer(exc: BaseException) -> TokenExchangeError:
    return TokenExchangeError(
        f"no complete answer from the accounts server: {exc!r}", error=UNKNOWN_OUTCOME
    )


def _check_credential(name: str, value: object, *, secret: bool = False) -> None:
    """A client id or secret: a str without control characters or surrounding blanks.

    A CR or LF would end up in a form body and in the authorize URL; surrounding blanks are a
    copy-paste slip that Salla answers with an opaque ``invalid_client`` much later.
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a str, got a {type(value).__name__}")
    if _CONTROL.search(value) or value != value.strip():
        shown = "" if secret else f": {value!r}"
        raise ConfigurationError(
            f"{name} holds control characters (CR, LF...) or surrounding blanks{shown}"
        )


def _check_accounts_url(value: object) -> str:
    """An absolute http(s) URL with a host, without a trailing slash."""
    if not isinstance(value, str):
        raise ConfigurationError(f"accounts_url must be a str, got a {type(value).__name__}")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or _CONTROL.search(value)
    ):
        raise ConfigurationError(
            "accounts_url must be an absolute http(s) URL without query such as "
            f"{DEFAULT_ACCOUNTS_URL!r}, got {value!r}"
        )
    return value.rstrip("/")


def _check_timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"timeout must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"timeout must be a finite number of seconds > 0, got {value!r}")
    return float(value)


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
        _check_credential("client_id", client_id)
        _check_credential("client_secret", client_secret, secret=True)
        self.client_id = client_id
        self._client_secret = client_secret
        self.accounts_url = _check_accounts_url(accounts_url)
        self.timeout = _check_timeout(timeout)
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
            base_url=self.accounts_url, transport=transport, timeout=_http_timeout(timeout)
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncOAuthClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(
        self, method: str, path: str, *, send_deadline: float | None = None, **kwargs: Any
    ) -> httpx2.Response:
        progress = _Progress(send_deadline)
        kwargs["extensions"] = {"trace": progress.async_trace}
        try:
            _check_window(send_deadline)
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
        except _SendWindowClosed as exc:
            raise _window_closed() from exc
        except _NOT_SENT as exc:
            # The request never left: safe to try again, nothing was consumed.
            raise _not_sent(exc) from exc
        except (httpx2.HTTPError, TimeoutError) as exc:
            if progress.not_sent:
                # The overall deadline fired while still connecting: nothing left the process.
                raise _not_sent(exc) from exc
            # Maybe sent, no complete answer: a refresh token may or may not have been consumed.
            raise _no_answer(exc) from exc

    async def exchange_code(self, code: str, *, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens."""
        return self._tokens(
            await self._send("POST", "/oauth2/token", data=self._code_form(code, redirect_uri)),
            "code",
        )

    async def refresh(self, refresh_token: str, *, send_deadline: float | None = None) -> TokenSet:
        """Trade a refresh token (single use!) for a new token pair.

        Args:
            refresh_token: the token to spend.
            send_deadline: when given, a :func:`~sallakit.auth._refresh.boot_clock` time after
                which the request must not start leaving (the refresh lease's send window);
                past it the call fails as ``connect_failed`` and nothing is sent.

        Raises:
            ReinstallRequiredError: invalid_grant.
            TokenExchangeError: any other failure, including no answer. Note that on a lost
                answer the refresh token may or may not have been consumed.
        """
        return self._tokens(
            await self._send(
                "POST",
                "/oauth2/token",
                data=self._refresh_form(refresh_token),
                send_deadline=send_deadline,
            )
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
        # No keep-alive: every call opens its own connection, whose socket the overall deadline
        # can shut down (OAuth calls are rare; a pooled connection is not worth it).
        self._http = httpx2.Client(
            base_url=self.accounts_url,
            transport=transport,
            timeout=_http_timeout(timeout),
            limits=httpx2.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(
        self, method: str, path: str, *, send_deadline: float | None = None, **kwargs: Any
    ) -> httpx2.Response:
        # Overall deadline: connect is bounded by its own (shorter) timeout; once connected, a
        # timer shuts the socket down when the deadline passes, which ends any blocked read or
        # write at once (no thread is left running the call). An answer completed before the
        # cut is accepted even if it arrived late: its tokens are already issued.
        progress = _Progress(send_deadline)
        kwargs["extensions"] = {"trace": progress.sync_trace}
        timer = threading.Timer(self.timeout, progress.expire)
        timer.daemon = True
        timer.start()
        try:
            _check_window(send_deadline)
            with self._http.stream(method, path, **kwargs) as response:
                size = 0
                chunks: list[bytes] = []
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > _MAX_ANSWER:
                        raise TokenExchangeError("the accounts server answer is too large")
                    chunks.append(chunk)
                progress.finish()
                return _complete(response, b"".join(chunks))
        except _SendWindowClosed as exc:
            raise _window_closed() from exc
        except _NOT_SENT as exc:
            # The request never left: safe to try again, nothing was consumed.
            raise _not_sent(exc) from exc
        except (httpx2.HTTPError, TimeoutError) as exc:
            if progress.not_sent and not progress.cut:
                raise _not_sent(exc) from exc
            # Maybe sent, no complete answer: a refresh token may or may not have been consumed.
            raise _no_answer(exc) from exc
        finally:
            progress.finish()
            timer.cancel()

    def exchange_code(self, code: str, *, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens."""
        return self._tokens(
            self._send("POST", "/oauth2/token", data=self._code_form(code, redirect_uri)), "code"
        )

    def refresh(self, refresh_token: str, *, send_deadline: float | None = None) -> TokenSet:
        """Trade a refresh token (single use!) for a new token pair (see the async twin)."""
        return self._tokens(
            self._send(
                "POST",
                "/oauth2/token",
                data=self._refresh_form(refresh_token),
                send_deadline=send_deadline,
            )
        )

    def user_info(self, access_token: str) -> UserInfo:
        """Who authorized the app, for which store."""
        return self._user_info(
            self._send(
                "GET", "/oauth2/user/info", headers={"Authorization": f"Bearer {access_token}"}
            )
        )
