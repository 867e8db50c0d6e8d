"""One process hammering one store through the sallakit client (run as a script by the tests).

Usage: python _hammer.py API_BASE TOKEN STORE DATABASE_URL GOVERNOR REQUESTS CONCURRENCY START

Starts at the Unix time START (so that every process hammers at once), sends REQUESTS GETs with
CONCURRENCY tasks through a client whose governor is the process's own (``process``) or shared
through the database (``database``), and prints one JSON line: requests sent and failures.
"""

from __future__ import annotations

import json
import sys
import time

import anyio

from sallakit.api import AsyncSalla, GovernorRegistry, SharedGovernorRegistry, SQLGovernorBackend
from sallakit.db import create_engine, migrate


async def hammer(argv: list[str]) -> dict[str, int]:
    api, token, store, database_url, governor, total, concurrency, start = argv
    registry: GovernorRegistry
    if governor == "database":
        engine = create_engine(database_url)
        migrate(engine)
        registry = SharedGovernorRegistry(SQLGovernorBackend(engine))
    else:
        registry = GovernorRegistry()
    left = int(total)
    failures = 0
    await anyio.sleep(max(0.0, float(start) - time.time()))
    async with AsyncSalla(
        token, base_url=api, store_id=int(store), governor=registry, max_retries=8
    ) as client:

        async def worker() -> None:
            nonlocal left, failures
            while left > 0:
                left -= 1
                try:
                    await client.request("GET", "/products", params={"per_page": 5})
                except Exception:
                    failures += 1

        async with anyio.create_task_group() as tg:
            for _ in range(int(concurrency)):
                tg.start_soon(worker)
    if isinstance(registry, SharedGovernorRegistry):
        registry.close()
    return {"requests": int(total), "failures": failures}


if __name__ == "__main__":
    print(json.dumps(anyio.run(hammer, sys.argv[1:])))
