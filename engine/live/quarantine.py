"""The quarantine: every message a live twin refused, with why, append-only, one JSON object
a line: ``received`` (the twin's UTC clock, ISO 8601), ``topic``, ``reason`` (``code: why``,
see :data:`metrotwin.live.messages.REASONS`), ``bytes`` (the payload's size) and ``payload``
(its first ``KEEP`` bytes as text, undecodable bytes escaped, JSON-quoted) and ``key`` (the
SHA-256 of topic and whole payload: a redelivery of a refused message, which the broker
sends again when the twin's acknowledgement was lost, is recognised and counted once).

A payload is only ever kept as escaped text to read: never parsed again, run, or used as a
path. Entries are flushed to the disk (fsync) before their messages are acknowledged, so
that every message the broker delivered is in the journal or here."""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from metrotwin.live.journal import JournalError, lines, open_log, write_durably

#: bytes of a refused payload kept (enough to see what a sender got wrong)
KEEP = 512
#: characters of a topic kept
KEEP_TOPIC = 200
#: keys of refused messages remembered, to recognise the broker's redeliveries (a bound on
#: memory: ~100 bytes each)
KEYS_KEPT = 100_000


def message_key(topic: str, payload: bytes) -> str:
    """The SHA-256 (hex) of a message's topic and whole payload."""
    return hashlib.sha256(str(topic).encode("utf-8", "backslashreplace") + b"\0"
                          + payload).hexdigest()  # fmt: skip


def entry(received: datetime, topic: str, payload: bytes, reason: str) -> bytes:
    """One quarantine line (bytes, newline-terminated)."""
    text = payload[:KEEP].decode("utf-8", errors="backslashreplace")
    record = {"received": received.isoformat(timespec="milliseconds"),
              "topic": str(topic)[:KEEP_TOPIC], "reason": reason, "bytes": len(payload),
              "payload": text + ("..." if len(payload) > KEEP else ""),
              "key": message_key(topic, payload)}  # fmt: skip
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


def _key_of(line: bytes) -> str | None:
    """The ``key`` of a quarantine line (None for a line without one, or not JSON)."""
    try:
        key = json.loads(line).get("key")
    except (ValueError, AttributeError):
        return None
    return key if isinstance(key, str) else None


class Quarantine:
    """The quarantine file at ``path`` (created if missing), open until ``close``;
    ``len(quarantine)`` counts its entries."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd, size = open_log(self.path, "quarantine")
        #: the keys of the last ``KEYS_KEPT`` entries (a redelivery comes soon after)
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._count = 0
        for line in lines(self._fd, 0, size):
            self._count += 1
            self._remember(_key_of(line))

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: str) -> bool:
        """Whether a message of this ``message_key`` is among the last entries."""
        return key in self._keys

    def _remember(self, key: str | None) -> None:
        if key is not None:
            self._keys[key] = None
            if len(self._keys) > KEYS_KEPT:
                self._keys.popitem(last=False)

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
        for line in data.splitlines():
            self._remember(_key_of(line))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
