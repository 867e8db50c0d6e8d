"""The webhook receiver: one ASGI app for every app and store event of a Salla app.

Per request: a POST body read as a stream and abandoned past the cap (413), the configured
security strategy verified (401, naming what was expected), the envelope checked (400), the
delivery written to the inbox and committed, and only then 200. A database failure answers 503
so that Salla delivers again; no input ever produces a 5xx.

Commits are grouped: concurrent requests join one batch, one transaction stores the batch, and
each request is answered after the commit that holds its row (a burst costs one commit per
batch, not one per delivery).

The receiver also owns the handler registry (``@receiver.on("order.created")``) and the
in-process :class:`~sallakit.webhooks.Worker`, started by :meth:`WebhookReceiver.running`, by
the ASGI lifespan when the receiver is the served app, or by ``sallakit serve``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from sallakit._exceptions import ConfigurationError, SallaError, SignatureVerificationError
from sallakit.webhooks._core import RetryPolicy, kept_headers, parse_envelope
from sallakit.webhooks._dispatch import DEFAULT_LEASE_SECONDS, Handler, Handlers, Worker
from sallakit.webhooks._events import DEFAULT_MAX_BODY_SIZE
from sallakit.webhooks._inbox import Accepted, Inbox, NewDelivery
from sallakit.webhooks._signature import Strategy, verify_request

__all__ = ["MAX_BATCH", "GroupCommitter", "WebhookReceiver"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Most deliveries written in one transaction.
MAX_BATCH = 512


@dataclass(eq=False)
class _Slot:
    item: NewDelivery
    wakeup: anyio.Event = field(default_factory=anyio.Event)
    lead: bool = False
    done: bool = False
    result: Accepted | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Writes concurrent submissions in shared transactions, without a background task.

    The first submitter that finds no commit in flight leads: it writes every pending
    submission (up to :data:`MAX_BATCH`) in one transaction, wakes their submitters, and hands
    leadership to the first submission still waiting, so no request commits for others forever.
    Each :meth:`submit` returns only once the transaction holding its row committed.
    """

    def __init__(self, write: Callable[[Sequence[NewDelivery]], list[Accepted]]) -> None:
        self._write = write
        self._pending: list[_Slot] = []
        self._busy = False
        self.commits = 0

    async def submit(self, item: NewDelivery) -> Accepted:
        """Store ``item``; returns after its commit.

        Raises:
            Whatever the write raised for its batch.
        """
        slot = _Slot(item)
        self._pending.append(slot)
        if not self._busy:
            self._busy = True
            slot.lead = True
        while not slot.done:
            if slot.lead:
                slot.lead = False
                # Shielded: a cancelled request must not abandon the batch it leads.
                with anyio.CancelScope(shield=True):
                    await self._commit_batch()
                continue
            await slot.wakeup.wait()
            slot.wakeup = anyio.Event()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    async def _commit_batch(self) -> None:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        try:
            results = await anyio.to_thread.run_sync(self._write, [s.item for s in batch])
            self.commits += 1
        except Exception as exc:
            for slot in batch:
                slot.error = exc
        else:
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        finally:
            for slot in batch:
                slot.done = True
                slot.wakeup.set()
            if self._pending:
                successor = self._pending[0]
                successor.lead = True
                successor.wakeup.set()
            else:
                self._busy = False


