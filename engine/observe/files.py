"""Reading sensor files, which are not trusted: regular files only (a FIFO or a device would
block or never end), a bounded size, and messages that quote at most a short, truncated value
of what a file holds."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from metrotwin.errors import DataSourceError

#: largest sensor file read (bytes): a year of 1-minute readings of 200 sensors in CSV is ~0.5 GB;
#: a file above this is split by the user (or is not a sensor file)
MAX_BYTES = 512 * 1024 * 1024


def short(value, limit: int = 40) -> str:
    """A value as it may appear in a message: repr, truncated to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_bytes(path: Path, *, what: str, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path``; :class:`DataSourceError` naming ``what`` (e.g.
    "observations source 1") if it is missing, not a regular file or larger than ``max_bytes``.

    The file is opened without blocking and checked through its open descriptor, so that a
    FIFO swapped in after a check is refused too."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataSourceError(f"{what}: {path} does not exist") from None
    except OSError as err:
        raise DataSourceError(f"{what}: {path} cannot be opened ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataSourceError(f"{what}: {path} is not a regular file (a FIFO, device or "
                                  "folder); give the path of a file")
        if info.st_size > max_bytes:
            raise DataSourceError(f"{what}: {path} is {info.st_size} bytes, more than the "
                                  f"{max_bytes} a sensor file may have; split it into several")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > max_bytes:  # grew while being read
                raise DataSourceError(f"{what}: {path} grew past {max_bytes} bytes while read")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, *, what: str, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (a byte-order mark is dropped)."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataSourceError(f"{what}: {path} is not UTF-8 text (byte {err.start} is "
                              f"{short(data[err.start:err.start + 1])})") from None
