"""Benchmark: reading a whole store with the client, against the floor and against naive code.

Starts ``sallakit emulator`` as a real server (its own process, real sockets) with a plan of
6000 requests per minute and 50 ms of latency on every request, then reads a store the way an
app's first sync does: every product, every customer, every order with its detail and its items
(2,000 products, 1,000 orders and 1,000 customers: 2,068 requests; ``--quick`` reads a tenth).

Three ways, in the same run:

- ``floor``: requests x latency / 4, the time of the same requests at Salla's 4 in flight per
  store with no other cost (not measured: the number to approach).
- ``client``: the obvious async code, ``list()`` walks and ``asyncio.gather`` of the detail and
  items calls, on one ``AsyncSalla`` (governor, prefetch, typed models).
- ``naive``: the obvious sequential code, one request after the other (``Salla``, sync).

Prints the client's wall time against the floor and the naive time against the client's, and
the 429s the server answered (the client must cause none). Medians over rounds. Also printed:
the client's CPU time during its read, and the same read with no latency injected, which is
the server's own time: on a loaded machine the emulator (one Python process rendering every
answer) can need longer than the floor, and then no client can reach the floor.

    python bench/client_fanout.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from sallakit.api import AsyncSalla, GovernorRegistry, Salla

LATENCY = 0.05
IN_FLIGHT = 4
PLAN = "6000"
TARGET_VS_FLOOR = 1.15
TARGET_NAIVE_VS_CLIENT = 3.0
SCOPES = ["products.read", "orders.read", "customers.read", "offline_access"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator_server(products: int, orders: int, customers: int) -> Iterator[str]:
    """Run ``sallakit emulator`` in its own process; yield its base URL; stop it."""
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from sallakit.cli import main; main()",
        "emulator",
        "--port",
        str(port),
        "--plan",
        PLAN,
        "--products",
        str(products),
        "--orders",
        str(orders),
        "--customers",
        str(customers),
        "--seed",
        "7",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALLAKIT_")}
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"the emulator exited: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if httpx2.get(base + "/_emulator/state", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the emulator did not start within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _control(base: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx2.request(method, base + "/_emulator" + path, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _counters(base: str, store_id: int) -> tuple[int, int]:
    """(Merchant API requests, 429 answers) the server counted for the store so far."""
    counters = _control(base, "GET", "/counters")
    key = str(store_id)
    total = int(counters["requests"].get(key, {}).get("total", 0))
    limited = int(counters["statuses"].get(key, {}).get("429", 0))
    return total, limited


async def read_with_client(base: str, token: str, store_id: int) -> int:
    """The obvious async code: list() walks, gather for the per-order calls."""
    async with AsyncSalla(
        token,
        base_url=base + "/admin/v2",
        store_id=store_id,
        governor=GovernorRegistry(),  # a fresh governor per round: no state carried over
    ) as client:

        async def products() -> int:
            return len([p async for p in client.products.list()])

        async def customers() -> int:
            return len([c async for c in client.customers.list()])

        async def orders() -> int:
            listed = [o async for o in client.orders.list()]
            details = await asyncio.gather(
                *(client.orders.retrieve(o.id) for o in listed),
                *(client.orders.items.list(order_id=o.id) for o in listed),
            )
            return len(listed) + len(details)

        counts = await asyncio.gather(products(), customers(), orders())
    return sum(counts)


def read_naively(base: str, token: str, store_id: int) -> int:
    """The obvious sequential code: one request after the other."""
    seen = 0
    with Salla(
        token, base_url=base + "/admin/v2", store_id=store_id, governor=GovernorRegistry()
    ) as client:
        for _product in client.products.list():
            seen += 1
        for _customer in client.customers.list():
            seen += 1
        for order in client.orders.list():
            client.orders.retrieve(order.id)
            client.orders.items.list(order_id=order.id)
            seen += 3
    return seen


def measure(
    products: int, orders: int, customers: int, *, rounds: int, naive_rounds: int
) -> dict[str, Any]:
    with emulator_server(products, orders, customers) as base:
        store_id = int(_control(base, "GET", "/state")["stores"][0]["id"])
        token = _control(base, "POST", f"/stores/{store_id}/tokens", {"scopes": SCOPES})[
            "access_token"
        ]
        # Without latency first: the time the server itself needs for the read (its CPU, on a
        # shared machine), which no client can beat. Also warms both processes up.
        server_bound = []
        for _ in range(2):
            start = time.perf_counter()
            asyncio.run(read_with_client(base, token, store_id))
            server_bound.append(time.perf_counter() - start)
        _control(base, "POST", "/faults", {"kind": "latency", "seconds": LATENCY})
        client_times: list[float] = []
        naive_times: list[float] = []
        client_cpu: list[float] = []
        requests = 0
        for round_number in range(rounds):
            before, _ = _counters(base, store_id)
            start, cpu = time.perf_counter(), time.process_time()
            asyncio.run(read_with_client(base, token, store_id))
            client_times.append(time.perf_counter() - start)
            client_cpu.append(time.process_time() - cpu)
            requests = _counters(base, store_id)[0] - before
            if round_number < naive_rounds:
                # The naive read is slow (one request at a time): fewer rounds of it.
                start = time.perf_counter()
                read_naively(base, token, store_id)
                naive_times.append(time.perf_counter() - start)
        _, rate_limited = _counters(base, store_id)
    return {
        "requests": requests,
        "client": statistics.median(client_times),
        "naive": statistics.median(naive_times),
        "client_cpu": statistics.median(client_cpu),
        "server_bound": min(server_bound),
        "rate_limited": rate_limited,
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the store, one naive round"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sizes = (240, 100, 120) if args.quick else (2_000, 1_000, 1_000)
    result = measure(*sizes, rounds=3, naive_rounds=1 if args.quick else 2)
    floor = result["requests"] * LATENCY / IN_FLIGHT
    vs_floor = result["client"] / floor
    speedup = result["naive"] / result["client"]
    figures = {
        "requests": {
            "value": result["requests"],
            "unit": "requests",
            "target": "info",
            "met": True,
        },
        "floor_seconds": {"value": round(floor, 3), "unit": "s", "target": "baseline", "met": True},
        "client_seconds": {
            "value": round(result["client"], 3),
            "unit": "s",
            "target": "informational",
            "met": True,
        },
        "naive_seconds": {
            "value": round(result["naive"], 3),
            "unit": "s",
            "target": "baseline",
            "met": True,
        },
        "client_vs_floor": {
            "value": round(vs_floor, 3),
            "unit": "x",
            "target": f"<= {TARGET_VS_FLOOR}",
            "met": vs_floor <= TARGET_VS_FLOOR,
        },
        "client_cpu_seconds": {
            "value": round(result["client_cpu"], 3),
            "unit": "s",
            "target": "informational",
            "met": True,
        },
        "server_bound_seconds": {
            "value": round(result["server_bound"], 3),
            "unit": "s",
            "target": "informational",
            "met": True,
        },
        "naive_vs_client": {
            "value": round(speedup, 2),
            "unit": "x",
            "target": f">= {TARGET_NAIVE_VS_CLIENT}",
            "met": speedup >= TARGET_NAIVE_VS_CLIENT,
        },
        "rate_limited_responses": {
            "value": result["rate_limited"],
            "unit": "429s",
            "target": "== 0",
            "met": result["rate_limited"] == 0,
        },
    }
    if args.json:
        print(json.dumps({"bench": "client_fanout", "figures": figures}))
        return
    print(
        f"{result['requests']} requests per read ({sizes[0]} products, {sizes[1]} orders with "
        f"detail and items, {sizes[2]} customers), {LATENCY * 1000:.0f} ms latency, plan "
        f"{PLAN}/min; medians of {result['rounds']} client rounds"
    )
    print(f"  floor (requests x latency / {IN_FLIGHT}) : {floor:.2f} s")
    print(f"  client (list + gather)       : {result['client']:.2f} s = {vs_floor:.2f}x the floor")
    print(f"  naive sequential             : {result['naive']:.2f} s = {speedup:.1f}x the client")
    print(f"  429 answers                  : {result['rate_limited']}")
    print(f"  client CPU during the read   : {result['client_cpu']:.2f} s")
    print(
        f"  the read without latency     : {result['server_bound']:.2f} s (the server's own "
        "time: when it exceeds the floor, the server, not the client, sets the pace)"
    )


if __name__ == "__main__":
    main()
