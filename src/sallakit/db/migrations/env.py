"""Alembic environment for sallakit: always run from code with a connection already in a
transaction (see ``sallakit.db._migrate``), never from the ``alembic`` command line."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run sallakit migrations through sallakit.db.migrate(engine)")

context.configure(
    connection=connection,
    version_table=config.get_main_option("version_table") or "sallakit_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
