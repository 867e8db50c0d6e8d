"""Connect one store through a callback server on localhost (``sallakit connect``).

One event loop serves every connection concurrently: an idle connection (a browser's
preconnect) never blocks the others, and each must send its request head within
``read_timeout``. A request to the callback path whose ``state`` is missing, forged or expired is
answered 400 and ignored: the session goes on waiting for the merchant's real approval, until
``timeout``. The first callback with a valid state ends the session (connected, declined, or
failed), and its code exchange is shielded from the timeout so issued tokens are never lost.
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from sallakit._exceptions import ConfigurationError, InvalidStateError, OAuthError, SallaError
from sallakit.auth._custom import CustomMode
from sallakit.auth._records import StoredStore

__all__ = ["run_loopback_connect"]

logger = logging.getLogger(__name__)

_MAX_HEAD = 16 * 1024


@dataclass
class _Session:
    store: StoredStore | None = None
    error: SallaError | None = None
    ignored: int = 0
    done: anyio.Event = field(default_factory=anyio.Event)


def _page(ok: bool, message: str) -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>sallakit</title>"
        f"<h1>{'Connected' if ok else 'Not connected'}</h1><p>{html.escape(message)}</p>"
    )


async def _respond(stream: anyio.abc.ByteStream, status: int, body: str) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
    data = body.encode()
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode()
    # The browser may have gone away; there is nobody to tell then.
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        await stream.send(head + data)


async def _read_head(stream: anyio.abc.ByteStream) -> tuple[str, str, dict[str, str]] | None:
    buffered = BufferedByteReceiveStream(stream)
    try:
        raw = await buffered.receive_until(b"\r\n\r\n", _MAX_HEAD)
    except (anyio.IncompleteRead, anyio.DelimiterNotFound, anyio.EndOfStream, OSError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


async def run_loopback_connect(
    custom: CustomMode,
    *,
    port: int,
    path: str = "/oauth/callback",
    host: str = "127.0.0.1",
    timeout: float = 300.0,
    open_url: Callable[[str], object] | None = None,
    read_timeout: float = 10.0,
) -> StoredStore:
    """Serve the OAuth callback on ``host:port`` until one store is connected or ``timeout``.

    Args:
        custom: the Custom mode handler (its redirect URI must point here).
        port: where to listen.
        path: the callback path (the redirect URI's).
        host: the loopback address to listen on.
        timeout: seconds the whole session may last.
        open_url: called (in a worker thread) with the consent URL once the server listens.
        read_timeout: seconds a connection has to send its request head.

    Raises:
        ConfigurationError: bad arguments, or the port is taken.
        OAuthError: no valid callback in time, or the valid one failed (declined, exchange...).
    """
    if not timeout > 0 or not read_timeout > 0:
        raise ConfigurationError("the connect timeout must be positive")
    session = _Session()
    wanted = path.rstrip("/") or "/"

    async def accept(stream: anyio.abc.ByteStream) -> tuple[dict[str, str], str] | None:
        """The callback's parameters and URL, or None once the request was answered."""
        head = await _read_head(stream)
        if head is None:
            return None
        method, target, headers = head
        parts = urlsplit(target)
        if (parts.path.rstrip("/") or "/") != wanted:
            await _respond(stream, 404, _page(False, "Not found."))
            return None
        if method != "GET":
            await _respond(stream, 405, _page(False, "Use GET."))
            return None
        params = dict(parse_qsl(parts.query))
        try:
            custom.check_state(params)
        except OAuthError as exc:
            # Not this session's callback (forged, stale, a probe): keep waiting.
            session.ignored += 1
            logger.warning(
                "ignored a callback with a bad state: %s",
                exc.message,
                extra={"action": "connect_callback_ignored"},
            )
            await _respond(stream, 400, _page(False, exc.message))
            return None
        return params, f"http://{headers.get('host', f'{host}:{port}')}{parts.path}"

    async def handle(stream: anyio.abc.ByteStream) -> None:
        async with stream:
            accepted = None
            with anyio.move_on_after(read_timeout):
                accepted = await accept(stream)
            if accepted is None:
                return
            # Shielded: the code is single-use; once it is being exchanged, the answer must land
            # (bounded by the OAuth client's deadline), and the browser must hear of it.
            with anyio.CancelScope(shield=True):
                try:
                    record = await custom.handle_callback(accepted[0], callback_url=accepted[1])
                except InvalidStateError as exc:
                    # The same state again (a reload racing the first request): not an outcome.
                    await _respond(stream, 400, _page(False, exc.message))
                    return
                except SallaError as exc:
                    if not session.done.is_set():
                        session.error = exc
                    with anyio.move_on_after(read_timeout):
                        await _respond(stream, 400, _page(False, exc.message))
                    session.done.set()
                    return
                if not session.done.is_set():
                    session.store = record
                name = record.name or "unnamed"
                message = f"Store {record.store_id} ({name}) is connected."
                with anyio.move_on_after(read_timeout):
                    await _respond(
                        stream, 200, _page(True, message + " You can close this window.")
                    )
                session.done.set()

    try:
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen for the callback on {host}:{port} ({exc.strerror or exc}); is "
            "another program (another `sallakit connect`, `sallakit emulator`...) using it?"
        ) from exc
    url = custom.authorize_url()
    async with listener:
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:
                tg.start_soon(listener.serve, handle)
                if open_url is not None:
                    # Only now that the server listens may the merchant be sent to consent.
                    tg.start_soon(_open, open_url, url)
                await session.done.wait()
                tg.cancel_scope.cancel()
    if session.store is not None:
        return session.store
    if session.error is not None:
        raise session.error
    raise OAuthError(
        f"no callback reached {custom.redirect_uri} within {timeout:g} s"
        + (f" ({session.ignored} with a bad state were ignored)" if session.ignored else "")
        + ": open the printed URL, approve the app, and check that this redirect URI is the one "
        "registered for the app; then run `sallakit connect` again"
    )


async def _open(open_url: Callable[[str], object], url: str) -> None:
    await anyio.to_thread.run_sync(open_url, url, abandon_on_cancel=True)
