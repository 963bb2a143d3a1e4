"""One data directory, one service: an OS lock on a file in the data directory, taken before
the service touches the engine and held until it exits.

The data directory holds the installation id that labels every container the service makes,
and the start-up sweep removes that installation's containers. A second service on the same
directory would sweep away the first one's runs, so it refuses to start instead, naming the
service that holds the lock. The lock is the kernel's (`flock`): it goes with the process, so
a service killed with SIGKILL leaves nothing stale behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import TextIO

LOCK_FILE = "service.lock"


class DataDirInUseError(Exception):
    """Another running service holds the data directory's lock; the message names it."""


class DataDirLock:
    """The held lock of one data directory (`acquire` it, `release` it at exit)."""

    def __init__(self, path: Path, file: TextIO) -> None:
        self.path = path
        self._file: TextIO | None = file

    @classmethod
    def acquire(cls, data_dir: Path, address: str) -> DataDirLock:
        """Take the lock of `data_dir` for this process, serving at `address`, or raise
        DataDirInUseError naming the holder."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOCK_FILE
        # Opened without truncating: the holder's line stays readable until we hold the lock.
        file = path.open("a+")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "a process that has not written its address yet"
            file.close()
            raise DataDirInUseError(
                f"the data directory {data_dir} is in use by another tinirun service "
                f"({holder}); stop it, or give this one its own RUNNER_DATA_DIR"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()} serving {address}\n")
        file.flush()
        return cls(path, file)

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
            self._file.close()  # closing the file drops the lock
            self._file = None
