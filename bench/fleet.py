"""Benchmark and chaos simulation: a fleet of stores on PostgreSQL, real processes, kill -9.

Everything runs as its own process, as in production: ``sallakit emulator`` (one server holding
every store, mixed plans and sizes, Easy mode), two ``sallakit serve`` web processes behind a
round-robin TCP balancer (the emulator's webhooks go to the balancer), three ``sallakit worker``
processes, all on one PostgreSQL database created for the run. Every store is installed through
the emulator's Easy mode events and backfilled; then, for a fixed window, a webhook stream runs
(orders created and moved through statuses, products created, renamed and deleted, orders
deleted), each store's rate drawn from a Zipf distribution (a few busy stores, a long tail).

Chaos in the window: a worker and a web process are killed with SIGKILL at random moments (and
restarted), PostgreSQL is restarted once (a private cluster started for the run with the
Debian binaries, stopped with ``-m immediate``, i.e. a crash; without those binaries, every
backend of the run's database on the shared server is terminated instead, and the output says
so), and the emulator's clock jumps past every access token's expiry, so each busy store's next
call refreshes its single-use refresh token while processes die around it.

Afterwards the simulation waits for the system to settle and checks, against the emulator's own
state (an oracle the service never sees): every store's mirror holds exactly the emulator's
records (ids per resource, and the last name or status the stream wrote), no webhook the
emulator got a 2xx for is missing from the inbox and none is left unprocessed, no store needs a
reinstall, no refresh token was used twice.

Figures, each with its target: per-store sync lag (from a change at the emulator to the first
mirror write showing it; p50 and p99 over stores of each store's median), workflows per second
(against the runs queued), database size per 1,000 stores, the per-store maximum of concurrent
syncs (from the job history's run intervals) and of requests in flight (measured by the
emulator), 429s per 1,000 requests, and the chaos checks. There is no baseline to divide by:
these are invariants and service levels, not speed-ups.

    python bench/fleet.py [--quick] [--json] [--stores N] [--seconds S] [--rate R] [--no-chaos]

``--quick`` is 200 stores and a 60 s window (a few minutes in all, the CI form); the default is
2,000 stores and a 300 s window.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2

WEBHOOK_SECRET = "fleet-webhook-secret"
ADMIN_TOKEN = "fleet-admin-token-" + "x" * 24
SHARED_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Plans and their share of the fleet (Salla: Plus 120, Pro 360, Special 720 requests/minute).
PLAN_MIX = (("plus", 0.45), ("pro", 0.35), ("special", 0.15), ("basic", 0.05))
#: The stream's actions and their weights.
ACTIONS = (
    ("order.created", 0.35),
    ("order.status", 0.25),
    ("product.repriced", 0.2),
    ("product.created", 0.1),
    ("product.deleted", 0.05),
    ("order.deleted", 0.05),
)
STATUS_SLUGS = ("under_review", "in_progress", "completed", "delivering", "delivered", "shipped")
COMPARED = ("products", "orders", "customers", "categories", "brands")
#: The store events the app subscribes every store to (what the stream's changes emit).
EVENTS = (
    "order.created",
    "order.updated",
    "order.status.updated",
    "order.deleted",
    "product.created",
    "product.price.updated",
    "product.deleted",
)
TOKEN_LIFETIME = 14 * 86_400
#: Runs the job history shows queued or running whose DBOS workflow is alive...
ACTIVE_RUNS = (
    "SELECT count(*) FROM mirror_runs r JOIN dbos.workflow_status w ON w.workflow_uuid = r.run_id "
    "WHERE r.status IN ('queued', 'running') AND w.status IN ('ENQUEUED', 'PENDING')"
)
#: ...and those whose workflow is gone or ended: the store's history would show them for good.
ORPHANED_RUNS = (
    "SELECT count(*) FROM mirror_runs r LEFT JOIN dbos.workflow_status w "
    "ON w.workflow_uuid = r.run_id WHERE r.status IN ('queued', 'running') "
    "AND (w.status IS NULL OR w.status NOT IN ('ENQUEUED', 'PENDING'))"
)
#: Restarts of one service process after which the run gives up (a crash loop, not chaos).
MAX_RESTARTS = 20
#: Seconds the emulator waits before answering each Merchant API request.
API_LATENCY = 0.05


@dataclass
class FleetConfig:
    """One simulation's shape."""

    stores: int = 2000
    seconds: float = 300.0
    events_per_second: float = 20.0
    workers: int = 3
    webs: int = 2
    chaos: bool = True
    seed: int = 1
    size: float = 1.0
    governor: str = "database"
    settle_timeout: float = 600.0
    backfill_timeout: float = 3600.0


QUICK = FleetConfig(
    stores=200, seconds=45.0, events_per_second=6.0, size=0.25, settle_timeout=240.0
)


