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


async def test_a_count_mismatch_fails_the_run_with_the_numbers(store):
    """A product created after the products walk, before the audit: the audit's remote total
    is one more than the mirror holds, so the run is failed (never "succeeded") with both
    numbers; the next run picks the product up and passes."""
    emulator = new_emulator()
    store_id = emulator.stores[0].id
    before = len(emulator.store(store_id).data.products)
    created: list[bool] = []

    def progress(report):
        if report.event == "phase" and report.resource == "customers" and not created:
            emulator.add_product(store_id, {"name": "منتج متأخر", "price": 10, "quantity": 1})
            created.append(True)

    mirror = make_mirror(emulator, store, progress=progress)
    run = await mirror.sync(store_id)
    assert created
    assert run.status == "failed"
    assert run.audit is not None and not run.audit["ok"]
    assert run.audit["mismatches"]["products"] == {"remote": before + 1, "mirror": before}
    assert f"products: remote {before + 1} != mirror {before}" in (run.error or "")
    again = await mirror.sync(store_id)
    assert again.status == "succeeded", (again.error, again.audit)
    assert_mirror_equals(mirror, emulator, store_id)
