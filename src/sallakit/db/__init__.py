"""The project database: engine creation (SQLite by default, PostgreSQL in production) and the
sallakit tables."""

from __future__ import annotations

from sallakit.db._engine import (
    DEFAULT_BUSY_TIMEOUT,
    create_engine,
    is_sqlite,
    read_transaction,
    write_transaction,
)
from sallakit.db._migrate import applied_revisions, migrate, pending_revisions
from sallakit.db._schema import SCHEMA_VERSION, create_schema, metadata

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "SCHEMA_VERSION",
    "applied_revisions",
    "create_engine",
    "create_schema",
    "is_sqlite",
    "metadata",
    "migrate",
    "pending_revisions",
    "read_transaction",
    "write_transaction",
]
