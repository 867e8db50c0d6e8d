"""Benchmark: how many signed webhook deliveries a real `sallakit` server stores per second.

A real server process (``create_app`` under uvicorn on loopback, the worker running in-process,
SQLite by default) receives signed ``order.created`` deliveries, each a distinct body, from a
load generator in another process. In the same run and the same server, a bare no-op POST
route (reads the body, answers 200) is driven the same way: it is the baseline, the cost of HTTP
alone. The figures:

* ``accepted_vs_bare``: deliveries stored per second at full load over the bare POST's
  requests per second (target >= 0.5);
* ``p99_ms_at_half_rate``: the 99th percentile latency (from the scheduled send time, so queueing
  counts) at half the measured maximum delivery rate, the worker idle when the phase starts
  (target < 50 ms);
* ``p99_ms_at_half_rate_catching_up``: the same, while the worker drains a backlog: a full-rate
  burst stored with processing paused, resumed as the phase starts (a sale day's worst case:
  handlers slower than the burst, or processing resumed after an outage). Reported with the
  backlog's size and how long it took to drain, against the same target;
* ``lost``: deliveries acknowledged with 200 that are not in the database (target 0).

Every phase but the catch-up starts once the worker has handled what earlier phases stored, so
its draining is not counted as ingestion cost (nor hidden: the catch-up phase measures it).

The load generator is one Python process: at very high rates it, not the server, may be the
limit of the bare route, which makes the ratio conservative. The machine may be shared: figures
are medians of rounds and ratios, never absolute budgets.

    python bench/webhook_ingest.py [--quick] [--json] [--database-url URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECRET = "bench-webhook-secret"
STORE = 1305146709
BARE_PATH = "/bench/noop"
CONCURRENCY = 32


# ------------------------------------------------------------------------------ the server


def serve(port: int, database_url: str) -> None:
    """The server process: the real app, plus a bare POST route as the baseline."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from sallakit.auth import generate_key
    from sallakit.server import create_app
    from sallakit.settings import Settings

    # The whole service (its settings are checked at start): the dashboard login is set but
    # unused; the measured path is POST /webhooks/salla.
    settings = Settings(
        database_url=database_url,
        webhook_secret=SECRET,
        token_keys=generate_key(),
        admin_password="benchmark admin password",
        session_secret="b" * 40,
    )
    app = create_app(settings)

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(b'{"ok":true}', media_type="application/json")

    app.router.routes.append(Route(BARE_PATH, bare, methods=["POST"]))

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


# --------------------------------------------------------------------------- load generator


