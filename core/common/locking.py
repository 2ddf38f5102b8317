"""One exclusive lock per file, shared by processes on the same machine (`fcntl.flock`).

Used wherever a read-modify-write must not interleave with another process's: the model registry's
state and metadata, and a batch run's output folder.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import DFEError


class LockBusyError(DFEError):
    """Another process holds the lock (only raised when not waiting for it)."""


@contextmanager
def file_lock(path: str | os.PathLike, wait: bool = True, busy_message: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the block.

    `wait=False` raises `LockBusyError` (with `busy_message`) at once if another process holds it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockBusyError(busy_message or f"{path} is locked by another process") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
