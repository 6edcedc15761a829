"""One message in, a reading or a reason out: every kind of bad message a feed sends is
refused with a reason naming what is wrong, and good ones (plain and SensorThings, in other
units) become the reading the offline CSV reader would make of the same row."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from metrotwin.live.messages import (MAX_PAYLOAD, MessageReader, Refused, SensorCatalog,
                                     sensor_catalog)  # fmt: skip
from metrotwin.live.reading import Reading
from metrotwin.observe.read_csv import read_csv_readings
from metrotwin.run.scenario import load_scenario

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 7, 15, 7, 0, tzinfo=timezone.utc)
CATALOG = SensorCatalog({"gauge00": ("water_depth",), "station00": ("air_temperature",),
                         "multi": ("rain_rate", "air_temperature")})  # fmt: skip


def plain(**fields) -> bytes:
    message = {"sensor_id": "gauge00", "time": "2026-07-15T06:50:00Z", "value": 0.25}
    message.update(fields)
    return json.dumps({k: v for k, v in message.items() if v is not ...}).encode()


#: (payload, the reason code, a word the reason must contain)
BAD = [
    (b'{"sensor_id": "gauge00", "time": ', "not_json", "char"),
    (b"\xff\xfe{}", "not_json", "UTF-8"),
    (b"[1, 2]", "malformed", "object"),
    (b"[" * 5000 + b"]" * 5000, "oversized", "bytes"),
    (b'{"x": ' + b"[" * 1500 + b"]" * 1500 + b"}", "not_json", "nested"),
    (plain(value="0.25"), "malformed", "value"),
    (plain(value=True), "malformed", "value"),
    (plain(value=None), "malformed", "value"),
    (plain(sensor_id=17), "malformed", "sensor_id"),
    (plain(sensor_id=...), "malformed", "sensor_id"),
    (plain(time=1752559800), "malformed", "time"),
    (plain(time="yesterday"), "malformed", "ISO 8601"),
    (b'{"sensor_id": "gauge00", "time": "2026-07-15T06:50:00Z", "value": NaN}', "non_finite",
     "finite"),
    (b'{"sensor_id": "gauge00", "time": "2026-07-15T06:50:00Z", "value": -Infinity}',
     "non_finite", "finite"),
    (b'{"sensor_id": "gauge00", "time": "2026-07-15T06:50:00Z", "value": 1e999}', "non_finite",
     "finite"),
    (plain(sensor_id="gauge99"), "unknown_sensor", "gauge99"),
    (plain(variable="rain_rate"), "unknown_variable", "water_depth"),
    (plain(sensor_id="multi"), "unknown_variable", "name its variable"),
    (plain(time="2026-07-15T07:10:00Z"), "future", "600 s ahead"),
    (plain(time="2026-07-01T06:00:00Z"), "too_old", "14 days"),
    (plain(time="0001-01-01T00:00:00+05:00"), "malformed", "ISO 8601"),
    (plain(units="wibble"), "bad_units", "wibble"),
    (plain(units="K"), "bad_units", "does not convert"),
    (plain(value=1.0, extra="x" * MAX_PAYLOAD), "oversized", str(MAX_PAYLOAD)),
    (json.dumps({"phenomenonTime": "2026-07-15T06:50:00Z", "result": 1.0}).encode(),
     "malformed", "Datastream"),
    (json.dumps({"phenomenonTime": "2026-07-15T06:50:00Z", "result": "wet",
                 "Datastream": {"name": "gauge00"}}).encode(), "malformed", "value"),
]  # fmt: skip


@pytest.mark.parametrize("payload, code, word", BAD)
def test_a_bad_message_is_refused_with_a_reason_that_says_why(payload, code, word):
    reader = MessageReader(CATALOG)
    with pytest.raises(Refused) as refused:
        reader.read(payload, NOW)
    assert refused.value.code == code
    assert str(refused.value).startswith(f"{code}: ")
    assert word in str(refused.value)
    assert len(str(refused.value)) < 400  # a reason quotes a bad value cut short


def test_good_messages_become_readings_in_model_units_to_the_second():
    reader = MessageReader(CATALOG)
    cases = {
        plain(): Reading("gauge00", "2026-07-15T06:50:00Z", "water_depth", 0.25, "m"),
        # an offset, a fraction of a second (dropped), centimetres
        plain(time="2026-07-15T08:50:00.75+02:00", value=25, units="cm"):
            Reading("gauge00", "2026-07-15T06:50:00Z", "water_depth", 0.25, "m"),
        plain(sensor="station00", sensor_id=..., value=25.5, units="degC",
              variable="air_temperature"):
            Reading("station00", "2026-07-15T06:50:00Z", "air_temperature", 298.65, "K"),
        plain(sensor_id="multi", variable="rain_rate", value=12):
            Reading("multi", "2026-07-15T06:50:00Z", "rain_rate", 12.0, "mm h-1"),
        # SensorThings: the end of an interval, the unit symbol, UCUM Cel
        json.dumps({"phenomenonTime": "2026-07-15T06:40:00Z/2026-07-15T06:50:00Z",
                    "result": 21.0, "resultTime": "2026-07-15T06:50:02Z",
                    "Datastream": {"name": "station00", "unitOfMeasurement": {"symbol": "Cel"},
                                   "ObservedProperty": {"name": "air_temperature"}}}).encode():
            Reading("station00", "2026-07-15T06:50:00Z", "air_temperature", 294.15, "K"),
        json.dumps({"phenomenonTime": "2026-07-15T06:50:00Z", "result": 3,
                    "Datastream": {"@iot.id": "gauge00"}}).encode():
            Reading("gauge00", "2026-07-15T06:50:00Z", "water_depth", 3.0, "m"),
    }  # fmt: skip
    for payload, expected in cases.items():
        got = reader.read(payload, NOW)
        assert got.key == expected.key and got.variable == expected.variable
        assert got.units == expected.units
        assert got.value == pytest.approx(expected.value, rel=1e-12)  # float unit factors


def test_naive_times_are_in_the_catalogs_zone_and_limits_can_be_lifted():
    berlin = SensorCatalog(CATALOG.variables, zone="Europe/Berlin")
    reading = MessageReader(berlin).read(plain(time="2026-07-15T08:50:00"), NOW)
    assert reading.time == "2026-07-15T06:50:00Z"  # CEST is UTC+2 in July
    ancient = plain(time="1999-01-01T00:00:00Z")
    assert MessageReader(CATALOG, max_age=None).read(ancient, NOW).time == "1999-01-01T00:00:00Z"


def test_the_demo_twins_readings_read_as_the_offline_reader_reads_them():
    """Every row of the demo twin's obs.csv sent as a message gives the reading the offline
    CSV reader gives (same sensor, time, variable and value to the bit)."""
    scenario = load_scenario(REPO / "scenarios" / "demo_twin.yaml")
    catalog = sensor_catalog(scenario.observations)
    assert len(catalog.variables) == 50  # 30 gauges and 20 stations
    path = REPO / "scenarios" / "demo_twin" / "obs.csv"
    offline = read_csv_readings(path)
    reader = MessageReader(catalog, max_ahead=None, max_age=None)
    lines = path.read_text().splitlines()[1:]
    for i, line in enumerate(lines):
        sensor, time, variable, value, units = line.split(",")
        message = {"sensor_id": sensor, "time": time, "value": float(value), "units": units}
        got = reader.read(json.dumps(message).encode(), NOW)
        assert got.sensor_id == offline.sensor_id[i] and got.variable == offline.variable[i]
        assert np.datetime64(got.time[:-1], "ns") == offline.time[i]
        assert got.value == offline.value[i]
