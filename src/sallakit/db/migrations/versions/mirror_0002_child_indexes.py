"""mirror: index each child table by its parent (replacing an entity's children looks them up).

Without these, replacing the children of one page of parents scanned the whole child table, so
a backfill slowed down as the table grew.

Revision ID: mirror_0002
Revises: mirror_0001
"""

from __future__ import annotations

from alembic import op

revision = "mirror_0002"
down_revision = "mirror_0001"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_mirror_product_variants_parent", "mirror_product_variants", "product_id"),
    ("ix_mirror_order_items_parent", "mirror_order_items", "order_id"),
    ("ix_mirror_order_histories_parent", "mirror_order_histories", "order_id"),
)


def upgrade() -> None:
    for name, table, parent in _INDEXES:
        op.create_index(name, table, ["store_id", parent])


def downgrade() -> None:
    for name, table, _parent in _INDEXES:
        op.drop_index(name, table_name=table)
