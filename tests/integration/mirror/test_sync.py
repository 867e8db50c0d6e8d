"""Full sync against the in-process emulator: the mirror equals the emulator row by row."""

from __future__ import annotations

import pytest

from tests.integration.mirror.conftest import assert_mirror_equals, make_mirror, new_emulator

pytestmark = pytest.mark.anyio


async def test_full_sync_equals_the_emulator(store):
    emulator = new_emulator()
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, store)
    run = await mirror.sync(store_id)
    assert run.status == "succeeded", (run.error, run.audit)
    assert_mirror_equals(mirror, emulator, store_id)
    assert run.audit is not None and run.audit["ok"]
    assert run.requests > 0
