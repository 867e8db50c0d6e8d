"""Webhook retries over real sockets: receiver down, 5xx, dropped connections, and a snapshot.

Salla sends an event once plus three retries about five minutes apart; the emulator follows its
own clock, so the schedule is checked by advancing it. The receivers here are real TCP servers
on loopback (no transport double), as in the crash test of a webhook service.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from sallakit.emulator import Emulator

from .conftest import START

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Behaviour = Callable[[bytes], bytes | None]
"""Given a request's bytes: the raw response to write, or None to drop the connection."""


def _http(status: int) -> bytes:
    return f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".encode()


@asynccontextmanager
async def _server(port: int, behave: Behaviour, seen: list[bytes]) -> AsyncIterator[None]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = await reader.readexactly(length)
        seen.append(body)
        answer = behave(body)
        if answer is not None:
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


def _emulator(port: int) -> Emulator:
    em = Emulator(
        products=3,
        orders=1,
        customers=1,
        now=START,
        webhook_url=f"http://127.0.0.1:{port}/hooks",
        webhook_retry_interval=300,
    )
    em.state.settings.webhook_timeout = 5
    return em


async def test_a_receiver_that_is_down_gets_the_retry_when_it_is_back():
    port = _free_port()
    em = _emulator(port)
    em.install_app()
    first = await em.deliver_due()  # nothing listens: connection refused
    assert [r.attempt for r in first] == [1, 1]
    assert all(r.status is None and r.error for r in first)
    seen: list[bytes] = []
    async with _server(port, lambda body: _http(200), seen):
        assert await em.deliver_due() == []  # not due before the interval
        em.advance(300)
        second = await em.deliver_due()
    assert [(r.attempt, r.status) for r in second] == [(2, 200), (2, 200)]
    assert [json.loads(b)["event"] for b in seen] == ["app.installed", "app.store.authorize"]
    assert em.pending_deliveries == []


async def test_5xx_and_dropped_connections_are_retried_three_times_then_given_up():
    port = _free_port()
    em = _emulator(port)
    em.uninstall_app()  # one event: app.uninstalled
    answers: list[bytes | None] = [_http(503), None, _http(500), None]
    seen: list[bytes] = []
    async with _server(port, lambda body: answers.pop(0), seen):
        outcomes = []
        for _ in range(4):
            made = await em.deliver_due()
            outcomes.extend((r.attempt, r.status) for r in made)
            em.advance(300)
        assert await em.deliver_due() == []
    assert outcomes == [(1, 503), (2, None), (3, 500), (4, None)]
    assert len(seen) == 4 and len(set(seen)) == 1  # the same signed bytes every time
    assert em.pending_deliveries == []
    assert em.counters()["deliveries"]["delivered"] == 0


async def test_the_retry_state_survives_a_snapshot(tmp_path):
    port = _free_port()
    em = _emulator(port)
    em.install_app()
    seen: list[bytes] = []
    async with _server(port, lambda body: _http(500), seen):
        await em.deliver_due()
    em.save(tmp_path / "emulator.snap")
    restored = Emulator.load(tmp_path / "emulator.snap")
    pending = restored.pending_deliveries
    assert [(d.event, d.attempts) for d in pending] == [
        ("app.installed", 1),
        ("app.store.authorize", 1),
    ]
    async with _server(port, lambda body: _http(200), seen):
        assert await restored.deliver_due() == []  # still on the restored schedule
        restored.advance(300)
        made = await restored.deliver_due()
    assert [(r.attempt, r.status) for r in made] == [(2, 200), (2, 200)]
    assert set(seen[:2]) == set(seen[2:])  # the retry re-sends the same bodies
