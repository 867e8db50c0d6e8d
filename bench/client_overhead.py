"""Benchmark: what the sallakit client costs on top of a bare HTTP loop, server out of the loop.

Every answer is canned: the product pages and one order are rendered once by the emulator, encoded
once, and served from memory by an ``httpx2.MockTransport`` whose handler only looks up bytes.
So neither side pays for a server, and the ratios below are the client's own cost.

Baseline (the floor any Salla client pays): a bare ``httpx2.AsyncClient`` loop on the same
transport that builds the URL, sends, decodes the JSON and follows ``totalPages``, touching each
item. Measured against it, in the same run, interleaved:

- ``typed_list``: ``AsyncSalla.products.list()`` yielding typed ``Product`` models (governor,
  retry loop, error mapping, logging, prefetch, pydantic validation of every product).
- ``raw_list``: ``AsyncSalla.paginate("/products")``, the raw mode for bulk work (dicts).
- ``request``: ``AsyncSalla.request("GET", "/orders/1")`` against a bare ``client.get`` of the
  same order, one call at a time.

Also measured, not targets: the same ratios in CPU time (on a shared machine the wall clock
counts waits for a core too), and the bare loop decoding with pydantic-core (the client's decoder)
instead of ``response.json()``, the stricter floor; the typed walk is printed against it too.

Targets: a typed page within 2x the bare loop (validation of a full Salla product is real work:
about 50 fields, options and SKUs), ``request()`` within 1.3x. Medians over rounds.

    python bench/client_overhead.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import pydantic_core

from sallakit.api import AsyncSalla, GovernorRegistry
from sallakit.emulator import Emulator

BASE = "https://api.salla.dev/admin/v2"
PER_PAGE = 60
TARGETS = {"typed_list": 2.0, "raw_list": 1.3, "request": 1.3}


def canned_store(products: int) -> tuple[dict[str, bytes], str]:
    """The product pages and one order, rendered once by the emulator and kept as bytes."""
    emulator = Emulator(products=products, orders=2, customers=1, plan="1000000")
    store = emulator.stores[0].id
    scopes = ["products.read", "orders.read"]
    token = emulator.issue_tokens(store, scopes=scopes)["access_token"]
    answers: dict[str, bytes] = {}
    with httpx2.Client(
        transport=emulator.sync_transport(),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        pages = -(-products // PER_PAGE)
        for page in range(1, pages + 1):
            response = client.get("/products", params={"page": page, "per_page": PER_PAGE})
            answers[f"/admin/v2/products?{page}"] = response.content
        order_id = client.get("/orders").json()["data"][0]["id"]
        answers["/admin/v2/orders/1"] = client.get(f"/orders/{order_id}").content
    return answers, token


def canned_transport(answers: dict[str, bytes]) -> httpx2.MockTransport:
    headers = {"content-type": "application/json"}

    def handle(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path == "/admin/v2/products":
            path = f"{path}?{request.url.params.get('page', '1')}"
        return httpx2.Response(200, content=answers[path], headers=headers)

    return httpx2.MockTransport(handle)


async def bare_list(
    transport: httpx2.MockTransport,
    token: str,
    decode: Callable[[httpx2.Response], Any] = httpx2.Response.json,
) -> int:
    seen = 0
    async with httpx2.AsyncClient(
        transport=transport,
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "ar"},
    ) as client:
        page = 1
        while True:
            response = await client.get("/products", params={"page": page, "per_page": PER_PAGE})
            response.raise_for_status()
            body = decode(response)
            for item in body["data"]:
                seen += item["id"] is not None
            if page >= body["pagination"]["totalPages"]:
                return seen
            page += 1


def fast_json(response: httpx2.Response) -> Any:
    """The fastest JSON decoder at hand (pydantic-core's, as the client uses)."""
    return pydantic_core.from_json(response.content)


def _client(transport: httpx2.MockTransport, token: str) -> AsyncSalla:
    return AsyncSalla(token, transport=transport, governor=GovernorRegistry())


async def typed_list(transport: httpx2.MockTransport, token: str) -> int:
    seen = 0
    async with _client(transport, token) as salla:
        async for product in salla.products.list():
            seen += product.id is not None
    return seen


async def raw_list(transport: httpx2.MockTransport, token: str) -> int:
    seen = 0
    async with _client(transport, token) as salla:
        async for item in salla.paginate("/products"):
            seen += item["id"] is not None
    return seen


async def bare_requests(transport: httpx2.MockTransport, token: str, calls: int) -> int:
    async with httpx2.AsyncClient(
        transport=transport,
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "ar"},
    ) as client:
        for _ in range(calls):
            response = await client.get("/orders/1")
            response.raise_for_status()
            response.json()
    return calls


