"""Publishing a cycle: never a half-written nowcast or forecast folder, the status a
cycle reports, the warnings read off a forecast, the retained MQTT messages."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from metrotwin.errors import OutputError
from metrotwin.live.alerts import Places, forecast_warnings
from metrotwin.live.clock import SimulatedClock
from metrotwin.live.forecast import Forecast
from metrotwin.live.publish import CyclePublisher
from metrotwin.live.twin import LiveTwin, TwinOptions

from .twin_data import scenario_of

STATUS = {"cycle_time": "2026-07-15T06:10:00Z"}


def writes(text: str, *, fail: bool = False):
    """A cycle's writer: a file in each folder, failing after the nowcast's if ``fail``."""
    def write(nowcast, forecast):
        (nowcast / "fields.nc").write_text(text)
        if fail:
            raise OSError(28, "No space left on device")
        (forecast / "fields.nc").write_text(text)
    return write


def test_a_failure_in_the_middle_leaves_the_previous_cycle_in_place(tmp_path):
    pub = CyclePublisher(tmp_path, keep=3)
    pub.publish("20260715T061000Z", writes("first"), dict(STATUS), [], {})
    with pytest.raises(OSError):
        pub.publish("20260715T062000Z", writes("second", fail=True),
                    {"cycle_time": "2026-07-15T06:20:00Z"}, [], {})  # fmt: skip
    assert (tmp_path / "nowcast" / "fields.nc").read_text() == "first"
    assert (tmp_path / "forecast" / "fields.nc").read_text() == "first"
    assert json.loads((tmp_path / "status.json").read_text()) == STATUS
    assert [p.name for p in (tmp_path / "cycles").iterdir()] == ["20260715T061000Z"]
    assert pub.latest() == "20260715T061000Z"


def test_only_the_last_cycles_are_kept_and_nothing_else_is_removed(tmp_path):
    pub = CyclePublisher(tmp_path, keep=2)
    (tmp_path / "cycles").mkdir()
    (tmp_path / "cycles" / "notes").mkdir()  # not a cycle: never removed
    for minute in (10, 20, 30, 40):
        name = f"20260715T06{minute}00Z"
        pub.publish(name, writes(name), {"cycle_time": name}, [], {})
        assert (tmp_path / "nowcast" / "fields.nc").read_text() == name
    kept = sorted(p.name for p in (tmp_path / "cycles").iterdir())
    assert kept == ["20260715T063000Z", "20260715T064000Z", "notes"]
    assert os.readlink(tmp_path / "forecast") == os.path.join("cycles", "20260715T064000Z",
                                                              "forecast")  # fmt: skip


def test_a_folder_of_the_users_named_nowcast_is_not_replaced(tmp_path):
    (tmp_path / "nowcast").mkdir()
    (tmp_path / "nowcast" / "mine.txt").write_text("keep")
    with pytest.raises(OutputError, match="not a link the live twin made"):
        CyclePublisher(tmp_path).publish("20260715T061000Z", writes("x"), dict(STATUS), [], {})
    assert (tmp_path / "nowcast" / "mine.txt").read_text() == "keep"


def town() -> Places:
    """3 x 4 cells of 100 m: Oldtown (columns 0-1) and Riverside (columns 2-3), whose column 3
    is open water; gauge07 near (row 1, col 1), gauge02 near (row 0, col 3)."""
    x, y = np.meshgrid(50.0 + 100 * np.arange(4), 250.0 - 100 * np.arange(3))
    district = np.array([[1, 1, 2, 2]] * 3)
    ground = np.ones((3, 4), bool)
    ground[:, 3] = False
    return Places(district, {1: "Oldtown", 2: "Riverside"}, ground, x, y, ["gauge02", "gauge07"],
                  np.array([350.0, 160.0]), np.array([260.0, 140.0]))  # fmt: skip


def test_a_warning_says_how_deep_where_and_how_soon():
    times = 600.0 + 900.0 * np.arange(1, 5)  # issued at 600 s: 15, 30, 45, 60 min ahead
    depth = np.zeros((4, 3, 4))
    depth[2:, 1, 1] = [0.32, 0.31]  # Oldtown: 0.32 m 45 min ahead
    depth[:, 0, 2] = 0.2  # Riverside: below the 0.3 m threshold on the ground...
    depth[:, :, 3] = 1.5  # ...and its open water, however deep, is no flood
    utci = np.full((4, 3, 4), 30.0)
    forecast = Forecast(600.0, times, {"flood_water_thickness": depth,
                                       "universal_thermal_comfort_index": utci})
    warnings = forecast_warnings(forecast, town())
    assert [w["text"] for w in warnings] == [
        "forecast: 0.32 m in Oldtown near gauge07 within 45 min"]
    assert warnings[0]["value"] == 0.32 and warnings[0]["minutes"] == 45
    utci[1, 0, 2] = 39.04  # very strong heat stress 30 min ahead, in Riverside
    texts = [w["text"] for w in forecast_warnings(forecast, town())]
    assert texts == ["forecast: UTCI 39.0 °C in Riverside near gauge02 within 30 min",
                     "forecast: 0.32 m in Oldtown near gauge07 within 45 min"]
    lower = forecast_warnings(forecast, town(), {"flood_water_thickness": 0.15})
    assert "forecast: 0.20 m in Riverside near gauge02 within 15 min" in [w["text"] for w in lower]


def test_a_cycle_publishes_its_status_and_retained_messages(live_folder, readings):
    """Two cycles of the small twin, one gauge silent: status.json in the nowcast, at the
    top and as the retained ``city/twin/status`` message, with the counts given."""
    folder, data = live_folder
    calls = []
    twin = LiveTwin(scenario_of(data, folder), folder / "out", clock=SimulatedClock(),
                    options=TwinOptions(horizon=1200, silent_after=900, topic="town/twin"),
                    publisher=lambda topic, payload, retain: calls.append((topic, payload,
                                                                           retain)))  # fmt: skip
    feed = [r for r in readings if r.sensor_id != "gauge03" and r.time <= "2026-07-15T06:30:00Z"]
    published = twin.feed(feed, arrived=0.0, counts={"accepted": len(feed), "quarantined": 2})
    assert [s["cycle_time"] for s in published] == ["2026-07-15T06:10:00Z",
                                                    "2026-07-15T06:20:00Z"]  # fmt: skip
    status = json.loads((folder / "out" / "nowcast" / "status.json").read_text())
    assert status == published[-1] == json.loads((folder / "out" / "status.json").read_text())
    assert status["simulated_seconds"] == 1200.0
    assert status["forecast_until"] == "2026-07-15T06:40:00Z"
    assert status["counts"] == {"accepted": len(feed), "quarantined": 2}
    assert status["sensors_silent"] == ["gauge03"]  # never heard: silent
    assert len(status["sensors_heard_from"]) == 49 and "gauge03" not in status["sensors_heard_from"]
    assert status["readings_heard"] == len(feed)
    assert status["readings_assimilated"] > 0
    assert status["latency_s"] > 0  # "arrived" at the epoch: long ago
    assert isinstance(status["warnings"], list)
    topics = [(topic, retain) for topic, _, retain in calls]
    assert topics == [("town/twin/status", True), ("town/twin/alerts", True),
                      ("town/twin/indicators", True)] * 2  # fmt: skip
    last = {topic: json.loads(payload) for topic, payload, _ in calls[-3:]}
    assert last["town/twin/status"] == status
    assert last["town/twin/alerts"]["warnings"] == status["warnings"]
    assert "flood.flooded_area_10cm" in last["town/twin/indicators"]["indicators"]
    for kind in ("nowcast", "forecast"):
        assert (folder / "out" / kind / "fields.nc").is_file()
        assert (folder / "out" / kind / "indicators.json").is_file()
    assert status["readings_late"] == 0
    late = next(r for r in readings if r.sensor_id == "gauge03" and r.time.endswith("06:10:00Z"))
    assert twin.feed([late]) == []
    (status,) = twin.tick()
    assert status["cycle_time"] == "2026-07-15T06:30:00Z" and status["readings_late"] == 1


def test_a_cycle_published_again_replaces_its_folder_whole(tmp_path):
    """A twin restarted between writing a cycle and switching the links to it publishes
    the cycle again: the new folder replaces the old one, nothing of either is mixed."""
    pub = CyclePublisher(tmp_path, keep=3)
    pub.publish("20260715T061000Z", writes("first"), dict(STATUS), [], {})
    pub.publish("20260715T061000Z", writes("again"), dict(STATUS), [], {})
    assert (tmp_path / "nowcast" / "fields.nc").read_text() == "again"
    assert sorted(p.name for p in (tmp_path / "cycles").iterdir()) == ["20260715T061000Z"]
