"""The webhook inbox: deliveries, per-handler success records, and the worker's switches.

Revision ID: webhooks_0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "webhooks_0001"
down_revision = None
branch_labels = ("webhooks",)
depends_on = None

# 64-bit ids on PostgreSQL; SQLite's autoincrement needs the INTEGER PRIMARY KEY spelling.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sallakit_webhook_deliveries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("store_id", sa.BigInteger, nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Double, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Double, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("sealed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("store_id", "event", "digest", name="uq_sallakit_webhook_dedupe"),
    )
    op.create_index(
        "ix_sallakit_webhook_due",
        "sallakit_webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index("ix_sallakit_webhook_received", "sallakit_webhook_deliveries", ["received_at"])
    op.create_table(
        "sallakit_webhook_handler_runs",
        sa.Column(
            "delivery_id",
            _ID,
            sa.ForeignKey("sallakit_webhook_deliveries.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("handler", sa.String(255), primary_key=True),
        sa.Column("succeeded_at", sa.Double, nullable=False),
    )
    op.create_table(
        "sallakit_webhook_switches",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sallakit_webhook_switches")
    op.drop_table("sallakit_webhook_handler_runs")
    op.drop_index("ix_sallakit_webhook_received", table_name="sallakit_webhook_deliveries")
    op.drop_index("ix_sallakit_webhook_due", table_name="sallakit_webhook_deliveries")
    op.drop_table("sallakit_webhook_deliveries")
