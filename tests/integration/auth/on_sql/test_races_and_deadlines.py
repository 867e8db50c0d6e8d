"""``tests/unit/auth/test_races_and_deadlines.py`` on SQLite and PostgreSQL token stores."""

from __future__ import annotations

from .conftest import reexport

reexport("tests.unit.auth.test_races_and_deadlines", globals())
