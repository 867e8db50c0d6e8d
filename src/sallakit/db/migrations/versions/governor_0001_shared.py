"""governor: the shared rate-limit governor (a bucket row per store, a lease per request).

Revision ID: governor_0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "governor_0001"
down_revision = None
branch_labels = ("governor",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sallakit_governor_buckets",
        sa.Column("store_key", sa.String(200), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_table(
        "sallakit_governor_leases",
        sa.Column("lease_id", sa.String(64), primary_key=True),
        sa.Column("store_key", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index(
        "ix_sallakit_governor_leases_store_key", "sallakit_governor_leases", ["store_key"]
    )


def downgrade() -> None:
    op.drop_table("sallakit_governor_leases")
    op.drop_table("sallakit_governor_buckets")
