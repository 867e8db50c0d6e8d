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

__all__ = [
    "SCHEMA_VERSION",
    "app_events",
    "create_schema",
    "metadata",
    "oauth_states",
    "refresh_journal",
    "schema_version",
    "stores",
]

#: Version of the auth tables below; bump it with a migration when they change.
SCHEMA_VERSION = 1

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
)

# The refresh journal: a row is committed BEFORE the refresh token is sent to Salla and closed in
# the transaction that stores the new tokens. A row still "started" whose worker is gone means a
# refresh whose outcome is unknown: the refresh token may have been consumed.
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


def create_schema(engine: Engine) -> None:
    """Create every sallakit table that does not exist yet and record the schema version.

    Safe to call from several processes at once and on every start.

    Raises:
        TokenVaultError: the database refused (unreachable, permissions...).
    """
    try:
        metadata.create_all(engine, checkfirst=True)
        with engine.begin() as conn:
            found = conn.execute(
                sa.select(schema_version.c.version).where(schema_version.c.component == "auth")
            ).scalar_one_or_none()
            if found is None:
                conn.execute(
                    schema_version.insert().values(component="auth", version=SCHEMA_VERSION)
                )
    except sa.exc.IntegrityError:
        # Another process recorded the version between our check and our insert.
        return
    except sa.exc.SQLAlchemyError as exc:
        raise TokenVaultError(f"could not create the sallakit tables: {exc}") from exc