def say(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from sallakit._main import main; main()", *args]


# ------------------------------------------------------------------------------ PostgreSQL


class PrivateCluster:
    """A PostgreSQL cluster of the run's own (initdb in a temp dir, a free port), so that it can
    be restarted without touching anyone else's server."""

    kind = "private cluster (restarted with pg_ctl -m immediate)"

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root, self.bindir = root, bindir
        self.data = root / "pgdata"
        self.port = free_port()
        # initdb refuses root: run the cluster as the postgres user then.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(root, "postgres")
        subprocess.run(
            [
                *self.prefix,
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        self._ctl("start")
        self.database = "fleet"
        subprocess.run(
            [
                *self.prefix,
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                self.database,
            ],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=500 -c shared_buffers=256MB"
        )
        subprocess.run(
            [
                *self.prefix,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-t",
                "120",
                "-l",
                str(self.root / "postgres.log"),
                "-o",
                options,
                *extra,
                action,
            ],
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        """Crash and restart the server (immediate stop: no checkpoint, recovery on start)."""
        self._ctl("restart", "-m", "immediate")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")


class SharedDatabase:
    """A database of the run's own on the machine's shared server (which must not restart)."""

    kind = "shared server: all backends of the run's database terminated (no restart)"

    def __init__(self) -> None:
        import psycopg

        self.database = f"sallakit_fleet_{os.getpid()}"
        with psycopg.connect(SHARED_POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.url = f"postgresql://postgres@127.0.0.1:5432/{self.database}"

    def restart(self) -> None:
        import psycopg

        with psycopg.connect(SHARED_POSTGRES, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.database,),
            )

    def close(self) -> None:
        import psycopg

        with psycopg.connect(SHARED_POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def server_binaries() -> Path | None:
    """The directory of PostgreSQL's server programs (Debian's layout, else on the PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def open_postgres(root: Path, mode: str) -> PrivateCluster | SharedDatabase:
    """The run's database: a private cluster when the server binaries are here (``auto``)."""
    if mode in ("auto", "private"):
        bindir = server_binaries()
        if bindir is not None:
            return PrivateCluster(root, bindir)
        if mode == "private":
            raise SystemExit("no PostgreSQL server binaries (initdb) for a private cluster")
    return SharedDatabase()


# ------------------------------------------------------------------------------- processes


class Process:
    """A child process the simulation may kill -9 and start again (same name, same env)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path = logdir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.restarts = 0
        self.held = False  # the chaos thread is killing and restarting it

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as an OOM kill or a lost machine."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """User and system CPU time of the running process (0 when it is not running)."""
        if not self.alive():
            return 0.0
        assert self.popen is not None
        try:
            fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_http(url: str, proc: Process, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(url, timeout=2.0).status_code < 500:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} ({proc.name}) did not answer within {timeout} s")


class Balancer:
    """A round-robin TCP balancer in front of the web processes (what a load balancer does):
    a connection goes to the next backend that accepts it, so a dead process is skipped."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = free_port()
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="balancer")
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=2048)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(len(self.backends)):
            port = self.backends[next(self._turn) % len(self.backends)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
            return
        writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


# ---------------------------------------------------------------------------------- stores


@dataclass
class StorePlan:
    plan: str
    products: int
    orders: int
    customers: int


def plan_stores(count: int, rng: random.Random, size: float = 1.0) -> list[StorePlan]:
    """Mixed plans and sizes: log-normal sizes (most stores small, a few large); ``size``
    scales the median store (30 products, 12 orders, 10 customers)."""
    plans = [plan for plan, _ in PLAN_MIX]
    weights = [weight for _, weight in PLAN_MIX]
    out = []
    for _ in range(count):
        scale = size * rng.lognormvariate(0.0, 0.8)
        out.append(
            StorePlan(
                plan=rng.choices(plans, weights)[0],
                products=max(3, min(600, int(30 * scale))),
                orders=max(2, min(300, int(12 * scale))),
                customers=max(2, min(200, int(10 * scale))),
            )
        )
    return out


@dataclass
class Mutation:
    store_id: int
    resource: str
    entity_id: int
    kind: str  # created | updated | deleted
    at: float
    column: str | None = None  # a mirror column the change must show...
    marker: Any = None  # ...with this value (a product's name or price, an order's status)


@dataclass
class World:
    """What the stream knows of the emulator's stores (ids it may touch)."""

    products: dict[int, list[int]]
    orders: dict[int, list[int]]
    mutations: list[Mutation] = field(default_factory=list)
    sent: int = 0
    failed: int = 0


async def stream_events(
    control: str, world: World, stores: list[int], rate: float, until: float, seed: int
) -> None:
    """Poisson arrivals at ``rate`` per second; each store's share from a Zipf law (s = 1)."""
    rng = random.Random(seed)
    order = stores[:]
    rng.shuffle(order)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(order))))
    actions, weights = zip(*ACTIONS, strict=True)
    serial = itertools.count(1)
    limit = asyncio.Semaphore(16)
    tasks: set[asyncio.Task[None]] = set()

    async def act(client: httpx2.AsyncClient, store: int, action: str) -> None:
        async with limit:
            try:
                await _act(client, world, store, action, rng, next(serial))
                world.sent += 1
            except (httpx2.HTTPError, LookupError, ValueError):
                world.failed += 1

    async with httpx2.AsyncClient(base_url=control, timeout=30.0) as client:
        while time.time() < until:
            await asyncio.sleep(rng.expovariate(rate))
            pick = bisect.bisect_left(cumulative, rng.random() * cumulative[-1])
            task = asyncio.create_task(act(client, order[pick], rng.choices(actions, weights)[0]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)


async def _act(
    client: httpx2.AsyncClient,
    world: World,
    store: int,
    action: str,
    rng: random.Random,
    serial: int,
) -> None:
    products, orders = world.products[store], world.orders[store]
    base = f"/stores/{store}"
    record = world.mutations.append
    # Before the request: a worker may fetch the change before this process sees the answer
    # (so lags are measured from a moment at or before the change, never after it).
    begun = time.time()
    if action == "order.created" or (action.startswith("order.") and not orders):
        response = await client.post(f"{base}/orders", json={})
        response.raise_for_status()
        order_id = int(response.json()["id"])
        orders.append(order_id)
        record(Mutation(store, "orders", order_id, "created", begun))
    elif action == "order.status":
        order_id = rng.choice(orders)
        slug = rng.choice(STATUS_SLUGS)
        response = await client.put(f"{base}/orders/{order_id}/status", json={"slug": slug})
        response.raise_for_status()
        record(Mutation(store, "orders", order_id, "updated", begun, "status_slug", slug))
    elif action == "order.deleted":
        order_id = orders.pop(rng.randrange(len(orders)))
        (await client.delete(f"{base}/orders/{order_id}")).raise_for_status()
        record(Mutation(store, "orders", order_id, "deleted", begun))
    elif action == "product.created" or not products:
        name = f"fleet product {serial}"
        response = await client.post(f"{base}/products", json={"name": name, "price": 10})
        response.raise_for_status()
        product_id = int(response.json()["id"])
        products.append(product_id)
        record(Mutation(store, "products", product_id, "created", begun, "name", name))
    elif action == "product.repriced":
        # A price change has its own event (a rename has none at Salla): a unique price.
        product_id = rng.choice(products)
        price = 1000 + serial
        # No sale price: the API shows a product's sale price instead of its price.
        change = {"price": price, "sale_price": 0}
        response = await client.patch(f"{base}/products/{product_id}", json=change)
        response.raise_for_status()
        record(Mutation(store, "products", product_id, "updated", begun, "price_amount", price))
    else:  # product.deleted
        product_id = products.pop(rng.randrange(len(products)))
        (await client.delete(f"{base}/products/{product_id}")).raise_for_status()
        record(Mutation(store, "products", product_id, "deleted", begun))


# ---------------------------------------------------------------------------- the fleet


class Fleet:
    """The running system: database, emulator, balancer, web and worker processes."""

    def __init__(self, config: FleetConfig, root: Path, postgres: str = "auto") -> None:
        self.config, self.root = config, root
        self.logdir = root / "logs"
        self.logdir.mkdir()
        self.pg = open_postgres(root, postgres)
        self.processes: list[Process] = []
        self.rng = random.Random(config.seed)
        self.events: list[dict[str, Any]] = []
        self.backfills_failed = 0
        self.never_backfilled = 0
        self.recoveries: dict[int, str] = {}
        self.attempts: dict[int, int] = defaultdict(int)
        self._stopping = threading.Event()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("SALLAKIT_")}
        base_env["PYTHONUNBUFFERED"] = "1"
        self.base_env = base_env

    # -------------------------------------------------------------------------- start

    def start_emulator(self) -> None:
        self.web_ports = [free_port() for _ in range(self.config.webs)]
        self.balancer = Balancer(self.web_ports)
        self.service_url = f"http://127.0.0.1:{self.balancer.port}"
        port = free_port()
        self.emulator_url = f"http://127.0.0.1:{port}"
        self.emulator = Process(
            "emulator",
            _cli(
                "emulator",
                "--port",
                str(port),
                "--stores",
                "0",
                "--easy-mode",
                "--webhook-url",
                f"{self.service_url}/webhooks/salla",
                "--webhook-secret",
                WEBHOOK_SECRET,
                "--webhook-retry-interval",
                "5",
                "--snapshot-dir",
                str(self.root),
            ),
            self.base_env,
            self.logdir,
        )
        self.emulator.start()
        wait_http(f"{self.emulator_url}/_emulator/state", self.emulator)
        self.app = httpx2.get(f"{self.emulator_url}/_emulator/state", timeout=30).json()["app"]
        # Salla answers in tens of milliseconds, not microseconds: with that latency, requests
        # of one store overlap at the emulator, which is what makes its in-flight peak count.
        httpx2.post(
            f"{self.emulator_url}/_emulator/faults",
            json={"kind": "latency", "seconds": API_LATENCY, "rate": 1.0},
            timeout=30,
        ).raise_for_status()

    def seed(self) -> list[int]:
        plans = plan_stores(self.config.stores, self.rng, self.config.size)

        async def create(client: httpx2.AsyncClient, plan: StorePlan, ids: list[int]) -> None:
            response = await client.post("/_emulator/stores", json=asdict(plan))
            response.raise_for_status()
            ids.append(int(response.json()["id"]))

        async def all_stores() -> list[int]:
            ids: list[int] = []
            limit = asyncio.Semaphore(4)

            async def one(client: httpx2.AsyncClient, plan: StorePlan) -> None:
                async with limit:
                    await create(client, plan, ids)

            async with httpx2.AsyncClient(base_url=self.emulator_url, timeout=120) as client:
                await asyncio.gather(*(one(client, p) for p in plans))
            return sorted(ids)

        self.store_ids = asyncio.run(all_stores())
        self.plans = dict(zip(self.store_ids, plans, strict=True))
        return self.store_ids

    def service_env(self) -> dict[str, str]:
        from sallakit.auth import generate_key

        if not hasattr(self, "_env"):
            self._env = {
                **self.base_env,
                "SALLAKIT_DATABASE_URL": self.pg.url,
                "SALLAKIT_TOKEN_KEYS": generate_key(),
                "SALLAKIT_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "SALLAKIT_ADMIN_PASSWORD": "fleet admin password",
                "SALLAKIT_ADMIN_TOKEN": ADMIN_TOKEN,
                "SALLAKIT_SESSION_SECRET": "fleet-session-secret-" + "s" * 20,
                "SALLAKIT_CLIENT_ID": self.app["client_id"],
                "SALLAKIT_CLIENT_SECRET": self.app["client_secret"],
                "SALLAKIT_ACCOUNTS_URL": self.emulator_url,
                "SALLAKIT_API_BASE_URL": f"{self.emulator_url}/admin/v2",
                "SALLAKIT_PUBLIC_URL": self.service_url,
                "SALLAKIT_WORKER": "external",
                # A store's rate-limit budget and in-flight cap shared by every process.
                "SALLAKIT_GOVERNOR": self.config.governor,
            }
        return self._env

    def start_service(self) -> None:
        env = self.service_env()
        self.webs = []
        for index, port in enumerate(self.web_ports):
            web = Process(f"web-{index}", _cli("serve", "--port", str(port)), env, self.logdir)
            web.start()
            # The first one migrates the database; the others find it ready.
            self.webs.append(web)
            self.processes.append(web)
            wait_http(f"http://127.0.0.1:{port}/healthz", web)
        self.workers = []
        for index in range(self.config.workers):
            # A stable executor id per worker slot: a restarted worker recovers its own runs.
            worker_env = {**env, "SALLAKIT_WORKER_ID": f"fleet-worker-{index}"}
            worker = Process(f"worker-{index}", _cli("worker"), worker_env, self.logdir)
            worker.start()
            self.workers.append(worker)
            self.processes.append(worker)
            self._wait_worker(worker)
        self._supervisor = threading.Thread(
            target=self.supervise, args=(self._stopping,), daemon=True, name="supervisor"
        )
        self._supervisor.start()

    def _wait_worker(self, worker: Process, timeout: float = 120.0) -> None:
        # Ready when DBOS has created its system tables (the first) and the process lives on.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not worker.alive():
                raise RuntimeError(f"{worker.name} exited:\n{worker.tail()}")
            with contextlib.suppress(Exception):
                if self.sql("SELECT count(*) FROM dbos.workflow_status")[0][0] >= 0:
                    time.sleep(2.0)
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{worker.name} did not start")

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.pg.url, connect_timeout=10) as conn:
            return list(conn.execute(query, params).fetchall())

    def install_all(self) -> float:
        """Install the app on every store (Easy mode) and wait for every backfill (until the
        backfill timeout); returns the seconds it took."""
        started = time.time()

        async def install() -> None:
            limit = asyncio.Semaphore(8)

            async def one(client: httpx2.AsyncClient, store: int) -> None:
                async with limit:
                    response = await client.post(f"/_emulator/stores/{store}/install", json={})
                    response.raise_for_status()

            async with httpx2.AsyncClient(base_url=self.emulator_url, timeout=60) as client:
                for first in range(0, len(self.store_ids), 100):
                    batch = self.store_ids[first : first + 100]
                    await asyncio.gather(*(one(client, s) for s in batch))
                    await asyncio.sleep(0.5)  # installs come in waves, not all at once

        asyncio.run(install())
        deadline = time.monotonic() + self.config.backfill_timeout
        total = len(self.store_ids)
        done = 0
        while time.monotonic() < deadline:
            self.check_alive()
            # A backfill that failed (the emulator, one process, refusing connections under
            # the load of every install at once) is run again by the next tick: wait for one
            # success per store, and count the first attempts that failed.
            done, failed = self.sql(
                "SELECT count(DISTINCT store_id) FILTER (WHERE status = 'succeeded'), "
                "count(*) FILTER (WHERE status = 'failed' AND run_id LIKE 'mirror:%%:install:%%') "
                "FROM mirror_runs"
            )[0]
            say(f"  backfilled {done}/{total} stores ({time.time() - started:.0f} s)")
            self.backfills_failed = int(failed)
            self.never_backfilled = total - int(done)
            if done >= total:
                break
            time.sleep(10)
        return time.time() - started

    def subscribe_all(self) -> None:
        """What the app does once a store is installed: subscribe it to the store events it
        follows (through the vault, so with the store's governor and coordinated refresh)."""
        from sallakit.auth import AsyncOAuthClient, TokenVault
        from sallakit.webhooks import WantedWebhooks, ensure_subscriptions

        env = self.service_env()
        wanted = WantedWebhooks(url=f"{self.service_url}/webhooks/salla", events=EVENTS)

        async def subscribe() -> None:
            oauth = AsyncOAuthClient(
                env["SALLAKIT_CLIENT_ID"],
                env["SALLAKIT_CLIENT_SECRET"],
                accounts_url=self.emulator_url,
            )
            vault = TokenVault.from_url(
                self.pg.url, [env["SALLAKIT_TOKEN_KEYS"]], async_oauth=oauth
            )
            limit = asyncio.Semaphore(16)

            async def one(store: int) -> None:
                async with (
                    limit,
                    vault.async_client(store, base_url=env["SALLAKIT_API_BASE_URL"]) as salla,
                ):
                    await ensure_subscriptions(salla, wanted, secret=WEBHOOK_SECRET)

            try:
                await asyncio.gather(*(one(s) for s in self.store_ids))
            finally:
                await oauth.aclose()
                vault.engine.dispose()

        asyncio.run(subscribe())

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the workers, the web processes and the emulator."""
        return {
            "workers": sum(p.cpu_seconds() for p in self.workers),
            "webs": sum(p.cpu_seconds() for p in self.webs),
            "emulator": self.emulator.cpu_seconds(),
        }

    def check_alive(self) -> None:
        if not self.emulator.alive():
            raise RuntimeError(f"the emulator died:\n{self.emulator.tail()}")
        for proc in self.processes:
            if proc.restarts > MAX_RESTARTS:
                raise RuntimeError(f"{proc.name} keeps exiting:\n{proc.tail()}")

    def supervise(self, stop: threading.Event) -> None:
        """What systemd's Restart=always or Kubernetes does: a service process that exits (a
        web process started while PostgreSQL restarts fails its migration check) is started
        again a second later."""
        while not stop.wait(1.0):
            for proc in self.processes:
                if not proc.held and not proc.alive():
                    proc.restarts += 1
                    code = proc.popen.returncode if proc.popen else None
                    say(f"  supervisor: {proc.name} exited ({code}), starting it again")
                    proc.start()

    # -------------------------------------------------------------------------- chaos

    def chaos_plan(self, start: float, seconds: float) -> list[tuple[float, str]]:
        """When each fault strikes: at random moments in the middle 70% of the window."""
        kinds = ["kill worker", "kill web", "restart postgres", "expire tokens"]
        return sorted((start + seconds * self.rng.uniform(0.15, 0.85), kind) for kind in kinds)

    def strike(self, kind: str) -> None:
        at = time.time()
        if kind in ("kill worker", "kill web"):
            victim = self.rng.choice(self.workers if kind == "kill worker" else self.webs)
            victim.held = True
            victim.kill()
            time.sleep(self.rng.uniform(1.0, 5.0))
            victim.start()
            victim.held = False
            detail = victim.name
        elif kind == "restart postgres":
            self.pg.restart()
            detail = self.pg.kind
        else:
            # Every access token expires at once at the emulator (the service still believes
            # them valid): each store's next call gets a 401 and refreshes once.
            httpx2.post(
                f"{self.emulator_url}/_emulator/clock/advance",
                json={"seconds": TOKEN_LIFETIME + 3600},
                timeout=30,
            ).raise_for_status()
            detail = "emulator clock +14 days 1 hour"
        self.events.append({"at": round(at, 1), "fault": kind, "detail": detail})
        say(f"  chaos: {kind} ({detail}) took {time.time() - at:.1f} s")

    # -------------------------------------------------------------------------- settle

    def settle(self, timeout: float) -> float:
        """Wait until nothing is left to do: no delivery pending at the emulator, none
        unfinished in the inbox, no webhook mark waiting, no run queued or running."""
        started = time.monotonic()
        deadline = started + timeout
        quiet = 0
        while time.monotonic() < deadline:
            self.check_alive()
            self.recover_interrupted_refreshes()
            pending = self.counters()["deliveries"]["pending"]
            inbox = self.sql(
                "SELECT count(*) FROM sallakit_webhook_deliveries WHERE status <> 'done'"
            )[0][0]
            dirty = self.sql("SELECT count(*) FROM mirror_dirty")[0][0]
            active = self.sql(ACTIVE_RUNS)[0][0]
            say(f"  settling: {pending} pending, {inbox} in inbox, {dirty} dirty, {active} runs")
            quiet = quiet + 1 if pending == inbox == dirty == active == 0 else 0
            if quiet >= 2:
                return time.monotonic() - started
            time.sleep(5)
        return float("nan")

    def recover_interrupted_refreshes(self) -> None:
        """The documented procedure for a store whose refresh was interrupted (a worker killed
        between sending the refresh and storing its answer): one `sallakit stores refresh`.
        It succeeds when Salla never used the refresh token; it ends in reinstall_required
        when the token was spent (burned)."""
        for store in self.stores_status():
            store_id = int(store["store_id"])
            if store["status"] != "refresh_interrupted" or self.attempts[store_id] >= 20:
                continue
            # The command refuses while the dead refresh's lease is younger than this (which
            # must exceed the OAuth deadline plus the commit budget): it is run again later.
            self.attempts[store_id] += 1
            done = subprocess.run(
                _cli("stores", "refresh", str(store_id), "--lease-timeout", "90"),
                env=self.service_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            outcome = (done.stdout + done.stderr).strip().splitlines()
            self.recoveries[store_id] = outcome[-1] if outcome else str(done.returncode)
            say(f"  store {store_id}: refresh interrupted; sallakit stores refresh: {outcome[-1:]}")

    def counters(self) -> dict[str, Any]:
        response = httpx2.get(f"{self.emulator_url}/_emulator/counters", timeout=120)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def emulator_truth(self) -> Any:
        """The emulator's state, loaded from a snapshot it writes (the oracle)."""
        from sallakit.emulator import Emulator

        path = self.root / "truth.snapshot"
        httpx2.post(
            f"{self.emulator_url}/_emulator/snapshot", json={"path": str(path)}, timeout=300
        ).raise_for_status()
        return Emulator.load(path)

    def stores_status(self) -> list[dict[str, Any]]:
        response = httpx2.get(
            f"{self.service_url}/api/stores",
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=120,
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def close(self) -> None:
        self._stopping.set()
        if hasattr(self, "_supervisor"):
            self._supervisor.join(10)
        for proc in [*self.processes, getattr(self, "emulator", None)]:
            if proc is not None:
                proc.stop()
        if hasattr(self, "balancer"):
            self.balancer.close()
        self.pg.close()


# ------------------------------------------------------------------------------- measure


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def sync_lags(fleet: Fleet, mutations: list[Mutation]) -> tuple[dict[int, list[float]], int]:
    """Seconds from each entity's last change at the emulator to the first mirror write that
    shows it; returns the lags per store and how many changes the mirror never showed."""
    last: dict[tuple[int, str, int], Mutation] = {}
    for mutation in mutations:
        last[(mutation.store_id, mutation.resource, mutation.entity_id)] = mutation
    since = min((m.at for m in mutations), default=time.time())
    rows = fleet.sql(
        "SELECT store_id, resource, entity_id, kind, new, created_at FROM mirror_changes "
        "WHERE created_at >= %s AND resource IN ('products', 'orders') ORDER BY seq",
        (since - 1.0,),
    )
    first_seen: dict[tuple[int, str, int], float] = {}
    for store_id, resource, entity_id, kind, new, created_at in rows:
        key = (int(store_id), str(resource), int(entity_id))
        latest = last.get(key)
        if latest is None or key in first_seen or created_at < latest.at:
            continue
        if _shows(latest, kind, new):
            first_seen[key] = float(created_at)
    # An entity created and deleted before the mirror fetched it has nothing to show.
    ever = {
        (int(s), resource, int(i))
        for resource in ("products", "orders")
        for s, i in fleet.sql(f"SELECT store_id, id FROM mirror_{resource}")
    }
    lags: dict[int, list[float]] = defaultdict(list)
    missing = 0
    for key, mutation in last.items():
        seen = first_seen.get(key)
        if seen is not None:
            lags[mutation.store_id].append(seen - mutation.at)
        elif not (mutation.kind == "deleted" and key not in ever):
            missing += 1
    return lags, missing


def _shows(mutation: Mutation, kind: str, new: Any) -> bool:
    if mutation.kind == "deleted":
        return kind == "deleted"
    if kind == "deleted" or not isinstance(new, dict):
        return False
    return mutation.column is None or _same(new.get(mutation.column), mutation.marker)


def _same(value: Any, marker: Any) -> bool:
    if isinstance(marker, int | float):
        try:
            return float(value) == float(marker)
        except (TypeError, ValueError):
            return False
    return bool(value == marker)


def max_concurrent_runs(fleet: Fleet) -> int:
    """The most runs of one store whose [started, finished] intervals overlap."""
    rows = fleet.sql(
        "SELECT store_id, started_at, coalesce(finished_at, %s) FROM mirror_runs "
        "WHERE started_at IS NOT NULL",
        (time.time(),),
    )
    edges: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for store_id, started, finished in rows:
        edges[store_id] += [(started, 1), (finished, -1)]
    worst = 0
    for points in edges.values():
        level = 0
        for _, step in sorted(points, key=lambda p: (p[0], p[1])):  # ends before starts
            level += step
            worst = max(worst, level)
    return worst


def compare_mirror(fleet: Fleet, truth: Any, mutations: list[Mutation]) -> dict[str, Any]:
    """Each store's mirror against the emulator's records: ids per resource, and the last name
    or status the stream wrote."""
    mirrored: dict[tuple[str, int], set[int]] = defaultdict(set)
    for resource in COMPARED:
        for store_id, entity_id in fleet.sql(
            f"SELECT store_id, id FROM mirror_{resource} WHERE deleted_at IS NULL"
        ):
            mirrored[(resource, int(store_id))].add(int(entity_id))
    columns: dict[tuple[str, str], dict[tuple[int, int], Any]] = {}
    for resource, column in {(m.resource, m.column) for m in mutations if m.column}:
        columns[(resource, column)] = {
            (int(s), int(i)): v
            for s, i, v in fleet.sql(f"SELECT store_id, id, {column} FROM mirror_{resource}")
        }
    failing: dict[int, list[str]] = defaultdict(list)
    for store_id in fleet.store_ids:
        data = truth.store(store_id).data
        for resource in COMPARED:
            want = set(getattr(data, resource))
            have = mirrored.get((resource, store_id), set())
            if want != have:
                failing[store_id].append(
                    f"{resource}: {len(want - have)} missing, {len(have - want)} extra"
                )
    last: dict[tuple[int, str, int], Mutation] = {}
    for mutation in mutations:
        last[(mutation.store_id, mutation.resource, mutation.entity_id)] = mutation
    for (store_id, resource, entity_id), mutation in last.items():
        if mutation.kind == "deleted" or mutation.column is None:
            continue
        book = columns[(resource, mutation.column)]
        if not _same(book.get((store_id, entity_id)), mutation.marker):
            failing[store_id].append(f"{resource} {entity_id}: stale")
    return {"failing": len(failing), "examples": dict(itertools.islice(failing.items(), 5))}


def lost_webhooks(fleet: Fleet, counters: dict[str, Any]) -> dict[str, Any]:
    """Deliveries the emulator got a 2xx for, against the inbox: per (store, event), the inbox
    must hold at least as many receipts (rows plus counted duplicates), all processed."""
    log = httpx2.get(f"{fleet.emulator_url}/_emulator/deliveries", timeout=300).json()["log"]
    acknowledged: dict[tuple[int, str], set[int]] = defaultdict(set)
    for attempt in log:
        if attempt["ok"]:
            acknowledged[(int(attempt["store_id"]), attempt["event"])].add(attempt["delivery_id"])
    received: dict[tuple[int, str], int] = defaultdict(int)
    unfinished = 0
    for store_id, event, duplicates, status in fleet.sql(
        "SELECT store_id, event, duplicates, status FROM sallakit_webhook_deliveries"
    ):
        received[(int(store_id), event)] += 1 + int(duplicates)
        unfinished += status != "done"
    lost = sum(max(0, len(ids) - received.get(key, 0)) for key, ids in acknowledged.items())
    return {
        "acknowledged": sum(len(ids) for ids in acknowledged.values()),
        "lost": lost,
        "unfinished": unfinished,
        "failed_attempts": counters["deliveries"]["failed_attempts"],
    }


def database_size(fleet: Fleet) -> tuple[float, dict[str, float]]:
    total = float(fleet.sql("SELECT pg_database_size(current_database())")[0][0])
    tables = fleet.sql(
        "SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2 DESC LIMIT 12"
    )
    return total, {name: round(size / 2**20, 1) for name, size in tables}


def _requests(counters: dict[str, Any]) -> tuple[int, int]:
    total = sum(int(v["total"]) for v in counters["requests"].values())
    limited = sum(int(v) for v in counters["rate_limited"].values())
    return total, limited


# ----------------------------------------------------------------------------------- run


def figure(value: float, unit: str, target: str, met: bool) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit, "target": target, "met": bool(met)}


