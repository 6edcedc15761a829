"""The quarantine: every message a live twin refused, with why, append-only, one JSON object
a line: ``received`` (the twin's UTC clock, ISO 8601), ``topic``, ``reason`` (``code: why``,
see :data:`metrotwin.live.messages.REASONS`), ``bytes`` (the payload's size) and ``payload``
(its first ``KEEP`` bytes as text, undecodable bytes escaped, JSON-quoted).

A payload is only ever kept as escaped text to read: never parsed again, run, or used as a
path. Entries are flushed to the disk (fsync) before their messages are acknowledged, so
that every message the broker delivered is in the journal or here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from metrotwin.live.journal import JournalError, lines, open_log, write_durably

#: bytes of a refused payload kept (enough to see what a sender got wrong)
KEEP = 512
#: characters of a topic kept
KEEP_TOPIC = 200


def entry(received: datetime, topic: str, payload: bytes, reason: str) -> bytes:
    """One quarantine line (bytes, newline-terminated)."""
    text = payload[:KEEP].decode("utf-8", errors="backslashreplace")
    record = {"received": received.isoformat(timespec="milliseconds"),
              "topic": str(topic)[:KEEP_TOPIC], "reason": reason, "bytes": len(payload),
              "payload": text + ("..." if len(payload) > KEEP else "")}  # fmt: skip
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


class Quarantine:
    """The quarantine file at ``path`` (created if missing), open until ``close``;
    ``len(quarantine)`` counts its entries."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd, size = open_log(self.path, "quarantine")
        self._count = sum(1 for _ in lines(self._fd, 0, size))

    def __len__(self) -> int:
        return self._count

    def add(self, lines: Iterable[bytes]) -> None:
        """Append entries (made by :func:`entry`), flushed to the disk before returning."""
        data = b"".join(lines)
        if not data:
            return
        if self._fd is None:
            raise JournalError(f"quarantine: {self.path} is closed")
        try:
            write_durably(self._fd, data)
        except OSError as err:
            raise JournalError(f"quarantine: {self.path} cannot be written "
                               f"({err.strerror})") from None
        self._count += data.count(b"\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