async def client_requests(transport: httpx2.MockTransport, token: str, calls: int) -> int:
    async with _client(transport, token) as salla:
        for _ in range(calls):
            await salla.request("GET", "/orders/1")
    return calls


async def _time(run: Callable[[], Awaitable[int]]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the same on a quiet machine: nothing here waits)."""
    start, cpu = time.perf_counter(), time.process_time()
    await run()
    return time.perf_counter() - start, time.process_time() - cpu


async def measure(
    products: int, calls: int, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    answers, token = canned_store(products)
    transport = canned_transport(answers)
    runs: dict[str, Callable[[], Awaitable[int]]] = {
        "bare_list": lambda: bare_list(transport, token),
        "bare_list_fast_json": lambda: bare_list(transport, token, fast_json),
        "typed_list": lambda: typed_list(transport, token),
        "raw_list": lambda: raw_list(transport, token),
        "bare_request": lambda: bare_requests(transport, token, calls),
        "request": lambda: client_requests(transport, token, calls),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up: imports, pydantic's first validations
        await run()
    for _ in range(rounds):
        # Interleaved, so a noisy neighbour hurts every side alike.
        for name, run in runs.items():
            wall, used = await _time(run)
            times[name].append(wall)
            cpu[name].append(used)
    return (
        {name: statistics.median(values) for name, values in times.items()},
        {name: statistics.median(values) for name, values in cpu.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer products and rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    products, calls, rounds = (1_200, 300, 7) if args.quick else (6_000, 1_000, 11)
    result, cpu = anyio.run(measure, products, calls, rounds)
    # CPU time of the process, informational: on a shared machine the wall clock also counts
    # the time the process waited for a core, which inflates each side differently.
    cpu_ratios = {
        "typed_list": cpu["typed_list"] / cpu["bare_list"],
        "raw_list": cpu["raw_list"] / cpu["bare_list"],
        "request": cpu["request"] / cpu["bare_request"],
    }
    ratios = {
        "typed_list": result["typed_list"] / result["bare_list"],
        "raw_list": result["raw_list"] / result["bare_list"],
        "request": result["request"] / result["bare_request"],
    }
    # Not a target: the typed walk against a bare loop that decodes with pydantic-core instead of
    # the json module (the stricter floor), so that a gain from the decoder alone shows.
    typed_vs_fast_json = result["typed_list"] / result["bare_list_fast_json"]
    figures: dict[str, dict[str, Any]] = {
        f"{name}_seconds": {
            "value": round(value, 4),
            "unit": "s",
            "target": "baseline" if name.startswith("bare") else "informational",
            "met": True,
        }
        for name, value in result.items()
    }
    for name, ratio in ratios.items():
        figures[f"{name}_vs_bare"] = {
            "value": round(ratio, 3),
            "unit": "x",
            "target": f"<= {TARGETS[name]}",
            "met": ratio <= TARGETS[name],
        }
    for name, ratio in cpu_ratios.items():
        figures[f"{name}_vs_bare_cpu"] = {
            "value": round(ratio, 3),
            "unit": "x",
            "target": "informational",
            "met": True,
        }
    figures["typed_list_vs_bare_fast_json"] = {
        "value": round(typed_vs_fast_json, 3),
        "unit": "x",
        "target": "informational",
        "met": True,
    }
    if args.json:
        print(json.dumps({"bench": "client_overhead", "figures": figures}))
        return
    print(
        f"{products} products in pages of {PER_PAGE} and {calls} single GETs, canned answers, "
        f"median of {rounds} rounds"
    )
    print(f"  bare httpx2 list loop        : {result['bare_list']:.3f} s")
    print(f"  same, pydantic-core JSON    : {result['bare_list_fast_json']:.3f} s")
    print(f"  products.list() typed       : {result['typed_list']:.3f} s")
    print(f"  paginate() raw              : {result['raw_list']:.3f} s")
    print(f"  bare httpx2 GETs            : {result['bare_request']:.3f} s")
    print(f"  request()                   : {result['request']:.3f} s")
    for name, ratio in ratios.items():
        verdict = "met" if ratio <= TARGETS[name] else "NOT met"
        print(f"  {name:<12} vs bare: {ratio:.2f}x (target <= {TARGETS[name]}: {verdict})")
    print(
        f"  typed_list   vs bare with pydantic-core JSON: {typed_vs_fast_json:.2f}x (informational)"
    )
    for name, ratio in cpu_ratios.items():
        print(f"  {name:<12} vs bare in CPU time: {ratio:.2f}x (informational)")


if __name__ == "__main__":
    main()
