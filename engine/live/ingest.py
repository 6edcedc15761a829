"""Messages from the broker into the journal or the quarantine, then acknowledged.

Group commit: a batch of up to ``batch_size`` messages (whatever arrived, without waiting for
more) is read, its readings journaled with one write and one fsync, its refusals quarantined
likewise, and only then are its messages acknowledged. Every message delivered ends as
exactly one of accepted, duplicate (already journaled: acknowledged, not written twice) or
quarantined, counted in :class:`Counts`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from metrotwin.live.broker import Subscription, parse_broker_url, read_credentials
from metrotwin.live.journal import Journal
from metrotwin.live.messages import MessageReader, Refused, sensor_catalog
from metrotwin.live.quarantine import Quarantine, entry, message_key
from metrotwin.live.reading import Reading


#: file names of an ingest's journal and quarantine in its folder
JOURNAL, QUARANTINE = "journal.jsonl", "quarantine.jsonl"


def utc_now() -> datetime:
    """The wall clock, in UTC (the default twin's clock)."""
    return datetime.now(timezone.utc)


@dataclass
class Counts:
    """Messages handled since the ingest started: ``accepted`` (journaled), ``duplicate``
    (already in the journal), ``quarantined`` (refused, by reason code in ``reasons``)."""

    accepted: int = 0
    duplicate: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.quarantined


class Ingest:
    """Drains ``source`` (a :class:`metrotwin.live.broker.Subscription`, or anything with its
    ``get(max_messages, timeout)`` and ``ack(messages)``) into ``journal`` and ``quarantine``,
    checking each message with ``reader`` against ``clock()`` (an aware UTC datetime: the
    wall clock, or a replay's simulated one).

    ``step()`` handles one batch in the caller's thread; ``start()`` runs steps in a thread
    until ``stop()``, and ``take_new()`` hands the readings accepted since the last call to
    the cycle (with ``keep_new``; else they are only in the journal)."""

    def __init__(self, source, reader: MessageReader, journal: Journal, quarantine: Quarantine,
                 *, clock: Callable[[], datetime] = utc_now, batch_size: int = 2000,
                 keep_new: bool = False):  # fmt: skip
        self.source, self.reader = source, reader
        self.journal, self.quarantine = journal, quarantine
        self.clock, self.batch_size, self.keep_new = clock, batch_size, keep_new
        self.counts = Counts()
        self.error: BaseException | None = None
        self._new: list[Reading] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, timeout: float = 0.1) -> list[Reading]:
        """Handle the messages waiting (up to ``batch_size``; waits up to ``timeout`` s for
        the first): the readings newly journaled."""
        batch = self.source.get(self.batch_size, timeout)
        if not batch:
            return []
        now = self.clock()
        readings, refused, reasons, again = [], [], Counter(), set()
        for message in batch:
            try:
                readings.append(self.reader.read(message.payload, now))
            except Refused as why:
                key = message_key(message.topic, message.payload)
                if getattr(message, "dup", False) and (key in self.quarantine or key in again):
                    continue  # the broker's redelivery of a message quarantined already
                again.add(key)
                refused.append(entry(now, message.topic, message.payload, str(why)))
                reasons[why.code] += 1
        fresh = self.journal.append(readings)
        self.quarantine.add(refused)
        self.source.ack(batch)  # only now: everything above is on the disk
        redelivered = len(batch) - len(readings) - len(refused)
        with self._lock:
            self.counts.accepted += len(fresh)
            self.counts.duplicate += len(readings) - len(fresh) + redelivered
            self.counts.quarantined += len(refused)
            self.counts.reasons.update(reasons)
            if self.keep_new:
                self._new.extend(fresh)
        return fresh

    def totals(self) -> dict[str, int]:
        """The counts, read together: ``accepted``, ``duplicate``, ``quarantined``."""
        with self._lock:
            c = self.counts
            return {"accepted": c.accepted, "duplicate": c.duplicate,
                    "quarantined": c.quarantined}  # fmt: skip

    def take_new(self) -> list[Reading]:
        """The readings journaled since the last call (in journal order)."""
        with self._lock:
            new, self._new = self._new, []
        return new

    def start(self) -> None:
        """Run ``step`` in a thread until ``stop``; an error stops it, kept in ``error``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="metrotwin-ingest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.step(timeout=0.1)
        except BaseException as err:  # handed to the caller by stop(), never lost
            self.error = err

    def stop(self) -> None:
        """Stop the thread after its current batch; re-raise the error that stopped it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Stop the thread (if running), the source (if it stops) and close the files."""
        try:
            self.stop()
        finally:
            if hasattr(self.source, "stop"):
                self.source.stop()
            self.journal.close()
            self.quarantine.close()


def open_ingest(folder: Path, source, reader: MessageReader, **options) -> Ingest:
    """An :class:`Ingest` journaling into ``folder/journal.jsonl`` and quarantining into
    ``folder/quarantine.jsonl`` (created if missing; opened, their torn lines cut off, before
    the caller starts ``source``); ``options`` as for :class:`Ingest`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    journal = Journal(folder / JOURNAL)
    try:
        quarantine = Quarantine(folder / QUARANTINE)
    except BaseException:
        journal.close()
        raise
    return Ingest(source, reader, journal, quarantine, **options)


def client_id_for(folder: Path) -> str:
    """The MQTT client id of the twin writing into ``folder``: the same at every restart (so
    that it finds its session and the messages queued in it), another for another folder;
    21 letters and digits (MQTT 3.1.1 brokers must take up to 23)."""
    digest = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()
    return "metrotwin" + digest[:12]


def start_ingest(observations, folder: Path, *, broker: str, topics: Sequence[str],
                 credentials_file: Path | None = None, ca_file: Path | None = None,
                 client_id: str | None = None, base_dir: Path = Path("."),
                 max_ahead: float | None = 300.0, max_age: float | None = 7 * 86400.0,
                 connect_timeout: float | None = 30.0, **options) -> Ingest:  # fmt: skip
    """The ingest of a twin, running: the sensors of the scenario's ``observations:`` section,
    the journal and quarantine in ``folder``, a persistent QoS 1 subscription to ``topics``
    at the ``broker`` URL (credentials from the environment or ``credentials_file``; client
    id :func:`client_id_for` ``folder`` unless given), connected (waiting up to
    ``connect_timeout`` s) and journaling in its thread. ``options`` as for :class:`Ingest`
    (``clock``, ``batch_size``, ``keep_new``). ``close()`` it at the end."""
    reader = MessageReader(sensor_catalog(observations, base_dir), max_ahead=max_ahead,
                           max_age=max_age)  # fmt: skip
    subscription = Subscription(parse_broker_url(broker), topics,
                                client_id=client_id or client_id_for(folder),
                                credentials=read_credentials(credentials_file),
                                ca_file=ca_file)  # fmt: skip
    ingest = open_ingest(folder, subscription, reader, **options)
    try:
        subscription.start(timeout=connect_timeout)
    except BaseException:
        ingest.journal.close()
        ingest.quarantine.close()
        raise
    ingest.start()
    return ingest
