"""An exclusive lock on a run's output folder, so that two runs never write into one folder.

The lock is ``fcntl.flock`` on ``OUT/.metrotwin.lock``, held for the whole run. The operating
system releases it when the process ends, however it ends; the file itself names the holder
(PID, host, start time) so that a refusal can say who holds the folder. A lock file whose
holder has died is free to ``flock`` and is taken over.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from metrotwin.errors import OutputError

LOCK_FILE = ".metrotwin.lock"


class RunLock:
    """The lock of one output folder; ``acquire`` refuses at once if another run holds it."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> str | None:
        """Take the lock. Returns the description of a dead holder whose lock file was taken
        over (None if the file was new). Raises OutputError if a live run holds the folder,
        OSError if the folder is not writable."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe(_read(fd))
                os.close(fd)
                raise OutputError(
                    f"{self.folder}: another metrotwin run is writing into this folder "
                    f"({holder}); wait for it to end, or choose another folder with -o"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            # the holder we waited for may have removed the file as it released it: then our
            # lock is on a file nobody else sees, and the lock must be taken on the new one
            if _same_file(fd, self.path):
                break
            os.close(fd)
        previous = _read(fd)
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {stamp}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return _describe(previous) if previous.strip() else None

    def release(self) -> None:
        """Remove the lock file and release the lock (in this order: a run that opened the
        file meanwhile finds it gone and locks a new one)."""
        if self._fd is None:
            return
        try:
            if _same_file(self._fd, self.path):
                self.path.unlink()
        except OSError:  # a lock file that cannot go is harmless: the lock itself is released
            pass
        finally:
            os.close(self._fd)
            self._fd = None


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 512, 0).decode("utf-8", "replace")
    except OSError:
        return ""


def _describe(content: str) -> str:
    """'PID 123 on host h, started 2026-…' from the lock file's ``pid host start`` line."""
    parts = content.split()
    if len(parts) < 3:
        return "holder unknown"
    return f"PID {parts[0]} on host {parts[1]}, started {parts[2]}"


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
