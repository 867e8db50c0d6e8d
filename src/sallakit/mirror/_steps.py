"""The mirror's steps: idempotent async functions, and the job that composes them.

Nothing here imports DBOS. A job (:func:`run_job`) is a deterministic sequence of steps, each
called through a :data:`StepRunner`: :func:`run_directly` just awaits it; the DBOS workflow in
``_workflows.py`` checkpoints each step's result, so a killed process resumes at the last
completed step and the step that was in flight runs again. Steps are idempotent at a finer grain
than that: every page a run stores is recorded in the page ledger (with its ids) in the same
transaction as its rows, and every order written by a run carries the run's id, so a step that
runs again skips the pages and orders already stored and requests only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import anyio
import httpx2

from sallakit._exceptions import NotFoundError
from sallakit.api import APIResponse, AsyncSalla, RateLimitWait
from sallakit.mirror import _core
from sallakit.mirror._settings import MirrorSettings
from sallakit.mirror._store import (
    ChildReplace,
    MirrorStore,
    PageRecord,
    RunRecord,
    WriteBatch,
    WriteCounts,
)
from sallakit.mirror._streams import (
    ChildSpec,
    Row,
    Stream,
    flatten,
    make_row,
    stream,
)
from sallakit.models import SALLA_TIMEZONE

__all__ = [
    "PER_PAGE",
    "CountingTransport",
    "Job",
    "Progress",
    "ProgressCallback",
    "RequestCounter",
    "StepRunner",
    "SyncEnv",
    "run_directly",
    "run_job",
]

T = TypeVar("T")

logger = logging.getLogger("sallakit.mirror")

#: Salla's largest page.
PER_PAGE = 60

StepRunner = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""Runs one named step: ``await runner(name, fn)`` returns ``await fn()`` (checkpointed or not).
A step's result must be plain data (dicts, lists, numbers, strings)."""


