"""The in-memory store behaves as the SQL store does: the same batches give the same rows,
counts and change feed (SQLite file; the integration tests run PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sallakit.db import create_engine, migrate
from sallakit.mirror import InMemoryMirrorStore, SQLMirrorStore
from sallakit.mirror._store import ChildReplace, PageRecord, RunRecord, WriteBatch
from sallakit.mirror._streams import make_row, stream


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    clock = iter(range(1000, 100000)).__next__
    if request.param == "memory":
        return InMemoryMirrorStore(clock=lambda: float(clock()))
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    migrate(engine)
    return SQLMirrorStore(engine, clock=lambda: float(clock()))


def _product(pid, price, source="list", skus=()):
    data = {"id": pid, "name": f"p{pid}", "price": {"amount": price, "currency": "SAR"}}
    data["skus"] = [{"id": s, "price": {"amount": price, "currency": "SAR"}} for s in skus]
    return make_row(stream("products").normalize, data, source)


def test_upserts_deletes_children_and_the_feed(store):
    batch = WriteBatch(store_id=1, run_id="r1")
    batch.upserts.append(("products", [_product(1, 10), _product(2, 20)]))
    variants = [make_row(stream("products").children[0].normalize, {"id": 11, "sku": "a"})]
    batch.children.append(ChildReplace("product_variants", "product_id", 1, variants))
    batch.pages.append(PageRecord("products", "all", 1, [1, 2], 2))
    counts = store.apply(batch)
    assert counts.by_table["products"]["added"] == 2
    assert store.live_ids(1, "products") == {1, 2}
    assert store.pages_done("r1", "products", "all")[1].ids == [1, 2]
    assert store.seen_ids("r1", "products") == {1, 2}

    # The same content again writes nothing to the feed.
    again = store.apply(
        WriteBatch(store_id=1, run_id="r2", upserts=[("products", [_product(1, 10)])])
    )
    assert again.by_table["products"]["unchanged"] == 1
    assert store.fetched_in_run(1, "products", [1, 2], "r2") == {1}

    # The detail rendering of an unchanged entity is not a change; a new price is.
    detail = _product(1, 10, source="detail")
    detail.data["extra"] = "only in the detail"
    store.apply(WriteBatch(store_id=1, run_id="r3", upserts=[("products", [detail])]))
    store.apply(WriteBatch(store_id=1, run_id="r3", upserts=[("products", [_product(2, 25)])]))
    store.apply(
        WriteBatch(
            store_id=1,
            run_id="r4",
            deletes=[("products", [1])],
            children=[ChildReplace("product_variants", "product_id", 1, [])],
        )
    )
    feed = store.changes(1, 0)
    assert [(c.resource, c.id, c.kind) for c in feed] == [
        ("products", 1, "added"),
        ("products", 2, "added"),
        ("product_variants", 11, "added"),
        ("products", 2, "updated"),
        # Children are applied before deletions within a batch.
        ("product_variants", 11, "deleted"),
        ("products", 1, "deleted"),
    ]
    updated = feed[3]
    assert Decimal(updated.old["price_amount"]) == 20 and Decimal(updated.new["price_amount"]) == 25
    assert store.changes(1, feed[2].seq) == feed[3:]
    assert store.changes(2, 0) == []
    assert store.count(1, "products") == 1
    rows = list(store.rows(1, "products", include_deleted=True))
    assert [r["id"] for r in rows] == [1, 2] and rows[0]["deleted_at"] is not None


def test_runs_states_dirty_cursors_settings(store):
    run = RunRecord(
        run_id="a", store_id=1, kind="sync", resources=[], status="queued", created_at=1.0
    )
    store.save_run(run)
    run.status = "running"
    store.save_run(run)
    store.apply(
        WriteBatch(
            store_id=1, run_id="a", pages=[PageRecord("brands", "all", 1, [])], touch=(5.0, 3, 1)
        )
    )
    got = store.get_run("a")
    assert (
        got is not None and got.status == "running" and got.requests == 3 and got.rate_limited == 1
    )
    assert [r.run_id for r in store.list_runs(1)] == ["a"]
    state = store.resource_state(1, "orders")
    assert not state.backfilled
    state.backfilled, state.last_success_at = True, 9.0
    store.save_resource_state(state)
    assert store.resource_state(1, "orders").last_success_at == 9.0
    assert store.store_ids() == [1]
    assert (
        store.mark_dirty(1, [("orders", 5), ("orders", 5), ("products", 2)], "order.updated") == 2
    )
    assert store.mark_dirty(1, [("orders", 5)], "again") == 0
    assert sorted(store.dirty(1)) == [("orders", 5), ("products", 2)]
    assert store.dirty_stores() == [1]
    store.apply(WriteBatch(store_id=1, run_id="a", clear_dirty=[("orders", 5)]))
    assert store.dirty(1) == [("products", 2)]
    assert store.hook_cursor("h", 1) == 0
    store.set_hook_cursor("h", 1, 7)
    store.set_hook_cursor("h", 1, 8)
    assert store.hook_cursor("h", 1) == 8
    store.save_store_settings(1, {"order_backfill_days": 3})
    assert store.store_settings(1) == {"order_backfill_days": 3}
