"""Benchmark: the emulator server's throughput on a 60-product page, next to a bare route.

Starts two real server processes on loopback, each a single uvicorn worker:

- the emulator (``sallakit emulator``), serving ``GET /admin/v2/products?per_page=60``;
- a bare Starlette route answering the very same bytes (fetched from the emulator first), the
  floor any Python JSON API on the same stack pays for that page.

This process is the load generator (another process than both servers): it keeps a fixed number
of requests in flight against one server at a time, alternating, and reports the median
requests per second of each, their ratio, and the emulator's own CPU time per page (read from
``/proc`` for its process: what one page costs the emulator, HTTP included). Pages 1 to 10 are
requested in turn, so the emulator walks its list as a mirror sync would. ``--quick`` runs
shorter rounds (well under a minute); ``--json`` prints one machine-readable object.

    python bench/emulator_throughput.py [--quick] [--json]

The machine may be shared: the figures are medians of alternating rounds, and the target is a
ratio measured in the same run, not an absolute rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2

PER_PAGE = 60
PAGES = 10
TARGET_RATIO = 0.25
"""The emulator must serve at least this share of the bare route's requests per second."""
TARGET_CPU_MS = 2.0
"""Emulator CPU per 60-product page, HTTP included."""
IN_FLIGHT = 8

_BARE = """
import socket, sys
from pathlib import Path
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

body = Path(sys.argv[1]).read_bytes()

async def page(request):
    return Response(body, media_type="application/json")

app = Starlette(routes=[Route("/admin/v2/products", page)])
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def _process(args: list[str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            raise RuntimeError(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
        yield proc, first
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _connection(
    host: str, port: int, headers: dict[str, str], deadline: float, offset: int
) -> int:
    """One keep-alive HTTP/1.1 connection sending requests until ``deadline``; how many.

    A raw client (headers parsed for ``content-length`` only, body read and dropped): the load
    generator must cost less than the servers it measures, or the bare route's rate would be
    the client's.
    """
    import asyncio

    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    done = 0
    n = offset
    try:
        while time.perf_counter() < deadline:
            page = 1 + n % PAGES
            n += 1
            writer.write(
                (
                    f"GET /admin/v2/products?per_page={PER_PAGE}&page={page} HTTP/1.1\r\n"
                    f"host: {host}:{port}\r\n{extra}\r\n"
                ).encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"HTTP {status.decode()}")
            done += 1
    finally:
        writer.close()
    return done


async def _load(base: str, headers: dict[str, str], seconds: float) -> tuple[int, float]:
    """Requests completed in ``seconds`` with IN_FLIGHT connections; (count, elapsed)."""
    import asyncio

    host, port = base.removeprefix("http://").rsplit(":", 1)
    start = time.perf_counter()
    counts = await asyncio.gather(
        *(
            _connection(host, int(port), headers, start + seconds, offset)
            for offset in range(IN_FLIGHT)
        )
    )
    return sum(counts), time.perf_counter() - start


def _measure(size: int, rounds: int, seconds: float) -> dict[str, float]:
    emulator_args = [
        sys.executable,
        "-c",
        "from sallakit.cli import main; main()",
        "emulator",
        "--port",
        "0",
        "--products",
        str(size),
        "--orders",
        "50",
        "--customers",
        "50",
        "--plan",
        "100000000",
    ]
    with _process(emulator_args) as (emulator, banner_line):
        banner = json.loads(banner_line)
        base = banner["base_url"]
        store = banner["stores"][0]["id"]
        tokens = httpx2.post(
            f"{base}/_emulator/stores/{store}/tokens",
            json={"scopes": ["products.read"]},
            timeout=60,
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        page = httpx2.get(
            f"{base}/admin/v2/products",
            params={"per_page": PER_PAGE, "page": 1},
            headers=headers,
            timeout=60,
        )
        page.raise_for_status()
        with tempfile.TemporaryDirectory() as tmp:
            body_file = Path(tmp) / "page.json"
            body_file.write_bytes(page.content)
            with _process([sys.executable, "-c", _BARE, str(body_file)]) as (_, port_line):
                bare_base = f"http://127.0.0.1:{int(port_line)}"
                samples: dict[str, list[float]] = {"emulator": [], "bare": [], "cpu_ms": []}
                # Warm both (connections, the emulator's rendered records), then alternate.
                anyio.run(_load, base, headers, 1.0)
                anyio.run(_load, bare_base, {}, 1.0)
                for _ in range(rounds):
                    cpu_before = _cpu_seconds(emulator.pid)
                    count, elapsed = anyio.run(_load, base, headers, seconds)
                    cpu = _cpu_seconds(emulator.pid) - cpu_before
                    samples["emulator"].append(count / elapsed)
                    samples["cpu_ms"].append(cpu / count * 1000)
                    count, elapsed = anyio.run(_load, bare_base, {}, seconds)
                    samples["bare"].append(count / elapsed)
    out = {name: statistics.median(values) for name, values in samples.items()}
    out["page_bytes"] = float(len(page.content))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    size, rounds, seconds = (1_000, 3, 3.0) if args.quick else (5_000, 5, 8.0)
    m = _measure(size, rounds, seconds)
    ratio = m["emulator"] / m["bare"] if m["bare"] else 0.0
    figures: dict[str, dict[str, Any]] = {
        "emulator_requests_per_s": {
            "value": round(m["emulator"], 1),
            "unit": "req/s",
            "target": "informational",
            "met": True,
        },
        "bare_route_requests_per_s": {
            "value": round(m["bare"], 1),
            "unit": "req/s",
            "target": "baseline",
            "met": True,
        },
        "emulator_vs_bare_route": {
            "value": round(ratio, 3),
            "unit": "x",
            "target": f">= {TARGET_RATIO:g}",
            "met": ratio >= TARGET_RATIO,
        },
        "emulator_cpu_ms_per_page": {
            "value": round(m["cpu_ms"], 3),
            "unit": "ms",
            "target": f"<= {TARGET_CPU_MS:g}",
            "met": m["cpu_ms"] <= TARGET_CPU_MS,
        },
    }
    if args.json:
        print(json.dumps({"bench": "emulator_throughput", "figures": figures}))
        return
    print(
        f"{size} products, pages of {PER_PAGE} ({int(m['page_bytes'])} bytes), "
        f"{IN_FLIGHT} in flight, median of {rounds} rounds of {seconds:g} s"
    )
    for name, entry in figures.items():
        verdict = (
            ""
            if entry["target"] in ("informational", "baseline")
            else (" (met)" if entry["met"] else " (MISSED)")
        )
        print(f"  {name:<28} {entry['value']:>10} {entry['unit']:<6} {entry['target']}{verdict}")


if __name__ == "__main__":
    main()
