"""Where the mirror keeps its data: the :class:`MirrorStore` protocol, its SQL implementation
(SQLite and PostgreSQL) and an in-memory twin with the same behaviour, plus the change feed.

Writes arrive as a :class:`WriteBatch` applied in one transaction: entity upserts (compared by
content hash, so an unchanged entity writes nothing and records no change), child-table
replacements, deletion marks, and the pages of a walk that the batch completes. Each added,
updated or deleted entity appends one :class:`Change` to the feed in that same transaction.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sallakit._exceptions import SallaError, StoreError
from sallakit.db import is_sqlite, read_transaction, write_transaction
from sallakit.mirror import _tables as t
from sallakit.mirror._streams import TABLES, Row

__all__ = [
    "Change",
    "ChildReplace",
    "InMemoryMirrorStore",
    "MirrorStore",
    "PageRecord",
    "ResourceState",
    "RunRecord",
    "SQLMirrorStore",
    "WriteBatch",
    "WriteCounts",
    "is_database_outage",
]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Change:
    """One record of the change feed.

    Attributes:
        seq: Position in the feed (the cursor of ``changes(since=...)``).
        store_id: The store.
        resource: The table (``orders``, ``order_items``...).
        id: The entity's id.
        kind: ``added``, ``updated`` or ``deleted``.
        old: The normalized row before (None when added).
        new: The normalized row after (None when deleted).
        run_id: The run (or targeted fetch) that saw the change.
        created_at: When it was recorded (epoch seconds).
    """

    seq: int
    store_id: int
    resource: str
    id: int
    kind: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    run_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class ChildReplace:
    """The complete set of children of one parent: rows not in it are marked deleted."""

    table: str
    parent_column: str
    parent_id: int
    rows: Sequence[Row]


@dataclass(frozen=True, slots=True)
class PageRecord:
    """A page of a walk that a batch completes (with the ids it held)."""

    resource: str
    window: str
    page: int
    ids: Sequence[int]
    total: int | None = None


@dataclass(slots=True)
class WriteBatch:
    """Writes applied together in one transaction."""

    store_id: int
    run_id: str | None
    upserts: list[tuple[str, Sequence[Row]]] = field(default_factory=list)
    children: list[ChildReplace] = field(default_factory=list)
    deletes: list[tuple[str, Sequence[int]]] = field(default_factory=list)
    pages: list[PageRecord] = field(default_factory=list)
    clear_dirty: list[tuple[str, int]] = field(default_factory=list)
    #: When each mark in ``clear_dirty`` was made, as the drain read it: a mark made again
    #: since (a webhook that arrived while its entity was being fetched) is kept.
    dirty_seen: dict[tuple[str, int], float] = field(default_factory=dict)
    #: Progress of the run recorded with the batch: (time, requests to add, 429s to add).
    touch: tuple[float, int, int] | None = None

    def is_empty(self) -> bool:
        return not (self.upserts or self.children or self.deletes or self.pages or self.clear_dirty)


@dataclass(slots=True)
class WriteCounts:
    """What a batch changed, per table: ``{table: {"added": n, "updated": n, ...}}``."""

    by_table: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, table: str, kind: str, n: int = 1) -> None:
        entry = self.by_table.setdefault(
            table, {"added": 0, "updated": 0, "deleted": 0, "unchanged": 0}
        )
        entry[kind] += n

    def merge(self, other: WriteCounts) -> None:
        for table, kinds in other.by_table.items():
            for kind, n in kinds.items():
                self.add(table, kind, n)


@dataclass(slots=True)
class RunRecord:
    """One row of the job history."""

    run_id: str
    store_id: int
    kind: str
    resources: list[str]
    status: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    progress_at: float | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    rate_limited: int = 0
    audit: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "store_id": self.store_id,
            "kind": self.kind,
            "resources": list(self.resources),
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress_at": self.progress_at,
            "counts": self.counts,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "audit": self.audit,
            "error": self.error,
        }


@dataclass(slots=True)
class ResourceState:
    """Per store and resource: last success and the incremental watermark."""

    store_id: int
    resource: str
    last_success_at: float | None = None
    last_run_id: str | None = None
    last_run_started_at: float | None = None
    watermark: float | None = None
    backfilled: bool = False


@runtime_checkable
class MirrorStore(Protocol):
    """The mirror's storage seam (SQL or in memory). Methods are blocking; the engine runs them
    in a worker thread."""

    def apply(self, batch: WriteBatch) -> WriteCounts:
        """Apply a batch in one transaction."""
        ...

    def hashes(self, store_id: int, table: str, ids: Iterable[int]) -> dict[int, str]:
        """Content hashes of the live (not deleted) rows among ``ids``."""
        ...

    def live_ids(self, store_id: int, table: str) -> set[int]:
        """Ids of the rows not marked deleted."""
        ...

    def count(self, store_id: int, table: str, where: Mapping[str, Any] | None = None) -> int:
        """Live rows, optionally those whose columns equal ``where``."""
        ...

    def rows(
        self, store_id: int, table: str, *, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every row of a table for a store (columns, ``data`` and ``deleted_at``), by id."""
        ...

    def fetched_in_run(
        self, store_id: int, table: str, ids: Iterable[int], run_id: str
    ) -> set[int]:
        """Which of ``ids`` were last written by ``run_id`` (a resumed run skips them)."""
        ...

    def pages_done(self, run_id: str, resource: str, window: str) -> dict[int, PageRecord]:
        """Pages a run already stored for a walk (with their ids and reported totals)."""
        ...

    def seen_ids(self, run_id: str, resource: str) -> set[int]:
        """Every id the run's stored pages held for a resource."""
        ...

    def save_run(self, run: RunRecord) -> None:
        """Insert or replace a job-history row."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def list_runs(self, store_id: int | None = None, limit: int = 50) -> list[RunRecord]:
        """Newest first."""
        ...

    def resource_state(self, store_id: int, resource: str) -> ResourceState: ...

    def save_resource_state(self, state: ResourceState) -> None: ...

    def mark_dirty(self, store_id: int, marks: Iterable[tuple[str, int]], reason: str) -> int:
        """Record entities a webhook said changed; returns how many were new marks."""
        ...

    def dirty(self, store_id: int, limit: int = 500) -> list[tuple[str, int]]: ...

    def dirty_marks(self, store_id: int, limit: int = 500) -> list[tuple[str, int, float]]:
        """The oldest marks of a store with when each was last made: ``(resource, id, at)``."""
        ...

    def dirty_stores(self) -> list[int]: ...

    def changes(self, store_id: int | None, since: int, limit: int = 1000) -> list[Change]:
        """Feed records after cursor ``since`` (every store when ``store_id`` is None)."""
        ...

    def hook_cursor(self, hook: str, store_id: int) -> int: ...

    def set_hook_cursor(self, hook: str, store_id: int, seq: int) -> None: ...

    def store_settings(self, store_id: int) -> dict[str, Any]: ...

    def save_store_settings(self, store_id: int, settings: Mapping[str, Any]) -> None: ...

    def store_ids(self) -> list[int]:
        """Stores with any mirrored data or job."""
        ...


def _plain(value: Any) -> Any:
    """A normalized column value as the change feed shows it (JSON-friendly)."""
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    return value


def _plain_row(columns: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in columns.items()}


def _compare(
    deleted_at: float | None,
    source: str,
    old_hash: str,
    old_columns: Mapping[str, Any],
    row: Row,
    new_columns: Mapping[str, Any],
) -> str:
    """How a stored row relates to a fetched one: ``same``, ``added`` (it was deleted),
    ``updated``, or ``rendering`` (another endpoint's rendering of an unchanged entity).

    Hashes are compared between renderings of the same endpoint only; across the list and the
    detail rendering, the entity changed when its normalized columns (``updated_at`` among
    them where Salla sends one) differ.
    """
    if deleted_at is not None:
        return "added"
    if source == row.source:
        return "same" if old_hash == row.hash else "updated"
    same = all(old_columns.get(k) == v for k, v in new_columns.items())
    return "rendering" if same else "updated"


#: The bound parameter naming the row an executemany update targets (not a column name).
_KEY = "target_id"


def _children_by_table(children: Iterable[ChildReplace]) -> dict[str, list[ChildReplace]]:
    """Child replacements grouped by table, one per parent (a later one for the same parent
    replaces an earlier one, as applying them in turn would)."""
    grouped: dict[str, dict[tuple[str, int], ChildReplace]] = {}
    for child in children:
        grouped.setdefault(child.table, {})[(child.parent_column, child.parent_id)] = child
    return {table: list(by_parent.values()) for table, by_parent in grouped.items()}


# ======================================================================================== SQL


class SQLMirrorStore:
    """:class:`MirrorStore` on a SQLAlchemy engine (run ``sallakit.db.migrate`` first).

    Args:
        engine: From :func:`sallakit.db.create_engine`.
        clock: Epoch seconds (injectable for tests).
    """

    def __init__(self, engine: Engine, *, clock: Clock = time.time) -> None:
        self.engine = engine
        self._clock = clock

    # -------------------------------------------------------------- transactions

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"the mirror database refused a write ({_db_error(exc)})") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with read_transaction(self.engine) as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"the mirror database refused a read ({_db_error(exc)})") from exc

    # ------------------------------------------------------------------- entities

    def apply(self, batch: WriteBatch) -> WriteCounts:
        counts = WriteCounts()
        if batch.is_empty():
            return counts
        now = self._clock()
        with self._write() as conn:
            feed: list[dict[str, Any]] = []
            for table, rows in batch.upserts:
                self._upsert(conn, batch, table, rows, now, counts, feed)
            for table, replaces in _children_by_table(batch.children).items():
                self._replace_children(conn, batch, table, replaces, now, counts, feed)
            for table, ids in batch.deletes:
                self._delete(conn, batch, table, ids, now, counts, feed)
            if feed:
                conn.execute(t.changes.insert(), feed)
            if batch.pages:
                conn.execute(
                    self._insert_ignore(t.pages),
                    [
                        {
                            "run_id": batch.run_id or "",
                            "resource": p.resource,
                            "window": p.window,
                            "page": p.page,
                            "ids": list(p.ids),
                            "total": p.total,
                        }
                        for p in batch.pages
                    ],
                )
            for resource, entity_id in batch.clear_dirty:
                clear = t.dirty.delete().where(
                    t.dirty.c.store_id == batch.store_id,
                    t.dirty.c.resource == resource,
                    t.dirty.c.id == entity_id,
                )
                seen = batch.dirty_seen.get((resource, entity_id))
                if seen is not None:
                    clear = clear.where(t.dirty.c.marked_at == seen)
                conn.execute(clear)
            if batch.touch is not None and batch.run_id is not None:
                at, requests, limited = batch.touch
                conn.execute(
                    t.runs.update()
                    .where(t.runs.c.run_id == batch.run_id)
                    .values(
                        progress_at=at,
                        requests=t.runs.c.requests + requests,
                        rate_limited=t.runs.c.rate_limited + limited,
                    )
                )
        return counts

    def _insert_ignore(self, table: sa.Table) -> Any:
        if is_sqlite(self.engine):
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()

    def _existing(
        self, conn: Connection, table: sa.Table, store_id: int, ids: Sequence[int]
    ) -> dict[int, Any]:
        found: dict[int, Any] = {}
        value_columns = [c for c in table.c if c.name not in ("store_id", "data")]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            result = conn.execute(
                sa.select(*value_columns).where(table.c.store_id == store_id, table.c.id.in_(chunk))
            )
            for row in result:
                found[row.id] = row
        return found

    @staticmethod
    def _columns_of(table: sa.Table, row: Any) -> dict[str, Any]:
        skip = {
            "store_id",
            "id",
            "data",
            "data_hash",
            "source",
            "synced_at",
            "run_id",
            "deleted_at",
        }
        return {c.name: getattr(row, c.name) for c in table.c if c.name not in skip}

    def _upsert(
        self,
        conn: Connection,
        batch: WriteBatch,
        name: str,
        rows: Sequence[Row],
        now: float,
        counts: WriteCounts,
        feed: list[dict[str, Any]],
        extras: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert, update or leave alone each row; one statement per kind of write (an
        executemany), not one per row. ``extras`` adds columns per row id (a child's parent)."""
        table = t.ENTITY_TABLES[name]
        unique = {r.id: r for r in rows}
        existing = self._existing(conn, table, batch.store_id, list(unique))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        touched: list[dict[str, Any]] = []
        for row in unique.values():
            new_columns = {**row.columns, **(extras or {}).get(row.id, {})}
            values = {
                **new_columns,
                "data": row.data,
                "data_hash": row.hash,
                "source": row.source,
                "synced_at": now,
                "run_id": batch.run_id,
                "deleted_at": None,
            }
            old = existing.get(row.id)
            if old is None:
                inserts.append({"store_id": batch.store_id, "id": row.id, **values})
                counts.add(name, "added")
                feed.append(self._feed(batch, name, row.id, "added", None, new_columns, now))
                continue
            before = self._columns_of(table, old)
            verdict = _compare(old.deleted_at, old.source, old.data_hash, before, row, new_columns)
            if verdict == "same":
                counts.add(name, "unchanged")
                if old.run_id != batch.run_id:
                    touched.append({_KEY: row.id})
                continue
            updates.append({_KEY: row.id, **values})
            if verdict == "rendering":
                counts.add(name, "unchanged")
                continue
            counts.add(name, verdict)
            old_columns = None if verdict == "added" else before
            feed.append(self._feed(batch, name, row.id, verdict, old_columns, new_columns, now))
        by_key = table.update().where(
            table.c.store_id == batch.store_id, table.c.id == sa.bindparam(_KEY)
        )
        if touched:
            conn.execute(by_key.values(run_id=batch.run_id, synced_at=now), touched)
        if updates:
            conn.execute(by_key, updates)
        if inserts:
            conn.execute(table.insert(), inserts)

    def _replace_children(
        self,
        conn: Connection,
        batch: WriteBatch,
        name: str,
        replaces: Sequence[ChildReplace],
        now: float,
        counts: WriteCounts,
        feed: list[dict[str, Any]],
    ) -> None:
        """Every parent's complete set of children in one table: upsert them all at once, then
        mark deleted the live children of those parents that no set holds."""
        table = t.ENTITY_TABLES[name]
        rows = [r for c in replaces for r in c.rows]
        extras = {r.id: {c.parent_column: c.parent_id} for c in replaces for r in c.rows}
        self._upsert(conn, batch, name, rows, now, counts, feed, extras)
        keep = {r.id for r in rows}
        parent = table.c[replaces[0].parent_column]
        parents = list(dict.fromkeys(c.parent_id for c in replaces))
        gone: list[int] = []
        for start in range(0, len(parents), 500):
            live = conn.execute(
                sa.select(table.c.id).where(
                    table.c.store_id == batch.store_id,
                    parent.in_(parents[start : start + 500]),
                    table.c.deleted_at.is_(None),
                )
            ).scalars()
            gone.extend(i for i in live if i not in keep)
        if gone:
            self._delete(conn, batch, name, gone, now, counts, feed)

    def _delete(
        self,
        conn: Connection,
        batch: WriteBatch,
        name: str,
        ids: Sequence[int],
        now: float,
        counts: WriteCounts,
        feed: list[dict[str, Any]],
    ) -> None:
        table = t.ENTITY_TABLES[name]
        existing = self._existing(conn, table, batch.store_id, list(dict.fromkeys(ids)))
        marked: list[dict[str, Any]] = []
        for entity_id, old in existing.items():
            if old.deleted_at is not None:
                continue
            marked.append({_KEY: entity_id})
            counts.add(name, "deleted")
            feed.append(
                self._feed(
                    batch, name, entity_id, "deleted", self._columns_of(table, old), None, now
                )
            )
        if marked:
            conn.execute(
                table.update()
                .where(table.c.store_id == batch.store_id, table.c.id == sa.bindparam(_KEY))
                .values(deleted_at=now, run_id=batch.run_id),
                marked,
            )

    @staticmethod
    def _feed(
        batch: WriteBatch,
        resource: str,
        entity_id: int,
        kind: str,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        now: float,
    ) -> dict[str, Any]:
        return {
            "store_id": batch.store_id,
            "resource": resource,
            "entity_id": entity_id,
            "kind": kind,
            "old": _plain_row(old) if old is not None else None,
            "new": _plain_row(new) if new is not None else None,
            "run_id": batch.run_id,
            "created_at": now,
        }

    def hashes(self, store_id: int, table: str, ids: Iterable[int]) -> dict[int, str]:
        tbl = t.ENTITY_TABLES[table]
        wanted = list(dict.fromkeys(ids))
        out: dict[int, str] = {}
        with self._read() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(tbl.c.id, tbl.c.data_hash).where(
                        tbl.c.store_id == store_id,
                        tbl.c.id.in_(wanted[start : start + 500]),
                        tbl.c.deleted_at.is_(None),
                    )
                )
                out.update({r.id: r.data_hash for r in rows})
        return out

    def live_ids(self, store_id: int, table: str) -> set[int]:
        tbl = t.ENTITY_TABLES[table]
        with self._read() as conn:
            return set(
                conn.execute(
                    sa.select(tbl.c.id).where(
                        tbl.c.store_id == store_id, tbl.c.deleted_at.is_(None)
                    )
                ).scalars()
            )

    def count(self, store_id: int, table: str, where: Mapping[str, Any] | None = None) -> int:
        tbl = t.ENTITY_TABLES[table]
        query = (
            sa.select(sa.func.count())
            .select_from(tbl)
            .where(tbl.c.store_id == store_id, tbl.c.deleted_at.is_(None))
        )
        for column, value in (where or {}).items():
            query = query.where(tbl.c[column] == value)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def rows(
        self, store_id: int, table: str, *, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        tbl = t.ENTITY_TABLES[table]
        query = sa.select(tbl).where(tbl.c.store_id == store_id).order_by(tbl.c.id)
        if not include_deleted:
            query = query.where(tbl.c.deleted_at.is_(None))
        last: int | None = None
        while True:
            page = query if last is None else query.where(tbl.c.id > last)
            with self._read() as conn:
                batch = [dict(r._mapping) for r in conn.execute(page.limit(1000))]
            if not batch:
                return
            yield from batch
            last = batch[-1]["id"]

    def fetched_in_run(
        self, store_id: int, table: str, ids: Iterable[int], run_id: str
    ) -> set[int]:
        tbl = t.ENTITY_TABLES[table]
        wanted = list(dict.fromkeys(ids))
        out: set[int] = set()
        with self._read() as conn:
            for start in range(0, len(wanted), 500):
                out.update(
                    conn.execute(
                        sa.select(tbl.c.id).where(
                            tbl.c.store_id == store_id,
                            tbl.c.id.in_(wanted[start : start + 500]),
                            tbl.c.run_id == run_id,
                        )
                    ).scalars()
                )
        return out

    # ------------------------------------------------------------------- pages

    def pages_done(self, run_id: str, resource: str, window: str) -> dict[int, PageRecord]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.pages.c.page, t.pages.c.ids, t.pages.c.total).where(
                    t.pages.c.run_id == run_id,
                    t.pages.c.resource == resource,
                    t.pages.c.window == window,
                )
            )
            return {
                r.page: PageRecord(resource, window, r.page, [int(i) for i in r.ids], r.total)
                for r in rows
            }

    def seen_ids(self, run_id: str, resource: str) -> set[int]:
        seen: set[int] = set()
        with self._read() as conn:
            for row in conn.execute(
                sa.select(t.pages.c.ids).where(
                    t.pages.c.run_id == run_id, t.pages.c.resource == resource
                )
            ):
                seen.update(int(i) for i in row.ids)
        return seen

    # -------------------------------------------------------------------- runs

    def save_run(self, run: RunRecord) -> None:
        values = run.as_dict()
        with self._write() as conn:
            updated = conn.execute(
                t.runs.update().where(t.runs.c.run_id == run.run_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(t.runs.insert().values(**values))

    @staticmethod
    def _run(row: Any) -> RunRecord:
        return RunRecord(**{k: row._mapping[k] for k in row._mapping})

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
        return self._run(row) if row is not None else None

    def list_runs(self, store_id: int | None = None, limit: int = 50) -> list[RunRecord]:
        query = sa.select(t.runs).order_by(t.runs.c.created_at.desc(), t.runs.c.run_id.desc())
        if store_id is not None:
            query = query.where(t.runs.c.store_id == store_id)
        with self._read() as conn:
            return [self._run(r) for r in conn.execute(query.limit(limit))]

    def resource_state(self, store_id: int, resource: str) -> ResourceState:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.resource_state).where(
                    t.resource_state.c.store_id == store_id,
                    t.resource_state.c.resource == resource,
                )
            ).first()
        if row is None:
            return ResourceState(store_id=store_id, resource=resource)
        return ResourceState(**dict(row._mapping))

    def save_resource_state(self, state: ResourceState) -> None:
        values = {
            "last_success_at": state.last_success_at,
            "last_run_id": state.last_run_id,
            "last_run_started_at": state.last_run_started_at,
            "watermark": state.watermark,
            "backfilled": state.backfilled,
        }
        with self._write() as conn:
            updated = conn.execute(
                t.resource_state.update()
                .where(
                    t.resource_state.c.store_id == state.store_id,
                    t.resource_state.c.resource == state.resource,
                )
                .values(**values)
            ).rowcount
            if not updated:
                conn.execute(
                    t.resource_state.insert().values(
                        store_id=state.store_id, resource=state.resource, **values
                    )
                )

    # ------------------------------------------------------------------- dirty

    def mark_dirty(self, store_id: int, marks: Iterable[tuple[str, int]], reason: str) -> int:
        now = self._clock()
        rows = [
            {"store_id": store_id, "resource": r, "id": i, "reason": reason[:64], "marked_at": now}
            for r, i in dict.fromkeys(marks)
        ]
        if not rows:
            return 0
        with self._write() as conn:
            # A mark made again gets the new time, so a drain that read the old one (and may
            # have fetched the entity before this change) leaves it for the next drain.
            for row in rows:
                conn.execute(
                    t.dirty.update()
                    .where(
                        t.dirty.c.store_id == store_id,
                        t.dirty.c.resource == row["resource"],
                        t.dirty.c.id == row["id"],
                    )
                    .values(marked_at=now, reason=row["reason"])
                )
            return int(conn.execute(self._insert_ignore(t.dirty), rows).rowcount or 0)

    def dirty(self, store_id: int, limit: int = 500) -> list[tuple[str, int]]:
        return [
            (resource, entity_id) for resource, entity_id, _ in self.dirty_marks(store_id, limit)
        ]

    def dirty_marks(self, store_id: int, limit: int = 500) -> list[tuple[str, int, float]]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.dirty.c.resource, t.dirty.c.id, t.dirty.c.marked_at)
                .where(t.dirty.c.store_id == store_id)
                .order_by(t.dirty.c.marked_at, t.dirty.c.resource, t.dirty.c.id)
                .limit(limit)
            )
            return [(r.resource, int(r.id), float(r.marked_at)) for r in rows]

    def dirty_stores(self) -> list[int]:
        with self._read() as conn:
            return sorted(
                int(s) for s in conn.execute(sa.select(t.dirty.c.store_id).distinct()).scalars()
            )

    # ------------------------------------------------------------------ changes

    def changes(self, store_id: int | None, since: int, limit: int = 1000) -> list[Change]:
        query = sa.select(t.changes).where(t.changes.c.seq > since).order_by(t.changes.c.seq)
        if store_id is not None:
            query = query.where(t.changes.c.store_id == store_id)
        with self._read() as conn:
            return [
                Change(
                    seq=int(r.seq),
                    store_id=int(r.store_id),
                    resource=r.resource,
                    id=int(r.entity_id),
                    kind=r.kind,
                    old=r.old,
                    new=r.new,
                    run_id=r.run_id,
                    created_at=r.created_at,
                )
                for r in conn.execute(query.limit(limit))
            ]

    def hook_cursor(self, hook: str, store_id: int) -> int:
        with self._read() as conn:
            seq = conn.execute(
                sa.select(t.hook_cursors.c.seq).where(
                    t.hook_cursors.c.hook == hook, t.hook_cursors.c.store_id == store_id
                )
            ).scalar_one_or_none()
        return int(seq) if seq is not None else 0

    def set_hook_cursor(self, hook: str, store_id: int, seq: int) -> None:
        with self._write() as conn:
            updated = conn.execute(
                t.hook_cursors.update()
                .where(t.hook_cursors.c.hook == hook, t.hook_cursors.c.store_id == store_id)
                .values(seq=seq)
            ).rowcount
            if not updated:
                conn.execute(t.hook_cursors.insert().values(hook=hook, store_id=store_id, seq=seq))

    # ----------------------------------------------------------------- settings

    def store_settings(self, store_id: int) -> dict[str, Any]:
        with self._read() as conn:
            value = conn.execute(
                sa.select(t.store_settings.c.settings).where(
                    t.store_settings.c.store_id == store_id
                )
            ).scalar_one_or_none()
        return dict(value) if isinstance(value, dict) else {}

    def save_store_settings(self, store_id: int, settings: Mapping[str, Any]) -> None:
        now = self._clock()
        with self._write() as conn:
            updated = conn.execute(
                t.store_settings.update()
                .where(t.store_settings.c.store_id == store_id)
                .values(settings=dict(settings), updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    t.store_settings.insert().values(
                        store_id=store_id, settings=dict(settings), updated_at=now
                    )
                )

    def store_ids(self) -> list[int]:
        ids: set[int] = set()
        with self._read() as conn:
            ids.update(conn.execute(sa.select(t.runs.c.store_id).distinct()).scalars())
            ids.update(conn.execute(sa.select(t.resource_state.c.store_id).distinct()).scalars())
        return sorted(int(i) for i in ids)


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or every exception of a group) comes from the database being
    unreachable for a while (a restart, a failover, a dropped connection), not a refusal: one of
    sallakit's errors raised from SQLAlchemy's connection-level errors (the mirror's, the
    vault's or the shared rate-limit governor's database)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_database_outage(e) for e in exc.exceptions)
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 10:
        if isinstance(cause, sa.exc.OperationalError | sa.exc.InterfaceError) or (
            isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated
        ):
            return isinstance(exc, SallaError)
        cause, seen = cause.__cause__, seen + 1
    return False


