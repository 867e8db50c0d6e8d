"""The shared governor's state in the database: one bucket row per store, one lease row per
request in flight.

Every decision runs in one short write transaction that locks the store's bucket row
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), drops the store's
expired leases, counts the live ones and applies the same pure arithmetic as
:mod:`sallakit.api._shared_governor`. Two processes can therefore never both take the fourth
slot, nor both spend the bucket's last unit. The tables come with the ``governor`` migration
branch (:func:`sallakit.db.migrate`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sallakit._exceptions import APIError
from sallakit.api._core._ratelimit import RateLimitState
from sallakit.api._shared_governor import Lease, decide, dump_state, learn, load_state

__all__ = ["SQLGovernorBackend", "governor_buckets", "governor_leases", "governor_metadata"]

governor_metadata = sa.MetaData()

governor_buckets = sa.Table(
    "sallakit_governor_buckets",
    governor_metadata,
    sa.Column("store_key", sa.String(200), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

governor_leases = sa.Table(
    "sallakit_governor_leases",
    governor_metadata,
    sa.Column("lease_id", sa.String(64), primary_key=True),
    sa.Column("store_key", sa.String(200), nullable=False, index=True),
    sa.Column("expires_at", sa.Double, nullable=False),
)


class SQLGovernorBackend:
    """A :class:`~sallakit.api.GovernorBackend` on a SQLAlchemy engine (migrated).

    Args:
        engine: The sallakit database (``sallakit.db.create_engine``), migrated.
        lock_timeout: Seconds a decision waits for a store's row lock before failing.
    """

    def __init__(self, engine: Engine, *, lock_timeout: float = 10.0) -> None:
        self.engine = engine
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"SQLGovernorBackend({self.engine.url.render_as_string(hide_password=True)!r})"

    def _locked_state(self, conn: Connection, key: str, now: float) -> RateLimitState:
        """Lock the store's bucket row (created on first use) and read its state."""
        select = (
            sa.select(governor_buckets.c.state)
            .where(governor_buckets.c.store_key == key)
            .with_for_update()
        )
        raw = conn.execute(select).scalar_one_or_none()
        if raw is None:
            # First use of the store: two processes may get here at once, one insert wins.
            insert: sa.Insert
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                insert = pg_insert(governor_buckets).on_conflict_do_nothing()
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                insert = sqlite_insert(governor_buckets).on_conflict_do_nothing()
            conn.execute(insert.values(store_key=key, state="{}", updated_at=now))
            raw = conn.execute(select).scalar_one()
        return load_state(json.loads(raw))

    def _live_leases(self, conn: Connection, key: str, now: float) -> int:
        conn.execute(
            governor_leases.delete().where(
                governor_leases.c.store_key == key, governor_leases.c.expires_at <= now
            )
        )
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(governor_leases)
                .where(governor_leases.c.store_key == key)
            ).scalar_one()
        )

    def _save(self, conn: Connection, key: str, state: RateLimitState, now: float) -> None:
        conn.execute(
            governor_buckets.update()
            .where(governor_buckets.c.store_key == key)
            .values(state=json.dumps(dump_state(state)), updated_at=now)
        )

    def admit(
        self, key: str, *, max_in_flight: int, customers: bool, now: float, lease_seconds: float
    ) -> Lease:
        from sallakit.db import write_transaction

        try:
            with write_transaction(self.engine, lock_timeout=self.lock_timeout) as conn:
                state = self._locked_state(conn, key, now)
                in_flight = self._live_leases(conn, key, now)
                answer = decide(
                    state, in_flight, max_in_flight=max_in_flight, customers=customers, now=now
                )
                if answer.lease is not None:
                    conn.execute(
                        governor_leases.insert().values(
                            lease_id=answer.lease, store_key=key, expires_at=now + lease_seconds
                        )
                    )
                    self._save(conn, key, state, now)
                return answer
        except sa.exc.SQLAlchemyError as exc:
            raise APIError(
                f"the shared rate-limit governor's database failed ({type(exc).__name__})"
            ) from exc

    def release(
        self,
        key: str,
        lease: str,
        *,
        customers: bool,
        headers: Mapping[str, str] | None,
        status: int | None,
        retry_after: float | None,
        now: float,
    ) -> None:
        from sallakit.db import write_transaction

        try:
            with write_transaction(self.engine, lock_timeout=self.lock_timeout) as conn:
                state = self._locked_state(conn, key, now)
                conn.execute(governor_leases.delete().where(governor_leases.c.lease_id == lease))
                others = self._live_leases(conn, key, now)
                learn(
                    state,
                    headers,
                    customers=customers,
                    status=status,
                    retry_after=retry_after,
                    others_in_flight=others,
                    now=now,
                )
                self._save(conn, key, state, now)
        except sa.exc.SQLAlchemyError as exc:
            raise APIError(
                f"the shared rate-limit governor's database failed ({type(exc).__name__})"
            ) from exc

    def in_flight(self, key: str, *, now: float) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(governor_leases)
                    .where(governor_leases.c.store_key == key, governor_leases.c.expires_at > now)
                ).scalar_one()
            )
