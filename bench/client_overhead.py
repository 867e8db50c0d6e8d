"""Benchmark: what the sallakit client costs on top of a bare HTTP loop.

Walks every page of a store's products twice against the same in-process emulator: once with a
bare ``httpx2.AsyncClient`` loop (build the URL, send, decode JSON, follow ``totalPages``: the
floor any Salla client pays) and once with ``AsyncSalla.products.list()`` (governor, retry loop,
error mapping, structured logging, typed ``Product`` models). Prints the median time of each over
several rounds and the ratio client / bare. The emulator's own work is in both, so the ratio
isolates the client's overhead, model parsing included.

    python bench/client_overhead.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import anyio
import httpx2

from sallakit.api import AsyncSalla, GovernorRegistry
from sallakit.emulator import Emulator

# The bare loop stops at decoded JSON; the client also validates every product into a typed
# model (about 0.2 ms for a full Salla product with options and variants). Against the
# in-process emulator, where a page costs a few milliseconds, that doubles the time at most;
# against Salla, where a page takes a network round trip of 100 ms or more, it is noise.
TARGET_RATIO = 2.0
PER_PAGE = 60


async def _bare(emulator: Emulator, token: str) -> int:
    seen = 0
    async with httpx2.AsyncClient(
        transport=emulator.async_transport(),
        base_url="https://api.salla.dev/admin/v2",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "ar"},
    ) as client:
        page = 1
        while True:
            response = await client.get("/products", params={"page": page, "per_page": PER_PAGE})
            response.raise_for_status()
            body = response.json()
            seen += len(body["data"])
            if page >= body["pagination"]["totalPages"]:
                return seen
            page += 1


async def _client(emulator: Emulator, token: str) -> int:
    seen = 0
    async with AsyncSalla(
        token, transport=emulator.async_transport(), governor=GovernorRegistry()
    ) as salla:
        async for _product in salla.products.list():
            seen += 1
    return seen


async def _measure(products: int, rounds: int) -> dict[str, Any]:
    emulator = Emulator(products=products, orders=1, customers=1, plan="1000000")
    token = emulator.issue_tokens(emulator.stores[0].id, scopes=["products.read"])["access_token"]
    bare: list[float] = []
    client: list[float] = []
    for _ in range(rounds):
        # Interleaved, so a noisy neighbour hurts both sides alike.
        for runner, times in ((_bare, bare), (_client, client)):
            start = time.perf_counter()
            count = await runner(emulator, token)
            times.append(time.perf_counter() - start)
            assert count == products, (runner.__name__, count)
    return {"bare": statistics.median(bare), "client": statistics.median(client)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer products and rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    products, rounds = (1_200, 5) if args.quick else (6_000, 9)
    result = anyio.run(_measure, products, rounds)
    ratio = result["client"] / result["bare"]
    figures = {
        "bare_loop_seconds": {
            "value": round(result["bare"], 4),
            "unit": "s",
            "target": "baseline",
            "met": True,
        },
        "client_seconds": {
            "value": round(result["client"], 4),
            "unit": "s",
            "target": "informational",
            "met": True,
        },
        "client_vs_bare": {
            "value": round(ratio, 3),
            "unit": "x",
            "target": f"<= {TARGET_RATIO}",
            "met": ratio <= TARGET_RATIO,
        },
    }
    if args.json:
        print(json.dumps({"bench": "client_overhead", "figures": figures}))
        return
    print(f"{products} products in pages of {PER_PAGE}, median of {rounds} rounds")
    print(f"  bare httpx2 loop : {result['bare']:.3f} s")
    print(f"  AsyncSalla.list  : {result['client']:.3f} s")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"  ratio            : {ratio:.2f}x (target <= {TARGET_RATIO}: {verdict})")


if __name__ == "__main__":
    main()