def _db_error(exc: sa.exc.SQLAlchemyError) -> str:
    # The class only: a driver's message may quote statement parameters (merchant data).
    orig = getattr(exc, "orig", None)
    return type(orig if orig is not None else exc).__name__


# ================================================================================== in memory


@dataclass(slots=True)
class _MemRow:
    columns: dict[str, Any]
    data: dict[str, Any]
    hash: str
    source: str
    synced_at: float
    run_id: str | None
    deleted_at: float | None


class InMemoryMirrorStore:
    """:class:`MirrorStore` in memory, for tests and experiments (same behaviour as SQL)."""

    def __init__(self, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tables: dict[tuple[int, str], dict[int, _MemRow]] = {}
        self._changes: list[Change] = []
        self._runs: dict[str, RunRecord] = {}
        self._states: dict[tuple[int, str], ResourceState] = {}
        self._pages: dict[tuple[str, str, str], dict[int, PageRecord]] = {}
        self._dirty: dict[int, dict[tuple[str, int], float]] = {}
        self._cursors: dict[tuple[str, int], int] = {}
        self._settings: dict[int, dict[str, Any]] = {}

    def _table(self, store_id: int, name: str) -> dict[int, _MemRow]:
        if name not in TABLES:
            raise KeyError(name)
        return self._tables.setdefault((store_id, name), {})

    def apply(self, batch: WriteBatch) -> WriteCounts:
        counts = WriteCounts()
        now = self._clock()
        with self._lock:
            for name, rows in batch.upserts:
                self._upsert(batch, name, rows, now, counts)
            for name, replaces in _children_by_table(batch.children).items():
                rows = [r for c in replaces for r in c.rows]
                extras = {r.id: {c.parent_column: c.parent_id} for c in replaces for r in c.rows}
                self._upsert(batch, name, rows, now, counts, extras)
                keep = {r.id for r in rows}
                column = replaces[0].parent_column
                parents = {c.parent_id for c in replaces}
                gone = [
                    i
                    for i, row in self._table(batch.store_id, name).items()
                    if row.deleted_at is None
                    and row.columns.get(column) in parents
                    and i not in keep
                ]
                self._delete(batch, name, gone, now, counts)
            for name, ids in batch.deletes:
                self._delete(batch, name, ids, now, counts)
            for p in batch.pages:
                self._pages.setdefault((batch.run_id or "", p.resource, p.window), {}).setdefault(
                    p.page, PageRecord(p.resource, p.window, p.page, list(p.ids), p.total)
                )
            marks = self._dirty.get(batch.store_id, {})
            for key in batch.clear_dirty:
                seen = batch.dirty_seen.get(key)
                if key in marks and (seen is None or marks[key] == seen):
                    del marks[key]
            run = self._runs.get(batch.run_id or "")
            if batch.touch is not None and run is not None:
                run.progress_at = batch.touch[0]
                run.requests += batch.touch[1]
                run.rate_limited += batch.touch[2]
        return counts

    def _record(
        self,
        batch: WriteBatch,
        name: str,
        entity_id: int,
        kind: str,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        now: float,
    ) -> None:
        self._changes.append(
            Change(
                seq=len(self._changes) + 1,
                store_id=batch.store_id,
                resource=name,
                id=entity_id,
                kind=kind,
                old=_plain_row(old) if old is not None else None,
                new=_plain_row(new) if new is not None else None,
                run_id=batch.run_id,
                created_at=now,
            )
        )

    def _upsert(
        self,
        batch: WriteBatch,
        name: str,
        rows: Sequence[Row],
        now: float,
        counts: WriteCounts,
        extras: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> None:
        table = self._table(batch.store_id, name)
        for row in {r.id: r for r in rows}.values():
            columns = {**row.columns, **(extras or {}).get(row.id, {})}
            old = table.get(row.id)
            verdict = (
                "added"
                if old is None
                else _compare(old.deleted_at, old.source, old.hash, old.columns, row, columns)
            )
            if verdict == "same" and old is not None:
                counts.add(name, "unchanged")
                old.run_id, old.synced_at = batch.run_id, now
                continue
            before = dict(old.columns) if verdict == "updated" and old is not None else None
            table[row.id] = _MemRow(
                columns=columns,
                data=copy.deepcopy(row.data),
                hash=row.hash,
                source=row.source,
                synced_at=now,
                run_id=batch.run_id,
                deleted_at=None,
            )
            if verdict == "rendering":
                counts.add(name, "unchanged")
                continue
            counts.add(name, verdict)
            self._record(batch, name, row.id, verdict, before, columns, now)

    def _delete(
        self, batch: WriteBatch, name: str, ids: Iterable[int], now: float, counts: WriteCounts
    ) -> None:
        table = self._table(batch.store_id, name)
        for entity_id in dict.fromkeys(ids):
            row = table.get(entity_id)
            if row is None or row.deleted_at is not None:
                continue
            row.deleted_at, row.run_id = now, batch.run_id
            counts.add(name, "deleted")
            self._record(batch, name, entity_id, "deleted", row.columns, None, now)

    def hashes(self, store_id: int, table: str, ids: Iterable[int]) -> dict[int, str]:
        with self._lock:
            rows = self._table(store_id, table)
            return {i: rows[i].hash for i in ids if i in rows and rows[i].deleted_at is None}

    def live_ids(self, store_id: int, table: str) -> set[int]:
        with self._lock:
            return {i for i, r in self._table(store_id, table).items() if r.deleted_at is None}

    def count(self, store_id: int, table: str, where: Mapping[str, Any] | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._table(store_id, table).values()
                if r.deleted_at is None
                and all(r.columns.get(k) == v for k, v in (where or {}).items())
            )

    def rows(
        self, store_id: int, table: str, *, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        with self._lock:
            snapshot = sorted(self._table(store_id, table).items())
        for entity_id, r in snapshot:
            if r.deleted_at is not None and not include_deleted:
                continue
            yield {
                "store_id": store_id,
                "id": entity_id,
                **r.columns,
                "data": copy.deepcopy(r.data),
                "data_hash": r.hash,
                "source": r.source,
                "synced_at": r.synced_at,
                "run_id": r.run_id,
                "deleted_at": r.deleted_at,
            }

    def fetched_in_run(
        self, store_id: int, table: str, ids: Iterable[int], run_id: str
    ) -> set[int]:
        with self._lock:
            rows = self._table(store_id, table)
            return {i for i in ids if i in rows and rows[i].run_id == run_id}

    def pages_done(self, run_id: str, resource: str, window: str) -> dict[int, PageRecord]:
        with self._lock:
            return dict(self._pages.get((run_id, resource, window), {}))

    def seen_ids(self, run_id: str, resource: str) -> set[int]:
        with self._lock:
            out: set[int] = set()
            for (rid, res, _), pages in self._pages.items():
                if rid == run_id and res == resource:
                    for record in pages.values():
                        out.update(record.ids)
            return out

    def save_run(self, run: RunRecord) -> None:
        with self._lock:
            self._runs[run.run_id] = copy.deepcopy(run)

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            run = self._runs.get(run_id)
            return copy.deepcopy(run) if run is not None else None

    def list_runs(self, store_id: int | None = None, limit: int = 50) -> list[RunRecord]:
        with self._lock:
            runs = [r for r in self._runs.values() if store_id is None or r.store_id == store_id]
        runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        return [copy.deepcopy(r) for r in runs[:limit]]

    def resource_state(self, store_id: int, resource: str) -> ResourceState:
        with self._lock:
            state = self._states.get((store_id, resource))
            return copy.copy(state) if state else ResourceState(store_id, resource)

    def save_resource_state(self, state: ResourceState) -> None:
        with self._lock:
            self._states[(state.store_id, state.resource)] = copy.copy(state)

    def mark_dirty(self, store_id: int, marks: Iterable[tuple[str, int]], reason: str) -> int:
        now = self._clock()
        added = 0
        with self._lock:
            pending = self._dirty.setdefault(store_id, {})
            for key in marks:
                added += key not in pending
                pending[key] = now
        return added

    def dirty(self, store_id: int, limit: int = 500) -> list[tuple[str, int]]:
        return [
            (resource, entity_id) for resource, entity_id, _ in self.dirty_marks(store_id, limit)
        ]

    def dirty_marks(self, store_id: int, limit: int = 500) -> list[tuple[str, int, float]]:
        with self._lock:
            pending = self._dirty.get(store_id, {})
            ordered = sorted(pending.items(), key=lambda kv: (kv[1], kv[0]))[:limit]
            return [(resource, entity_id, at) for (resource, entity_id), at in ordered]

    def dirty_stores(self) -> list[int]:
        with self._lock:
            return sorted(s for s, marks in self._dirty.items() if marks)

    def changes(self, store_id: int | None, since: int, limit: int = 1000) -> list[Change]:
        with self._lock:
            out = [
                c
                for c in self._changes[max(since, 0) :]
                if store_id is None or c.store_id == store_id
            ]
        return out[:limit]

    def hook_cursor(self, hook: str, store_id: int) -> int:
        with self._lock:
            return self._cursors.get((hook, store_id), 0)

    def set_hook_cursor(self, hook: str, store_id: int, seq: int) -> None:
        with self._lock:
            self._cursors[(hook, store_id)] = seq

    def store_settings(self, store_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._settings.get(store_id, {}))

    def save_store_settings(self, store_id: int, settings: Mapping[str, Any]) -> None:
        with self._lock:
            self._settings[store_id] = dict(settings)

    def store_ids(self) -> list[int]:
        with self._lock:
            ids = {r.store_id for r in self._runs.values()} | {s for s, _ in self._states}
        return sorted(ids)
