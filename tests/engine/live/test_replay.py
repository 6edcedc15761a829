"""``metrotwin replay``'s feed: rows in time order as messages the ingest reads back to the
same readings, published at ``speed`` times real time."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from metrotwin.errors import DataSourceError
from metrotwin.live.messages import MessageReader, SensorCatalog
from metrotwin.live.replay import feed_messages, replay

CSV = """sensor_id,time,variable,value,units
g/1,2026-07-15T06:10:00Z,water_depth,0.5,m
g/1,2026-07-15T06:00:00Z,water_depth,25,cm
t+2,2026-07-15T06:00:00Z,air_temperature,21.5,degC
g/1,2026-07-15T06:20:00Z,water_depth,wet,m
t+2,soon,air_temperature,20,degC
"""


def test_rows_become_messages_in_time_order_on_safe_topics(tmp_path):
    (tmp_path / "obs.csv").write_text(CSV)
    messages = feed_messages(tmp_path / "obs.csv", topic_prefix="city/sensors/")
    times = [when for when, _, _ in messages]
    assert times[0] is None  # a time that does not read goes first, for the twin to refuse
    assert times[1:] == sorted(times[1:])
    assert [topic for _, topic, _ in messages] == ["city/sensors/t_2", "city/sensors/g_1",
                                                   "city/sensors/t_2", "city/sensors/g_1",
                                                   "city/sensors/g_1"]  # fmt: skip
    bodies = [json.loads(payload) for _, _, payload in messages]
    assert bodies[1] == {"sensor_id": "g/1", "time": "2026-07-15T06:00:00Z",
                         "variable": "water_depth", "value": 25.0, "units": "cm"}  # fmt: skip
    assert bodies[-1]["value"] == "wet"  # garbage is replayed as it was recorded
    catalog = SensorCatalog({"g/1": ("water_depth",), "t+2": ("air_temperature",)})
    reader = MessageReader(catalog, max_age=None)
    now = datetime(2026, 7, 15, 7, tzinfo=timezone.utc)
    assert reader.read(messages[1][2], now).value == 0.25
    assert reader.read(messages[2][2], now).value == pytest.approx(294.65, abs=1e-12)
    later = feed_messages(tmp_path / "obs.csv", topic_prefix="x", start="2026-07-15T06:05:00Z")
    assert len(later) == 3  # the two rows at 06:00 left out; the one without a time kept


def test_the_feed_is_published_speed_times_faster_than_real_time(tmp_path):
    (tmp_path / "obs.csv").write_text(CSV)
    messages = feed_messages(tmp_path / "obs.csv", topic_prefix="city/sensors")
    now, sent = [100.0], []

    def publish(topic, payload):
        sent.append((now[0], json.loads(payload)["time"]))

    def sleep(seconds):
        now[0] += seconds

    assert replay(messages, publish, speed=60, sleep=sleep, clock=lambda: now[0]) == 5
    # 10 min of readings apart: 10 s apart at 60 times real time
    assert [t for t, _ in sent] == [100.0, 100.0, 100.0, 110.0, 120.0]
    sent.clear()
    replay(messages, publish, speed=0, sleep=sleep, clock=lambda: now[0])
    assert len({t for t, _ in sent}) == 1  # as fast as possible: no waiting
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(DataSourceError, match="--speed"):
            replay(messages, publish, speed=bad)


def test_a_feed_without_the_reading_columns_or_a_bad_start_is_refused(tmp_path):
    (tmp_path / "bad.csv").write_text("sensor,when,value\n")
    with pytest.raises(DataSourceError, match="no column sensor_id, time, variable"):
        feed_messages(tmp_path / "bad.csv", topic_prefix="x")
    (tmp_path / "obs.csv").write_text(CSV)
    with pytest.raises(DataSourceError, match="--start 'noon'"):
        feed_messages(tmp_path / "obs.csv", topic_prefix="x", start="noon")
