"""Snapshot files: the emulator state pickled behind a format header.

A snapshot is ``MAGIC`` + a version line + a pickle of :class:`EmulatorState`. The header lets
``load`` refuse files that are not snapshots (or from an incompatible version) with a clear
error instead of an obscure unpickling failure. Pickles execute code when loaded: only load
snapshots you wrote.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

from sallakit._exceptions import ConfigurationError
from sallakit.emulator._state import EmulatorState

__all__ = ["FORMAT_VERSION", "MAGIC", "load", "save"]

MAGIC = b"SALLAKIT-EMULATOR-SNAPSHOT\n"
FORMAT_VERSION = 1


def save(state: EmulatorState, path: str | os.PathLike[str]) -> None:
    """Write a snapshot atomically (a crash mid-write leaves the previous file intact)."""
    target = Path(path)
    payload = MAGIC + f"{FORMAT_VERSION}\n".encode() + pickle.dumps(state, protocol=5)
    fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike[str]) -> EmulatorState:
    """Read a snapshot.

    Raises:
        ConfigurationError: not a snapshot, an unknown version, or unreadable.
    """
    raw = Path(path).read_bytes()
    if not raw.startswith(MAGIC):
        raise ConfigurationError(f"{os.fspath(path)} is not a sallakit emulator snapshot")
    version_line, _, body = raw[len(MAGIC) :].partition(b"\n")
    if version_line != str(FORMAT_VERSION).encode():
        raise ConfigurationError(
            f"snapshot format {version_line.decode(errors='replace')} is not supported "
            f"(this sallakit reads format {FORMAT_VERSION})"
        )
    try:
        state = pickle.loads(body)
    except Exception as exc:
        raise ConfigurationError(f"the snapshot {os.fspath(path)} is damaged: {exc}") from exc
    if not isinstance(state, EmulatorState):
        raise ConfigurationError(f"{os.fspath(path)} does not hold an emulator state")
    return state