def run_fleet(config: FleetConfig, *, postgres: str = "auto") -> dict[str, Any]:
    """Run the whole simulation; returns the figures and the details behind them."""
    root = Path(tempfile.mkdtemp(prefix="sallakit-fleet-"))
    fleet: Fleet | None = None
    try:
        fleet = Fleet(config, root, postgres)
        say(f"postgres: {fleet.pg.kind}")
        fleet.start_emulator()
        started = time.perf_counter()
        fleet.seed()
        seeding = time.perf_counter() - started
        say(f"seeded {config.stores} stores in {seeding:.1f} s")
        truth = fleet.emulator_truth()
        world = World(
            products={s: list(truth.store(s).data.products) for s in fleet.store_ids},
            orders={s: list(truth.store(s).data.orders) for s in fleet.store_ids},
        )
        del truth
        empty_size = float(fleet.sql("SELECT pg_database_size(current_database())")[0][0])
        fleet.start_service()
        say(f"{config.webs} web and {config.workers} worker processes up")
        cpu_start = fleet.cpu()
        backfill = fleet.install_all()
        cpu_backfill = fleet.cpu()
        say(f"installed and backfilled every store in {backfill:.0f} s")
        started = time.perf_counter()
        fleet.subscribe_all()
        subscribing = time.perf_counter() - started
        say(f"subscribed every store to {len(EVENTS)} events in {subscribing:.0f} s")
        before = fleet.counters()
        backfill_requests = _requests(before)[0]
        window_start = time.time()
        runs_before = fleet.sql("SELECT count(*) FROM mirror_runs")[0][0]
        until = window_start + config.seconds
        plan = fleet.chaos_plan(window_start, config.seconds) if config.chaos else []

        def chaos() -> None:
            for moment, kind in plan:
                time.sleep(max(0.0, moment - time.time()))
                fleet.strike(kind)

        striker = threading.Thread(target=chaos, name="chaos")
        striker.start()
        asyncio.run(
            stream_events(
                f"{fleet.emulator_url}/_emulator",
                world,
                fleet.store_ids,
                config.events_per_second,
                until,
                config.seed,
            )
        )
        striker.join()
        window = time.time() - window_start
        after = fleet.counters()
        finished_in_window = fleet.sql(
            "SELECT count(*) FROM mirror_runs WHERE finished_at BETWEEN %s AND %s",
            (window_start, window_start + window),
        )[0][0]
        queued_in_window = fleet.sql(
            "SELECT count(*) FROM mirror_runs WHERE created_at BETWEEN %s AND %s",
            (window_start, window_start + window),
        )[0][0]
        say(f"window: {world.sent} changes sent ({world.failed} failed), settling...")
        settled = fleet.settle(config.settle_timeout)
        finished_by_settle = fleet.sql(
            "SELECT count(*) FROM mirror_runs WHERE finished_at >= %s", (window_start,)
        )[0][0]
        busy = window + (settled if settled == settled else config.settle_timeout)
        failed_runs = [
            f"{kind}: {error}"
            for kind, error in fleet.sql(
                "SELECT kind, left(error, 300) FROM mirror_runs WHERE status = 'failed' LIMIT 8"
            )
        ]
        final = fleet.counters()
        truth = fleet.emulator_truth()
        audit = compare_mirror(fleet, truth, world.mutations)
        lags, never_shown = sync_lags(fleet, world.mutations)
        webhooks = lost_webhooks(fleet, final)
        statuses = fleet.stores_status()
        size, tables = database_size(fleet)
        concurrent = max_concurrent_runs(fleet)
        orphaned = int(fleet.sql(ORPHANED_RUNS)[0][0])
        runs_total = fleet.sql("SELECT count(*) FROM mirror_runs")[0][0]
        runs_by_kind = {
            kind: {"runs": int(n), "requests_per_run": round(float(r), 1)}
            for kind, n, r in fleet.sql(
                "SELECT kind, count(*), avg(requests) FROM mirror_runs "
                "WHERE status = 'succeeded' GROUP BY kind"
            )
        }
    except BaseException:
        if fleet is not None:
            for proc in [getattr(fleet, "emulator", None), *fleet.processes]:
                if proc is not None:
                    say(f"--- {proc.name} (last lines) ---\n{proc.tail()}")
        raise
    finally:
        if fleet is not None:
            fleet.close()
        shutil.rmtree(root, ignore_errors=True)

    backfills_failed = fleet.backfills_failed
    per_store = [statistics.median(v) for v in lags.values() if v]
    lag_p50, lag_p99 = percentile(per_store, 0.5), percentile(per_store, 0.99)
    window_requests = _requests(after)[0] - _requests(before)[0]
    total_requests, limited = _requests(final)
    per_thousand = 1000.0 * limited / max(total_requests, 1)
    peak_in_flight = max((int(v) for v in final["peak_in_flight"].values()), default=0)
    refreshes = {int(k): int(v) for k, v in final["token_refreshes"].items()}
    invalid_grants = sum(int(v) for v in final["invalid_grant"].values())
    expiries = sum(1 for e in fleet.events if e["fault"] == "expire tokens")
    # One refresh per store per expiry wave at most: a second one means a refresh token was
    # spent twice (or refreshed for nothing).
    over_refreshed = sum(1 for n in refreshes.values() if n > expiries)
    not_active = sum(1 for s in statuses if s["status"] != "active")
    # Runs finished from the start of the window until everything queued had run.
    workflows_per_second = finished_by_settle / busy
    offered = queued_in_window / window
    # The empty database (PostgreSQL's own catalog) measured in the same run is the baseline.
    mb_per_thousand = (size - empty_size) / 2**20 / len(fleet.store_ids) * 1000
    figures = {
        "sync_lag_p50": figure(lag_p50, "s", "<= 5", lag_p50 <= 5),
        "sync_lag_p99": figure(lag_p99, "s", "<= 60", lag_p99 <= 60),
        "changes_never_mirrored": figure(never_shown, "changes", "== 0", never_shown == 0),
        "workflows_per_second": figure(
            workflows_per_second,
            "runs/s",
            f"all queued runs done (queued at {offered:.2f}/s in the window)",
            settled == settled,
        ),
        "db_mb_per_1000_stores": figure(mb_per_thousand, "MiB", "<= 1024", mb_per_thousand <= 1024),
        "max_concurrent_syncs_per_store": figure(concurrent, "runs", "== 1", concurrent == 1),
        "max_in_flight_per_store": figure(peak_in_flight, "requests", "<= 4", peak_in_flight <= 4),
        "rate_limited_per_1000": figure(
            per_thousand, "429/1000 requests", "<= 5", per_thousand <= 5
        ),
        "runs_orphaned": figure(orphaned, "runs", "== 0", orphaned == 0),
        "stores_never_backfilled": figure(
            fleet.never_backfilled, "stores", "== 0", fleet.never_backfilled == 0
        ),
        "stores_failing_audit": figure(audit["failing"], "stores", "== 0", audit["failing"] == 0),
        "webhooks_lost": figure(webhooks["lost"], "deliveries", "== 0", webhooks["lost"] == 0),
        "webhooks_unprocessed": figure(
            webhooks["unfinished"], "deliveries", "== 0", webhooks["unfinished"] == 0
        ),
        "stores_needing_reinstall": figure(not_active, "stores", "== 0", not_active == 0),
        "invalid_grants": figure(invalid_grants, "refreshes", "== 0", invalid_grants == 0),
        "stores_over_refreshed": figure(over_refreshed, "stores", "== 0", over_refreshed == 0),
        "settled_within": figure(
            settled, "s", f"<= {config.settle_timeout:.0f}", settled == settled
        ),
    }
    details = {
        "stores": len(fleet.store_ids),
        "window_seconds": round(window, 1),
        "changes_sent": world.sent,
        "changes_failed_to_send": world.failed,
        "seeding_seconds": round(seeding, 1),
        "backfill_seconds": round(backfill, 1),
        "backfill_requests": backfill_requests,
        "window_requests": window_requests,
        # CPU seconds per 1,000 API requests during the backfill (no chaos: no process lost
        # its count).
        "cpu_per_1000_requests_backfill": {
            k: round(1000 * (cpu_backfill[k] - cpu_start[k]) / max(backfill_requests, 1), 2)
            for k in cpu_start
        },
        "runs_by_kind": runs_by_kind,
        "requests_total": total_requests,
        "rate_limited": limited,
        "runs_total": runs_total - 0 * runs_before,
        "runs_finished_in_window": finished_in_window,
        "token_refreshes": sum(refreshes.values()),
        "stores_refreshed": len(refreshes),
        "webhooks": webhooks,
        "audit_examples": audit["examples"],
        "failed_runs": failed_runs,
        "install_backfills_failed_then_retried": backfills_failed,
        "database_bytes": size,
        "empty_database_bytes": empty_size,
        "largest_tables_mib": tables,
        "chaos": fleet.events,
        "refreshes_interrupted_and_recovered": fleet.recoveries,
        "unplanned_restarts": {p.name: p.restarts for p in fleet.processes if p.restarts},
        "postgres": fleet.pg.kind,
        "governor": config.governor,
        "plans": dict(
            sorted(
                (plan, sum(1 for p in fleet.plans.values() if p.plan == plan))
                for plan, _ in PLAN_MIX
            )
        ),
        "entities": {
            "products": sum(p.products for p in fleet.plans.values()),
            "orders": sum(p.orders for p in fleet.plans.values()),
            "customers": sum(p.customers for p in fleet.plans.values()),
        },
    }
    return {"bench": "fleet", "figures": figures, "details": details}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 stores, a 60 s window")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--stores", type=int, help="stores in the fleet")
    parser.add_argument("--seconds", type=float, help="length of the measured window")
    parser.add_argument("--rate", type=float, help="store changes per second, whole fleet")
    parser.add_argument("--no-chaos", action="store_true", help="no kill, no restart")
    parser.add_argument(
        "--governor",
        choices=("database", "process"),
        help="where a store's rate-limit budget lives (SALLAKIT_GOVERNOR; default database)",
    )
    parser.add_argument(
        "--postgres",
        choices=("auto", "private", "shared"),
        default="auto",
        help="a private cluster (restartable) or a database on 127.0.0.1:5432",
    )
    args = parser.parse_args()
    config = FleetConfig(**asdict(QUICK)) if args.quick else FleetConfig()
    if args.stores:
        config.stores = args.stores
    if args.seconds:
        config.seconds = args.seconds
    if args.rate:
        config.events_per_second = args.rate
    config.chaos = not args.no_chaos
    if args.governor:
        config.governor = args.governor
    result = run_fleet(config, postgres=args.postgres)
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result["figures"].items():
        mark = "ok " if value["met"] else "MISSED"
        print(f"{name:>32}: {value['value']} {value['unit']} (target {value['target']}) {mark}")
    print(json.dumps(result["details"], indent=2))


if __name__ == "__main__":
    main()
