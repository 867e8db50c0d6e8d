"""A worker process for the concurrency tests (run as a script, not collected by pytest).

Usage: python _worker.py DB_URL STORE_ID EMULATOR_URL TASKS START_AT [--crash-after-refresh]

Keys come from SALLAKIT_TOKEN_KEYS. Builds ``vault.async_client(store_id, ...)`` and makes TASKS
concurrent calls; prints one JSON line with the outcome. With ``--crash-after-refresh`` the
process dies (``os._exit``) right after Salla answered a refresh, before the vault commits it.
"""

from __future__ import annotations

import json
import os
import sys
import time

import anyio
import httpx2

from sallakit.auth import AsyncOAuthClient, TokenSet, TokenVault

CLIENT_ID = "itest-client"
CLIENT_SECRET = "itest-client-secret"


class CrashingOAuthClient(AsyncOAuthClient):
    async def refresh(self, refresh_token: str, *, send_deadline: float | None = None) -> TokenSet:
        await super().refresh(refresh_token, send_deadline=send_deadline)
        os._exit(17)  # the answer is lost: exactly the window the journal exists for


class SlowTokenTransport(httpx2.AsyncHTTPTransport):
    """Holds every /oauth2/token answer for a while: the refresh is slow, so the other
    processes really meet the lease (without it they would all send the same token)."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        if request.url.path == "/oauth2/token":
            await anyio.sleep(1.0)
        return response


async def main() -> None:
    db_url, store_id, emulator_url, tasks, start_at = sys.argv[1:6]
    crash = "--crash-after-refresh" in sys.argv
    keys = os.environ["SALLAKIT_TOKEN_KEYS"].split(",")
    oauth_cls = CrashingOAuthClient if crash else AsyncOAuthClient
    transport = SlowTokenTransport() if "--slow-token" in sys.argv else None
    oauth = oauth_cls(CLIENT_ID, CLIENT_SECRET, accounts_url=emulator_url, transport=transport)
    vault = TokenVault.from_url(db_url, keys, async_oauth=oauth, create_tables=False)
    client = vault.async_client(int(store_id), base_url=emulator_url + "/admin/v2")
    ok = 0
    errors: list[str] = []

    async def call() -> None:
        nonlocal ok
        try:
            await client.request("GET", "/store/info")
            ok += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    # Line up with the other processes so that they really contend.
    time.sleep(max(0.0, float(start_at) - time.time()))
    async with anyio.create_task_group() as tg:
        for _ in range(int(tasks)):
            tg.start_soon(call)
    print(json.dumps({"ok": ok, "errors": errors[:5]}))
    await oauth.aclose()


if __name__ == "__main__":
    anyio.run(main)
