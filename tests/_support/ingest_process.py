"""An ingest in its own process, for the tests that kill it: ``python -m
tests._support.ingest_process BROKER_URL FOLDER CLIENT_ID N_SENSORS [SLOW_S]`` journals the
feed of ``city/sensors/#`` (sensors ``s0000`` ... of water depth, any time) into FOLDER until
SIGTERM, then prints its counts as JSON. Credentials come from the environment, as for the
twin. ``SLOW_S``: each journal write is that much slower (a slow disk), so that a kill finds
messages received and not yet journaled."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

from metrotwin.live.broker import Subscription, parse_broker_url, read_credentials
from metrotwin.live.ingest import open_ingest
from metrotwin.live.messages import MessageReader, SensorCatalog


def sensor_ids(n: int) -> list[str]:
    return [f"s{i:04d}" for i in range(n)]


def main(url: str, folder: str, client_id: str, n_sensors: str, slow: str = "0") -> None:
    catalog = SensorCatalog({sensor: ("water_depth",) for sensor in sensor_ids(int(n_sensors))})
    reader = MessageReader(catalog, max_ahead=None, max_age=None)
    subscription = Subscription(parse_broker_url(url), ["city/sensors/#"], client_id=client_id,
                                credentials=read_credentials(), min_backoff=0.2,
                                max_backoff=2.0)  # fmt: skip
    ingest = open_ingest(Path(folder), subscription, reader, batch_size=200)
    append = ingest.journal.append

    def slow_append(readings):
        time.sleep(float(slow))
        return append(readings)

    ingest.journal.append = slow_append
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    subscription.start(timeout=10.0)
    ingest.start()
    print("ready", flush=True)
    done.wait()
    ingest.close()
    counts = ingest.counts
    print(json.dumps({"accepted": counts.accepted, "duplicate": counts.duplicate,
                      "quarantined": counts.quarantined}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:])