def _json_response(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(body, ensure_ascii=False).encode("utf-8")


class WebhookReceiver:
    """Receives Salla's webhooks (app and store events) into an inbox and runs handlers.

    Args:
        inbox: where deliveries go (:class:`~sallakit.webhooks.SQLInbox` in production).
        secret: the app's webhook secret, or several (the new one first) while rotating: a
            delivery verified by any is accepted.
        strategy: ``signature`` (``X-Salla-Signature``), ``token`` (``Authorization``), or
            ``auto`` (either, following ``X-Salla-Security-Strategy``; both need the secret).
        handlers: handlers to run (more can be added with :meth:`on`).
        max_body_size: bodies above this many bytes are refused with 413 unread.
        retry: the worker's backoff and dead-letter policy.
        lease_seconds: how long a claimed delivery belongs to its worker.
        clock: epoch seconds.
    """

    def __init__(
        self,
        inbox: Inbox,
        secret: str | Sequence[str],
        *,
        strategy: Strategy = "auto",
        handlers: Handlers | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        retry: RetryPolicy | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secrets_list = [secret] if isinstance(secret, str) else list(secret)
        if not secrets_list or not all(isinstance(s, str) and s for s in secrets_list):
            raise ConfigurationError(
                "the webhook receiver needs the app's webhook secret (SALLAKIT_WEBHOOK_SECRET)"
            )
        if strategy not in ("auto", "signature", "token"):
            raise ConfigurationError("strategy must be 'auto', 'signature' or 'token'")
        if max_body_size < 1:
            raise ConfigurationError("max_body_size must be positive")
        self.inbox = inbox
        self._secrets = secrets_list
        self.strategy: Strategy = strategy
        self.handlers = handlers if handlers is not None else Handlers()
        self.max_body_size = max_body_size
        self.clock = clock
        self.worker = Worker(
            inbox, self.handlers, retry=retry, lease_seconds=lease_seconds, clock=clock
        )
        self._committer = GroupCommitter(inbox.add)

    def __repr__(self) -> str:
        return (
            f"WebhookReceiver({self.inbox!r}, strategy={self.strategy!r}, "
            f"secrets={len(self._secrets)}, handlers={len(self.handlers)})"
        )

    # ------------------------------------------------------------------------- handlers

    def on(self, pattern: str, *, name: str | None = None) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``pattern`` (``order.created``, ``order.*``,
        ``app.*``, ``*``); see :meth:`Handlers.on`."""
        return self.handlers.on(pattern, name=name)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookReceiver]:
        """Run the worker in the background for the duration of the block."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.worker.run)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    def lifespan(self, app: Any) -> Any:
        """A Starlette/FastAPI ``lifespan`` running the worker: ``FastAPI(lifespan=r.lifespan)``."""
        return self.running()

    # ----------------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ConfigurationError("the webhook receiver serves HTTP only")
        status, body, extra = await self._handle(scope, receive)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        async with self.running():
            await send({"type": "lifespan.startup.complete"})
            while (await receive())["type"] != "lifespan.shutdown":
                pass
        await send({"type": "lifespan.shutdown.complete"})

    async def _read_body(self, receive: Receive) -> bytes | None:
        # Streamed, and abandoned as soon as it passes the limit (a chunked body declares no
        # length): never more than max_body_size bytes in memory.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _handle(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if scope.get("method") != "POST":
            return (*_json_response(405, {"error": "webhooks are POSTed"}), [(b"allow", b"POST")])
        raw_headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        headers = {name.lower(): value for name, value in pairs}
        declared = headers.get("content-length")
        if declared is not None:
            declared = declared.strip()
            # ASCII digits only: str.isdigit() also accepts "¹" or "٣", which int() refuses.
            if not (declared.isascii() and declared.isdigit()):
                return (*_json_response(400, {"error": "malformed Content-Length"}), [])
            if int(declared) > self.max_body_size:
                return (*self._too_large(), [])
        try:
            body = await self._read_body(receive)
        except _Disconnected:
            return (*_json_response(400, {"error": "the client went away"}), [])
        if body is None:
            return (*self._too_large(), [])
        status, payload = await self._accept(body, headers, pairs)
        return status, payload, [(b"retry-after", b"30")] if status == 503 else []

    def _too_large(self) -> tuple[int, bytes]:
        return _json_response(
            413, {"error": f"the webhook body exceeds {self.max_body_size} bytes"}
        )

    async def _accept(
        self, body: bytes, headers: dict[str, str], pairs: list[tuple[str, str]]
    ) -> tuple[int, bytes]:
        try:
            verify_request(body, headers, self._secrets, strategy=self.strategy)
        except SignatureVerificationError as exc:
            return _json_response(401, {"error": exc.message})
        try:
            envelope = parse_envelope(body)
        except SallaError as exc:
            return _json_response(400, {"error": exc.message})
        if not self.inbox.accepts(envelope.event):
            logger.error(
                "refused %s for store %s: it carries OAuth tokens and the inbox has no cipher "
                "to seal them (configure SALLAKIT_TOKEN_KEYS); Salla will retry",
                envelope.event,
                envelope.store_id,
                extra={"action": "webhook_refused_no_cipher", "event": envelope.event},
            )
            return _json_response(
                503, {"error": "this receiver cannot store token-carrying events yet"}
            )
        item = NewDelivery(
            store_id=envelope.store_id,
            event=envelope.event,
            digest=envelope.digest,
            received_at=self.clock(),
            headers=kept_headers(pairs),
            body=body,
        )
        try:
            accepted = await self._committer.submit(item)
        except Exception as exc:
            # Not stored, so not acknowledged: a 503 makes Salla deliver it again.
            logger.error(
                "could not store %s for store %s: %s",
                envelope.event,
                envelope.store_id,
                exc.message if isinstance(exc, SallaError) else type(exc).__name__,
                extra={"action": "webhook_store_failed", "event": envelope.event},
            )
            return _json_response(503, {"error": "the delivery could not be stored"})
        if not accepted.duplicate:
            self.worker.wake()
        return _json_response(200, {"ok": True, "id": accepted.id, "duplicate": accepted.duplicate})


class _Disconnected(Exception):
    """The client closed the connection before the body was complete."""
