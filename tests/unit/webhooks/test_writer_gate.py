"""The SQLite writer gate of :class:`SQLInbox`: one writer at a time, the receiver's first."""

from __future__ import annotations

import threading
import time

from sallakit.webhooks._inbox import _WriterGate


def _start(gate: _WriterGate, ingest: bool, order: list[str], name: str) -> threading.Thread:
    def take() -> None:
        gate.acquire(ingest=ingest)
        order.append(name)
        gate.release()

    thread = threading.Thread(target=take)
    thread.start()
    return thread


def _wait_until_blocked(thread: threading.Thread) -> None:
    # The thread is parked on the gate's condition once it has run a little and not finished.
    time.sleep(0.05)
    assert thread.is_alive()


def test_a_waiting_ingestion_goes_before_background_writers_that_came_first() -> None:
    gate = _WriterGate()
    order: list[str] = []
    gate.acquire(ingest=False)  # a worker transaction in progress
    background = [_start(gate, False, order, f"worker{n}") for n in range(3)]
    for thread in background:
        _wait_until_blocked(thread)
    ingest = _start(gate, True, order, "ingest")
    _wait_until_blocked(ingest)
    gate.release()
    for thread in [*background, ingest]:
        thread.join(5)
    assert order[0] == "ingest"
    assert sorted(order[1:]) == ["worker0", "worker1", "worker2"]


def test_one_writer_at_a_time_and_release_from_another_thread() -> None:
    gate = _WriterGate()
    inside = 0
    most = 0
    lock = threading.Lock()

    def write(ingest: bool) -> None:
        nonlocal inside, most
        for _ in range(50):
            gate.acquire(ingest=ingest)
            with lock:
                inside += 1
                most = max(most, inside)
            with lock:
                inside -= 1
            gate.release()

    threads = [threading.Thread(target=write, args=(n % 2 == 0,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 1
    # A transaction may end on another thread than the one that began it.
    gate.acquire(ingest=False)
    releaser = threading.Thread(target=gate.release)
    releaser.start()
    releaser.join(5)
    gate.acquire(ingest=True)
    gate.release()
