"""auth: the token vault's tables (stores, refresh journal, OAuth states, app events, history).

Adopts existing databases: tables created by ``sallakit.db.create_schema`` (any schema version)
are kept with their rows and brought to the current columns; a fresh database gets them all.
``create_schema`` stays for installs without Alembic and converges on the same tables.

Revision ID: auth_0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from sallakit.db._schema import ensure_auth_tables

revision = "auth_0001"
down_revision = None
branch_labels = ("auth",)
depends_on = None


def upgrade() -> None:
    ensure_auth_tables(op.get_bind())


def downgrade() -> None:
    # Dropping the vault would destroy every store's tokens: refuse, as a released
    # revision's downgrade never ran anyway.
    raise RuntimeError("the auth tables are never dropped by a downgrade")
