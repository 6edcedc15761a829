"""One MQTT message checked and turned into a :class:`~metrotwin.live.reading.Reading`, or
refused with a reason (the quarantine keeps it with that reason).

A message is untrusted input: at most ``MAX_PAYLOAD`` bytes of UTF-8 JSON holding ONE object,
never executed, never used as a path. Two shapes are read:

- plain: ``{"sensor_id": "gauge00", "time": "2026-07-15T06:10:00Z", "value": 0.25,
  "units": "m", "variable": "water_depth"}``; ``sensor`` may stand for ``sensor_id``;
  ``units`` and ``variable`` are optional;
- SensorThings (the subset of an OGC SensorThings ``Observation`` that a feed pushes):
  ``{"phenomenonTime": "2026-07-15T06:10:00Z", "result": 0.25, "Datastream": {"name":
  "gauge00"}}``; the sensor id is the Datastream's ``name`` (else its ``@iot.id``); optional
  ``Datastream.unitOfMeasurement.symbol`` (units) and ``Datastream.ObservedProperty.name``
  (variable); an interval ``phenomenonTime`` (``start/end``) is read at its end, as the
  offline SensorThings reader does.

Other keys are ignored. The value must be a JSON number (finite); the time an ISO 8601 string
(without an offset: in the source's ``naive_timezone``), kept to the second (a fraction is
dropped, as the journal keeps times to the second); the sensor one of the scenario's sensors
tables, measuring the variable; units converted to the model's (as the offline readers do,
with :func:`metrotwin.observe.units.convert`) or refused. A time further ahead of the twin's
clock than ``max_ahead`` or older than ``max_age`` is refused.

Every reason starts with a short code (``not_json: ...``) that the counts group by: see
``REASONS``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from metrotwin.live.reading import Reading
from metrotwin.observe.files import short
from metrotwin.observe.load import read_source
from metrotwin.observe.read_csv import read_sensor_table
from metrotwin.observe.units import UnitsError, convert
from metrotwin.observe.variables import OBSERVED

#: largest payload read (bytes): a reading is ~100 bytes; 4 KiB leaves room for SensorThings
MAX_PAYLOAD = 4096
#: the reason codes of a refused message
REASONS = ("oversized", "not_json", "malformed", "non_finite", "unknown_sensor",
           "unknown_variable", "bad_units", "future", "too_old")  # fmt: skip
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Refused(ValueError):
    """A message that cannot become a reading; ``str()`` is the reason (``code: why``)."""

    def __init__(self, code: str, why: str):
        super().__init__(f"{code}: {why}")
        self.code = code


@dataclass(frozen=True)
class SensorCatalog:
    """The sensors a twin accepts readings of: sensor id -> the variables it measures, and the
    units of a variable's values when a message gives none (default: the model's units)."""

    variables: dict[str, tuple[str, ...]]
    default_units: dict[str, str] = field(default_factory=dict)
    #: IANA zone of a time written without an offset
    zone: str = "UTC"


def sensor_catalog(section, base_dir: Path = Path(".")) -> SensorCatalog:
    """The catalog of a scenario's ``observations:`` section: the sensors of its sensors
    tables (a source without one: the sensors its file declares), the units of its CSV source
    and the time zone of the first source."""
    variables: dict[str, tuple[str, ...]] = {}
    units: dict[str, str] = {}
    for i, source in enumerate(section.sources):
        what = f"observations source {i + 1} ({source.format}) sensor table"
        if source.sensors is not None:
            sensors = read_sensor_table(Path(base_dir) / source.sensors, what=what)
        else:
            sensors = read_source(source, base_dir, i)[1]
        for sensor in sensors:
            known = variables.get(sensor.sensor_id, ())
            if sensor.variable not in known:
                variables[sensor.sensor_id] = known + (sensor.variable,)
        for name, unit in getattr(source, "units", {}).items():
            units.setdefault(name, unit)
    return SensorCatalog(variables, units, section.sources[0].naive_timezone)


def _decode(payload: bytes) -> dict:
    if len(payload) > MAX_PAYLOAD:
        raise Refused("oversized", f"{len(payload)} bytes, more than the {MAX_PAYLOAD} a "
                                   "message may have")  # fmt: skip
    try:
        document = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise Refused("not_json", f"not UTF-8 (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise Refused("not_json", f"{err.msg} at character {err.pos}") from None
    except RecursionError:
        raise Refused("not_json", "nested too deeply") from None
    if not isinstance(document, dict):
        raise Refused("malformed", f"a JSON {type(document).__name__}, not an object "
                                   '{"sensor_id", "time", "value"}')  # fmt: skip
    return document


def _text(document: dict, key: str, *, optional: bool = False) -> str | None:
    value = document.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise Refused("malformed", f"{key} is {short(value)}; it must be a non-empty string "
                                   "(at most 200 characters)")  # fmt: skip
    return value.strip()


def _sensorthings(document: dict) -> tuple:
    stream = document.get("Datastream")
    if not isinstance(stream, dict):
        raise Refused("malformed", 'Datastream is missing or not an object {"name": ...}')
    ident = stream.get("name") if stream.get("name") is not None else stream.get("@iot.id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    sensor = _text({"Datastream.name": ident}, "Datastream.name")
    when = _text(document, "phenomenonTime").split("/")[-1]
    unit = stream.get("unitOfMeasurement")
    units = _text(unit, "symbol", optional=True) if isinstance(unit, dict) else None
    prop = stream.get("ObservedProperty")
    variable = _text(prop, "name", optional=True) if isinstance(prop, dict) else None
    return sensor, when, document.get("result"), units, variable


def _fields(document: dict) -> tuple:
    """(sensor_id, time text, value, units or None, variable or None) of either shape."""
    if "Datastream" in document or "phenomenonTime" in document:
        return _sensorthings(document)
    key = "sensor" if "sensor" in document and "sensor_id" not in document else "sensor_id"
    return (_text(document, key), _text(document, "time"), document.get("value"),
            _text(document, "units", optional=True), _text(document, "variable", optional=True))


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Refused("malformed", f"value is {short(value)}; it must be a JSON number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise Refused("non_finite", f"value is {short(value)}; it must be finite")
    return number


@dataclass
class MessageReader:
    """Turns payloads into readings for one scenario's sensors.

    ``max_ahead`` (s): how far a reading may be ahead of the twin's clock (a sensor's clock
    drifts; beyond, its clock is wrong); ``max_age`` (s): how old a reading may be (older is
    of no use to a nowcast, or a replayed feed sent to the wrong twin); None: no limit."""

    catalog: SensorCatalog
    max_ahead: float | None = 300.0
    max_age: float | None = 7 * 86400.0

    def __post_init__(self):
        self._zone = ZoneInfo(self.catalog.zone)

    def read(self, payload: bytes, now: datetime) -> Reading:
        """The reading of ``payload`` (bytes), checked against the twin's clock ``now`` (an
        aware datetime); :class:`Refused` with the reason if it is not one."""
        sensor, when, raw, units, variable = _fields(_decode(payload))
        value = _number(raw)
        known = self.catalog.variables.get(sensor)
        if known is None:
            raise Refused("unknown_sensor", f"sensor {short(sensor)} is in no sensors table of "
                                            "the scenario")  # fmt: skip
        if variable is None and len(known) > 1:
            raise Refused("unknown_variable", f"sensor {short(sensor)} measures "
                                              f"{', '.join(known)}: the message must name its "
                                              "variable")  # fmt: skip
        variable = variable if variable is not None else known[0]
        if variable not in known:
            raise Refused("unknown_variable", f"sensor {short(sensor)} measures "
                                              f"{', '.join(known)}, not {short(variable)}")
        stamp = self._time(when, now)
        model_units = OBSERVED[variable].units
        units = units if units is not None else self.catalog.default_units.get(variable)
        if units is not None and units != model_units:
            try:
                value = float(convert([value], units, model_units)[0])
            except UnitsError as err:
                raise Refused("bad_units", f"{err} ({variable} is in {model_units})") from None
        return Reading(sensor, stamp, variable, value, model_units)

    def _time(self, text: str, now: datetime) -> str:
        try:
            stamp = datetime.fromisoformat(text)
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=self._zone)
            stamp = stamp.astimezone(timezone.utc).replace(microsecond=0)
        except (ValueError, OverflowError):  # not a time, or beyond years 1-9999 in UTC
            raise Refused("malformed", f"time {short(text)} is not ISO 8601 (e.g. "
                                       "2026-07-15T06:10:00Z)") from None  # fmt: skip
        ahead = (stamp - now).total_seconds()
        if self.max_ahead is not None and ahead > self.max_ahead:
            raise Refused("future", f"time {short(text)} is {ahead:.0f} s ahead of the twin's "
                                    f"clock ({now:%Y-%m-%dT%H:%M:%SZ}); at most "
                                    f"{self.max_ahead:.0f} s")  # fmt: skip
        if self.max_age is not None and -ahead > self.max_age:
            raise Refused("too_old", f"time {short(text)} is {timedelta(seconds=-ahead)} "
                                     f"before the twin's clock; at most "
                                     f"{timedelta(seconds=self.max_age)}")  # fmt: skip
        return stamp.strftime(TIME_FORMAT)
