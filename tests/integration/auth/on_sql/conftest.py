"""The auth unit tests again, on SQLite and PostgreSQL token stores.

The unit suite runs against the in-memory twin (no database file); every test there that
exercises the vault's logic goes through the ``make_store`` fixture, overridden here, so the
same tests prove the SQL store keeps the same contract. Each ``test_*.py`` of this directory
re-exports one unit module (its tests and its own fixtures) with :func:`reexport`.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sallakit.auth import SqlTokenStore, TokenStore
from sallakit.db import create_engine

_ROOT = Path(__file__).resolve().parents[4]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))


def reexport(name: str, namespace: dict[str, Any]) -> None:
    """Copy the tests, fixtures and module marks of module ``name`` into ``namespace`` (a
    module's globals): pytest finds them by module attribute."""
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        is_fixture = type(value).__name__ == "FixtureFunctionDefinition" or hasattr(
            value, "_fixture_function_marker"
        )
        if (
            attr.startswith("test_")
            or attr == "pytestmark"
            or (is_fixture and attr != "make_store")
        ):
            namespace[attr] = value


reexport("tests.unit.auth.conftest", globals())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., TokenStore]]:
    """SQL token stores: a new SQLite file per call, or the test's PostgreSQL schema."""
    counter = itertools.count()
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    built: list[SqlTokenStore] = []

    def build(busy_timeout: float = 60.0, **_: Any) -> TokenStore:
        target = url or f"sqlite:///{tmp_path / f'v{next(counter)}.db'}"
        store = SqlTokenStore(create_engine(target, busy_timeout=busy_timeout))
        built.append(store)
        return store

    yield build
    for store in built:
        store.close()
