"""Benchmark: a full sync of a store into the mirror, against the floor and a naive baseline.

A real emulator server (``sallakit emulator``, loopback) serves a seeded store with a fixed
per-request latency (an injected ``latency`` fault) and a plan; in the same run this measures:

- ``sallakit``: ``Mirror.sync`` of every resource into a SQLite mirror (in-process run: the
  steps are the ones the durable worker checkpoints), wall time and requests.
- ``floor``: the least time those requests can take: ``requests x latency / 4`` (Salla's 4 in
  flight per store) or ``requests / plan rate``, whichever is larger.
- ``naive``: what typical SDK code does: every list page in turn, then each order's detail,
  items and history one at a time, one request in flight (kept in memory, no database).
- 429 answers per 1,000 requests of the sallakit run.
- Before both timed runs, one untimed naive walk without latency warms the emulator's
  render cache (so the run measured first does not pay for the cold cache alone).
- Peak RSS of a products-only sync in a fresh process at two store sizes (10,000 and 100,000
  products; ``--quick``: 500 and 5,000), with no latency: the high-water mark is reset once
  everything is imported and built, so the peak is the sync's own, not the imports'.

Targets: wall within 1.15x of the floor; at least 3x faster than naive; at most 1 429 per 1,000
requests; peak memory growing less than 1.3x between the two sizes. The machine may be shared:
run it on a quiet one for figures you quote.

    python bench/sync.py [--quick] [--json] [--scale 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

PER_PAGE = 60
IN_FLIGHT = 4
CHILD = "--rss-child"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``sallakit emulator`` in a subprocess, with its control API."""

    def __init__(self, plan: int, **sizes: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-c", "from sallakit.cli import main; main()", "emulator"]
        command += ["--port", str(self.port), "--stores", "1", "--plan", str(plan)]
        for name, value in sizes.items():
            command += [f"--{name}", str(value)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 600
        while True:
            try:
                self.store_id = int(self.control("GET", "/state")["stores"][0]["id"])
                return
            except httpx2.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator server did not start") from None
                time.sleep(0.3)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx2.request(method, f"{self.url}/_emulator{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def requests(self) -> int:
        counters = self.control("GET", "/counters")
        return int(counters["requests"].get(str(self.store_id), {}).get("total", 0))

    def token(self) -> str:
        return str(self.control("POST", f"/stores/{self.store_id}/tokens")["access_token"])

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def make_mirror(url: str, token: str, db: Path, **settings: Any) -> Any:
    from sallakit.api import AsyncSalla, GovernorRegistry
    from sallakit.db import create_engine, migrate
    from sallakit.mirror import Mirror, MirrorSettings, SQLMirrorStore

    engine = create_engine(f"sqlite:///{db}")
    migrate(engine)
    registry = GovernorRegistry()

    def clients(store_id: int, transport: Any, on_wait: Any) -> AsyncSalla:
        return AsyncSalla(
            token,
            base_url=f"{url}/admin/v2",
            transport=transport,
            governor=registry,
            store_id=store_id,
            on_wait=on_wait,
        )

    return Mirror(SQLMirrorStore(engine), clients, settings=MirrorSettings(**settings))


async def naive(url: str, token: str) -> int:
    """Sequential pages, then one order detail (and its items and history) at a time."""
    requests = 0
    async with httpx2.AsyncClient(
        base_url=f"{url}/admin/v2", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:

        async def walk(path: str, **params: Any) -> list[Any]:
            nonlocal requests
            out: list[Any] = []
            page = 1
            while True:
                response = await http.get(
                    path, params={**params, "page": page, "per_page": PER_PAGE}
                )
                requests += 1
                body = response.json()
                out.extend(body.get("data") or [])
                pagination = body.get("pagination") or {}
                if page >= int(pagination.get("totalPages") or 1):
                    return out
                page += 1

        await walk("/categories", **{"with[]": "items"})
        await walk("/brands")
        await walk("/products")
        await walk("/customers")
        await walk("/shipments")
        for order in await walk("/orders"):
            await http.get(f"/orders/{order['id']}")
            await http.get("/orders/items", params={"order_id": order["id"]})
            await walk(f"/orders/{order['id']}/histories")
            requests += 2
    return requests


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def rss_child(url: str, token: str, db: str) -> None:
    """Run in a fresh process: sync the products, print the peak RSS of the sync in KiB.

    Importing sallakit, DBOS and pydantic's schemas peaks above what a products-only sync
    holds, so the process's lifetime high-water mark (``ru_maxrss``) hides the sync entirely
    (it read the same to the KiB at 4,000 and 40,000 products). Writing 5 to
    ``/proc/self/clear_refs`` resets the high-water mark to the current RSS once everything is
    imported and built, so ``VmHWM`` afterwards is the peak of the sync itself.
    """
    mirror = make_mirror(url, token, Path(db), resources=("products",))
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = _status_kib("VmHWM")
    run = anyio.run(mirror.sync, int(os.environ["STORE"]))
    assert run.status == "succeeded", run.error
    print(before, _status_kib("VmHWM"))


def peak_rss(products: int, workdir: Path) -> tuple[float, float]:
    """RSS before the sync and its peak during the sync, in MiB, in a fresh process."""
    server = Server(plan=10_000_000, products=products, orders=1, customers=1)
    try:
        db = workdir / f"rss-{products}.db"
        env = {**os.environ, "STORE": str(server.store_id)}
        out = subprocess.run(
            [sys.executable, __file__, CHILD, server.url, server.token(), str(db)],
            env=env,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        before, peak = (int(kib) for kib in out.strip().splitlines()[-1].split())
        return before / 1024.0, peak / 1024.0
    finally:
        server.close()


def figure(value: float, unit: str, target: str, met: bool) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit, "target": target, "met": met}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small store, under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the full sizes (store and RSS sizes) when the full run does not fit",
    )
    args = parser.parse_args()
    if args.quick:
        sizes = {"products": 200, "customers": 60, "orders": 40}
        latency, plan, rss_sizes = 0.05, 6000, (500, 5_000)
    else:
        full = {"products": 5000, "customers": 3000, "orders": 2000}
        sizes = {name: max(1, round(n * args.scale)) for name, n in full.items()}
        latency, plan = 0.05, 100_000
        rss_sizes = (round(10_000 * args.scale), round(100_000 * args.scale))
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = Server(plan=plan, **sizes)
        try:
            token = server.token()
            # The emulator encodes each record once per store version and serves it from a
            # cache afterwards: one untimed walk without latency warms it, so that neither
            # measured run pays for the other's cold cache (reads do not change the version).
            warm_start = time.perf_counter()
            warm_requests = anyio.run(naive, server.url, token)
            warm = time.perf_counter() - warm_start
            server.control("POST", "/faults", {"kind": "latency", "seconds": latency, "rate": 1.0})
            say(f"store {server.store_id}: {sizes}")
            say(f"warm-up: {warm_requests} requests in {warm:.1f} s without latency")
            say(f"latency {latency * 1000:.0f} ms, plan {plan}/min")
            mirror = make_mirror(server.url, token, workdir / "mirror.db")
            cpu_start = time.process_time()
            start = time.perf_counter()
            run = anyio.run(mirror.sync, server.store_id)
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            if run.status != "succeeded":
                raise SystemExit(f"the sync failed: {run.error}")
            requests = run.requests
            floor = max(requests * latency / IN_FLIGHT, requests / (plan / 60.0))
            say(f"sallakit: {wall:.1f} s, {requests} requests, {run.rate_limited} x 429")
            say(f"floor: {floor:.1f} s")
            start = time.perf_counter()
            naive_requests = anyio.run(naive, server.url, token)
            naive_wall = time.perf_counter() - start
            say(f"naive: {naive_wall:.1f} s, {naive_requests} requests")
        finally:
            server.close()
        (small_base, small), (large_base, large) = (peak_rss(n, workdir) for n in rss_sizes)
        say(f"peak RSS of the sync: {small:.0f} MiB at {rss_sizes[0]} products")
        say(f"peak RSS of the sync: {large:.0f} MiB at {rss_sizes[1]} products")
    per_thousand = 1000.0 * run.rate_limited / max(requests, 1)
    growth = large / small
    figures = {
        "wall_vs_floor": figure(wall / floor, "x", "<= 1.15", wall / floor <= 1.15),
        "speedup_vs_naive": figure(naive_wall / wall, "x", ">= 3", naive_wall / wall >= 3),
        "rate_limited_per_1000": figure(
            per_thousand, "429/1000 requests", "<= 1", per_thousand <= 1
        ),
        "rss_growth": figure(growth, "x", "< 1.3", growth < 1.3),
        "wall": figure(wall, "s", "info", True),
        "floor": figure(floor, "s", "info", True),
        "naive_wall": figure(naive_wall, "s", "info", True),
        "requests": figure(requests, "requests", "info", True),
        **{name: figure(n, name, "info", True) for name, n in sizes.items()},
        # The sync's own CPU per request (client, parsing, SQLite): when wall is far above the
        # floor while this is small, the server (or a loaded machine) is what limits the run.
        "cpu_per_request": figure(1000.0 * cpu / max(requests, 1), "ms", "info", True),
        # One request's round trip without latency, one at a time (server, client, loopback):
        # what the loaded machine adds to each request on top of the injected latency.
        "warm_ms_per_request": figure(1000.0 * warm / max(warm_requests, 1), "ms", "info", True),
        # The floor again with that round trip added to the latency: on a loaded machine this,
        # not ``floor``, is what 4 requests in flight could reach (indicative: the round trip
        # was measured one request at a time).
        "floor_with_round_trip": figure(
            requests * (latency + warm / max(warm_requests, 1)) / IN_FLIGHT, "s", "info", True
        ),
        "rss_small": figure(small, "MiB", "info", True),
        "rss_large": figure(large, "MiB", "info", True),
        # What each sync added on top of the process before it (imports, engine, client built).
        "rss_sync_small": figure(small - small_base, "MiB", "info", True),
        "rss_sync_large": figure(large - large_base, "MiB", "info", True),
    }
    if args.json:
        print(json.dumps({"bench": "sync", "figures": figures}))
    else:
        for name, value in figures.items():
            print(f"{name:>24}: {value['value']} {value['unit']} (target {value['target']})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        rss_child(*sys.argv[2:5])
    else:
        main()