async def run_directly(name: str, fn: Callable[[], Awaitable[T]]) -> T:
    """The :data:`StepRunner` without durability: await the step."""
    return await fn()


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report of a run (for progress bars and dashboards).

    Attributes:
        store_id: The store.
        resource: The resource being synced ("" for the run as a whole).
        event: ``pages`` (a page stored), ``records`` (details stored), ``phase`` (a phase
            started: ``detail`` says which), ``wait`` (the client waits for the rate limit:
            ``seconds`` and ``detail`` say how long and why), ``done`` (the run ended).
        pages_done: Pages of the current walk stored so far.
        pages_total: Pages the walk has, when known.
        records: Entities stored for the resource so far in this process.
        requests: Requests sent by this run so far in this process.
        rate_limited: 429 answers received so far.
        detail: Free text (a window, a phase, an error).
    """

    store_id: int
    resource: str
    event: str
    pages_done: int = 0
    pages_total: int | None = None
    records: int = 0
    requests: int = 0
    rate_limited: int = 0
    detail: str = ""
    seconds: float = 0.0


ProgressCallback = Callable[[Progress], None]


class RequestCounter:
    """Requests sent and 429s received by one run (fed by :class:`CountingTransport`)."""

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0


class CountingTransport(httpx2.AsyncBaseTransport):
    """Wraps the client's transport to count a run's requests and 429 answers."""

    def __init__(self, inner: httpx2.AsyncBaseTransport | None, counter: RequestCounter) -> None:
        self._inner = inner if inner is not None else httpx2.AsyncHTTPTransport()
        self._owns = inner is None
        self.counter = counter

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.counter.requests += 1
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429:
            self.counter.rate_limited += 1
        return response

    async def aclose(self) -> None:
        # A transport given by the caller (the emulator's, shared by many runs) stays open.
        if self._owns:
            await self._inner.aclose()


class ClientFactory(Protocol):
    """Builds the store-bound client of one run around the run's counting transport.

    ``on_wait`` goes to the client (``AsyncSalla(on_wait=...)``): the run reports the client's
    rate-limit waits as progress.
    """

    def __call__(
        self,
        store_id: int,
        transport: httpx2.AsyncBaseTransport,
        on_wait: Callable[[RateLimitWait], None],
    ) -> AsyncSalla: ...


@dataclass(slots=True)
class SyncEnv:
    """What the steps of one run share: the store's client, the mirror store, settings."""

    store_id: int
    run_id: str
    client: AsyncSalla
    store: MirrorStore
    settings: MirrorSettings
    counter: RequestCounter
    clock: Callable[[], float]
    progress: ProgressCallback | None = None
    semaphore: anyio.Semaphore = field(init=False)
    write_lock: anyio.Lock = field(init=False)
    records: dict[str, int] = field(default_factory=dict)
    _counted: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        # Exactly as many workers as the store's in-flight cap: requests never queue in the
        # governor, and the slots never sit idle while work is waiting.
        self.semaphore = anyio.Semaphore(self.settings.max_in_flight)
        self.write_lock = anyio.Lock()

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> APIResponse:
        async with self.semaphore:
            return await self.client.request("GET", path, params=params)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store method in a worker thread (requests keep flowing meanwhile)."""
        return await anyio.to_thread.run_sync(lambda: fn(*args))

    async def write(self, batch: WriteBatch) -> WriteCounts:
        if batch.is_empty():
            return WriteCounts()
        async with self.write_lock:
            # Progress for the watchdog and the job history goes in the same transaction (a
            # run resumed after a crash keeps the requests its first process made).
            requests, limited = self.counter.requests, self.counter.rate_limited
            batch.touch = (self.clock(), requests - self._counted[0], limited - self._counted[1])
            counts = await self.call(self.store.apply, batch)
            self._counted = (requests, limited)
            return counts

    def report(self, resource: str, event: str, **values: Any) -> None:
        if self.progress is None:
            return
        try:
            self.progress(
                Progress(
                    store_id=self.store_id,
                    resource=resource,
                    event=event,
                    records=self.records.get(resource, 0),
                    requests=self.counter.requests,
                    rate_limited=self.counter.rate_limited,
                    **values,
                )
            )
        except Exception:  # a broken progress bar must never fail a sync
            logger.exception("mirror progress callback failed", extra={"action": "mirror_progress"})


@dataclass(frozen=True, slots=True)
class Job:
    """What one run does.

    Attributes:
        run_id: The run's id (the workflow id under DBOS).
        store_id: The store.
        kind: ``sync`` (backfill what was never backfilled, reconcile the rest), ``full``
            (re-fetch everything), ``scheduled`` (only resources whose interval elapsed) or
            ``dirty`` (targeted fetches of what webhooks marked).
        resources: Top-level resources concerned (empty: the settings' resources).
    """

    run_id: str
    store_id: int
    kind: str = "sync"
    resources: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "store_id": self.store_id,
            "kind": self.kind,
            "resources": list(self.resources),
        }


JOB_KINDS = ("sync", "full", "scheduled", "dirty")


# =============================================================================== page helpers


def _list_data(response: APIResponse) -> list[Any]:
    data = response.data
    if isinstance(data, list):
        return data
    return []


def _rows(s: Stream, items: Sequence[Any], source: str = "list") -> list[Row]:
    rows: list[Row] = []
    for obj in flatten(s, list(items)):
        plain = dict(obj)
        if s.flatten:
            # Nested entities live in their own rows; keeping them inside the parent too would
            # report the parent as changed whenever a child changes.
            plain.pop(s.flatten, None)
        row = make_row(s.normalize, plain, source)
        if row is not None:
            rows.append(row)
    return rows


def _children_from_data(s: Stream, rows: Sequence[Row]) -> list[ChildReplace]:
    out: list[ChildReplace] = []
    for spec in s.children:
        if spec.key is None:
            continue
        for row in rows:
            raw = row.data.get(spec.key)
            items = raw if isinstance(raw, list) else []
            children = [
                c
                for c in (
                    make_row(spec.normalize, dict(i), row.source)
                    for i in items
                    if isinstance(i, Mapping)
                )
                if c
            ]
            out.append(ChildReplace(spec.table, spec.parent_column, row.id, children))
    return out


def _cascade(s: Stream, parent_ids: Sequence[int]) -> list[ChildReplace]:
    """Deleting a parent deletes its children (an empty replacement set for each)."""
    return [
        ChildReplace(spec.table, spec.parent_column, parent_id, [])
        for spec in s.children
        for parent_id in parent_ids
    ]


def _window_key(window: tuple[str, str] | None) -> str:
    return "all" if window is None else f"{window[0]}..{window[1]}"


def _window_params(s: Stream, window: tuple[str, str] | None) -> dict[str, Any]:
    if window is None or s.window is None:
        return {}
    return {s.window[0]: window[0], s.window[1]: window[1]}


def _local_today(clock: Callable[[], float]) -> date:
    return datetime.fromtimestamp(clock(), SALLA_TIMEZONE).date()


def _horizon(env: SyncEnv) -> str | None:
    days = env.settings.order_backfill_days
    if days is None:
        return None
    return (_local_today(env.clock) - timedelta(days=days)).isoformat()


# ============================================================================= detail fetches


async def _fetch_children(env: SyncEnv, spec: ChildSpec, parent_id: int) -> list[Row] | None:
    """Every child of one parent from its own endpoint; None when the parent is gone."""
    assert spec.path is not None
    path = spec.path.replace("{id}", str(parent_id))
    params: dict[str, Any] = dict(spec.params)
    if "{id}" not in spec.path:
        params[f"{spec.parent_column}"] = parent_id
    items: list[Any] = []
    page = 1
    while True:
        query = {**params, "page": page, "per_page": PER_PAGE} if spec.paginated else params
        try:
            response = await env.get(path, query)
        except NotFoundError:
            return None
        data = _list_data(response)
        items.extend(data)
        info = response.pagination
        if not spec.paginated or info is None or not data:
            break
        if info.total_pages is None or (info.current_page or page) >= info.total_pages:
            break
        page += 1
    return [
        c for c in (make_row(spec.normalize, dict(i)) for i in items if isinstance(i, Mapping)) if c
    ]


@dataclass(slots=True)
class _Fetched:
    row: Row | None
    entity_id: int
    children: list[ChildReplace]
    changed: bool


async def _fetch_entity(
    env: SyncEnv, s: Stream, entity_id: int, *, known_hash: str | None, with_children: bool
) -> _Fetched:
    """One entity by its detail call (and, when it changed, its children's calls)."""
    try:
        response = await env.get(s.detail_path.replace("{id}", str(entity_id)))
    except NotFoundError:
        return _Fetched(None, entity_id, [], True)
    data = response.data if isinstance(response.data, Mapping) else {}
    rows = _rows(s, [data], "detail")
    if not rows:
        return _Fetched(None, entity_id, [], True)
    row = rows[0]
    changed = known_hash != row.hash
    children = _children_from_data(s, rows)
    if with_children and (changed or known_hash is None):
        specs = [c for c in s.children if c.path is not None]
        if not env.settings.order_histories:
            specs = [c for c in specs if c.table != "order_histories"]
        fetched = [await _fetch_children(env, spec, row.id) for spec in specs]
        for spec, kids in zip(specs, fetched, strict=True):
            if kids is not None:
                children.append(ChildReplace(spec.table, spec.parent_column, row.id, kids))
    return _Fetched(row, entity_id, children, changed)


class _DetailWriter:
    """Buffers fetched entities and writes them in batches (not a transaction per row), in a
    task of its own: the workers that fetch never wait for the database.

    Use it as ``async with _DetailWriter(env, s) as writer``: leaving the block writes what
    is left and waits for it.
    """

    def __init__(
        self,
        env: SyncEnv,
        s: Stream,
        *,
        clear_dirty: bool = False,
        dirty_seen: Mapping[tuple[str, int], float] | None = None,
    ) -> None:
        self.env, self.stream, self.clear_dirty = env, s, clear_dirty
        self.dirty_seen = dirty_seen or {}
        self.buffer: list[_Fetched] = []
        self.counts = WriteCounts()
        self._writing = False
        self._tasks = anyio.create_task_group()

    async def __aenter__(self) -> _DetailWriter:
        await self._tasks.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        return await self._tasks.__aexit__(*exc)

    def add(self, fetched: _Fetched) -> None:
        """Buffer an entity; start writing unless a write is under way (group commit: what
        arrives during a write goes in the next one, so batches grow with the database's
        latency and a crash loses at most what one write was waiting for)."""
        self.buffer.append(fetched)
        if not self._writing:
            self._writing = True
            self._tasks.start_soon(self._drain)

    async def _drain(self) -> None:
        try:
            while self.buffer:
                await self.flush()
        finally:
            self._writing = False

    async def flush(self) -> None:
        if not self.buffer:
            return
        limit = self.env.settings.flush_every
        pending, self.buffer = self.buffer[:limit], self.buffer[limit:]
        batch = WriteBatch(store_id=self.env.store_id, run_id=self.env.run_id)
        rows = [f.row for f in pending if f.row is not None]
        if rows:
            batch.upserts.append((self.stream.name, rows))
        for f in pending:
            batch.children.extend(f.children)
        gone = [f.entity_id for f in pending if f.row is None]
        if gone:
            batch.deletes.append((self.stream.name, gone))
            batch.children.extend(_cascade(self.stream, gone))
        if self.clear_dirty:
            batch.clear_dirty.extend((self.stream.name, f.entity_id) for f in pending)
            batch.dirty_seen.update(
                (key, self.dirty_seen[key]) for key in batch.clear_dirty if key in self.dirty_seen
            )
        counts = await self.env.write(batch)
        self.counts.merge(counts)
        name = self.stream.name
        self.env.records[name] = self.env.records.get(name, 0) + len(pending)
        self.env.report(name, "records")


async def _pool(width: int, items: Sequence[T], work: Callable[[T], Awaitable[None]]) -> None:
    """Run ``work`` over ``items`` with ``width`` workers, each item to its end before the
    next (an order's detail, items and history in a row: finished orders pile up steadily
    instead of every detail first and every order last)."""
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await work(queue.pop())

    async with anyio.create_task_group() as tg:
        for _ in range(min(width, len(items))):
            tg.start_soon(worker)


async def _fetch_details(
    env: SyncEnv, s: Stream, ids: Sequence[int], writer: _DetailWriter, *, refetch_all: bool
) -> None:
    """Detail calls (and children) for ``ids`` not yet written by this run, concurrently."""
    skip = await env.call(env.store.fetched_in_run, env.store_id, s.name, ids, env.run_id)
    todo = [i for i in ids if i not in skip]
    known = {} if refetch_all else await env.call(env.store.hashes, env.store_id, s.name, todo)

    async def one(entity_id: int) -> None:
        fetched = await _fetch_entity(
            env, s, entity_id, known_hash=known.get(entity_id), with_children=True
        )
        writer.add(fetched)

    await _pool(env.settings.max_in_flight, todo, one)


# ================================================================================ the steps


async def step_pages(
    env: SyncEnv,
    resource: str,
    window: tuple[str, str] | None,
    params: Mapping[str, Any],
    pages: Sequence[int],
    *,
    refetch_all: bool,
) -> dict[str, Any]:
    """Fetch and store some pages of a walk (and, for orders, each order's details).

    Pages this run already stored are not requested again. Returns, per page, the number of
    rows it held and the totals it reported, and the write counts.
    """
    s = stream(resource)
    key = _window_key(window)
    done = await env.call(env.store.pages_done, env.run_id, resource, key)
    stats: dict[str, dict[str, Any]] = {
        str(p): {"n": len(done[p].ids), "total": done[p].total, "total_pages": None, "first": None}
        for p in pages
        if p in done
    }
    counts = WriteCounts()
    query = {**s.list_params, **params, **_window_params(s, window), "per_page": PER_PAGE}

    async def one(page: int) -> None:
        response = await env.get(s.list_path, {**query, "page": page})
        items = _list_data(response)
        rows = _rows(s, items)
        info = response.pagination
        batch = WriteBatch(store_id=env.store_id, run_id=env.run_id)
        if s.needs_detail:
            async with _DetailWriter(env, s) as writer:
                ids = [r.id for r in rows]
                await _fetch_details(env, s, ids, writer, refetch_all=refetch_all)
            counts.merge(writer.counts)
        else:
            batch.upserts.append((resource, rows))
            batch.children.extend(_children_from_data(s, rows))
        batch.pages.append(
            PageRecord(resource, key, page, [r.id for r in rows], info.total if info else None)
        )
        counts.merge(await env.write(batch))
        if not s.needs_detail:
            env.records[resource] = env.records.get(resource, 0) + len(rows)
            env.report(resource, "records")
        first = items[0].get("date") if items and isinstance(items[0], Mapping) else None
        stats[str(page)] = {
            "n": len(items),
            "total": info.total if info else None,
            "total_pages": info.total_pages if info else None,
            "first": first,
        }

    async with anyio.create_task_group() as tg:
        for page in pages:
            if page not in done:
                tg.start_soon(one, page)
    return {"pages": stats, "counts": counts.by_table}


async def step_updated_walk(
    env: SyncEnv, resource: str, page: int, watermark: float | None
) -> dict[str, Any]:
    """One page of an ``updated_at``-descending walk: each order's detail, newest first, in
    groups as wide as the in-flight cap, until an order older than the watermark shows up.

    Returns whether the walk reached the watermark (or the end of the list) and the counts.
    """
    s = stream(resource)
    response = await env.get(
        s.list_path,
        {**s.list_params, "sort_by": "updated_at-desc", "page": page, "per_page": PER_PAGE},
    )
    items = _list_data(response)
    ids = [r.id for r in _rows(s, items)]
    info = response.pagination
    skip = await env.call(env.store.fetched_in_run, env.store_id, resource, ids, env.run_id)
    todo = [i for i in ids if i not in skip]
    known = await env.call(env.store.hashes, env.store_id, resource, todo)
    reached = False

    async def one(entity_id: int) -> None:
        nonlocal reached
        if reached:
            return  # the workers still busy finish their order; no new one starts
        fetched = await _fetch_entity(
            env, s, entity_id, known_hash=known.get(entity_id), with_children=True
        )
        writer.add(fetched)
        if fetched.row is not None and _core.reached_watermark(
            fetched.row.columns.get("updated_at"), watermark
        ):
            reached = True

    async with _DetailWriter(env, s) as writer:
        await _pool(env.settings.max_in_flight, todo, one)
    last = info is None or info.total_pages is None or page >= info.total_pages or not items
    return {"reached": reached or last, "counts": writer.counts.by_table, "n": len(items)}


async def step_confirm_deletions(
    env: SyncEnv, resource: str, confirm: Sequence[int], delete: Sequence[int]
) -> dict[str, Any]:
    """Ask the detail endpoint about ids a walk did not see (404: deleted; found: the walk
    missed it, store it), and mark the ids of a consistent walk deleted."""
    s = stream(resource)

    async def one(entity_id: int) -> None:
        writer.add(
            await _fetch_entity(env, s, entity_id, known_hash=None, with_children=s.needs_detail)
        )

    async with _DetailWriter(env, s) as writer:
        await _pool(env.settings.max_in_flight, list(confirm), one)
    counts = writer.counts
    if delete:
        batch = WriteBatch(
            store_id=env.store_id,
            run_id=env.run_id,
            deletes=[(resource, list(delete))],
            children=_cascade(s, delete),
        )
        counts.merge(await env.write(batch))
    return {"counts": counts.by_table}


async def step_drain_dirty(env: SyncEnv, limit: int = 200) -> dict[str, Any]:
    """Targeted fetches of entities webhooks marked dirty (webhooks are hints, the API is the
    truth): each is fetched by its detail call and stored, or marked deleted on a 404."""
    marks = await env.call(env.store.dirty_marks, env.store_id, limit)
    counts = WriteCounts()
    by_resource: dict[str, list[int]] = {}
    for resource, entity_id, _ in marks:
        by_resource.setdefault(resource, []).append(entity_id)
    seen = {(resource, entity_id): at for resource, entity_id, at in marks}
    for resource, ids in by_resource.items():
        s = stream(resource)
        known = await env.call(env.store.hashes, env.store_id, resource, ids)
        async with _DetailWriter(env, s, clear_dirty=True, dirty_seen=seen) as writer:

            async def one(
                entity_id: int,
                s: Stream = s,
                writer: _DetailWriter = writer,
                known: dict[int, str] = known,
            ) -> None:
                writer.add(
                    await _fetch_entity(
                        env,
                        s,
                        entity_id,
                        known_hash=known.get(entity_id),
                        with_children=s.needs_detail,
                    )
                )

            await _pool(env.settings.max_in_flight, ids, one)
        counts.merge(writer.counts)
    return {"marks": len(marks), "counts": counts.by_table, "more": len(marks) >= limit}


async def step_audit(env: SyncEnv, resources: Sequence[str]) -> dict[str, Any]:
    """Remote totals (``pagination.total`` per resource, and per order status) against the
    mirror's counts."""
    remote: dict[str, int | None] = {}
    mirror: dict[str, int] = {}
    horizon = _horizon(env)
    queries: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for resource in resources:
        s = stream(resource)
        params: dict[str, Any] = {**s.list_params, "per_page": 1}
        where: dict[str, Any] = {}
        if s.top_level_filter is not None:
            where[s.top_level_filter[0]] = s.top_level_filter[1]
        if resource == "orders" and horizon is not None:
            params["from_date"] = horizon
        queries.append((resource, s.list_path, params, where))
        if resource == "orders":
            for status_id in await env.call(_order_statuses, env):
                queries.append(
                    (
                        f"orders:status={status_id}",
                        s.list_path,
                        {**params, "status[]": status_id},
                        {**where, "status_id": status_id},
                    )
                )

    async def one(query: tuple[str, str, dict[str, Any], dict[str, Any]]) -> None:
        name, path, params, where = query
        response = await env.get(path, params)
        remote[name] = response.pagination.total if response.pagination else None
        table = name.split(":", 1)[0]
        mirror[name] = await env.call(_count_since, env, table, where, horizon)

    # The totals are independent: ask for them side by side, within the in-flight cap.
    await _pool(env.settings.max_in_flight, queries, one)
    return {"remote": remote, "mirror": mirror}


def _count_since(env: SyncEnv, resource: str, where: dict[str, Any], horizon: str | None) -> int:
    if resource != "orders" or horizon is None:
        return env.store.count(env.store_id, resource, where)
    start = datetime.combine(date.fromisoformat(horizon), datetime.min.time(), SALLA_TIMEZONE)
    cutoff = start.timestamp()
    return sum(
        1
        for row in env.store.rows(env.store_id, resource)
        if all(row.get(k) == v for k, v in where.items()) and (row.get("created_at") or 0) >= cutoff
    )


def _order_statuses(env: SyncEnv) -> list[int]:
    seen: set[int] = set()
    for row in env.store.rows(env.store_id, "orders"):
        if row.get("status_id") is not None:
            seen.add(int(row["status_id"]))
    return sorted(seen)


# ================================================================================== the job


def _chunks(items: Sequence[int], size: int) -> list[list[int]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _merge_counts(total: dict[str, dict[str, int]], part: Mapping[str, Mapping[str, int]]) -> None:
    for table, kinds in part.items():
        entry = total.setdefault(table, {"added": 0, "updated": 0, "deleted": 0, "unchanged": 0})
        for kind, n in kinds.items():
            entry[kind] = entry.get(kind, 0) + n


@dataclass(slots=True)
class _WalkOutcome:
    total: int | None = None
    reachable: int = 0
    capped: bool = False
    consistent: bool = True
    earliest: Any = None


async def _walk(
    env: SyncEnv,
    step: StepRunner,
    resource: str,
    window: tuple[str, str] | None,
    params: Mapping[str, Any],
    counts: dict[str, dict[str, int]],
    *,
    refetch_all: bool,
) -> _WalkOutcome:
    s = stream(resource)
    key = _window_key(window)
    per_step = env.settings.order_pages_per_step if s.needs_detail else env.settings.pages_per_step
    env.report(resource, "phase", detail=f"walk {key}")
    first = await step(
        f"{resource}/{key}/pages 1",
        lambda: step_pages(env, resource, window, params, [1], refetch_all=refetch_all),
    )
    _merge_counts(counts, first["counts"])
    stat = first["pages"]["1"]
    total_pages = stat["total_pages"]
    if total_pages is None:
        # A resumed first page: ask the ledger's total how many pages there are.
        total = stat["total"] or 0
        total_pages = max(1, -(-total // PER_PAGE))
    outcome = _WalkOutcome(total=stat["total"], earliest=stat["first"])
    stats = {1: stat}
    env.report(resource, "pages", pages_done=1, pages_total=total_pages)
    done = 1
    for chunk in _chunks(list(range(2, total_pages + 1)), per_step):
        result = await step(
            f"{resource}/{key}/pages {chunk[0]}-{chunk[-1]}",
            lambda chunk=chunk: step_pages(
                env, resource, window, params, chunk, refetch_all=refetch_all
            ),  # type: ignore[misc]
        )
        _merge_counts(counts, result["counts"])
        stats.update({int(p): v for p, v in result["pages"].items()})
        done += len(chunk)
        env.report(resource, "pages", pages_done=done, pages_total=total_pages)
    totals = {v["total"] for v in stats.values() if v["total"] is not None}
    outcome.total = (
        stats[max(stats)]["total"] if stats[max(stats)]["total"] is not None else outcome.total
    )
    outcome.reachable = sum(v["n"] for v in stats.values())
    # A page before the last that came back short, while the list reports more rows, is a cap.
    outcome.capped = any(
        p < total_pages and v["n"] < PER_PAGE for p, v in stats.items()
    ) or _core.is_capped(outcome.reachable, outcome.total)
    outcome.consistent = len(totals) <= 1 and not outcome.capped
    return outcome


def _first_date(value: Any) -> date | None:
    try:
        from sallakit.models import parse_salla_datetime

        parsed = parse_salla_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(SALLA_TIMEZONE).date() if parsed else None


async def _windowed(
    env: SyncEnv,
    step: StepRunner,
    resource: str,
    params: Mapping[str, Any],
    outcome: _WalkOutcome,
    counts: dict[str, dict[str, int]],
    *,
    refetch_all: bool,
) -> dict[str, tuple[int | None, int]]:
    """Re-walk a capped list in date windows small enough to stay under the cap."""
    start = _first_date(outcome.earliest) or date(2015, 1, 1)
    horizon = _horizon(env)
    if horizon is not None:
        start = max(start, date.fromisoformat(horizon))
    end = _local_today(env.clock)
    cap = max(outcome.reachable, 1)
    parts = max(2, -(-(outcome.total or 0) * 5 // (cap * 4)))
    span = max((end - start).days + 1, 1)
    size = max(1, -(-span // parts))
    pending: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        stop = min(end, cursor + timedelta(days=size - 1))
        pending.append((cursor, stop))
        cursor = stop + timedelta(days=1)
    flagged: dict[str, tuple[int | None, int]] = {}
    while pending:
        lo, hi = pending.pop(0)
        window = (lo.isoformat(), hi.isoformat())
        result = await _walk(env, step, resource, window, params, counts, refetch_all=refetch_all)
        if result.capped:
            halves = _core.split_window(lo, hi)
            if halves is None:
                flagged[f"{resource}:{window[0]}"] = (result.total, result.reachable)
            else:
                pending[:0] = list(halves)
    return flagged


async def _sync_resource(
    env: SyncEnv,
    step: StepRunner,
    resource: str,
    mode: str,
    state: Mapping[str, Any],
    counts: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """Backfill or reconcile one resource. Returns what the audit needs to know."""
    s = stream(resource)
    capped: dict[str, tuple[int | None, int]] = {}
    if s.reconcile == "updated_desc" and mode == "reconcile":
        margin = env.settings.watermark_margin
        watermark = _core.walk_watermark(state.get("last_run_started_at"), margin)
        page = 1
        env.report(resource, "phase", detail="updated_at walk")
        while True:
            result = await step(
                f"{resource}/updated/page {page}",
                lambda page=page: step_updated_walk(env, resource, page, watermark),  # type: ignore[misc]
            )
            _merge_counts(counts, result["counts"])
            env.report(resource, "pages", pages_done=page)
            if result["reached"]:
                break
            page += 1
        return {"capped": capped, "walked": True}
    params: dict[str, Any] = dict(s.backfill_params)
    horizon = _horizon(env) if resource == "orders" else None
    window: tuple[str, str] | None = None
    if horizon is not None:
        window = (horizon, _local_today(env.clock).isoformat())
    refetch = mode == "full"
    outcome = await _walk(env, step, resource, window, params, counts, refetch_all=refetch)
    complete = not outcome.capped
    if outcome.capped:
        if s.window is not None:
            capped = await _windowed(
                env, step, resource, params, outcome, counts, refetch_all=refetch
            )
            complete = not capped
        else:
            capped[resource] = (outcome.total, outcome.reachable)
    if s.reconcile == "relist" or mode == "full":
        seen = await step(f"{resource}/seen", lambda: _seen_and_known(env, resource))
        plan = _core.plan_deletions(
            seen["known"],
            seen["seen"],
            walk_complete=complete,
            walk_consistent=outcome.consistent,
            confirm_budget=env.settings.confirm_budget,
        )
        if plan.confirm or plan.delete:
            result = await step(
                f"{resource}/deletions",
                lambda: step_confirm_deletions(env, resource, plan.confirm, plan.delete),
            )
            _merge_counts(counts, result["counts"])
    return {"capped": capped, "walked": True}


async def _seen_and_known(env: SyncEnv, resource: str) -> dict[str, list[int]]:
    seen = await env.call(env.store.seen_ids, env.run_id, resource)
    known = await env.call(env.store.live_ids, env.store_id, resource)
    # Only the difference matters; keep the checkpoint small.
    return {"known": sorted(known - seen), "seen": []}


async def _begin(env: SyncEnv, job: Job) -> dict[str, Any]:
    now = env.clock()
    run = await env.call(env.store.get_run, job.run_id)
    if run is None:
        run = RunRecord(
            run_id=job.run_id,
            store_id=job.store_id,
            kind=job.kind,
            resources=list(job.resources),
            status="queued",
            created_at=now,
        )
    run.status = "running"
    run.started_at = run.started_at or now
    run.progress_at = now
    await env.call(env.store.save_run, run)
    states = {}
    for resource in job.resources or env.settings.resources:
        state = await env.call(env.store.resource_state, env.store_id, resource)
        states[resource] = {
            "backfilled": state.backfilled,
            "last_success_at": state.last_success_at,
            "last_run_started_at": state.last_run_started_at,
        }
    return {"started_at": run.started_at, "states": states, "now": now}


def _plan(job: Job, settings: MirrorSettings, begun: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(resource, mode) pairs of a job, in stream order; mode is backfill, reconcile or full."""
    wanted = [r for r in settings.resources if not job.resources or r in job.resources]
    out: list[tuple[str, str]] = []
    for resource in wanted:
        state = begun["states"].get(resource, {})
        if job.kind == "full":
            out.append((resource, "full"))
        elif not state.get("backfilled"):
            out.append((resource, "backfill"))
        elif job.kind == "scheduled":
            last = state.get("last_success_at")
            if last is None or begun["now"] - last >= settings.interval(resource):
                out.append((resource, "reconcile"))
        else:
            out.append((resource, "reconcile"))
    return out


async def _finish(
    env: SyncEnv,
    job: Job,
    begun: Mapping[str, Any],
    plan: Sequence[tuple[str, str]],
    counts: Mapping[str, Any],
    audit: _core.AuditResult | None,
    error: str | None,
) -> dict[str, Any]:
    now = env.clock()
    run = await env.call(env.store.get_run, job.run_id)
    assert run is not None
    ok = error is None and (audit is None or audit.ok)
    run.status = "succeeded" if ok else "failed"
    run.finished_at = now
    run.progress_at = now
    run.counts = dict(counts)
    requests, limited = env.counter.requests, env.counter.rate_limited
    run.requests += requests - env._counted[0]
    run.rate_limited += limited - env._counted[1]
    env._counted = (requests, limited)
    run.resources = [r for r, _ in plan] or list(job.resources)
    run.audit = audit.as_dict() if audit is not None else None
    run.error = error if error is not None else (None if ok or audit is None else audit.summary())
    await env.call(env.store.save_run, run)
    for resource, _mode in plan:
        state = await env.call(env.store.resource_state, env.store_id, resource)
        state.backfilled = True
        if ok:
            state.last_success_at = now
            state.last_run_id = job.run_id
            state.last_run_started_at = begun["started_at"]
            state.watermark = _core.next_watermark(begun["started_at"], None)
        await env.call(env.store.save_resource_state, state)
    env.report("", "done", detail=run.status)
    return run.as_dict()


async def run_job(env: SyncEnv, job: Job, step: StepRunner = run_directly) -> dict[str, Any]:
    """Run one job to the end through ``step``; returns the job-history row as a dict.

    A failed audit marks the run failed (with the numbers) and keeps the resources' watermarks
    where they were, so the next run walks the same ground again.
    """
    begun = await step("begin", lambda: _begin(env, job))
    counts: dict[str, dict[str, int]] = {}
    if job.kind == "dirty":
        # A failed drain is recorded like a failed sync (its marks stay for the next drain): a
        # raise would end the workflow and leave the job history "running" for good.
        drain_error: str | None = None
        try:
            while True:
                result = await step("dirty", lambda: step_drain_dirty(env))
                _merge_counts(counts, result["counts"])
                if not result["more"]:
                    break
        except Exception as exc:
            if _is_durability_signal(exc):
                raise
            logger.exception(
                "mirror drain failed", extra={"action": "mirror_run_failed", "run_id": job.run_id}
            )
            drain_error = _describe(exc)
        return dict(
            await step("finish", lambda: _finish(env, job, begun, [], counts, None, drain_error))
        )
    plan = _plan(job, env.settings, begun)
    capped: dict[str, tuple[int | None, int]] = {}
    error: str | None = None
    try:
        for resource, mode in plan:
            outcome = await _sync_resource(
                env, step, resource, mode, begun["states"].get(resource, {}), counts
            )
            capped.update({k: (v[0], v[1]) for k, v in outcome["capped"].items()})
        audited = await step("audit", lambda: step_audit(env, [r for r, _ in plan]))
        audit = _core.audit_verdict(audited["remote"], audited["mirror"], capped)
    except Exception as exc:
        if _is_durability_signal(exc):
            raise
        logger.exception(
            "mirror run failed", extra={"action": "mirror_run_failed", "run_id": job.run_id}
        )
        error = _describe(exc)
        audit = None
    return dict(await step("finish", lambda: _finish(env, job, begun, plan, counts, audit, error)))


def _describe(exc: BaseException) -> str:
    """A run's error line: the first error inside task groups, not the group's own text."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def _is_durability_signal(exc: BaseException) -> bool:
    # The workflow runner cancels or interrupts a run by raising through the steps: those must
    # propagate, never be recorded as the run's failure.
    return type(exc).__module__.startswith("dbos")


@asynccontextmanager
async def open_env(
    store_id: int,
    run_id: str,
    *,
    clients: ClientFactory,
    store: MirrorStore,
    settings: MirrorSettings,
    clock: Callable[[], float],
    progress: ProgressCallback | None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> AsyncIterator[SyncEnv]:
    """The environment of one run: a store-bound client around a counting transport."""
    counter = RequestCounter()
    counting = CountingTransport(transport, counter)
    holder: list[SyncEnv] = []

    def on_wait(wait: RateLimitWait) -> None:
        if holder:
            holder[0].report("", "wait", seconds=wait.seconds, detail=wait.reason)

    client = clients(store_id, counting, on_wait)
    try:
        env = SyncEnv(
            store_id=store_id,
            run_id=run_id,
            client=client,
            store=store,
            settings=settings,
            counter=counter,
            clock=clock,
            progress=progress,
        )
        holder.append(env)
        yield env
    finally:
        await client.aclose()
        await counting.aclose()


def utc_now_iso(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat()
