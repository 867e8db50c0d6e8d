"""A run's step waits out a database outage (a restart, a failover) instead of dying with it.

Found by ``bench/fleet.py``: a PostgreSQL restart mid-run ended the run's workflow in DBOS
while its job history stayed ``running``, so the store was never reconciled again.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sallakit._exceptions import StoreError
from sallakit.mirror._store import is_database_outage
from sallakit.mirror._workflows import outlast_database_outages

pytestmark = pytest.mark.anyio


def _outage() -> StoreError:
    try:
        try:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("the server is shutting down"))
        except sa.exc.OperationalError as exc:
            raise StoreError("the mirror database refused a write") from exc
    except StoreError as exc:
        return exc


def _refusal() -> StoreError:
    try:
        try:
            raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
        except sa.exc.IntegrityError as exc:
            raise StoreError("the mirror database refused a write") from exc
    except StoreError as exc:
        return exc


def test_only_an_unreachable_database_is_an_outage():
    assert is_database_outage(_outage())
    assert is_database_outage(ExceptionGroup("pool", [_outage(), _outage()]))
    assert not is_database_outage(_refusal())
    assert not is_database_outage(ExceptionGroup("pool", [_outage(), ValueError("x")]))
    assert not is_database_outage(ValueError("x"))


class _Time:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_step_runs_again_until_the_database_is_back():
    time = _Time()
    calls = 0

    async def step() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise _outage()
        return "done"

    result = await outlast_database_outages("s", step, sleep=time.sleep, clock=time.clock)
    assert result == "done" and calls == 4
    assert time.slept == [0.5, 1.0, 2.0]


async def test_a_refusal_or_an_outage_past_the_budget_is_raised():
    time = _Time()

    async def refused() -> None:
        raise _refusal()

    with pytest.raises(StoreError):
        await outlast_database_outages("s", refused, sleep=time.sleep, clock=time.clock)
    assert time.slept == []

    async def down() -> None:
        raise _outage()

    with pytest.raises(StoreError):
        await outlast_database_outages("s", down, budget=60.0, sleep=time.sleep, clock=time.clock)
    assert 0 < sum(time.slept) <= 60.0


def test_an_error_of_another_part_raised_from_a_lost_connection_is_an_outage():
    from sallakit._exceptions import APIError

    def governor_error() -> APIError:
        try:
            raise _outage().__cause__  # type: ignore[misc]
        except sa.exc.OperationalError as exc:
            try:
                raise APIError("the shared rate-limit governor's database failed") from exc
            except APIError as error:
                return error

    assert is_database_outage(governor_error())
    assert not is_database_outage(sa.exc.OperationalError("SELECT 1", {}, Exception("bare")))
