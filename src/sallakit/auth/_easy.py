"""Easy mode: tokens delivered by Salla's app events.

Salla performs the code exchange itself and posts ``app.store.authorize`` (tokens, with
``expires`` as an absolute epoch) to the app's webhook URL, on install and on every update.
Nothing resends those tokens, so they must be durable before Salla sees a 2xx.

Easy mode is a *consumer* of the webhook receiver (:class:`sallakit.webhooks.WebhookReceiver`):
:meth:`EasyMode.register` adds :meth:`EasyMode.handle_event` for ``app.*`` events. The receiver
stores each delivery in its inbox before answering 200 (token-carrying bodies sealed with
``vault.body_cipher()``), and its worker applies them here. :func:`easy_mode_app`, the older
standalone endpoint that applies events before answering, is deprecated.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, Protocol

import anyio

from sallakit._exceptions import (
    ConfigurationError,
    PayloadTooLargeError,
    SallaError,
    SignatureVerificationError,
    StoreNotFoundError,
    TokenExchangeError,
    WebhookError,
)
from sallakit.auth._store import check_store_id
from sallakit.auth._tokens import parse_token_response
from sallakit.webhooks import (
    DEFAULT_MAX_BODY_SIZE,
    Event,
    Handler,
    Strategy,
    WebhookEvent,
    event_time,
    parse_event,
    verify_request,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from sallakit.auth._oauth import AsyncOAuthClient
    from sallakit.auth._vault import TokenVault

__all__ = ["HANDLER_NAME", "EasyMode", "UninstallRetention", "easy_mode_app"]

#: The name Easy mode's handler is registered under on a receiver (success records key on it).
HANDLER_NAME = "sallakit.auth.easy_mode"


class _Registry(Protocol):
    def on(self, pattern: str, *, name: str | None = None) -> Callable[[Handler], Handler]: ...


logger = logging.getLogger(__name__)

UninstallRetention = Literal["keep", "purge"]


class EasyMode:
    """Applies Salla's app events to a :class:`TokenVault`.

    Args:
        vault: where tokens go.
        webhook_secret: the app's webhook secret (Partner Portal); only needed by
            :meth:`verify` / :meth:`handle_app_event` (the receiver verifies for
            :meth:`handle_event`).
        strategy: which security strategy to accept (``auto`` follows the request's header).
        uninstall_retention: on ``app.uninstalled`` tokens are always erased; ``keep`` keeps the
            store's row (status ``uninstalled``), ``purge`` deletes every row about the store.
        oauth: when given, the merchant and user info are fetched after tokens are stored, for
            display (a failure there is logged, never fatal: the tokens are already safe).
        max_body_size: bodies above this many bytes are refused.
    """

    def __init__(
        self,
        vault: TokenVault,
        webhook_secret: str | None = None,
        *,
        strategy: Strategy = "auto",
        uninstall_retention: UninstallRetention = "keep",
        oauth: AsyncOAuthClient | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if uninstall_retention not in ("keep", "purge"):
            raise ConfigurationError("uninstall_retention must be 'keep' or 'purge'")
        self.vault = vault
        self._secret = webhook_secret
        self.strategy: Strategy = strategy
        self.uninstall_retention: UninstallRetention = uninstall_retention
        self.oauth = oauth
        self.max_body_size = max_body_size

    def __repr__(self) -> str:
        return f"EasyMode(strategy={self.strategy!r}, retention={self.uninstall_retention!r})"

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Check the size and authenticity of a delivery and parse it (no I/O).

        Raises:
            PayloadTooLargeError, SignatureVerificationError, WebhookError.
        """
        if not self._secret:
            raise ConfigurationError("Easy mode needs the webhook secret (SALLAKIT_WEBHOOK_SECRET)")
        if len(raw_body) > self.max_body_size:
            raise PayloadTooLargeError(
                f"webhook body of {len(raw_body)} bytes exceeds {self.max_body_size}"
            )
        verify_request(raw_body, headers, self._secret, strategy=self.strategy)
        return parse_event(raw_body, max_size=self.max_body_size)

    async def handle_app_event(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify, parse and durably apply one delivery; returns after the commit.

        Non-app events are verified and returned untouched (another receiver owns them).
        A redelivered event (same raw body) is recognised and not applied twice.

        Raises:
            SignatureVerificationError: forged or unsigned.
            PayloadTooLargeError: too big.
            WebhookError: malformed.
            TokenExchangeError: an ``app.store.authorize`` without usable tokens (or with an
                absurd expiry): nothing is stored, the old tokens stay.
            TokenVaultError: the database refused; answer 5xx so Salla redelivers.
        """
        event = self.verify(raw_body, headers)
        await self.handle(event)
        return event

    def register(self, receiver: _Registry, *, pattern: str = "app.*") -> None:
        """Consume ``pattern`` events of a :class:`~sallakit.webhooks.WebhookReceiver` (or
        :class:`~sallakit.webhooks.Handlers`) with :meth:`handle_event`."""
        receiver.on(pattern, name=HANDLER_NAME)(self.handle_event)

    async def handle_event(self, event: Event) -> None:
        """The receiver's handler: apply one stored, verified app event (after the commit).

        Raises (the worker retries, then dead-letters):
            TokenExchangeError: an ``app.store.authorize`` without usable tokens.
            TokenVaultError: the database refused.
        """
        data = event.payload.get("data")
        # The idempotency key ends with the SHA-256 of the raw body: the same digest a direct
        # delivery is recorded under, so a copy through either path is applied once.
        digest = event.idempotency_key.rsplit(":", 1)[-1]
        parsed = WebhookEvent(
            event=event.name,
            merchant=event.store_id,
            created_at=event.created_at,
            data=data if isinstance(data, dict) else {},
            digest=digest,
        )
        await self.handle(parsed)

    async def handle(self, event: WebhookEvent) -> bool:
        """Apply one verified app event; returns after the commit. False when the event was
        ignored (a redelivery, out of date, or not an app event Easy mode handles).

        Raises:
            TokenExchangeError, TokenVaultError: as for :meth:`handle_app_event`.
            WebhookError: a merchant id no store can have.
        """
        try:
            store_id = check_store_id(event.merchant)
        except StoreNotFoundError as exc:
            raise WebhookError(exc.message) from exc
        if event.event == "app.store.authorize":
            return await self._authorize(event, store_id)
        if event.event in ("app.installed", "app.updated"):
            data = dict(event.data)
            return await self._applied(
                event, lambda: self.vault.installs.record_install(store_id, data)
            )
        if event.event == "app.uninstalled":
            purge = self.uninstall_retention == "purge"
            created_at = event_time(event.created_at)
            # Recorded like an authorize: a late retry or a replay of an old uninstall must not
            # erase the tokens of a later reinstall.
            return await self._applied(
                event,
                lambda: self.vault.installs.uninstall(
                    store_id,
                    purge=purge,
                    detail="the merchant uninstalled the app",
                    created_at=created_at,
                    digest=event.digest,
                ),
            )
        logger.info(
            "webhook %s for store %s not handled by Easy mode",
            event.event,
            event.merchant,
            extra={"action": "easy_mode_ignored", "event": event.event},
        )
        return False

    async def _applied(self, event: WebhookEvent, apply: Callable[[], bool]) -> bool:
        applied: bool = await anyio.to_thread.run_sync(apply)
        logger.info(
            "%s %s for store %s",
            "applied" if applied else "ignored redelivered or out-of-date",
            event.event,
            event.merchant,
            extra={"action": "app_event", "event": event.event, "store_id": event.merchant},
        )
        return applied

    async def _authorize(self, event: WebhookEvent, store_id: int) -> bool:
        # ``expires`` is an absolute epoch here (seconds, or milliseconds; see parse_expiry);
        # an absurd one refuses the delivery and keeps the old tokens.
        try:
            tokens = parse_token_response(200, event.data, now=self.vault.now(), strict_expiry=True)
        except TokenExchangeError as exc:
            raise TokenExchangeError(
                f"app.store.authorize for store {store_id} carries no usable tokens "
                f"({exc.message})",
                error=exc.error,
            ) from exc
        created_at = event_time(event.created_at)
        raw_expires = event.data.get("expires")
        expires = (
            float(raw_expires)
            if isinstance(raw_expires, int | float)
            and not isinstance(raw_expires, bool)
            and math.isfinite(raw_expires)
            else None
        )
        applied = await self._applied(
            event,
            lambda: self.vault.installs.authorize(
                event.digest, store_id, tokens, created_at=created_at, expires=expires
            ),
        )
        if applied and self.oauth is not None:
            await self._fetch_profile(store_id, tokens.access_token)
        return applied

    async def _fetch_profile(self, store_id: int, access_token: str) -> None:
        try:
            info = await self.oauth.user_info(access_token)  # type: ignore[union-attr]
            if info.store_id != store_id:
                logger.warning(
                    "user info names store %s for tokens delivered to store %s",
                    info.store_id,
                    store_id,
                    extra={"action": "easy_mode_store_mismatch"},
                )
                return
            await anyio.to_thread.run_sync(
                lambda: self.vault.update_profile(store_id, merchant=info.merchant, user=info.user)
            )
        except SallaError as exc:
            logger.warning(
                "could not fetch the merchant info of store %s: %s",
                store_id,
                exc,
                extra={"action": "easy_mode_profile_failed", "store_id": store_id},
            )


def easy_mode_app(handler: EasyMode, *, path: str = "/") -> Starlette:
    """A Starlette app receiving Salla's app events at ``path`` (POST). Deprecated: register
    Easy mode on the webhook receiver instead (``easy.register(receiver)``), which stores every
    delivery before answering and serves store events on the same URL.

    Answers 200 only after the event is committed; 401 for a bad signature or token, 413 for an
    oversized body, 400 for a malformed one, 422 for a store event (it cannot store those: never
    acknowledged and dropped), and 500 when persisting failed so Salla retries.
    """
    warnings.warn(
        "easy_mode_app is deprecated: use EasyMode(vault).register(WebhookReceiver(...)); see "
        "docs/connecting-stores.md",
        DeprecationWarning,
        stacklevel=2,
    )
    # Starlette comes with the server extra; the rest of sallakit.auth works without it.
    from sallakit._extras import require_extra

    require_extra("server", "easy_mode_app")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > handler.max_body_size:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        # Streamed, and abandoned as soon as it passes the limit (a chunked body declares no
        # length): never buffer more than max_body_size bytes.
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > handler.max_body_size:
                return JSONResponse({"error": "payload too large"}, status_code=413)
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            event = await handler.handle_app_event(body, request.headers)
        except SignatureVerificationError as exc:
            return JSONResponse({"error": exc.message}, status_code=401)
        except PayloadTooLargeError as exc:
            return JSONResponse({"error": exc.message}, status_code=413)
        except WebhookError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        except Exception:
            # Nothing is acknowledged unless it is stored: a 5xx makes Salla deliver again.
            logger.exception("could not persist an app event", extra={"action": "easy_mode_error"})
            return JSONResponse({"error": "could not persist the event"}, status_code=500)
        if not event.event.startswith("app."):
            # A store event is not stored here: acknowledging it would drop it silently.
            logger.error(
                "easy_mode_app received %s, a store event it cannot store: serve the webhook "
                "receiver (sallakit.webhooks) at this URL instead",
                event.event,
                extra={"action": "easy_mode_store_event_refused", "event": event.event},
            )
            return JSONResponse(
                {
                    "error": f"{event.event} is a store event: this endpoint stores app events "
                    "only (serve sallakit.webhooks.WebhookReceiver for both)"
                },
                status_code=422,
            )
        return JSONResponse({"ok": True, "event": event.event})

    return Starlette(routes=[Route(path, receive, methods=["POST"])])
