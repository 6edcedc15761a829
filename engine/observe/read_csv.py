"""Long-form CSV readings (``sensor_id,time,variable,value[,units]``) and the CSV sensor
table (``sensor_id,variable,x,y`` or ``lon,lat``, ``error_std[,error_units][,interval]``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from metrotwin.errors import DataSourceError
from metrotwin.observe.files import read_text, short
from metrotwin.observe.readings import Readings, Sensor, finish, parse_time, parse_value
from metrotwin.observe.units import UnitsError, convert
from metrotwin.observe.variables import OBSERVED
from metrotwin.scenario.units import parse_duration

READING_COLUMNS = ("sensor_id", "time", "variable", "value")
SENSOR_COLUMNS = ("sensor_id", "variable", "error_std")


def _rows(path: Path, what: str, required: tuple[str, ...]):
    text = read_text(path, what=what)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DataSourceError(f"{what}: {path} is empty; it needs a header "
                              f"{','.join(required)}") from None
    except csv.Error as err:
        raise DataSourceError(f"{what}: {path} is not CSV ({err})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise DataSourceError(f"{what}: {path} has no column {', '.join(missing)}; the header "
                              f"must name {','.join(required)} (it is {short(','.join(header))})")
    return header, reader


def read_sensor_table(path: Path, *, what: str = "sensor table") -> list[Sensor]:
    """The sensors of a CSV sensor table; :class:`DataSourceError` naming the row and column
    of the first invalid entry (a sensor table is configuration, not data: it must be right)."""
    header, reader = _rows(path, what, SENSOR_COLUMNS)
    has_xy = {"x", "y"} <= set(header)
    has_lonlat = {"lon", "lat"} <= set(header)
    if not (has_xy or has_lonlat):
        raise DataSourceError(f"{what}: {path} needs columns x,y (scenario CRS, m) or lon,lat "
                              "(WGS84, degrees)")
    col = {name: i for i, name in enumerate(header)}
    sensors = []
    try:
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataSourceError(f"{what}: {path} line {line} has {len(row)} fields, the "
                                      f"header {len(header)}")
            cell = {name: row[i].strip() for name, i in col.items()}

            def number(name, line=line, cell=cell):
                value = parse_value(cell.get(name, "") or "nan")
                if value is None:
                    raise DataSourceError(f"{what}: {path} line {line}, column {name}: "
                                          f"{short(cell[name])} is not a number")
                return value

            sensor = Sensor(cell["sensor_id"], cell["variable"], origin=str(path))
            if not sensor.sensor_id:
                raise DataSourceError(f"{what}: {path} line {line}: empty sensor_id")
            if sensor.variable not in OBSERVED:
                raise DataSourceError(f"{what}: {path} line {line}, column variable: "
                                      f"{short(sensor.variable)} is not one of "
                                      f"{', '.join(OBSERVED)}")
            for name in ("x", "y", "lon", "lat"):
                setattr(sensor, name, number(name))
            if not (np.isfinite([sensor.x, sensor.y]).all()
                    or np.isfinite([sensor.lon, sensor.lat]).all()):
                raise DataSourceError(f"{what}: {path} line {line}: sensor "
                                      f"{short(sensor.sensor_id)} has no position (x,y or lon,lat)")
            std = number("error_std")
            try:
                units = cell.get("error_units") or OBSERVED[sensor.variable].units
                # an error std is a difference: temperature offsets do not apply
                if units.strip().lower() in ("degc", "degree_c", "°c", "celsius"):
                    units = "K"
                std = float(convert([std], units, OBSERVED[sensor.variable].units)[0])
            except UnitsError as err:
                raise DataSourceError(f"{what}: {path} line {line}, column error_units: "
                                      f"{err}") from None
            if not (np.isfinite(std) and std > 0):
                raise DataSourceError(f"{what}: {path} line {line}, column error_std: "
                                      f"{short(cell['error_std'])}; it must be a number > 0")
            sensor.error_std = std
            if cell.get("interval"):
                try:
                    sensor.interval = parse_duration(cell["interval"])
                except ValueError:
                    raise DataSourceError(f"{what}: {path} line {line}, column interval: "
                                          f"{short(cell['interval'])} is not a duration") from None
            sensors.append(sensor)
    except csv.Error as err:
        raise DataSourceError(f"{what}: {path} is not valid CSV ({err})") from None
    if not sensors:
        raise DataSourceError(f"{what}: {path} declares no sensor")
    return sensors


def read_csv_readings(path: Path, *, zone: str = "UTC", units: dict[str, str] | None = None,
                      what: str = "observations") -> Readings:  # fmt: skip
    """Readings of a long-form CSV file, in file order. A row that does not parse (wrong
    number of fields, bad time or value) is kept as a ``malformed`` reading."""
    header, reader = _rows(path, what, READING_COLUMNS)
    col = {name: i for i, name in enumerate(header)}
    default_units = units or {}
    out = Readings(source=str(path))
    times, values, unit_list = [], [], []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            ok = len(row) == len(header)
            get = (lambda name, row=row: row[col[name]].strip() if name in col else "")
            out.sensor_id.append(get("sensor_id") if ok else (row[0].strip() if row else ""))
            var = get("variable") if ok else ""
            out.variable.append(var)
            times.append(parse_time(get("time"), zone) if ok else np.datetime64("NaT", "ns"))
            values.append(parse_value(get("value")) if ok else None)
            unit = get("units") or default_units.get(var)
            unit_list.append(unit or None)
    except csv.Error as err:
        raise DataSourceError(f"{what}: {path} is not valid CSV ({err})") from None
    return finish(out, times, values, unit_list)
