"""The vault's tables under Alembic (the ``auth`` branch), adopting databases that
``create_schema`` made before, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sallakit.db import SCHEMA_VERSION, applied_revisions, create_engine, create_schema, migrate
from sallakit.db._schema import metadata, stores

AUTH_TABLES = {table.name for table in metadata.sorted_tables}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/vault.db"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    created = create_engine(url)
    try:
        yield created
    finally:
        created.dispose()


def _store_row(store_id: int) -> dict[str, object]:
    return {
        "store_id": store_id,
        "status": "active",
        "access_token": "sealed-access",
        "refresh_token": "sealed-refresh",
        "scopes": "products.read",
        "generation": 3,
        "created_at": 1.0,
        "updated_at": 2.0,
    }


def _auth_version(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT version FROM sallakit_schema_version WHERE component = 'auth'")
            ).scalar_one()
        )


def test_a_fresh_database_gets_the_vault_tables_from_the_migration(engine: sa.Engine) -> None:
    migrate(engine)
    assert "auth_0001" in applied_revisions(engine)
    assert set(sa.inspect(engine).get_table_names()) >= AUTH_TABLES
    assert _auth_version(engine) == SCHEMA_VERSION
    create_schema(engine)  # the library path finds everything done
    with engine.begin() as conn:
        conn.execute(stores.insert().values(**_store_row(7)))


def test_tables_made_by_create_schema_are_adopted_with_their_rows(engine: sa.Engine) -> None:
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(stores.insert().values(**_store_row(42)))
    migrate(engine)
    migrate(engine)  # idempotent
    assert "auth_0001" in applied_revisions(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.select(stores).where(stores.c.store_id == 42)).mappings().one()
    assert row["refresh_token"] == "sealed-refresh" and row["generation"] == 3


def test_a_version_1_vault_gets_the_later_columns(engine: sa.Engine) -> None:
    later = {
        "lease_id", "lease_owner", "lease_pid", "lease_host", "lease_node", "lease_started_at",
        "lease_journal_id", "authorize_created_at", "authorize_expires", "account",
        "pending_since", "tokens_at",
    }  # fmt: skip
    old = sa.MetaData()
    sa.Table(stores.name, old, *(c._copy() for c in stores.columns if c.name not in later))
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(
            sa.text(
                "CREATE TABLE sallakit_schema_version "
                "(component VARCHAR(64) PRIMARY KEY, version INTEGER NOT NULL)"
            )
        )
        conn.execute(sa.text("INSERT INTO sallakit_schema_version VALUES ('auth', 1)"))
        conn.execute(sa.insert(old.tables[stores.name]).values(**_store_row(9)))
    migrate(engine)
    columns = {c["name"] for c in sa.inspect(engine).get_columns(stores.name)}
    assert later <= columns
    assert _auth_version(engine) == SCHEMA_VERSION
    with engine.connect() as conn:
        assert conn.execute(sa.select(stores.c.status).where(stores.c.store_id == 9)).scalar() == (
            "active"
        )
