"""sallakit.db.migrate: per-component Alembic branches, idempotent, safe from several processes.

The revisions here are written to a temporary script directory so the machinery is tested
without depending on which components have tables yet.
"""

from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sallakit._exceptions import ConfigurationError
from sallakit.db import applied_revisions, create_engine, migrate, pending_revisions
from sallakit.db._migrate import _SCRIPT_LOCATION, VERSION_TABLE

REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = None


def upgrade() -> None:
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("{table}")
"""


def write_revision(
    location: Path, rev: str, down: str | None, table: str, label: str | None = None
) -> None:
    labels = (label,) if label else None
    text = REVISION.format(rev=rev, down=down, labels=labels, table=table)
    (location / "versions" / f"{rev}.py").write_text(text)


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A copy of sallakit's Alembic environment with two components, one with two revisions."""
    location = tmp_path / "migrations"
    location.mkdir()
    shutil.copy(_SCRIPT_LOCATION / "env.py", location / "env.py")
    shutil.copy(_SCRIPT_LOCATION / "script.py.mako", location / "script.py.mako")
    (location / "versions").mkdir()
    write_revision(location, "alpha_0001", None, "alpha_one", "alpha")
    write_revision(location, "alpha_0002", "alpha_0001", "alpha_two")
    write_revision(location, "beta_0001", None, "beta_one", "beta")
    return location


@pytest.fixture
def make_engine() -> Iterator[Callable[[str], sa.Engine]]:
    """``create_engine`` whose engines are disposed after the test (no connection leaks)."""
    made: list[sa.Engine] = []

    def make(url: str) -> sa.Engine:
        made.append(create_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_every_branch_reaches_its_head_and_a_second_run_is_a_no_op(
    make_engine: Callable[[str], sa.Engine], scripts: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    assert pending_revisions(engine, script_location=scripts) == ["alpha_0002", "beta_0001"]
    migrate(engine, script_location=scripts)
    assert applied_revisions(engine) == {"alpha_0002", "beta_0001"}
    assert pending_revisions(engine, script_location=scripts) == []
    assert {"alpha_one", "alpha_two", "beta_one", VERSION_TABLE} <= tables(engine)
    migrate(engine, script_location=scripts)
    assert applied_revisions(engine) == {"alpha_0002", "beta_0001"}


def test_a_new_revision_on_one_branch_leaves_the_other_alone(
    make_engine: Callable[[str], sa.Engine], scripts: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine, script_location=scripts)
    write_revision(scripts, "beta_0002", "beta_0001", "beta_two")
    assert pending_revisions(engine, script_location=scripts) == ["beta_0002"]
    migrate(engine, script_location=scripts)
    assert applied_revisions(engine) == {"alpha_0002", "beta_0002"}
    assert "beta_two" in tables(engine)


def test_the_applications_own_alembic_version_table_is_untouched(
    make_engine: Callable[[str], sa.Engine], scripts: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('users_app_0042')")
    migrate(engine, script_location=scripts)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
            ("users_app_0042",)
        ]


def test_a_database_migrated_by_a_newer_sallakit_is_a_configuration_error(
    make_engine: Callable[[str], sa.Engine], scripts: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine, script_location=scripts)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE {VERSION_TABLE} SET version_num = 'beta_0099' WHERE version_num = 'beta_0001'"
        )
    with pytest.raises(ConfigurationError, match="could not migrate the sallakit tables"):
        migrate(engine, script_location=scripts)


def test_sallakits_own_revisions_apply_on_sqlite(
    make_engine: Callable[[str], sa.Engine], tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    assert pending_revisions(engine) == []


def _migrate_in_child(url: str, scripts: str) -> None:
    engine = create_engine(url)
    try:
        migrate(engine, script_location=Path(scripts))
    finally:
        engine.dispose()


def _migrate_concurrently(url: str, scripts: Path, processes: int = 4) -> None:
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_migrate_in_child, args=(url, str(scripts)))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0] * processes


def test_processes_starting_at_once_on_sqlite_all_succeed(
    make_engine: Callable[[str], sa.Engine], scripts: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    _migrate_concurrently(url, scripts)
    assert applied_revisions(make_engine(url)) == {"alpha_0002", "beta_0001"}


@pytest.mark.postgres
def test_processes_starting_at_once_on_postgres_all_succeed(
    make_engine: Callable[[str], sa.Engine], scripts: Path, postgres_url: str
) -> None:
    _migrate_concurrently(postgres_url, scripts)
    engine = make_engine(postgres_url)
    assert applied_revisions(engine) == {"alpha_0002", "beta_0001"}
    assert {"alpha_one", "alpha_two", "beta_one"} <= tables(engine)


@pytest.mark.postgres
def test_sallakits_own_revisions_apply_on_postgres(
    make_engine: Callable[[str], sa.Engine], postgres_url: str
) -> None:
    engine = make_engine(postgres_url)
    migrate(engine)
    migrate(engine)
    assert pending_revisions(engine) == []


def test_an_unopenable_database_names_the_url_and_the_reason(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'app.db'}")
    try:
        with pytest.raises(ConfigurationError, match=r"missing-dir.*unable to open database"):
            migrate(engine)
    finally:
        engine.dispose()
