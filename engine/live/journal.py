"""The observation journal: every reading a live twin accepted, append-only, one JSON object a
line (the fields of ``CSV_COLUMNS``), deduplicated by (sensor, time).

A batch is written with one ``write`` and made durable with ``os.fsync`` before ``append``
returns, and the messages it came from are acknowledged to the broker only after that: a
reading the broker counts as delivered is on disk. A process killed in the middle of a write
leaves at most one line without its newline at the end; it was never acknowledged (the broker
sends it again), so opening the journal cuts it off, and only it: a complete line that does
not read is an error, never dropped. One process appends at a time (an exclusive lock).
"""

from __future__ import annotations

import csv
import fcntl
import json
import logging
import math
import os
import re
import threading
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

from metrotwin.errors import DataSourceError, OutputError
from metrotwin.live.reading import CSV_COLUMNS, Reading
from metrotwin.observe.files import short
from metrotwin.results.output import atomic_path

log = logging.getLogger(__name__)

#: bytes read at a time
_CHUNK = 1 << 20
#: a time as the journal keeps it: UTC, to the second
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class JournalError(DataSourceError):
    """The journal cannot be opened or written: another process holds it, a complete line of
    it does not read, or the disk refused a write."""


def open_log(path: Path, what: str) -> tuple[int, int]:
    """Open (or create) the append-only log ``path``, locked for this process, with a torn
    last line cut off: (file descriptor, size of its complete lines in bytes)."""
    path = Path(path)
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise JournalError(f"{what}: {path} cannot be opened ({err.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalError(f"{what}: {path} is held by another process (a twin already runs "
                           "on this output folder)") from None  # fmt: skip
    size = os.fstat(fd).st_size
    complete = _after_last_newline(fd, size)
    if complete < size:
        log.warning("%s: %s ended in a torn line of %d bytes (a write cut short by a crash, "
                    "never acknowledged: the broker sends it again); cut off",
                    what, path, size - complete)  # fmt: skip
        os.ftruncate(fd, complete)
        os.fsync(fd)
    if created:  # the new file's name must survive a crash too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return fd, complete


def _after_last_newline(fd: int, size: int) -> int:
    end = size
    while end > 0:
        begin = max(0, end - _CHUNK)
        found = os.pread(fd, end - begin, begin).rfind(b"\n")
        if found >= 0:
            return begin + found + 1
        end = begin
    return 0


def lines(fd: int, begin: int, end: int) -> Iterator[bytes]:
    """The newline-terminated lines of ``fd`` between byte offsets ``begin`` and ``end`` (a
    line boundary), read a chunk at a time (a journal of years does not fit in memory)."""
    rest = b""
    while begin < end:
        chunk = os.pread(fd, min(_CHUNK, end - begin), begin)
        if not chunk:
            break
        begin += len(chunk)
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            yield part + b"\n"


def write_durably(fd: int, data: bytes) -> None:
    """Append ``data`` to ``fd`` and flush it to the disk (fsync) before returning."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _line(reading: Reading) -> bytes:
    row = dict(zip(CSV_COLUMNS, reading.csv_row()))
    return (json.dumps(row, allow_nan=False, separators=(",", ":")) + "\n").encode()


def _parse(line: bytes, number: int, path: Path) -> Reading:
    try:
        row = json.loads(line)
        reading = Reading(*(row[name] for name in CSV_COLUMNS))
    except (ValueError, TypeError, KeyError):
        raise JournalError(f"observation journal: {path} line {number} is not a reading "
                           f"({short(line)}); the journal was changed by hand or the disk is "
                           "damaged") from None  # fmt: skip
    ok = (all(isinstance(getattr(reading, k), str) for k in ("sensor_id", "variable", "units"))
          and isinstance(reading.value, (int, float)) and math.isfinite(reading.value)
          and isinstance(reading.time, str) and _TIME.fullmatch(reading.time))  # fmt: skip
    if not ok:
        raise JournalError(f"observation journal: {path} line {number}: {short(line)} has a "
                           "field of the wrong type or a time not like 2026-07-15T06:10:00Z")
    return Reading(reading.sensor_id, reading.time, reading.variable, float(reading.value),
                   reading.units)  # fmt: skip


class Journal:
    """The journal at ``path`` (created if missing), open for appending until ``close``.

    ``append(readings)`` journals the new ones durably and returns them; ``len(journal)`` is
    the number of readings; ``(sensor_id, time) in journal`` says whether one is journaled;
    ``readings(start)`` iterates them in journal order from the ``start``-th; ``export_csv``
    writes them as an observations CSV. Safe to read from one thread while another appends."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd, size = open_log(self.path, "observation journal")
        self._lock = threading.Lock()
        self._times: dict[str, set[str]] = {}
        self._offsets = array("q", [0])  # where each line starts, and the end
        try:
            for number, line in enumerate(lines(self._fd, 0, size), start=1):
                reading = _parse(line, number, self.path)
                self._times.setdefault(reading.sensor_id, set()).add(reading.time)
                self._offsets.append(self._offsets[-1] + len(line))
        except JournalError:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key[1] in self._times.get(key[0], ())

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def append(self, readings: Iterable[Reading]) -> list[Reading]:
        """Journal the readings not journaled yet (the first of a (sensor, time) wins), flushed
        to the disk before returning; the list of those journaled. An :class:`OSError` of the
        disk becomes a :class:`JournalError` and closes the journal (reopen it to go on: the
        torn line, if any, is cut off)."""
        with self._lock:
            if self._fd is None:
                raise JournalError(f"observation journal: {self.path} is closed")
            fresh, lines, seen = [], [], {}
            for reading in readings:
                times = self._times.get(reading.sensor_id, ())
                if reading.time in times or reading.key in seen:
                    continue
                seen[reading.key] = True
                fresh.append(reading)
                lines.append(_line(reading))
            if not fresh:
                return fresh
            try:
                write_durably(self._fd, b"".join(lines))
            except OSError as err:
                self._close_locked()
                raise JournalError(f"observation journal: {self.path} cannot be written "
                                   f"({err.strerror}); nothing of this batch is "
                                   "acknowledged") from None  # fmt: skip
            for reading, line in zip(fresh, lines):
                self._times.setdefault(reading.sensor_id, set()).add(reading.time)
                self._offsets.append(self._offsets[-1] + len(line))
            return fresh

    def readings(self, start: int = 0) -> Iterator[Reading]:
        """The journaled readings from the ``start``-th (0: all), in journal order, as they
        were when called."""
        with self._lock:
            begin, end = self._offsets[min(start, len(self))], self._offsets[-1]
        with open(self.path, "rb") as file:
            for number, line in enumerate(lines(file.fileno(), begin, end), start=start + 1):
                yield _parse(line, number, self.path)

    def export_csv(self, path: Path, *, overwrite: bool = False) -> int:
        """Write the readings as an observations CSV (header ``CSV_COLUMNS``; what
        :func:`metrotwin.observe.read_csv.read_csv_readings` reads), atomically; the number of
        rows. An existing file is replaced only with ``overwrite``."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise OutputError(f"{path} exists; the journal is exported to a new file only")
        rows = 0
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for reading in self.readings():
                writer.writerow(reading.csv_row())
                rows += 1
        return rows

    def close(self) -> None:
        """Release the journal (further appends raise)."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None
