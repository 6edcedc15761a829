"""The MQTT side of a running live twin, as ``metrotwin live`` hands it to the twin: the
ingest (broker -> checks -> journal or quarantine, in its own thread), the journal's readings
at the start and each batch journaled since, and a publisher for the twin's retained
messages (``city/twin/...``).

Batches are read from the journal by position, not from the ingest's memory: what the twin
assimilates is exactly what was fsync'd (and acknowledged to the broker), in journal order,
so a twin restarted on the same journal sees the same readings in the same order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from metrotwin.live.broker import Publisher, parse_broker_url, read_credentials
from metrotwin.live.ingest import Ingest, start_ingest
from metrotwin.live.reading import Reading

#: the ingest's folder (journal and quarantine) inside the twin's output folder
FEED_DIR = "feed"
#: longest wait for the broker at the start (s)
CONNECT_TIMEOUT = 30.0


class LiveFeed:
    """A context manager: the ingest and publisher of ``scenario``'s twin writing ``out``.

    ``simulated``: a replay in accelerated time (readings of any age are accepted: the
    twin's simulated clock, not the wall clock, says what is late); ``poll``: seconds between
    batches (an empty batch still lets a wall clock's cycle run)."""

    def __init__(self, scenario, out: Path, *, broker: str, topic: str,
                 credentials_file: Path | None = None, ca_file: Path | None = None,
                 simulated: bool = False, poll: float = 1.0, base_dir: Path = Path(".")):  # fmt: skip
        self.scenario, self.out, self.broker, self.topic = scenario, Path(out), broker, topic
        self.credentials_file, self.ca_file = credentials_file, ca_file
        self.simulated, self.poll, self.base_dir = simulated, poll, base_dir
        self.ingest: Ingest | None = None
        self.publisher: Publisher | None = None
        self.seen = 0

    def __enter__(self) -> LiveFeed:
        ages = {"max_age": None, "max_ahead": None} if self.simulated else {}
        self.ingest = start_ingest(self.scenario.observations, self.out / FEED_DIR,
                                   broker=self.broker, topics=[self.topic],
                                   credentials_file=self.credentials_file, ca_file=self.ca_file,
                                   base_dir=self.base_dir, connect_timeout=CONNECT_TIMEOUT,
                                   **ages)  # fmt: skip
        try:
            self.publisher = Publisher(parse_broker_url(self.broker),
                                       credentials=read_credentials(self.credentials_file),
                                       ca_file=self.ca_file)  # fmt: skip
            self.publisher.start(timeout=CONNECT_TIMEOUT)
        except BaseException:
            self.ingest.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.publisher is not None:
                self.publisher.flush()
                self.publisher.stop()
        finally:
            if self.ingest is not None:
                self.ingest.close()

    def journal(self) -> list[Reading]:
        """Every reading journaled so far (a restarted twin replays them)."""
        readings = list(self.ingest.journal.readings())
        self.seen = len(readings)
        return readings

    def batches(self) -> Iterator[list[Reading]]:
        """Each ``poll`` seconds, the readings journaled since the last batch (maybe none);
        the ingest's error, if one stopped it, is raised here."""
        while True:
            time.sleep(self.poll)
            if self.ingest.error is not None:
                self.ingest.stop()  # re-raises the error that stopped the ingest
            batch = list(self.ingest.journal.readings(start=self.seen))
            self.seen += len(batch)
            yield batch

    def publish(self, topic: str, payload: str, retain: bool = True) -> None:
        """Publish one of the twin's messages at QoS 1."""
        self.publisher.publish(topic, payload, retain=retain)
