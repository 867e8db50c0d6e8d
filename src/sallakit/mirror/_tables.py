"""SQLAlchemy descriptions of the mirror's tables (created by the ``mirror`` Alembic branch).

Every entity table is keyed by ``(store_id, id)`` and carries the normalized columns, the object
as Salla returned it (``data``), its content hash and which endpoint rendered it (``source``:
``list`` or ``detail``), when it was last synced and by which run, and
``deleted_at`` (rows are marked, never dropped). Timestamps are epoch seconds.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["ENTITY_TABLES", "metadata"]

metadata = sa.MetaData()

_MONEY = sa.Numeric(18, 4)


def _entity(name: str, *columns: sa.Column[object]) -> sa.Table:
    return sa.Table(
        f"mirror_{name}",
        metadata,
        sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        *columns,
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double, nullable=False),
        sa.Column("run_id", sa.String(80), nullable=True),
        sa.Column("deleted_at", sa.Double, nullable=True),
    )


ENTITY_TABLES: dict[str, sa.Table] = {
    "products": _entity(
        "products",
        sa.Column("sku", sa.String(255)),
        sa.Column("name", sa.Text),
        sa.Column("type", sa.String(32)),
        sa.Column("status", sa.String(32)),
        sa.Column("price_amount", _MONEY),
        sa.Column("price_currency", sa.String(8)),
        sa.Column("sale_price_amount", _MONEY),
        sa.Column("quantity", sa.BigInteger),
        sa.Column("unlimited_quantity", sa.Boolean),
        sa.Column("brand_id", sa.BigInteger),
        sa.Column("updated_at", sa.Double),
    ),
    "product_variants": _entity(
        "product_variants",
        sa.Column("product_id", sa.BigInteger, nullable=False),
        sa.Column("sku", sa.String(255)),
        sa.Column("price_amount", _MONEY),
        sa.Column("price_currency", sa.String(8)),
        sa.Column("stock_quantity", sa.BigInteger),
        sa.Column("unlimited_quantity", sa.Boolean),
        sa.Column("updated_at", sa.Double),
    ),
    "categories": _entity(
        "categories",
        sa.Column("parent_id", sa.BigInteger),
        sa.Column("name", sa.Text),
        sa.Column("status", sa.String(32)),
        sa.Column("sort_order", sa.Integer),
        sa.Column("updated_at", sa.Double),
    ),
    "brands": _entity("brands", sa.Column("name", sa.Text), sa.Column("description", sa.Text)),
    "customers": _entity(
        "customers",
        sa.Column("first_name", sa.Text),
        sa.Column("last_name", sa.Text),
        sa.Column("email", sa.String(320)),
        sa.Column("mobile", sa.String(32)),
        sa.Column("mobile_code", sa.String(8)),
        sa.Column("city", sa.Text),
        sa.Column("country_code", sa.String(8)),
        sa.Column("created_at", sa.Double),
        sa.Column("updated_at", sa.Double),
    ),
    "orders": _entity(
        "orders",
        sa.Column("reference_id", sa.BigInteger),
        sa.Column("status_slug", sa.String(64)),
        sa.Column("status_id", sa.BigInteger),
        sa.Column("total_amount", _MONEY),
        sa.Column("currency", sa.String(8)),
        sa.Column("customer_id", sa.BigInteger),
        sa.Column("payment_method", sa.String(64)),
        sa.Column("created_at", sa.Double),
        sa.Column("updated_at", sa.Double),
    ),
    "order_items": _entity(
        "order_items",
        sa.Column("order_id", sa.BigInteger, nullable=False),
        sa.Column("product_id", sa.BigInteger),
        sa.Column("sku", sa.String(255)),
        sa.Column("name", sa.Text),
        sa.Column("quantity", sa.Integer),
        sa.Column("total_amount", _MONEY),
        sa.Column("currency", sa.String(8)),
    ),
    "order_histories": _entity(
        "order_histories",
        sa.Column("order_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text),
        sa.Column("status_slug", sa.String(64)),
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.Double),
    ),
    "shipments": _entity(
        "shipments",
        sa.Column("order_id", sa.BigInteger),
        sa.Column("status", sa.String(64)),
        sa.Column("type", sa.String(16)),
        sa.Column("courier_name", sa.Text),
        sa.Column("tracking_number", sa.String(255)),
        sa.Column("created_at", sa.Double),
    ),
}

# Child tables are looked up by parent when an entity's children are replaced (migration
# mirror_0002).
for _table, _parent in (
    ("product_variants", "product_id"),
    ("order_items", "order_id"),
    ("order_histories", "order_id"),
):
    _child = ENTITY_TABLES[_table]
    sa.Index(f"ix_mirror_{_table}_parent", _child.c.store_id, _child.c[_parent])

# The change feed: one row per added, updated or deleted entity, written in the transaction that
# changed the entity. ``seq`` is the cursor of mirror.changes(since=...).
changes = sa.Table(
    "mirror_changes",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("store_id", sa.BigInteger, nullable=False),
    sa.Column("resource", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("old", sa.JSON, nullable=True),
    sa.Column("new", sa.JSON, nullable=True),
    sa.Column("run_id", sa.String(80), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_mirror_changes_store_seq", "store_id", "seq"),
)

# Job history: one row per workflow run.
runs = sa.Table(
    "mirror_runs",
    metadata,
    sa.Column("run_id", sa.String(80), primary_key=True),
    sa.Column("store_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("resources", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("started_at", sa.Double, nullable=True),
    sa.Column("finished_at", sa.Double, nullable=True),
    sa.Column("progress_at", sa.Double, nullable=True),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("rate_limited", sa.Integer, nullable=False),
    sa.Column("audit", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_mirror_runs_store_created", "store_id", "created_at"),
)

# Per store and resource: the last successful run and the watermark of incremental walks.
resource_state = sa.Table(
    "mirror_resource_state",
    metadata,
    sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("last_success_at", sa.Double, nullable=True),
    sa.Column("last_run_id", sa.String(80), nullable=True),
    sa.Column("last_run_started_at", sa.Double, nullable=True),
    sa.Column("watermark", sa.Double, nullable=True),
    sa.Column("backfilled", sa.Boolean, nullable=False),
)

# Pages a run has stored (with the ids they held): a resumed run skips them, and their ids are
# the "seen" set of delete detection.
pages = sa.Table(
    "mirror_pages",
    metadata,
    sa.Column("run_id", sa.String(80), primary_key=True),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("window", sa.String(32), primary_key=True),
    sa.Column("page", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ids", sa.JSON, nullable=False),
    sa.Column("total", sa.Integer, nullable=True),
)

# Entities a webhook said changed, waiting for a targeted fetch.
dirty = sa.Table(
    "mirror_dirty",
    metadata,
    sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("marked_at", sa.Double, nullable=False),
)

# Where each change hook has got to in the feed, per store.
hook_cursors = sa.Table(
    "mirror_hook_cursors",
    metadata,
    sa.Column("hook", sa.String(200), primary_key=True),
    sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)

# Per-store settings (JSON) that override the mirror's defaults.
store_settings = sa.Table(
    "mirror_store_settings",
    metadata,
    sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)
