"""A refused message the broker delivers again (its acknowledgement lost with a connection:
the DUP flag set) is counted once, as a duplicate, not quarantined twice — also after the
ingest restarted, from the keys in its quarantine file; the same garbage sent twice by a
sensor (no DUP flag) is two messages, quarantined twice. Accepted + duplicate + quarantined
always equals what the broker delivered."""

from __future__ import annotations

from datetime import datetime, timezone

from metrotwin.live.broker import Message
from metrotwin.live.ingest import QUARANTINE, open_ingest
from metrotwin.live.messages import MessageReader, SensorCatalog

NOW = datetime(2026, 7, 15, 7, 0, tzinfo=timezone.utc)
READER = MessageReader(SensorCatalog({"gauge00": ("water_depth",)}, {}), max_age=None)
GARBAGE = b'{"sensor_id": "gauge00", "time": "soon", "value": 1}'
GOOD = b'{"sensor_id": "gauge00", "time": "2026-07-15T06:50:00Z", "value": 0.2, "units": "m"}'


class Batches:
    """A source handing out the given batches, one per ``get``, recording the acks."""

    def __init__(self, *batches):
        self.batches, self.acked = list(batches), []

    def get(self, n, timeout):
        return self.batches.pop(0) if self.batches else []

    def ack(self, messages):
        self.acked.extend(messages)


def message(payload: bytes, mid: int, dup: bool = False) -> Message:
    return Message("city/sensors/gauge00", payload, mid, 1, 1, dup)


def test_a_redelivered_refused_message_is_counted_once(tmp_path):
    source = Batches([message(GARBAGE, 1), message(GOOD, 2)],
                     [message(GARBAGE, 1, dup=True), message(GOOD, 2, dup=True)],
                     [message(GARBAGE, 3)])  # the sensor sends the same garbage again
    ingest = open_ingest(tmp_path, source, READER, clock=lambda: NOW)
    try:
        for _ in range(3):
            ingest.step()
        assert ingest.totals() == {"accepted": 1, "duplicate": 2, "quarantined": 2}
        assert sum(ingest.totals().values()) == 5 == len(source.acked)
    finally:
        ingest.close()
    assert len((tmp_path / QUARANTINE).read_text().splitlines()) == 2
    # restarted (its memory gone): the keys come back from the quarantine file
    again = open_ingest(tmp_path, Batches([message(GARBAGE, 1, dup=True)]), READER,
                        clock=lambda: NOW)  # fmt: skip
    try:
        again.step()
        assert again.totals() == {"accepted": 0, "duplicate": 1, "quarantined": 0}
    finally:
        again.close()
    assert len((tmp_path / QUARANTINE).read_text().splitlines()) == 2