def _body(seq: int, tag: str) -> bytes:
    doc = {
        "event": "order.created",
        "merchant": STORE,
        "created_at": "Tue Jan 21 2025 18:00:32 GMT+0300",
        "data": {
            "id": seq,
            "reference_id": 10_000 + seq,
            "status": {"id": 1, "name": "بإنتظار المراجعة", "slug": "under_review"},
            "amounts": {"total": {"amount": 115.5, "currency": "SAR"}},
            "items": [{"id": seq * 10 + i, "name": f"منتج {i}", "quantity": 1} for i in range(3)],
            "customer": {"id": 42, "first_name": "سارة", "mobile": "+966500000000"},
            "bench": tag,
        },
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def _headers(body: bytes) -> dict[str, str]:
    from sallakit.webhooks import compute_signature

    return {
        "Content-Type": "application/json",
        "X-Salla-Security-Strategy": "Signature",
        "X-Salla-Signature": compute_signature(body, SECRET),
    }


async def _closed_loop(url: str, path: str, seconds: float, tag: str) -> dict[str, Any]:
    """CONCURRENCY senders back to back for ``seconds``: the maximum rate."""
    import anyio
    import httpx2

    ok = 0
    errors = 0
    seq = 0
    acked: list[str] = []
    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()

        async def sender() -> None:
            nonlocal ok, errors, seq
            while time.perf_counter() < deadline:
                seq += 1
                body = _body(seq, tag)
                response = await client.post(path, content=body, headers=_headers(body))
                if response.status_code == 200:
                    ok += 1
                    acked.append(hashlib.sha256(body).hexdigest())
                else:
                    errors += 1

        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(sender)
        elapsed = time.perf_counter() - start
    return {"ok": ok, "errors": errors, "rate": ok / elapsed, "acked": acked}


async def _open_loop(url: str, path: str, rate: float, seconds: float, tag: str) -> dict[str, Any]:
    """Deliveries sent at a fixed ``rate``; latency from each one's scheduled time."""
    import anyio
    import httpx2

    latencies: list[float] = []
    acked: list[str] = []
    ok = 0
    errors = 0
    count = max(1, int(rate * seconds))
    interval = 1.0 / rate
    limits = httpx2.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        # A fresh client's first requests pay one-time costs (connections, lazy setup) that
        # would alone be the p99 of a short run: warm it up outside the measurement.
        for seq in range(8):
            body = _body(2_000_000 + seq, tag + "-warm")
            await client.post(path, content=body, headers=_headers(body))
        print("measuring", flush=True)
        start = time.perf_counter()

        async def one(seq: int, scheduled: float) -> None:
            nonlocal ok, errors
            body = _body(seq, tag)
            response = await client.post(path, content=body, headers=_headers(body))
            latencies.append(time.perf_counter() - scheduled)
            if response.status_code == 200:
                ok += 1
                acked.append(hashlib.sha256(body).hexdigest())
            else:
                errors += 1

        async with anyio.create_task_group() as tg:
            for seq in range(count):
                scheduled = start + seq * interval
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
                tg.start_soon(one, 1_000_000 + seq, scheduled)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {"ok": ok, "errors": errors, "p99_ms": p99 * 1000, "sent": count, "acked": acked}


def load(url: str, mode: str, path: str, seconds: float, rate: float, tag: str) -> None:
    """The load-generator process: prints one JSON result."""
    import anyio

    if mode == "closed":
        result = anyio.run(_closed_loop, url, path, seconds, tag)
    else:
        result = anyio.run(_open_loop, url, path, rate, seconds, tag)
    print(json.dumps(result))


# ------------------------------------------------------------------------------- the driver


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_load(url: str, mode: str, path: str, seconds: float, rate: float, tag: str) -> Any:
    command = [sys.executable, __file__, "--load", url, mode, path, str(seconds), str(rate), tag]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    import httpx2

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the benchmark server did not start")
        time.sleep(0.1)


def _stored_digests(database_url: str) -> set[str]:
    import sqlalchemy as sa

    from sallakit.db import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT digest FROM sallakit_webhook_deliveries"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


class _Backlog:
    """What the server's worker still has to do, read from the inbox the server writes."""

    def __init__(self, database_url: str) -> None:
        from sallakit.webhooks import SQLInbox

        self.inbox = SQLInbox.from_url(database_url, migrate=False)

    def size(self) -> int:
        counts = self.inbox.counts()
        return counts["pending"] + counts["processing"] + counts["failed"]

    def wait_drained(self, timeout: float = 120.0) -> float:
        """Wait until the worker has handled everything; return the seconds waited."""
        start = time.monotonic()
        while self.size():
            if time.monotonic() - start > timeout:
                raise SystemExit("the worker did not drain its backlog")
            time.sleep(0.05)
        return time.monotonic() - start

    def pause(self, paused: bool) -> None:
        self.inbox.set_paused(paused, now=time.time())


def _open_loop_while_draining(
    url: str, rate: float, seconds: float, backlog: _Backlog
) -> tuple[Any, float | None]:
    """The half-rate phase with the worker draining a backlog: the load's result, and the
    seconds the backlog took to drain (``None``: not drained when the phase ended)."""
    command = [sys.executable, __file__, "--load", url, "open", "/webhooks/salla"]
    command += [str(seconds), str(rate), "catch-up"]
    drained_after: float | None = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as load_process:
        assert load_process.stdout is not None
        # Resumed when the load generator starts its measured sends (after its warm-up).
        if load_process.stdout.readline().strip() != "measuring":
            raise SystemExit("the load generator failed")
        backlog.pause(False)
        start = time.monotonic()
        while load_process.poll() is None:
            if drained_after is None and not backlog.size():
                drained_after = time.monotonic() - start
            time.sleep(0.1)
        out = load_process.stdout.read()
    if load_process.returncode:
        raise SystemExit("the load generator failed")
    return json.loads(out.strip().splitlines()[-1]), drained_after


def _figure(value: float, unit: str, target: str = "", met: bool = True) -> dict[str, Any]:
    return {"value": value, "unit": unit, "target": target, "met": met}


def run(quick: bool, database_url: str | None) -> dict[str, dict[str, Any]]:
    seconds = 3.0 if quick else 10.0
    rounds = 1 if quick else 3
    workdir = Path(tempfile.mkdtemp(prefix="sallakit-bench-"))
    url_db = database_url or f"sqlite:///{workdir / 'bench.db'}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SALLAKIT_WEBHOOK_SECRET": SECRET}
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), url_db],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(url, server)
        backlog = _Backlog(url_db)
        _run_load(url, "closed", BARE_PATH, 1.0, 0, "warm")  # warm both paths up
        _run_load(url, "closed", "/webhooks/salla", 1.0, 0, "warm")
        bare_rates: list[float] = []
        hook_rates: list[float] = []
        acknowledged: set[str] = set()
        # Every phase but the last starts on a quiet system: the worker has handled what the
        # previous phases stored (its draining would otherwise be measured as ingestion cost).
        for n in range(rounds):
            backlog.wait_drained()
            bare_rates.append(_run_load(url, "closed", BARE_PATH, seconds, 0, f"b{n}")["rate"])
            backlog.wait_drained()
            hook = _run_load(url, "closed", "/webhooks/salla", seconds, 0, f"h{n}")
            hook_rates.append(hook["rate"])
            acknowledged.update(hook["acked"])
        bare_rate = statistics.median(bare_rates)
        hook_rate = statistics.median(hook_rates)
        quiet_p99: list[float] = []
        errors = 0
        for n in range(rounds):
            backlog.wait_drained()
            half = _run_load(url, "open", "/webhooks/salla", seconds, hook_rate / 2, f"half{n}")
            quiet_p99.append(half["p99_ms"])
            errors += half["errors"]
            acknowledged.update(half["acked"])
        # A sale day's worst case: the worker has a backlog to catch up on (handlers slower
        # than a burst, or processing resumed after a pause) while deliveries keep arriving.
        # The burst is stored with processing paused; the half-rate phase starts as it resumes.
        backlog.wait_drained()
        backlog.pause(True)
        try:
            burst = _run_load(url, "closed", "/webhooks/salla", seconds, 0, "burst")
            acknowledged.update(burst["acked"])
            backlog_start = backlog.size()
            catch_up, drained_after = _open_loop_while_draining(
                url, hook_rate / 2, seconds, backlog
            )
        finally:
            backlog.pause(False)
        errors += catch_up["errors"]
        acknowledged.update(catch_up["acked"])
        drain_s = drained_after if drained_after is not None else backlog.wait_drained() + seconds
        backlog.inbox.engine.dispose()
    finally:
        # SIGTERM: uvicorn stops gracefully; stored rows are committed before each 200 anyway.
        server.terminate()
        server.wait(timeout=30)
    lost = len(acknowledged - _stored_digests(url_db))
    ratio = hook_rate / bare_rate if bare_rate else 0.0
    p99 = statistics.median(quiet_p99)
    p99_busy = catch_up["p99_ms"]
    return {
        "bare_post_per_s": _figure(round(bare_rate, 1), "req/s"),
        "accepted_per_s": _figure(round(hook_rate, 1), "deliveries/s"),
        "accepted_vs_bare": _figure(round(ratio, 3), "ratio", ">= 0.5", ratio >= 0.5),
        "p99_ms_at_half_rate": _figure(round(p99, 2), "ms", "< 50", p99 < 50 and not errors),
        "p99_ms_at_half_rate_catching_up": _figure(
            round(p99_busy, 2), "ms", "< 50", p99_busy < 50 and not errors
        ),
        "catch_up_backlog": _figure(backlog_start, "deliveries"),
        "catch_up_drained_in_s": _figure(round(drain_s, 2), "s"),
        "acknowledged": _figure(len(acknowledged), "deliveries"),
        "lost": _figure(lost, "deliveries", "== 0", lost == 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds (under a minute)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--database-url", help="default: a fresh SQLite file (use an empty database)"
    )
    parser.add_argument(
        "--serve", nargs=2, metavar=("PORT", "DATABASE_URL"), help=argparse.SUPPRESS
    )
    parser.add_argument("--load", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    if args.load:
        url, mode, path, seconds, rate, tag = args.load
        load(url, mode, path, float(seconds), float(rate), tag)
        return
    figures = run(args.quick, args.database_url)
    if args.json:
        print(json.dumps({"bench": "webhook_ingest", "figures": figures}))
        return
    print("webhook ingest (real server process, load generator in another process; shared machine)")
    for name, figure in figures.items():
        target = f"  target {figure['target']}: {'met' if figure['met'] else 'NOT met'}"
        print(
            f"  {name:<22} {figure['value']} {figure['unit']}{target if figure['target'] else ''}"
        )


if __name__ == "__main__":
    main()
