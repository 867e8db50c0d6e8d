"""docs/reference/configuration.md lists every setting, by its environment variable."""

from __future__ import annotations

import re
from pathlib import Path

from sallakit.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "configuration.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `(SALLAKIT_[A-Z0-9_]+)`", DOC.read_text("utf-8"), re.M))
    expected = {f"SALLAKIT_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - documented) == [], "add these to docs/reference/configuration.md"
    assert sorted(documented - expected) == [], "these are documented but no longer exist"
