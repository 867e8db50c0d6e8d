"""Alembic migrations for the sallakit tables, run from code (no ``alembic.ini`` needed).

Each component owns one Alembic *branch* (``branch_labels``): the webhook inbox is ``webhooks``,
the store mirror is ``mirror``. A component's first revision has ``down_revision = None`` and its
later ones chain on its own branch, so components evolve independently and
:func:`migrate` upgrades to every head at once. The version table is
``sallakit_alembic_version``, so an application that keeps its own Alembic history in the same
database is left alone.

Several processes may start at once (web processes and workers): the whole upgrade runs in one
transaction under ``BEGIN IMMEDIATE`` on SQLite and a transaction-scoped advisory lock on
PostgreSQL, so exactly one of them applies the DDL and the others find it done.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sallakit._exceptions import ConfigurationError
from sallakit.db._engine import IMMEDIATE_OPTION, is_sqlite

__all__ = ["VERSION_TABLE", "applied_revisions", "migrate", "pending_revisions"]

#: Alembic's version table for sallakit's branches.
VERSION_TABLE = "sallakit_alembic_version"

#: Any constant shared by every sallakit process: the advisory lock serialising migrations.
_MIGRATION_LOCK_KEY = 0x5A11A518

_SCRIPT_LOCATION = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None, script_location: Path | None = None) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location or _SCRIPT_LOCATION))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script(script_location: Path | None) -> object:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None, script_location))  # type: ignore[arg-type]


def migrate(engine: Engine, *, target: str = "heads", script_location: Path | None = None) -> None:
    """Upgrade the sallakit tables to ``target`` (every branch's head by default).

    Safe to call on every start and from several processes at once. ``script_location`` is
    for tests of the migration machinery; sallakit's own revisions are the default.

    Raises:
        ConfigurationError: the database refused the migration (unreachable, permissions,
            a revision it does not know because a newer sallakit migrated it).
    """
    from alembic import command
    from alembic.util import CommandError

    try:
        with engine.connect() as conn:
            conn.execution_options(**{IMMEDIATE_OPTION: True})
            with conn.begin():
                if not is_sqlite(engine):
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
                command.upgrade(_config(conn, script_location), target)  # type: ignore[arg-type]
    except CommandError as exc:
        raise ConfigurationError(f"could not migrate the sallakit tables: {exc}") from exc
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        name = type(orig if orig is not None else exc).__name__
        # The driver's first line ("unable to open database file", "permission denied for
        # schema public") is what an operator needs; migrations carry no secret parameters.
        detail = str(orig if orig is not None else exc).strip().splitlines()
        reason = f"{name}: {detail[0]}" if detail else name
        raise ConfigurationError(
            f"could not migrate the sallakit tables at {engine.url!r} ({reason})"
        ) from exc


def applied_revisions(engine: Engine) -> set[str]:
    """The revisions recorded in the database (empty when it was never migrated)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return set()
        rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {row[0] for row in rows}


def pending_revisions(engine: Engine, *, script_location: Path | None = None) -> list[str]:
    """Heads this sallakit knows that the database has not reached (empty when up to date)."""
    script = _script(script_location)
    applied = applied_revisions(engine)
    pending: list[str] = []
    for head in script.get_heads():  # type: ignore[attr-defined]
        reached = any(
            head in {rev.revision for rev in script.iterate_revisions(current, "base")}  # type: ignore[attr-defined]
            for current in applied
        )
        if not reached:
            pending.append(head)
    return sorted(pending)
