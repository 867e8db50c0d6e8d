"""The emulator is an independent oracle: it shares the registry (data) with the client, never
the client's code, models or retry logic, so a client bug cannot hide behind the same bug in the
emulator."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_emulator_loads_no_client_code() -> None:
    probe = (
        "import sys, sallakit.emulator, sallakit.emulator._merchant;"
        "print(sorted(m for m in sys.modules"
        " if m.startswith(('sallakit.api', 'sallakit.models', 'sallakit.auth'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
