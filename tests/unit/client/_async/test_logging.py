"""One structured log event per attempt, without secrets."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest

from sallakit.api import AsyncSalla, GovernorRegistry


@pytest.mark.anyio
async def test_one_structured_event_per_attempt(
    governors: GovernorRegistry, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [
        httpx2.Response(503, json={"status": 503, "success": False, "error": {"message": "x"}}),
        httpx2.Response(
            200,
            json={"status": 200, "success": True, "data": {}},
            headers={"X-RateLimit-Remaining": "41", "X-RateLimit-Limit": "120"},
        ),
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return answers.pop(0)

    caplog.set_level(logging.DEBUG, logger="sallakit.api")
    client = AsyncSalla(
        token, transport=httpx2.MockTransport(handler), governor=governors, store_id=321
    )
    async with client:
        await client.request("GET", "/products/5")
    events: list[Any] = [r for r in caplog.records if getattr(r, "action", None) == "salla_request"]
    assert [(e.status, e.attempt) for e in events] == [(503, 1), (200, 2)]
    last = events[-1]
    assert last.method == "GET"
    assert last.path == "/products/5"
    assert last.rate_remaining == 41
    assert last.store == "321"
    assert last.duration_ms >= 0
    assert all(token not in repr(vars(e)) for e in events)
