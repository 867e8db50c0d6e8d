"""httpx2 transports that serve the emulator in-process, async and sync.

The async transport is httpx2's ``ASGITransport`` plus two translations: the emulator's injected
connection reset (:class:`ConnectionResetFault`, raised by the app after it started answering)
becomes ``httpx2.ReadError``, which is what a client sees when a real server drops the
connection; and the request's timeout (the ``timeout`` extension httpx2 sets from the client's or
the request's ``timeout=``) is enforced, raising ``httpx2.ReadTimeout`` like a network transport,
so that injected latency exercises the caller's timeout handling. The sync transport runs the
same app on a private event loop in a thread (anyio's blocking portal), so that sync clients can
use the emulator without a server; it is safe to share between threads.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import httpx2

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal
    from starlette.types import ASGIApp

__all__ = ["AsyncEmulatorTransport", "ConnectionResetFault", "SyncEmulatorTransport"]


class ConnectionResetFault(Exception):
    """Raised by the emulator app to drop the connection (an injected fault)."""


def _timeout_of(extensions: Mapping[str, Any]) -> float | None:
    # httpx2 puts {"connect", "read", "write", "pool"} in the request's extensions. In-process
    # there is no connection to wait for: the whole answer is one "read" (plus the "pool" wait,
    # which here is nil), so the read timeout bounds the call.
    timeout = extensions.get("timeout")
    if not isinstance(timeout, Mapping):
        return None
    values = [
        float(v)
        for k in ("read", "pool")
        if isinstance((v := timeout.get(k)), int | float) and not isinstance(v, bool)
    ]
    finite = [v for v in values if math.isfinite(v) and v >= 0]
    return min(finite) if finite else None


class AsyncEmulatorTransport(httpx2.AsyncBaseTransport):
    """Serve an emulator app to an httpx2 ``AsyncClient`` without sockets."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx2.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        limit = _timeout_of(request.extensions)
        try:
            if limit is None:
                return await self._inner.handle_async_request(request)
            with anyio.fail_after(limit):
                response = await self._inner.handle_async_request(request)
                await response.aread()
                return response
        except ConnectionResetFault as exc:
            raise httpx2.ReadError("connection reset by the emulator", request=request) from exc
        except TimeoutError as exc:
            raise httpx2.ReadTimeout("timed out (emulator)", request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


class SyncEmulatorTransport(httpx2.BaseTransport):
    """Serve an emulator app to an httpx2 ``Client`` via an event loop on a private thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._async = AsyncEmulatorTransport(app)
        self._stack: contextlib.ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self._lock = threading.Lock()

    def _get_portal(self) -> BlockingPortal:
        portal = self._portal
        if portal is not None:
            return portal
        # Double-checked: many threads may make their first request at once, and only one
        # event-loop thread must be started.
        with self._lock:
            if self._portal is None:
                stack = contextlib.ExitStack()
                self._portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                self._stack = stack
            return self._portal

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes, dict[str, Any]]:
            inner = httpx2.Request(
                request.method,
                request.url,
                headers=request.headers,
                content=body,
                extensions=dict(request.extensions),
            )
            response = await self._async.handle_async_request(inner)
            content = await response.aread()
            return response.status_code, response.headers.raw, content, response.extensions

        try:
            status, headers, content, extensions = self._get_portal().call(call)
        except (httpx2.ReadTimeout, httpx2.ReadError) as exc:
            # Re-raise against the caller's request object.
            raise type(exc)(str(exc), request=request) from exc
        return httpx2.Response(
            status, headers=headers, content=content, request=request, extensions=extensions
        )

    def close(self) -> None:
        with self._lock:
            if self._stack is not None:
                self._stack.close()
                self._stack = None
                self._portal = None
