"""httpx2 transports that serve the emulator in-process, async and sync.

The async transport is httpx2's ``ASGITransport`` plus one translation: the emulator's injected
connection reset (:class:`ConnectionResetFault`, raised by the app after it started answering)
becomes ``httpx2.ReadError``, which is what a client sees when a real server drops the
connection. The sync transport runs the same app on a private event loop in a thread (anyio's
blocking portal), so that sync clients can use the emulator without a server.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import anyio.from_thread
import httpx2

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal
    from starlette.types import ASGIApp

__all__ = ["AsyncEmulatorTransport", "ConnectionResetFault", "SyncEmulatorTransport"]


class ConnectionResetFault(Exception):
    """Raised by the emulator app to drop the connection (an injected fault)."""


class AsyncEmulatorTransport(httpx2.AsyncBaseTransport):
    """Serve an emulator app to an httpx2 ``AsyncClient`` without sockets."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx2.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionResetFault as exc:
            raise httpx2.ReadError("connection reset by the emulator", request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


class SyncEmulatorTransport(httpx2.BaseTransport):
    """Serve an emulator app to an httpx2 ``Client`` via an event loop on a private thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._async = AsyncEmulatorTransport(app)
        self._stack: contextlib.ExitStack | None = None
        self._portal: BlockingPortal | None = None

    def _get_portal(self) -> BlockingPortal:
        if self._portal is None:
            stack = contextlib.ExitStack()
            self._portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
            self._stack = stack
        return self._portal

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes, dict[str, Any]]:
            inner = httpx2.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._async.handle_async_request(inner)
            content = await response.aread()
            return response.status_code, response.headers.raw, content, response.extensions

        status, headers, content, extensions = self._get_portal().call(call)
        return httpx2.Response(
            status, headers=headers, content=content, request=request, extensions=extensions
        )

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
            self._portal = None
