"""mirror: the store mirror's tables (entities, change feed, runs, pages, dirty marks, hooks).

Revision ID: mirror_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mirror_0001"
down_revision = None
branch_labels = ("mirror",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mirror_brands",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_categories",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.BigInteger()),
        sa.Column("name", sa.Text()),
        sa.Column("status", sa.String(32)),
        sa.Column("sort_order", sa.Integer()),
        sa.Column("updated_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("resource", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("old", sa.JSON()),
        sa.Column("new", sa.JSON()),
        sa.Column("run_id", sa.String(80)),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_mirror_changes_store_seq", "mirror_changes", ["store_id", "seq"])
    op.create_table(
        "mirror_customers",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("first_name", sa.Text()),
        sa.Column("last_name", sa.Text()),
        sa.Column("email", sa.String(320)),
        sa.Column("mobile", sa.String(32)),
        sa.Column("mobile_code", sa.String(8)),
        sa.Column("city", sa.Text()),
        sa.Column("country_code", sa.String(8)),
        sa.Column("created_at", sa.Double()),
        sa.Column("updated_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_dirty",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("marked_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "mirror_hook_cursors",
        sa.Column("hook", sa.String(200), primary_key=True),
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    )
    op.create_table(
        "mirror_order_histories",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text()),
        sa.Column("status_slug", sa.String(64)),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_order_items",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger()),
        sa.Column("sku", sa.String(255)),
        sa.Column("name", sa.Text()),
        sa.Column("quantity", sa.Integer()),
        sa.Column("total_amount", sa.Numeric(18, 4)),
        sa.Column("currency", sa.String(8)),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_orders",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("reference_id", sa.BigInteger()),
        sa.Column("status_slug", sa.String(64)),
        sa.Column("status_id", sa.BigInteger()),
        sa.Column("total_amount", sa.Numeric(18, 4)),
        sa.Column("currency", sa.String(8)),
        sa.Column("customer_id", sa.BigInteger()),
        sa.Column("payment_method", sa.String(64)),
        sa.Column("created_at", sa.Double()),
        sa.Column("updated_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_pages",
        sa.Column("run_id", sa.String(80), primary_key=True),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("window", sa.String(32), primary_key=True),
        sa.Column("page", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ids", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer()),
    )
    op.create_table(
        "mirror_product_variants",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(255)),
        sa.Column("price_amount", sa.Numeric(18, 4)),
        sa.Column("price_currency", sa.String(8)),
        sa.Column("stock_quantity", sa.BigInteger()),
        sa.Column("unlimited_quantity", sa.Boolean()),
        sa.Column("updated_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_products",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("sku", sa.String(255)),
        sa.Column("name", sa.Text()),
        sa.Column("type", sa.String(32)),
        sa.Column("status", sa.String(32)),
        sa.Column("price_amount", sa.Numeric(18, 4)),
        sa.Column("price_currency", sa.String(8)),
        sa.Column("sale_price_amount", sa.Numeric(18, 4)),
        sa.Column("quantity", sa.BigInteger()),
        sa.Column("unlimited_quantity", sa.Boolean()),
        sa.Column("brand_id", sa.BigInteger()),
        sa.Column("updated_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_resource_state",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("last_success_at", sa.Double()),
        sa.Column("last_run_id", sa.String(80)),
        sa.Column("last_run_started_at", sa.Double()),
        sa.Column("watermark", sa.Double()),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "mirror_runs",
        sa.Column("run_id", sa.String(80), primary_key=True),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("started_at", sa.Double()),
        sa.Column("finished_at", sa.Double()),
        sa.Column("progress_at", sa.Double()),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("rate_limited", sa.Integer(), nullable=False),
        sa.Column("audit", sa.JSON()),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_mirror_runs_store_created", "mirror_runs", ["store_id", "created_at"])
    op.create_table(
        "mirror_shipments",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.BigInteger()),
        sa.Column("status", sa.String(64)),
        sa.Column("type", sa.String(16)),
        sa.Column("courier_name", sa.Text()),
        sa.Column("tracking_number", sa.String(255)),
        sa.Column("created_at", sa.Double()),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("synced_at", sa.Double(), nullable=False),
        sa.Column("run_id", sa.String(80)),
        sa.Column("deleted_at", sa.Double()),
    )
    op.create_table(
        "mirror_store_settings",
        sa.Column("store_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mirror_store_settings")
    op.drop_table("mirror_shipments")
    op.drop_table("mirror_runs")
    op.drop_table("mirror_resource_state")
    op.drop_table("mirror_products")
    op.drop_table("mirror_product_variants")
    op.drop_table("mirror_pages")
    op.drop_table("mirror_orders")
    op.drop_table("mirror_order_items")
    op.drop_table("mirror_order_histories")
    op.drop_table("mirror_hook_cursors")
    op.drop_table("mirror_dirty")
    op.drop_table("mirror_customers")
    op.drop_table("mirror_changes")
    op.drop_table("mirror_categories")
    op.drop_table("mirror_brands")
