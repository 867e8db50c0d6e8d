"""The Salla Merchant API client.

The async module is the source; its sync twin is generated from it by ``scripts/unasync.py``.

Every call, from a generated resource method or from :meth:`AsyncSalla.request`, goes through one
loop in :meth:`AsyncSalla._send`: take a slot from the store's governor, send, map the outcome
(``_core``), then either return, refresh the token once and replay once, or sleep and retry as
``_core._retry`` decides.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlencode, urlsplit

import httpx2
from pydantic import BaseModel, ValidationError

from sallakit._exceptions import (
    APIResponseError,
    APIStatusError,
    ConfigurationError,
    InvalidTokenError,
    RateLimitError,
    ReinstallRequiredError,
)
from sallakit.api._async_pagination import AsyncPaginator
from sallakit.api._clock import Clock, agive_way
from sallakit.api._core._answers import parse_write_answer
from sallakit.api._core._errors import map_status_error, map_transport_error, parse_body
from sallakit.api._core._options import (
    check_count,
    check_seconds,
    check_timeout,
    check_token_argument,
)
from sallakit.api._core._pagination import DEFAULT_PER_PAGE, check_per_page
from sallakit.api._core._ratelimit import server_time
from sallakit.api._core._request import (
    build_headers,
    build_path,
    check_header_value,
    encode_form,
    encode_json,
    encode_params,
    split_path,
)
from sallakit.api._core._retry import (
    IDEMPOTENT_METHODS,
    RetryPolicy,
    decide_retry,
    parse_retry_after,
)
from sallakit.api._core._routes import registry_idempotency
from sallakit.api._core._typed_page import read_typed_page
from sallakit.api._governor import (
    DEFAULT_GOVERNOR_REGISTRY,
    DEFAULT_MAX_IN_FLIGHT,
    GovernorRegistry,
    RateLimitWait,
    StoreGovernor,
    store_key_for_token,
)
from sallakit.api._observe import AttemptCallback, RequestAttempt
from sallakit.api._response import APIResponse, AsyncItemList, ItemList, Page, TypedPageResponse
from sallakit.api._types import TimeoutTypes
from sallakit.api._version import VERSION
from sallakit.api.resources._async import AsyncResources

if TYPE_CHECKING:
    from sallakit.settings import Settings

__all__ = ["AsyncSalla", "AsyncTokenProvider"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_BASE_URL = "https://api.salla.dev/admin/v2"
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
DEFAULT_MAX_RETRIES = 3
DEFAULT_LANGUAGE = "ar"

logger = logging.getLogger("sallakit.api")

# Waits at least this long are logged and given to ``on_wait``: shorter ones are the normal rhythm
# of a busy store, longer ones are what makes a user wonder whether the program hangs.
REPORTED_WAIT_SECONDS = 1.0


@runtime_checkable
class AsyncTokenProvider(Protocol):
    """Supplies access tokens to :class:`AsyncSalla` (implemented by ``sallakit.auth``)."""

    async def get_token(self) -> str:
        """Return the current access token of the store."""
        ...

    async def refresh_token(self, rejected_token: str) -> str:
        """Return a fresh access token after Salla rejected ``rejected_token``.

        Implementations refresh at most once per rejected token across workers (refresh tokens
        are single-use) and may raise ``ReinstallRequiredError``.
        """
        ...


class AsyncSalla(AsyncResources):
    """Client of Salla's Merchant API for one store.

    Args:
        access_token: A fixed access token. Exactly one of this and ``token_provider``.
        token_provider: Supplies and refreshes tokens; on a 401 for an invalid or expired token
            the client asks it for a new one once and replays the request once.
        base_url: API base URL.
        transport: An httpx2 transport (the emulator's, or ``httpx2.MockTransport`` in tests).
        max_retries: Retries per call on retryable failures (see ``_core/_retry.py``); 3 by
            default.
        max_retry_after: Longest time, in seconds, that one call may spend waiting in all:
            queued for an in-flight slot, paced by the store's governor, and asleep before
            retries (``Retry-After`` or backoff). A call that would wait longer raises
            :class:`~sallakit.RateLimitError` (with ``.retry_after``) as soon as that is known
            (a retry's own error when the wait was a backoff), so the caller can reschedule
            instead of blocking. 120 by default.
        retry_policy: A whole :class:`RetryPolicy` instead of ``max_retries`` and
            ``max_retry_after`` (backoff base and cap included).
        timeout: Default timeout of each attempt; per call ``timeout=`` overrides it.
        language: Default ``Accept-Language`` (Salla's messages follow it); per call
            ``language=`` overrides it.
        max_in_flight: Most requests in flight for this store, shared by every client of it.
        store_id: The store's id. It keys the shared rate-limit governor. With a fixed
            ``access_token`` it may be omitted (the key is then a hash of that token); with a
            ``token_provider`` it is required unless the provider has a ``store_id`` attribute
            (as ``sallakit.auth``'s providers do), because tokens rotate and a key taken from one
            of them would give the clients created after a refresh a governor of their own.
        governor: A :class:`GovernorRegistry` (or one :class:`StoreGovernor`) instead of the
            process-wide default, e.g. to isolate tests or inject a clock.
        on_wait: Called with a :class:`RateLimitWait` for every wait of a second or more (also
            logged on ``sallakit.api``): progress displays show that the client is pacing, not
            hung. It runs on the calling task or thread and must not block.
        on_attempt: Called with a :class:`~sallakit.api.RequestAttempt` after every attempt
            (its status, or None without a response; retries; rate-limit remaining): the
            instrumentation point of metrics. It runs on the calling task or thread and must
            not block; an exception it raises is logged and ignored.

    Raises:
        ConfigurationError: Both or neither of ``access_token`` and ``token_provider``; a
            ``token_provider`` without a store id; a ``base_url`` that is not an absolute
            ``http(s)`` URL; a token or language that cannot travel in an HTTP header;
            ``retry_policy`` together with ``max_retries`` or ``max_retry_after``.
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        token_provider: AsyncTokenProvider | None = None,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        language: str = DEFAULT_LANGUAGE,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        store_id: int | str | None = None,
        governor: GovernorRegistry | StoreGovernor | None = None,
        on_wait: Callable[[RateLimitWait], None] | None = None,
        on_attempt: AttemptCallback | None = None,
    ) -> None:
        if (access_token is None) == (token_provider is None):
            raise ConfigurationError(
                "pass exactly one of access_token and token_provider to the Salla client"
            )
        if access_token is not None:
            check_token_argument(access_token)
            check_header_value("access_token", access_token, secret=True)
        if not isinstance(language, str):
            raise ConfigurationError(f"language must be a str such as 'ar', got {language!r}")
        check_header_value("language", language)
        check_timeout(timeout)
        if retry_policy is not None:
            if max_retries is not None or max_retry_after is not None:
                raise ConfigurationError(
                    "pass either retry_policy or max_retries/max_retry_after, not both"
                )
        else:
            retry_policy = RetryPolicy(
                max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
                **({} if max_retry_after is None else {"max_retry_after": max_retry_after}),
            )
        check_count("max_retries", retry_policy.max_retries, minimum=0)
        check_seconds("max_retry_after", retry_policy.max_retry_after)
        check_seconds("the retry policy's backoff_base", retry_policy.backoff_base)
        check_seconds("the retry policy's backoff_cap", retry_policy.backoff_cap)
        check_count("max_in_flight", max_in_flight, minimum=1)
        if not isinstance(base_url, str):
            raise ConfigurationError(f"base_url must be a str, got {type(base_url).__name__}")
        if store_id is not None and (
            isinstance(store_id, bool) or not isinstance(store_id, int | str) or not str(store_id)
        ):
            raise ConfigurationError(
                f"store_id must be an int or a non-empty str, got {store_id!r}"
            )
        if on_wait is not None and not callable(on_wait):
            raise ConfigurationError("on_wait must be a callable taking a RateLimitWait")
        if on_attempt is not None and not callable(on_attempt):
            raise ConfigurationError("on_attempt must be a callable taking a RequestAttempt")
        base = urlsplit(base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ConfigurationError(
                f"base_url must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}, "
                f"got {base_url!r}"
            )
        if store_id is None and token_provider is not None:
            provided = getattr(token_provider, "store_id", None)
            if provided is None:
                raise ConfigurationError(
                    "pass store_id= with a token_provider (or give the provider a store_id "
                    "attribute): the store id keys the shared rate-limit governor, and tokens "
                    "rotate"
                )
            store_id = provided
        self._access_token = access_token
        self._token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.max_in_flight = max_in_flight
        self.store_id = store_id
        self.retry_policy = retry_policy
        self._timeout = timeout
        self._governor_source: GovernorRegistry | StoreGovernor = (
            governor if governor is not None else DEFAULT_GOVERNOR_REGISTRY
        )
        self._governor: StoreGovernor | None = (
            governor if isinstance(governor, StoreGovernor) else None
        )
        self._on_wait = on_wait
        self._on_attempt = on_attempt
        self._random = random.Random()
        self._http = httpx2.AsyncClient(
            transport=transport,
            timeout=timeout,
            # An http:// base URL (the emulator, a local proxy) never speaks TLS: this client
            # follows no redirects. Loading the system's certificates for it cost a fresh
            # client tens of milliseconds (hundreds on a loaded machine) for nothing.
            verify=base.scheme == "https",
        )
        # What build_request would merge into every request (Accept-Encoding, Connection...).
        self._default_headers = {name.lower(): value for name, value in self._http.headers.items()}
        self._timeout_extension = httpx2.Timeout(timeout).as_dict()
        AsyncResources.__init__(self, self)

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        access_token: str | None = None,
        **kwargs: Any,
    ) -> AsyncSalla:
        """A client configured like the CLI and the service: ``SALLAKIT_API_BASE_URL``.

        For a store in the token vault, prefer
        ``TokenVault.from_settings(settings).async_client(store_id)``, which also refreshes
        tokens. ``kwargs`` are the constructor's (``token_provider=``, ``store_id=``...).

        Args:
            settings: The settings; None reads them from the environment now.
            access_token: A fixed access token (or pass ``token_provider=``).
        """
        from sallakit.settings import Settings

        settings = Settings() if settings is None else settings
        kwargs.setdefault("base_url", settings.api_base_url)
        return cls(access_token, **kwargs)

    # ------------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> AsyncSalla:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called (the client can no longer send)."""
        return self._http.is_closed

    def __repr__(self) -> str:
        # Never the token.
        return f"{type(self).__name__}(base_url={self.base_url!r}, store_id={self.store_id!r})"

    # -------------------------------------------------------------------------------- tokens

    async def _get_token(self) -> str:
        if self._token_provider is not None:
            return await self._token_provider.get_token()
        assert self._access_token is not None
        return self._access_token

    def _governor_for(self, token: str) -> StoreGovernor:
        if self._governor is None:
            # Without a store id there is a fixed access token (see __init__): its hash is as
            # stable as the token itself.
            key = str(self.store_id) if self.store_id is not None else store_key_for_token(token)
            source = self._governor_source
            assert isinstance(source, GovernorRegistry)
            self._governor = source.get(self.base_url, key, max_in_flight=self.max_in_flight)
        return self._governor

    @property
    def _clock(self) -> Clock:
        source = self._governor_source
        return source.clock

    # ------------------------------------------------------------------------------- sending

    def _report_wait(
        self, governor: StoreGovernor, reason: str, seconds: float, method: str, path: str
    ) -> None:
        if seconds < REPORTED_WAIT_SECONDS:
            return
        wait = RateLimitWait(
            store=governor.store, reason=reason, seconds=seconds, method=method, path=path
        )
        logger.info(
            "store %s: waiting %.1f s (%s) before %s %s",
            wait.store,
            seconds,
            reason,
            method,
            path,
            extra={
                "action": "salla_wait",
                "store": wait.store,
                "reason": reason,
                "seconds": round(seconds, 3),
                "method": method,
                "path": path,
            },
        )
        if self._on_wait is not None:
            self._on_wait(wait)

    async def _acquire(
        self, governor: StoreGovernor, path: str, method: str, url: str, deadline: float
    ) -> None:
        def report(reason: str, seconds: float) -> None:
            self._report_wait(governor, reason, seconds, method, path)

        acquired = await governor.aacquire(path, deadline=deadline, on_wait=report)
        if not acquired.granted:
            # The same bound as for a Retry-After: a call never waits longer than that in all,
            # whatever timeout= says; the caller can reschedule.
            limit = self.retry_policy.max_retry_after
            if acquired.retry_after > 0:
                reason = f"the store's rate limit asks to wait {acquired.retry_after:.0f} s more"
            else:
                reason = f"queued {acquired.waited:.0f} s for one of the store's in-flight slots"
            raise RateLimitError(
                f"{reason}; the call would wait longer than max_retry_after={limit:g} s in all",
                method=method,
                url=url,
                retry_after=acquired.retry_after or None,
            )
        report("in_flight", acquired.waited)

    async def _sleep_before_retry(
        self,
        governor: StoreGovernor,
        delay: float,
        deadline: float,
        reason: str,
        method: str,
        path: str,
    ) -> bool:
        """Sleep before a retry unless that would pass the call's deadline (then False)."""
        reason = reason.replace("-", "_")
        if self._clock.time() + delay > deadline:
            return False
        self._report_wait(governor, reason, delay, method, path)
        await self._clock.asleep(delay)
        return True

    def _build_request(
        self,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        content: bytes | None,
        form: Any,
        files: Any,
        headers: dict[str, str],
        timeout: TimeoutTypes | None,
    ) -> httpx2.Request:
        effective = timeout if timeout is not None else self._timeout
        if form is not None or files:
            return self._http.build_request(
                method,
                url,
                params=tuple(query),
                data=form,
                files=files,
                headers=headers,
                timeout=effective,
            )
        # A JSON or empty body, built directly: httpx2's build_request parses the URL twice and
        # merges params, cookies (Salla sets none) and the pool's default headers on every call,
        # which was half of request()'s own cost against a bare loop.
        merged = dict(self._default_headers)
        for name, value in headers.items():
            merged[name.lower()] = value
        timeouts = (
            self._timeout_extension
            if effective is self._timeout
            else httpx2.Timeout(effective).as_dict()
        )
        return httpx2.Request(
            method,
            url + "?" + urlencode(query) if query else url,
            content=content,
            headers=merged,
            extensions={"timeout": timeouts},
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        language: str | None = None,
        timeout: TimeoutTypes | None = None,
        idempotent: bool | None = None,
        typed_page: type[BaseModel] | None = None,
    ) -> APIResponse:
        method = method.upper()
        path, path_query = split_path(path)
        url = self.base_url + "/" + path.lstrip("/")
        query = encode_params(params)
        if path_query:
            # Pairs written in the path come first; a name also given in params= is overridden.
            given = {name for name, _ in query}
            query = [pair for pair in path_query if pair[0] not in given] + query
        content = encode_json(json) if json is not None else None
        form = encode_form(data) if data is not None or files else None
        if language is not None:
            check_header_value("language", language)
        # Without a store id there is a fixed access token (see __init__): it keys the governor.
        governor = self._governor_for(self._access_token or "")
        clock = self._clock
        deadline = clock.time() + self.retry_policy.max_retry_after
        replay_safe = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        # Whether an earlier attempt may have been carried out by Salla (its answer was lost or
        # was a server error): then a DELETE answered 404 on a retry has done its work.
        maybe_applied = False
        refreshed = False
        fresh_token: str | None = None
        retries = 0
        attempt = 0
        while True:
            attempt += 1
            await self._acquire(governor, path, method, url, deadline)
            started = clock.time()
            response: httpx2.Response | None = None
            retry_after: float | None = None
            failure: httpx2.HTTPError | None = None
            request: httpx2.Request | None = None
            try:
                # The token is read after the governor's wait, on every attempt: a call that
                # queued while another refreshed the token must not send the rejected one.
                token = fresh_token if fresh_token is not None else await self._get_token()
                fresh_token = None
                headers = build_headers(token, language=language or self.language, version=VERSION)
                if content is not None:
                    headers["Content-Type"] = "application/json"
                request = self._build_request(
                    method, url, query, content, form, files, headers, timeout
                )
                response = await self._http.send(request)
            except httpx2.HTTPError as exc:
                failure = exc
            finally:
                # Runs on cancellation, KeyboardInterrupt and any other exception too: a slot
                # kept by a call that is gone would shrink the store's cap for the process.
                handed_on = governor.queued > 0
                if response is None:
                    governor.release(path, None)
                else:
                    now = clock.time()
                    retry_after = parse_retry_after(
                        response.headers.get("retry-after"),
                        now,
                        server_now=server_time(response.headers, now),
                    )
                    governor.release(
                        path,
                        response.headers,
                        status=response.status_code,
                        retry_after=retry_after,
                    )
            if handed_on and response is not None and response.status_code < 400:
                # The freed slot went to a queued call: let it send before this one parses a
                # success. (Not after an error: a 401 refreshes the token first, which the
                # queued call should then use.)
                await agive_way()
            if response is None:
                assert failure is not None
                self._log(method, path, None, attempt, started, None, governor)
                if isinstance(failure, httpx2.DecodingError):
                    raise APIResponseError(
                        f"Salla's response could not be decoded ({failure})",
                        method=method,
                        url=url,
                    ) from failure
                if isinstance(failure, httpx2.LocalProtocolError):
                    # The HTTP stack refused to write our own request (an illegal header or
                    # body): a bug of the caller's input, which no retry can fix. Not quoted: the
                    # message may hold a header value, and headers hold the token.
                    raise ConfigurationError(
                        f"the request could not be written as HTTP ({type(failure).__name__}); "
                        "check the values passed in headers, path and body"
                    ) from failure
                error = map_transport_error(failure, method=method, url=url, idempotent=replay_safe)
                decision = decide_retry(
                    self.retry_policy,
                    method,
                    retries,
                    connection_error=True,
                    request_sent=error.request_sent,
                    rand=self._random.random(),
                    idempotent=idempotent,
                )
                if not decision.retry or not await self._sleep_before_retry(
                    governor, decision.delay, deadline, decision.reason, method, path
                ):
                    raise error from failure
                retries += 1
                maybe_applied = maybe_applied or error.request_sent
                continue
            assert request is not None
            now = clock.time()
            status = response.status_code
            self._log(method, path, status, attempt, started, response, governor)
            if status < 400:
                if typed_page is not None:
                    read = read_typed_page(typed_page, response.content)
                    if read is not None:
                        typed = TypedPageResponse.undecoded(
                            response.content,
                            pagination=read[1],
                            status_code=status,
                            headers=response.headers,
                            method=method,
                            url=str(request.url),
                        )
                        typed.items = read[0]
                        return typed
                try:
                    body = parse_body(
                        response.content, method=method, url=str(request.url), status_code=status
                    )
                except APIResponseError:
                    # A truncated or non-JSON success is a broken answer, as a gateway's 502
                    # is: an idempotent request is asked again.
                    decision = decide_retry(
                        self.retry_policy,
                        method,
                        retries,
                        bad_body=True,
                        rand=self._random.random(),
                        idempotent=idempotent,
                    )
                    if not decision.retry or not await self._sleep_before_retry(
                        governor, decision.delay, deadline, decision.reason, method, path
                    ):
                        raise
                    retries += 1
                    continue
                return APIResponse.from_body(
                    body,
                    status_code=status,
                    headers=response.headers,
                    method=method,
                    url=str(request.url),
                )
            mapped = map_status_error(
                status,
                response.content,
                response.headers,
                method=method,
                url=str(request.url),
                now=now,
                retry_after=retry_after,
                reason=response.reason_phrase,
                idempotent=replay_safe,
            )
            if status == 404 and method == "DELETE" and maybe_applied:
                # The first DELETE was carried out but its answer was lost (or was a 5xx): the
                # replay finds nothing to delete. The caller's wish is fulfilled; an error here
                # would invite a compensating action for a deletion that happened.
                return APIResponse(
                    data=None,
                    pagination=None,
                    raw=None,
                    status_code=status,
                    headers=response.headers,
                    method=method,
                    url=str(request.url),
                )
            if (
                type(mapped) is InvalidTokenError
                and self._token_provider is not None
                and not refreshed
            ):
                # One refresh, one replay: a second 401 means the new token is bad too, and
                # refreshing again would burn single-use refresh tokens for nothing.
                refreshed = True
                try:
                    fresh_token = await self._token_provider.refresh_token(token)
                except ReinstallRequiredError as exc:
                    self._annotate(exc, status, method, str(request.url))
                    raise
                continue
            if isinstance(mapped, ReinstallRequiredError):
                self._annotate(mapped, status, method, str(request.url))
            if not isinstance(mapped, APIStatusError):
                raise mapped
            decision = decide_retry(
                self.retry_policy,
                method,
                retries,
                status=status,
                retry_after=mapped.retry_after,
                rand=self._random.random(),
                idempotent=idempotent,
            )
            if not decision.retry or not await self._sleep_before_retry(
                governor, decision.delay, deadline, decision.reason, method, path
            ):
                raise mapped
            retries += 1
            maybe_applied = maybe_applied or status >= 500

    def _annotate(self, exc: ReinstallRequiredError, status: int, method: str, url: str) -> None:
        """Fill in what the client knows about the call that revealed the revoked grant."""
        if exc.store_id is None:
            exc.store_id = self.store_id
        if exc.status_code is None:
            exc.status_code = status
        if not exc.method:
            exc.method, exc.url = method, url

    def _log(
        self,
        method: str,
        path: str,
        status: int | None,
        attempt: int,
        started: float,
        response: httpx2.Response | None,
        governor: StoreGovernor,
    ) -> None:
        logging_on = logger.isEnabledFor(logging.INFO)
        if not logging_on and self._on_attempt is None:
            return  # nobody listens: no record, no header parsing (once per attempt)
        remaining: int | None = governor.remaining
        if response is not None:
            header = response.headers.get("x-ratelimit-remaining")
            if header is not None and header.strip().lstrip("-").isdigit():
                remaining = int(header)
        seconds = self._clock.time() - started
        duration_ms = round(seconds * 1000, 1)
        if logging_on:
            self._log_attempt(method, path, status, attempt, duration_ms, remaining, governor)
        if self._on_attempt is not None:
            attempt_seen = RequestAttempt(
                store=governor.store,
                method=method,
                path=path,
                status=status,
                attempt=attempt,
                seconds=seconds,
                rate_limit_remaining=remaining,
            )
            try:
                self._on_attempt(attempt_seen)
            except Exception:
                # An observer must never turn a good answer into a failed call.
                logger.exception(
                    "the on_attempt callback failed", extra={"action": "salla_on_attempt_failed"}
                )

    @staticmethod
    def _log_attempt(
        method: str,
        path: str,
        status: int | None,
        attempt: int,
        duration_ms: float,
        remaining: int | None,
        governor: StoreGovernor,
    ) -> None:
        logger.info(
            "%s %s -> %s (attempt %d, %.1f ms)",
            method,
            path,
            status if status is not None else "connection error",
            attempt,
            duration_ms,
            extra={
                "action": "salla_request",
                "method": method,
                "path": path,
                "status": status,
                "attempt": attempt,
                "duration_ms": duration_ms,
                "rate_remaining": remaining,
                "store": governor.store,
            },
        )

    # ------------------------------------------------------------------------- public calls

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        language: str | None = None,
        timeout: TimeoutTypes | None = None,
        idempotent: bool | None = None,
    ) -> APIResponse:
        """Call any endpoint, with the same retries, governor and error mapping.

        Replay safety follows the endpoint registry, as for the generated methods: a path that
        matches a registry endpoint (``PUT /orders/12/refund``-like actions included) is
        replayed after a server error only if that endpoint is idempotent; an unknown path is
        judged by its method.

        Args:
            method: HTTP method.
            path: Path relative to the base URL, e.g. ``/products/12``; a query string in it
                (``/orders?page=2``) is kept and merged with ``params``.
            params: Query parameters by wire name; None values are dropped, lists repeat.
            json: JSON body.
            language: ``Accept-Language`` for this call.
            timeout: Timeout for this call.
            idempotent: Whether replaying the request is harmless; overrides the registry and
                the method (True lets a POST be retried after a 5xx).

        Returns:
            The decoded response.

        Raises:
            APIStatusError: Salla answered an error status (a subclass per status).
            APIConnectionError: No response (after retries).
            APIResponseError: The body of a success is not JSON.
            ConfigurationError: ``path`` is an absolute URL, or the body cannot be encoded.
            ReinstallRequiredError: The grant is revoked.
        """
        if idempotent is None:
            idempotent = registry_idempotency(method, split_path(path)[0])
        return await self._send(
            method,
            path,
            params=params,
            json=json,
            language=language,
            timeout=timeout,
            idempotent=idempotent,
        )

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        page: int = 1,
        per_page: int | None = DEFAULT_PER_PAGE,
        language: str | None = None,
        timeout: TimeoutTypes | None = None,
    ) -> AsyncPaginator[dict[str, Any]]:
        """Walk any paginated endpoint in raw mode: items are the decoded JSON objects.

        For bulk work (a mirror's backfill, an export) where typed models cost more than they
        give: no validation, no copies, the same governor, retries, prefetch and re-walk after
        deletions as ``client.<resource>.list()``. Items are plain dicts as Salla sent them
        (drift included: amounts may be strings, empty objects may be ``[]``).

        Args:
            path: The list endpoint's path, e.g. ``/products``.
            params: Query parameters by wire name (filters, ``sort``...).
            page: First page.
            per_page: Page size (at most 60).
            language: ``Accept-Language`` of these calls.
            timeout: Timeout of each call.

        Returns:
            An :class:`AsyncPaginator` of dicts (``.pages()`` for whole pages).

        Raises:
            ConfigurationError: ``per_page`` or ``page`` out of range (at once).
        """
        bare, path_query = split_path(path)
        # The path is used as a template by _paginate: braces in it are literal.
        template = bare.replace("{", "{{").replace("}", "}}")
        return self._paginate(
            _raw_item,
            "GET",
            template,
            {},
            params={**dict(path_query), **(params or {})},
            page=page,
            per_page=per_page,
            language=language,
            timeout=timeout,
        )

    # -------------------------------------------------------- helpers for generated resources

    async def _call(
        self,
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        extra_params: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        multipart: bool = False,
        files: Mapping[str, Any] | None = None,
        file_fields: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        language: str | None = None,
        timeout: TimeoutTypes | None = None,
        typed_page: type[BaseModel] | None = None,
    ) -> APIResponse:
        path = build_path(path_template, path_params)
        query = {**(params or {}), **(extra_params or {})}
        payload: dict[str, Any] | None = None
        if body is not None or extra_body:
            payload = {k: v for k, v in (body or {}).items() if v is not None}
            payload.update(extra_body or {})
        if multipart:
            # Declared binary fields (``file``, ``photo``) travel as file parts; the rest as
            # text fields, encoded like query parameters (booleans as 1/0).
            uploads = {k: v for k, v in (file_fields or {}).items() if v is not None}
            uploads.update(files or {})
            uploads = {k: _file_part(k, v) for k, v in uploads.items()}
            return await self._send(
                method,
                path,
                params=query,
                data=payload or {},
                files=uploads or None,
                language=language,
                timeout=timeout,
                idempotent=idempotent,
            )
        return await self._send(
            method,
            path,
            params=query,
            json=payload,
            language=language,
            timeout=timeout,
            idempotent=idempotent,
            typed_page=typed_page,
        )

    async def _call_model(
        self,
        parse: Callable[[Any], T],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        **kwargs: Any,
    ) -> T:
        response = await self._call(method, path_template, path_params, **kwargs)
        return _parse(parse, response)

    async def _call_write(
        self,
        model: type[M],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        **kwargs: Any,
    ) -> M:
        response = await self._call(method, path_template, path_params, **kwargs)
        return _parse_write(model, response.data, response)

    async def _call_write_list(
        self,
        model: type[M],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        **kwargs: Any,
    ) -> ItemList[M]:
        response = await self._call(method, path_template, path_params, **kwargs)
        data = response.data
        # The write is done: an answer with one object (or none) where a list is documented is
        # read as that list rather than refused.
        items = data if isinstance(data, list) else [] if data in (None, {}) else [data]
        return ItemList(_parse_write(model, item, response) for item in items)

    async def _fetch_list(
        self,
        parse: Callable[[Any], T],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        kwargs: Mapping[str, Any],
    ) -> ItemList[T]:
        response = await self._call(method, path_template, path_params, **kwargs)
        data = _list_data(response)
        return ItemList(_parse_item(parse, item, response) for item in data)

    def _call_list(
        self,
        parse: Callable[[Any], T],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        **kwargs: Any,
    ) -> AsyncItemList[T]:
        return AsyncItemList(
            lambda: self._fetch_list(parse, method, path_template, path_params, kwargs)
        )

    def _paginate(
        self,
        parse: Callable[[Any], T] | type[T],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        *,
        params: Mapping[str, Any] | None = None,
        extra_params: Mapping[str, Any] | None = None,
        page: int = 1,
        per_page: int | None = DEFAULT_PER_PAGE,
        language: str | None = None,
        timeout: TimeoutTypes | None = None,
    ) -> AsyncPaginator[T]:
        check_per_page(per_page)
        if page < 1:
            raise ConfigurationError(f"page must be >= 1, got {page}")
        base = {**(params or {}), **(extra_params or {})}
        if per_page is not None:
            base["per_page"] = per_page

        # A model class: its pages are read from the bytes in one pass (``_core/_typed_page``).
        model = parse if isinstance(parse, type) and issubclass(parse, BaseModel) else None
        parse_item: Callable[[Any], T] = model.model_validate if model is not None else parse  # type: ignore[assignment]

        async def fetch(number: int) -> Page[T]:
            response = await self._call(
                method,
                path_template,
                path_params,
                params={**base, "page": number},
                language=language,
                timeout=timeout,
                typed_page=model,
            )
            if isinstance(response, TypedPageResponse):
                return Page(items=response.items, pagination=response.pagination, response=response)
            data = _list_data(response)
            items = [_parse_item(parse_item, item, response) for item in data]
            return Page(items=items, pagination=response.pagination, response=response)

        return AsyncPaginator(fetch, start_page=page, prefetch=self.max_in_flight)


def _raw_item(item: Any) -> dict[str, Any]:
    """Raw mode's parser: an object is kept as it is; anything else is not an item."""
    if not isinstance(item, dict):
        raise TypeError(f"a list item is a {type(item).__name__}, not an object")
    return item


def _file_part(name: str, value: Any) -> Any:
    """Check one file part; a path-like is read as the file it names."""
    if isinstance(value, str):
        # A str is ambiguous (a path? the content?); sending it would upload the path's text.
        raise ConfigurationError(
            f"{name} must be bytes, a binary file, a (filename, content[, type]) tuple or a "
            "pathlib.Path, not a str"
        )
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as exc:
            raise ConfigurationError(f"{name}: cannot read {path!r} ({exc.strerror})") from exc
        return (os.path.basename(path), content)
    return value


def _list_data(response: APIResponse) -> list[Any]:
    """The items of a list endpoint's ``data``; None, ``{}`` and ``[]`` mean no items."""
    data = response.data
    if isinstance(data, list):
        return data
    if data is None or data == {}:
        # PHP serializes an empty array as {} when it was built as a map.
        return []
    raise APIResponseError(
        f"Salla's response to a list endpoint has a {type(data).__name__} as data, not a list",
        method=response.method,
        url=response.url,
        status_code=response.status_code,
        body=response.raw,
    )


def _parse_write(model: type[M], data: Any, response: APIResponse) -> M:
    """A write's answer as ``model``; fields that drifted are kept raw, never an error."""
    try:
        parsed, unfit = parse_write_answer(model, data)
    except ValidationError as exc:
        raise APIResponseError(
            f"Salla carried out {response.method} {response.url} (HTTP {response.status_code}) "
            f"but its answer does not fit {model.__name__}: {_problems(exc)}. Do not send it "
            "again; the decoded answer is in .body",
            method=response.method,
            url=response.url,
            status_code=response.status_code,
            body=response.raw,
        ) from exc
    if unfit:
        logger.warning(
            "%s %s: fields of the answer that do not fit %s were kept raw in model_extra: %s",
            response.method,
            response.url,
            model.__name__,
            ", ".join(unfit),
            extra={
                "action": "salla_answer_drift",
                "model": model.__name__,
                "fields": list(unfit),
                "method": response.method,
                "url": response.url,
            },
        )
    return parsed


def _problems(exc: ValidationError) -> str:
    # Never pydantic's str(exc): it quotes the input, which may be a customer's data.
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)[:5]
    )


def _parse(parse: Callable[[Any], T], response: APIResponse) -> T:
    return _parse_item(parse, response.data, response)


def _parse_item(parse: Callable[[Any], T], item: Any, response: APIResponse) -> T:
    try:
        return parse(item)
    except ValidationError as exc:
        raise APIResponseError(
            f"Salla's response does not fit the expected model {exc.title}: {_problems(exc)}",
            method=response.method,
            url=response.url,
            status_code=response.status_code,
            body=response.raw,
        ) from exc
    except (ValueError, TypeError) as exc:
        raise APIResponseError(
            f"Salla's response does not fit the expected model ({type(exc).__name__})",
            method=response.method,
            url=response.url,
            status_code=response.status_code,
            body=response.raw,
        ) from exc
