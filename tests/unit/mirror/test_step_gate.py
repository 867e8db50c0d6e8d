"""The worker's step gate: a graceful shutdown lets running steps end and starts no new one."""

from __future__ import annotations

import anyio
import pytest

from sallakit.mirror._workflows import StepGate

pytestmark = pytest.mark.anyio


async def test_drain_waits_for_running_steps_and_holds_new_ones() -> None:
    gate = StepGate()
    gate.HOLD_POLL = 0.01
    started: list[str] = []
    finish = anyio.Event()

    async def step(name: str) -> None:
        await gate.enter()
        started.append(name)
        try:
            await finish.wait()
        finally:
            gate.exit()

    async with anyio.create_task_group() as tg:
        tg.start_soon(step, "running")
        await anyio.sleep(0.02)
        assert gate.in_flight == 1

        async def release_soon() -> None:
            await anyio.sleep(0.05)
            finish.set()

        tg.start_soon(release_soon)
        assert await gate.drain(timeout=5)
        tg.start_soon(step, "held")
        await anyio.sleep(0.1)
        assert started == ["running"] and gate.draining and gate.in_flight == 0
        tg.cancel_scope.cancel()


async def test_drain_gives_up_after_its_timeout() -> None:
    gate = StepGate()
    await gate.enter()  # a step that never ends
    assert not await gate.drain(timeout=0.1)
    assert gate.in_flight == 1
