"""The MQTT side of a running live twin, as ``metrotwin live`` hands it to the twin: the
ingest (broker -> checks -> journal or quarantine, in its own thread), the journal's readings
at the start and each batch journaled since, and a publisher for the twin's retained
messages (``city/twin/...``).

Batches are read from the journal by position, not from the ingest's memory: what the twin
assimilates is exactly what was fsync'd (and acknowledged to the broker), in journal order,
so a twin restarted on the same journal sees the same readings in the same order.

Stopping: ``stop()`` (SIGINT or SIGTERM, under ``stop_on_signals``) ends the batches after
the current cycle, with a last batch of what was journaled until then; the ingest is closed
(every message journaled was acknowledged, the others stay queued in the broker's session)
and the publisher flushed, waiting at most ``FLUSH_TIMEOUT`` s for a broker that is there.
A second signal acts at once (the checkpoint and the journal are written atomically, so that
the twin resumes from them). The twin's messages are retained and the next cycle's replace
them: while the broker is away they are kept for it (up to the publisher's window), then
dropped with a warning rather than holding the cycles up.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from metrotwin.live.broker import BrokerError, Publisher, parse_broker_url, read_credentials
from metrotwin.live.ingest import Ingest, start_ingest
from metrotwin.live.reading import Reading

#: the ingest's folder (journal and quarantine) inside the twin's output folder
FEED_DIR = "feed"
#: longest wait for the broker at the start (s)
CONNECT_TIMEOUT = 30.0
#: longest wait, at the end, for the broker to acknowledge the twin's last messages (s)
FLUSH_TIMEOUT = 10.0
#: longest wait for room in the publisher's window before a message is dropped (s)
PUBLISH_WAIT = 1.0
#: the signals that stop a twin cleanly
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

log = logging.getLogger("metrotwin.live")


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
        self.stopped_by: str | None = None  # the signal's name, or "stop()"
        self._stopping = threading.Event()
        self._dropped = 0

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
                self._flush()
        finally:
            if self.ingest is not None:
                self.ingest.close()

    def _flush(self) -> None:
        try:
            if self.publisher.is_connected:
                self.publisher.flush(timeout=FLUSH_TIMEOUT)
            else:
                log.warning("the broker %s is away: those of the twin's messages it has not "
                            "acknowledged, if any, are not sent (the files of the output folder "
                            "are complete)", self.broker)  # fmt: skip
        except BrokerError as err:
            log.warning("%s (the files of the output folder are complete)", err)
        finally:
            self.publisher.stop()

    def stop(self, why: str = "stop()") -> None:
        """End the batches (after the current one): the twin stops."""
        self.stopped_by = why
        self._stopping.set()

    @contextmanager
    def stop_on_signals(self, signals=STOP_SIGNALS):
        """Within: the first of ``signals`` stops the feed (:meth:`stop`) and puts the
        previous handlers back, so that a second one acts at once; they are put back at the
        end too. Outside the main thread (which alone can set handlers) nothing is set."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.getsignal(s) for s in signals}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        def on_signal(signum, frame) -> None:
            restore()
            name = signal.Signals(signum).name
            # os.write: a handler's print or log could re-enter a write the main thread is in
            os.write(2, f"metrotwin: {name}: the twin stops after its current cycle (again to "
                        "stop at once: it resumes from its checkpoint)\n".encode())  # fmt: skip
            self.stop(name)

        for sig in signals:
            signal.signal(sig, on_signal)
        try:
            yield self
        finally:
            restore()

    def journal(self) -> list[Reading]:
        """Every reading journaled so far (a restarted twin replays them)."""
        readings = list(self.ingest.journal.readings())
        self.seen = len(readings)
        return readings

    def batches(self) -> Iterator[list[Reading]]:
        """Each ``poll`` seconds, the readings journaled since the last batch (maybe none),
        until :meth:`stop`, then the last of them; the ingest's error, if one stopped it, is
        raised here."""
        while not self._stopping.wait(self.poll):
            yield self._batch()
        yield self._batch()

    def _batch(self) -> list[Reading]:
        if self.ingest.error is not None:
            self.ingest.stop()  # re-raises the error that stopped the ingest
        batch = list(self.ingest.journal.readings(start=self.seen))
        self.seen += len(batch)
        return batch

    def counts(self) -> dict[str, int]:
        """Messages the ingest handled since this twin started: ``accepted``, ``duplicate``
        (already journaled), ``quarantined``."""
        return self.ingest.totals()

    def publish(self, topic: str, payload: str, retain: bool = True) -> None:
        """Publish one of the twin's messages at QoS 1; dropped, with a warning, when the
        broker has been away so long that the publisher's window is full."""
        if self.publisher.publish(topic, payload, retain=retain, wait=PUBLISH_WAIT):
            return
        self._dropped += 1
        if self._dropped == 1 or self._dropped % 100 == 0:
            log.warning("the broker %s has been away for long: %d of the twin's messages "
                        "dropped (the files of the output folder are complete)", self.broker,
                        self._dropped)  # fmt: skip
