"""Table definitions and schema creation.

Tables are created from SQLAlchemy metadata (no migration tool yet); a small
``sallakit_schema_version`` table records which version of each component's tables exists, so
a later migration step knows where it starts. Timestamps are Unix epoch seconds (floats) so that
SQLite and PostgreSQL store and compare them the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sallakit._exceptions import TokenVaultError
from sallakit.db._engine import IMMEDIATE_OPTION

__all__ = [
    "SCHEMA_VERSION",
    "app_events",
    "create_schema",
    "ensure_auth_tables",
    "metadata",
    "oauth_states",
    "refresh_journal",
    "schema_version",
    "store_history",
    "stores",
]

#: Version of the auth tables below; bump it with a migration when they change.
SCHEMA_VERSION = 3

#: Any constant shared by every sallakit process: the PostgreSQL advisory lock serialising DDL.
_DDL_LOCK_KEY = 0x5A11A517

metadata = sa.MetaData()

schema_version = sa.Table(
    "sallakit_schema_version",
    metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# One row per connected store. The token columns hold Fernet ciphertext bound to the store id and
# token kind (see sallakit.auth._crypto); they are NULL once the app is uninstalled.
stores = sa.Table(
    "sallakit_stores",
    metadata,
    sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_detail", sa.Text, nullable=True),
    sa.Column("access_token", sa.Text, nullable=True),
    sa.Column("refresh_token", sa.Text, nullable=True),
    sa.Column("expires_at", sa.Double, nullable=True),
    sa.Column("scopes", sa.Text, nullable=False, default=""),
    sa.Column("merchant", sa.JSON, nullable=True),
    sa.Column("user_info", sa.JSON, nullable=True),
    sa.Column("app", sa.JSON, nullable=True),
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    sa.Column("connected_via", sa.String(16), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("refreshed_at", sa.Double, nullable=True),
    sa.Column("uninstalled_at", sa.Double, nullable=True),
    # The refresh lease (schema v2): set in a short locked transaction by the one worker allowed
    # to send this store's refresh token, cleared in the transaction that stores the answer.
    # ``lease_started_at`` comes from the DATABASE clock, so hosts with skewed clocks agree on
    # a lease's age; ``lease_owner`` is a random per-process id.
    sa.Column("lease_id", sa.String(64), nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_pid", sa.Integer, nullable=True),
    sa.Column("lease_host", sa.String(255), nullable=True),
    sa.Column("lease_node", sa.String(160), nullable=True),
    sa.Column("lease_started_at", sa.Double, nullable=True),
    sa.Column("lease_journal_id", sa.Integer, nullable=True),
    # The newest app.store.authorize applied (its created_at as epoch, then data.expires), so an
    # older delivery arriving late never replaces newer tokens.
    sa.Column("authorize_created_at", sa.Double, nullable=True),
    sa.Column("authorize_expires", sa.Double, nullable=True),
    # Claims (schema v3): the app's own account a store is bound to, and since when a store
    # installed through Easy mode has waited for that binding (NULL once claimed).
    sa.Column("account", sa.String(255), nullable=True),
    sa.Column("pending_since", sa.Double, nullable=True),
    # When the current token pair was stored (connect, push or refresh): a refresh token unused
    # for too long expires at Salla, and refresh_due() refreshes it before that.
    sa.Column("tokens_at", sa.Double, nullable=True),
)

#: Columns added by schema version 2 (added in place to version-1 tables).
_V2_COLUMNS = (
    "lease_id VARCHAR(64)",
    "lease_owner VARCHAR(64)",
    "lease_pid INTEGER",
    "lease_host VARCHAR(255)",
    "lease_node VARCHAR(160)",
    "lease_started_at DOUBLE PRECISION",
    "lease_journal_id INTEGER",
    "authorize_created_at DOUBLE PRECISION",
    "authorize_expires DOUBLE PRECISION",
)

#: Columns added by schema version 3.
_V3_COLUMNS = (
    "account VARCHAR(255)",
    "pending_since DOUBLE PRECISION",
    "tokens_at DOUBLE PRECISION",
)

# The refresh journal: the HISTORY of refreshes (the lease itself lives on the store row). A row
# is committed with the lease BEFORE the refresh token is sent to Salla and closed in the
# transaction that stores the answer: committed, failed, interrupted or superseded.
refresh_journal = sa.Table(
    "sallakit_refresh_journal",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("finished_at", sa.Double, nullable=True),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("worker", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
)

# Nonces of OAuth states already consumed (Custom mode): a state is accepted once.
oauth_states = sa.Table(
    "sallakit_oauth_states",
    metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("used_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)

# Digests of app events already applied, so that a redelivered app.store.authorize can never
# overwrite newer tokens with ones a refresh has since consumed.
app_events = sa.Table(
    "sallakit_app_events",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("store_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
)


# What the vault remembers about a store beyond its row, kept when an uninstall purges the row
# (a tombstone): the newest app.uninstalled event's time, so an older app.store.authorize
# delivered late cannot revive the store; the generation high-water mark, so a reinstalled
# store never reuses a generation number a refresh in flight may hold; and hashes of refresh
# tokens already sent to Salla (or replaced), which must never be stored again.
store_history = sa.Table(
    "sallakit_store_history",
    metadata,
    sa.Column("store_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("uninstall_event_at", sa.Double, nullable=True),
    sa.Column("generation", sa.Integer, nullable=False, default=0),
    sa.Column("retired_refresh", sa.Text, nullable=False, default=""),
)


def _upgrade(conn: sa.Connection, found: int) -> None:
    present = {c["name"] for c in sa.inspect(conn).get_columns(stores.name)}
    wanted = (_V2_COLUMNS if found < 2 else ()) + (_V3_COLUMNS if found < 3 else ())
    for column in wanted:
        if column.split()[0] not in present:
            conn.exec_driver_sql(f"ALTER TABLE {stores.name} ADD COLUMN {column}")


UPGRADE_IN_FLIGHT_MESSAGE = (
    "cannot upgrade the sallakit tables from version {found} to {version}: {count} refresh(es) "
    "started by an older sallakit are still open (sallakit_refresh_journal rows in state "
    "'started'). Older versions do not know the new refresh lease, so running both at once "
    "could send a refresh token twice. Stop every process running the older sallakit first, "
    "then start this one; a row left by a crashed process is closed with "
    "UPDATE sallakit_refresh_journal SET state = 'interrupted' WHERE state = 'started' (then "
    "check those stores, see docs/operating-tokens.md)."
)


def _refuse_if_in_flight(conn: sa.Connection, found: int) -> None:
    # A version-1 process holds its "lease" as an open journal row; version 2 would ignore it.
    count = conn.execute(
        sa.select(sa.func.count())
        .select_from(refresh_journal)
        .where(refresh_journal.c.state == "started")
    ).scalar_one()
    if count:
        raise TokenVaultError(
            UPGRADE_IN_FLIGHT_MESSAGE.format(found=found, version=SCHEMA_VERSION, count=count)
        )


def ensure_auth_tables(conn: sa.Connection) -> None:
    """Bring the auth tables to :data:`SCHEMA_VERSION` inside the caller's transaction: create
    what is missing, add the columns of later versions to tables an older sallakit created.

    Both paths to the vault's tables end here: :func:`create_schema` (installs without Alembic)
    and the ``auth`` Alembic branch, whose first revision adopts tables created either way.

    Raises:
        TokenVaultError: refreshes started by a version-1 sallakit are still open.
    """
    metadata.create_all(conn, checkfirst=True)
    found = conn.execute(
        sa.select(schema_version.c.version).where(schema_version.c.component == "auth")
    ).scalar_one_or_none()
    if found is None:
        conn.execute(schema_version.insert().values(component="auth", version=SCHEMA_VERSION))
    elif found < SCHEMA_VERSION:
        if found < 2:
            _refuse_if_in_flight(conn, found)
        _upgrade(conn, found)
        conn.execute(
            schema_version.update()
            .where(schema_version.c.component == "auth")
            .values(version=SCHEMA_VERSION)
        )


def create_schema(engine: Engine) -> None:
    """Create every sallakit table that does not exist yet and record the schema version.

    Safe to call from several processes at once and on every start: on PostgreSQL the DDL runs
    in one transaction under a transaction-scoped advisory lock; SQLite serialises writers.
    Version-1 tables get the version-2 columns added in place.

    Raises:
        TokenVaultError: the database refused (unreachable, permissions...).
    """
    try:
        with engine.connect() as conn:
            conn.execution_options(**{IMMEDIATE_OPTION: True})
            conn.begin()
            if engine.dialect.name != "sqlite":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_DDL_LOCK_KEY)))
            ensure_auth_tables(conn)
            conn.commit()
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        name = type(orig if orig is not None else exc).__name__
        raise TokenVaultError(f"could not create the sallakit tables ({name})") from exc
