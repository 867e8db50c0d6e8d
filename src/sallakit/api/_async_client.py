"""The Salla Merchant API client.

The async module is the source; its sync twin is generated from it by ``scripts/unasync.py``.

Every call, from a generated resource method or from :meth:`AsyncSalla.request`, goes through one
loop in :meth:`AsyncSalla._send`: take a slot from the store's governor, send, map the outcome
(``_core``), then either return, refresh the token once and replay once, or sleep and retry as
``_core._retry`` decides.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx2

from sallakit._exceptions import (
    APIResponseError,
    APIStatusError,
    ConfigurationError,
    InvalidTokenError,
)
from sallakit.api._async_pagination import AsyncPaginator
from sallakit.api._clock import Clock
from sallakit.api._core._errors import map_status_error, map_transport_error, parse_body
from sallakit.api._core._pagination import DEFAULT_PER_PAGE
from sallakit.api._core._request import build_headers, build_path, encode_params
from sallakit.api._core._retry import RetryPolicy, decide_retry, parse_retry_after
from sallakit.api._governor import (
    DEFAULT_GOVERNOR_REGISTRY,
    DEFAULT_MAX_IN_FLIGHT,
    GovernorRegistry,
    StoreGovernor,
    store_key_for_token,
)
from sallakit.api._response import APIResponse, Page
from sallakit.api._types import TimeoutTypes
from sallakit.api._version import VERSION
from sallakit.api.resources._async import AsyncResources

__all__ = ["AsyncSalla", "AsyncTokenProvider"]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.salla.dev/admin/v2"
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
DEFAULT_MAX_RETRIES = 3
DEFAULT_LANGUAGE = "ar"

logger = logging.getLogger("sallakit.api")


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
        max_retries: Retries per call on retryable failures (see ``_core/_retry.py``).
        timeout: Default timeout of each attempt; per call ``timeout=`` overrides it.
        language: Default ``Accept-Language`` (Salla's messages follow it); per call
            ``language=`` overrides it.
        max_in_flight: Most requests in flight for this store, shared by every client of it.
        store_id: The store's id. It keys the shared rate-limit governor; without it the key is a
            hash of the first access token.
        governor: A :class:`GovernorRegistry` (or one :class:`StoreGovernor`) instead of the
            process-wide default, e.g. to isolate tests or inject a clock.

    Raises:
        ConfigurationError: Both or neither of ``access_token`` and ``token_provider``.
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        token_provider: AsyncTokenProvider | None = None,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        language: str = DEFAULT_LANGUAGE,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        store_id: int | str | None = None,
        governor: GovernorRegistry | StoreGovernor | None = None,
    ) -> None:
        if (access_token is None) == (token_provider is None):
            raise ConfigurationError(
                "pass exactly one of access_token and token_provider to the Salla client"
            )
        if access_token is not None and not access_token.strip():
            raise ConfigurationError("access_token is empty")
        if max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        if max_in_flight < 1:
            raise ConfigurationError("max_in_flight must be >= 1")
        self._access_token = access_token
        self._token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.max_in_flight = max_in_flight
        self.store_id = store_id
        self.retry_policy = RetryPolicy(max_retries=max_retries)
        self._timeout = timeout
        self._governor_source: GovernorRegistry | StoreGovernor = (
            governor if governor is not None else DEFAULT_GOVERNOR_REGISTRY
        )
        self._governor: StoreGovernor | None = (
            governor if isinstance(governor, StoreGovernor) else None
        )
        self._random = random.Random()
        self._http = httpx2.AsyncClient(transport=transport, timeout=timeout)
        AsyncResources.__init__(self, self)

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

    async def _acquire(self, governor: StoreGovernor, path: str) -> None:
        while True:
            admission = governor.try_acquire(path)
            if admission.granted:
                return
            await self._clock.asleep(admission.delay)

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
    ) -> APIResponse:
        method = method.upper()
        url = self.base_url + "/" + path.lstrip("/")
        query = encode_params(params)
        token = await self._get_token()
        governor = self._governor_for(token)
        clock = self._clock
        refreshed = False
        retries = 0
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(
                method,
                url,
                params=tuple(query),
                json=json,
                data=data,
                files=files,
                headers=build_headers(token, language=language or self.language, version=VERSION),
                timeout=timeout if timeout is not None else self._timeout,
            )
            await self._acquire(governor, path)
            started = clock.time()
            try:
                response = await self._http.send(request)
            except httpx2.TransportError as exc:
                governor.release(path, None)
                error = map_transport_error(exc, method=method, url=str(request.url))
                self._log(method, path, None, attempt, started, None, governor)
                decision = decide_retry(
                    self.retry_policy,
                    method,
                    retries,
                    connection_error=True,
                    request_sent=error.request_sent,
                    rand=self._random.random(),
                )
                if not decision.retry:
                    raise error from exc
                retries += 1
                await clock.asleep(decision.delay)
                continue
            now = clock.time()
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            governor.release(path, response.headers, status=status, retry_after=retry_after)
            self._log(method, path, status, attempt, started, response, governor)
            if status < 400:
                body = parse_body(
                    response.content, method=method, url=str(request.url), status_code=status
                )
                return APIResponse.from_body(body, status_code=status, headers=response.headers)
            mapped = map_status_error(
                status,
                response.content,
                response.headers,
                method=method,
                url=str(request.url),
                now=now,
            )
            if (
                type(mapped) is InvalidTokenError
                and self._token_provider is not None
                and not refreshed
            ):
                # One refresh, one replay: a second 401 means the new token is bad too, and
                # refreshing again would burn single-use refresh tokens for nothing.
                refreshed = True
                token = await self._token_provider.refresh_token(token)
                continue
            if not isinstance(mapped, APIStatusError):
                raise mapped
            decision = decide_retry(
                self.retry_policy,
                method,
                retries,
                status=status,
                retry_after=mapped.retry_after,
                rand=self._random.random(),
            )
            if not decision.retry:
                raise mapped
            retries += 1
            await clock.asleep(decision.delay)

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
        remaining: int | None = governor.remaining
        if response is not None:
            header = response.headers.get("x-ratelimit-remaining")
            if header is not None and header.strip().lstrip("-").isdigit():
                remaining = int(header)
        duration_ms = round((self._clock.time() - started) * 1000, 1)
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
    ) -> APIResponse:
        """Call any endpoint, with the same retries, governor and error mapping.

        Args:
            method: HTTP method.
            path: Path relative to the base URL, e.g. ``/products/12``.
            params: Query parameters by wire name; None values are dropped, lists repeat.
            json: JSON body.
            language: ``Accept-Language`` for this call.
            timeout: Timeout for this call.

        Returns:
            The decoded response.

        Raises:
            APIStatusError: Salla answered an error status (a subclass per status).
            APIConnectionError: No response (after retries).
            APIResponseError: The body is not JSON.
            ReinstallRequiredError: The grant is revoked.
        """
        return await self._send(
            method, path, params=params, json=json, language=language, timeout=timeout
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
        files: Any = None,
        language: str | None = None,
        timeout: TimeoutTypes | None = None,
    ) -> APIResponse:
        path = build_path(path_template, path_params)
        query = {**(params or {}), **(extra_params or {})}
        payload: dict[str, Any] | None = None
        if body is not None or extra_body:
            payload = {k: v for k, v in (body or {}).items() if v is not None}
            payload.update(extra_body or {})
        if multipart:
            return await self._send(
                method,
                path,
                params=query,
                data=payload,
                files=files,
                language=language,
                timeout=timeout,
            )
        return await self._send(
            method, path, params=query, json=payload, language=language, timeout=timeout
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

    async def _call_list(
        self,
        parse: Callable[[Any], T],
        method: str,
        path_template: str,
        path_params: Mapping[str, int | str],
        **kwargs: Any,
    ) -> list[T]:
        response = await self._call(method, path_template, path_params, **kwargs)
        data = response.data if isinstance(response.data, list) else []
        return [_parse_item(parse, item, response) for item in data]

    def _paginate(
        self,
        parse: Callable[[Any], T],
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
        base = {**(params or {}), **(extra_params or {})}
        if per_page is not None:
            base["per_page"] = per_page

        async def fetch(number: int) -> Page[T]:
            response = await self._call(
                method,
                path_template,
                path_params,
                params={**base, "page": number},
                language=language,
                timeout=timeout,
            )
            data = response.data if isinstance(response.data, list) else []
            items = [_parse_item(parse, item, response) for item in data]
            return Page(items=items, pagination=response.pagination, response=response)

        return AsyncPaginator(fetch, start_page=page)


def _parse(parse: Callable[[Any], T], response: APIResponse) -> T:
    return _parse_item(parse, response.data, response)


def _parse_item(parse: Callable[[Any], T], item: Any, response: APIResponse) -> T:
    try:
        return parse(item)
    except (ValueError, TypeError) as exc:  # pydantic.ValidationError is a ValueError
        raise APIResponseError(
            f"Salla's response does not fit the expected model: {exc}",
            status_code=response.status_code,
            body=response.raw,
        ) from exc
