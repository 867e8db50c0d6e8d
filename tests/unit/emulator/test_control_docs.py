"""Every control API route is in the reference (docs/reference/emulator-control-api.md)."""

from __future__ import annotations

import re
from pathlib import Path

from sallakit.emulator import Emulator

DOC = Path(__file__).parents[3] / "docs" / "reference" / "emulator-control-api.md"


def test_every_control_route_is_documented():
    # Tables under "Store data" leave out the ``/_emulator`` prefix; compare without it.
    text = DOC.read_text().replace("/_emulator", "")
    em = Emulator(stores=0)
    routes = em.app.routes  # type: ignore[attr-defined]
    mount = next(r for r in routes if getattr(r, "path", "") == "/_emulator")
    missing = []
    for route in mount.routes:
        # ``/stores/{store_id:int}/orders/{order_id:int}`` is documented as
        # ``/stores/{id}/orders/{order_id}``.
        path = re.sub(r"\{store_id:int\}", "{id}", route.path)
        path = re.sub(r":int\}", "}", path)
        for method in sorted(route.methods - {"HEAD"}):
            if not re.search(re.escape(f"`{method} {path}") + r"[`?\s]", text):
                missing.append(f"{method} {path}")
    assert missing == []
