"""The readings a live twin has heard, as the ``ObservationSet`` an offline run of the same
readings would build: the scenario's sensor tables, the readings parsed, converted to the
model's units, checked and snapped by ``metrotwin.observe`` (the same functions a run that
reads an observations CSV calls: nothing of the quality control is redone here).

The readings are kept in arrival order, the order of the journal: exported as a CSV (one
``metrotwin.live.reading.Reading`` a row), they are the observations file of an offline run,
whose set then has the same readings in the same rows, the same flags and the same stations.

Withheld sensors (``observations.withhold``) are fixed when the twin starts: a twin cannot
wait to see which sensors will report. A fraction is drawn, with the section's seed and
``metrotwin.observe.qc``'s own draw, among the sensors that can be used (known, on the
grid, not inside a building, near their link); an offline run draws among the sensors with a
good reading, the same ones as soon as every usable sensor has reported once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from metrotwin.errors import ScenarioError
from metrotwin.live.reading import Reading
from metrotwin.observe.flags import GOOD, WITHHELD
from metrotwin.observe.load import assemble_on, source_sensors
from metrotwin.observe.readings import Readings, Sensor, finish, parse_time, parse_value
from metrotwin.observe.table import ObservationSet
from metrotwin.observe.variables import OBSERVED

#: the name of the live feed as an observation source (``ObservationSet.sources``)
FEED = "live feed"
#: the zone of reading times (a ``Reading``'s time is UTC, with its ``Z``)
UTC = "UTC"


def declared_sensors(section, base_dir: Path) -> tuple[list[Sensor], dict[str, str]]:
    """The sensors of the sensor tables of the scenario's ``observations`` ``section``
    (paths relative to ``base_dir``), with each source's default error std and counting
    interval, and the units of readings that give none (the sources' ``units``)."""
    sensors, units = [], {}
    for i, source in enumerate(section.sources):
        if source.sensors is None:
            continue
        sensors += source_sensors(source, base_dir, i)
        for variable, unit in getattr(source, "units", {}).items():
            units.setdefault(variable, unit)
    if not sensors:
        raise ScenarioError("a live twin needs the sensors in a sensor table: give "
                            "observations.sources[].sensors (CSV: sensor_id, variable, x, y, "
                            "error_std)", source="observations.sources")  # fmt: skip
    return sensors, units


def as_readings(readings: Iterable[Reading], units: dict[str, str] | None = None) -> Readings:
    """``readings`` as ``metrotwin.observe`` reads the rows of a CSV: times and values
    parsed, converted to the model's units, flagged (``readings.finish``). ``units``: a
    variable's units where a reading gives none."""
    default = units or {}
    out = Readings(source=FEED)
    times, values, unit_list = [], [], []
    for r in readings:
        out.sensor_id.append(r.sensor_id)
        out.variable.append(r.variable)
        times.append(parse_time(r.time, UTC))
        values.append(parse_value(r.value))
        unit_list.append(r.units or default.get(r.variable) or None)
    return finish(out, times, values, unit_list)


def probe_readings(sensors: list[Sensor]) -> Readings:
    """One plausible reading of every sensor (its variable's smallest valid value, at the
    epoch): what the checks of a sensor's station decide, whatever it will read."""
    out = Readings(source="sensor tables")
    out.sensor_id = [s.sensor_id for s in sensors]
    out.variable = [s.variable for s in sensors]
    n = len(sensors)
    out.time = np.zeros(n, "datetime64[ns]")
    out.value = np.array([max(OBSERVED[s.variable].valid_min, 0.0) for s in sensors])
    out.value = np.minimum(out.value, [OBSERVED[s.variable].valid_max for s in sensors])
    out.flag = np.full(n, GOOD, np.uint8)
    return out


class LiveObservations:
    """The sensors of a scenario and the readings a live twin heard, in arrival order.

    ``section``: the scenario's ``observations``; ``state``: the variant's city state (its
    grid, buildings and road network snap the sensors)."""

    def __init__(self, section, base_dir: Path, state):
        self.section = section
        self.sensors, self.units = declared_sensors(section, base_dir)
        self.readings: list[Reading] = []
        self.bind(state)

    def bind(self, state) -> None:
        """Snap onto ``state`` from now on (and fix the withheld sensors on it)."""
        self.state = state
        self.withheld = self._fix_withheld()

    def _fix_withheld(self) -> list[str]:
        """The ids of the sensors kept out of the analysis for the twin's life."""
        if not isinstance(self.section.withhold, float):
            return list(self.section.withhold)
        probe = assemble_on(self.state, self.section, [probe_readings(self.sensors)],
                            self.sensors)  # fmt: skip
        return sorted({str(probe.sensor_id[s]) for s in probe.station[probe.flag == WITHHELD]})

    def add(self, readings: Iterable[Reading]) -> int:
        """Append ``readings`` (in the order they arrived); returns how many."""
        before = len(self.readings)
        self.readings.extend(readings)
        return len(self.readings) - before

    def observation_set(self, count: int | None = None) -> ObservationSet:
        """The first ``count`` readings (default: all) checked and snapped, as an
        ``ObservationSet``."""
        heard = self.readings if count is None else self.readings[:count]
        return assemble_on(self.state, self.section, [as_readings(heard, self.units)],
                           self.sensors, withhold=self.withheld)  # fmt: skip
