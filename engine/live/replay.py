"""``metrotwin replay``: an observations CSV (``sensor_id,time,variable,value[,units]``, as
``metrotwin observe`` writes it, or a journal exported) published to a broker as a sensor feed,
one JSON message a row at QoS 1 on ``PREFIX/SENSOR_ID``, in accelerated time: rows ``speed``
times faster than their times are apart (``speed`` 0: as fast as the broker takes them).

A recorded feed is replayed as it is, garbage included (a value that is not a number is sent
as the text it is, for the twin to quarantine), in time order (rows of equal time in file
order; a row whose time does not read is sent at once).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from metrotwin.errors import DataSourceError
from metrotwin.observe.files import read_text, short
from metrotwin.observe.read_csv import READING_COLUMNS

#: characters a topic level may not hold (wildcards, the level separator, NUL)
_NOT_IN_TOPIC = str.maketrans({"/": "_", "+": "_", "#": "_", "\0": "_"})


def _epoch(text: str) -> float | None:
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def feed_messages(path: Path, *, topic_prefix: str,
                  start: str | None = None) -> list[tuple[float | None, str, bytes]]:  # fmt: skip
    """(time in s since the epoch or None, topic, payload) of each row of ``path``, in time
    order, from ``start`` (ISO 8601; None: the first row)."""
    what = "replay feed"
    reader = csv.reader(io.StringIO(read_text(Path(path), what=what), newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in READING_COLUMNS if c not in header]
    if missing:
        raise DataSourceError(f"{what}: {path} has no column {', '.join(missing)}; the header "
                              f"must name {','.join(READING_COLUMNS)} (it is "
                              f"{short(','.join(header))})")  # fmt: skip
    begin = None if start is None else _epoch(start)
    if start is not None and begin is None:
        raise DataSourceError(f"--start {short(start)} is not an ISO 8601 time "
                              "(e.g. 2026-07-15T06:00:00Z)")  # fmt: skip
    col = {name: i for i, name in enumerate(header)}
    messages = []
    for row in reader:
        if len(row) != len(header) or not any(cell.strip() for cell in row):
            continue
        cell = {name: row[i].strip() for name, i in col.items()}
        when = _epoch(cell["time"])
        if begin is not None and when is not None and when < begin:
            continue
        body = {"sensor_id": cell["sensor_id"], "time": cell["time"],
                "variable": cell["variable"], "value": _value(cell["value"])}  # fmt: skip
        if cell.get("units"):
            body["units"] = cell["units"]
        topic = f"{topic_prefix.rstrip('/')}/{cell['sensor_id'].translate(_NOT_IN_TOPIC)}"
        messages.append((when, topic, json.dumps(body).encode()))
    messages.sort(key=lambda m: -1e300 if m[0] is None else m[0])  # stable: file order kept
    return messages


def check_speed(speed: float) -> float:
    """``speed`` if it is 0 or more (and finite); :class:`DataSourceError` otherwise."""
    if not (0 <= speed < float("inf")):
        raise DataSourceError(f"--speed {speed}: it must be 0 (as fast as possible) or a "
                              "number of times faster than real time (e.g. 60)")  # fmt: skip
    return speed


def replay(messages, publish: Callable[[str, bytes], None], *, speed: float,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> int:  # fmt: skip
    """Publish ``messages`` (from :func:`feed_messages`) with ``publish(topic, payload)``,
    each when ``speed`` times its time since the first has passed on ``clock``; the number
    published."""
    check_speed(speed)
    first = next((when for when, _, _ in messages if when is not None), None)
    began = clock()
    for when, topic, payload in messages:
        if speed > 0 and when is not None:
            wait = began + (when - first) / speed - clock()
            if wait > 0:
                sleep(wait)
        publish(topic, payload)
    return len(messages)
