"""Who holds a refresh lease, and whether that holder can still be running.

A lease records a random owner id (per process, renewed after a fork), the pid and a node
string ``boot id | PID namespace | start ticks``: a pid is only checked for liveness when the
lease was written by a process of the same PID namespace on the same boot, and its start time
tells a reused pid (pid 1 in a restarted container) from the process that opened the lease.

:class:`ProcessIdentity` reads ``/proc``; tests inject a :class:`LeaseOwners` of their own.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Protocol

from sallakit.auth._refresh import Lease

__all__ = ["LeaseOwners", "Owner", "ProcessIdentity"]


@dataclass(frozen=True, slots=True)
class Owner:
    """This process as written into a lease."""

    pid: int
    owner: str
    node: str
    host: str


class LeaseOwners(Protocol):
    """This process's identity in leases, and what can be known about other holders."""

    def current(self) -> Owner:
        """This process (renewed after a fork)."""
        ...

    def track(self, lease_id: str, running: bool) -> None:
        """Note that this process started (``running``) or stopped working on a lease."""
        ...

    def owner_alive(self, lease: Lease) -> bool | None:
        """Whether the lease's holder still runs; ``None`` when that cannot be known here."""
        ...


def _read_first_line(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.readline().strip() or "?"
    except OSError:
        return "?"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "?"


def _proc_stat(pid: int) -> list[str] | None:
    # Fields of /proc/<pid>/stat after the command name (Linux); None where unavailable.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_ticks(pid: int) -> str:
    """The start time of a process in clock ticks since boot, ``?`` where unreadable."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else "?"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has exited: only its parent has not collected it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    fields = _proc_stat(pid)
    return not (fields and fields[0] in ("Z", "X"))


class ProcessIdentity:
    """The real identity: owner id per process, liveness from ``/proc`` (Linux).

    One instance is shared by the vaults of a process that should recognise each other's
    leases as "ours" (a vault makes its own by default, and other vaults of the same process
    still see its leases alive through the pid check).
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._owner: Owner | None = None
        self._inflight: set[str] = set()

    def current(self) -> Owner:
        pid = os.getpid()
        with self._guard:
            if self._owner is None or self._owner.pid != pid:
                node = "|".join(
                    (
                        _read_first_line("/proc/sys/kernel/random/boot_id"),
                        _pid_namespace(),
                        process_start_ticks(pid),
                    )
                )
                self._owner = Owner(
                    pid=pid,
                    owner=uuid.uuid4().hex,
                    node=node[:160],
                    host=socket.gethostname()[:255],
                )
                self._inflight.clear()  # a forked child runs none of its parent's refreshes
            return self._owner

    def track(self, lease_id: str, running: bool) -> None:
        self.current()
        with self._guard:
            if running:
                self._inflight.add(lease_id)
            else:
                self._inflight.discard(lease_id)

    def owner_alive(self, lease: Lease) -> bool | None:
        me = self.current()
        if lease.owner == me.owner:
            # Ours: alive exactly while this process is in the middle of that refresh.
            with self._guard:
                return lease.lease_id in self._inflight
        mine = me.node.split("|")
        theirs = lease.node.split("|")
        same_namespace = (
            len(theirs) == 3 and "?" not in mine[:2] and "?" not in theirs[:2]
        ) and mine[:2] == theirs[:2]
        if not same_namespace:
            # Another machine, container or boot: a pid means nothing here; only age tells.
            return None
        if not pid_alive(lease.pid):
            return False
        ticks = process_start_ticks(lease.pid)
        if ticks == "?" or theirs[2] == "?":
            # /proc/<pid>/stat unreadable (hidepid, another user): the pid may be the owner.
            return None
        return ticks == theirs[2]
