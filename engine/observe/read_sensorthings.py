"""OGC SensorThings API JSON, as a SensorThings server exports it and saved to a file:
``{"value": [Thing, ...]}`` (or a list of Things, or one Thing), each Thing with its
``Locations`` (GeoJSON, WGS84) and ``Datastreams``, each Datastream with its
``ObservedProperty``, ``unitOfMeasurement`` and ``Observations`` (``phenomenonTime``,
``result``) expanded (``$expand=Locations,Datastreams/ObservedProperty,
Datastreams/Observations``). The sensor id is the Thing's ``name`` (else its ``@iot.id``); an
interval ``phenomenonTime`` (``start/end``) is read at its end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from metrotwin.errors import DataSourceError
from metrotwin.observe.files import read_text
from metrotwin.observe.readings import Readings, Sensor, finish, parse_time, parse_value
from metrotwin.observe.variables import OBSERVED


def _things(document):
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        return document["value"]
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and "Datastreams" in document:
        return [document]
    return None


def _point(thing) -> tuple[float, float]:
    for location in thing.get("Locations") or []:
        geometry = location.get("location") if isinstance(location, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coords = geometry.get("coordinates")
            if isinstance(coords, list) and len(coords) >= 2:
                lon, lat = parse_value(coords[0]), parse_value(coords[1])
                if lon is not None and lat is not None:
                    return lon, lat
    return np.nan, np.nan


def _variable(stream, mapping) -> str:
    prop = stream.get("ObservedProperty") or {}
    for key in (prop.get("name"), stream.get("name"), prop.get("definition")):
        if isinstance(key, str):
            if key in mapping:
                return mapping[key]
            if key in OBSERVED:
                return key
    name = prop.get("name") or stream.get("name") or ""
    return f"<{str(name)[:40]}>"  # not an observed variable: its readings are flagged


def read_sensorthings_readings(path: Path, *, zone: str = "UTC",
                               mapping: dict[str, str] | None = None,
                               what: str = "observations") -> Readings:  # fmt: skip
    """Readings and sensor positions of a SensorThings JSON export."""
    mapping = mapping or {}
    try:
        document = json.loads(read_text(path, what=what))
    except (json.JSONDecodeError, RecursionError) as err:
        where = f" (line {err.lineno})" if isinstance(err, json.JSONDecodeError) else ""
        raise DataSourceError(f"{what}: {path} is not JSON{where}") from None
    things = _things(document)
    if things is None:
        raise DataSourceError(f"{what}: {path} holds no SensorThings Things (expected "
                              '{"value": [Thing, ...]} with Locations and Datastreams expanded)')
    out = Readings(source=str(path))
    times, values, units = [], [], []
    for thing in things:
        if not isinstance(thing, dict):
            continue
        sensor_id = str(thing.get("name") or thing.get("@iot.id") or "")[:200]
        lon, lat = _point(thing)
        for stream in thing.get("Datastreams") or []:
            if not isinstance(stream, dict):
                continue
            variable = _variable(stream, mapping)
            unit = stream.get("unitOfMeasurement") or {}
            symbol = unit.get("symbol") if isinstance(unit, dict) else None
            if variable in OBSERVED:
                out.sensors.append(Sensor(sensor_id, variable, lon=lon, lat=lat,
                                          origin=str(path)))
            for obs in stream.get("Observations") or []:
                obs = obs if isinstance(obs, dict) else {}
                when = obs.get("phenomenonTime")
                when = when.split("/")[-1] if isinstance(when, str) else ""
                out.sensor_id.append(sensor_id)
                out.variable.append(variable)
                times.append(parse_time(when, zone))
                values.append(parse_value(obs.get("result")))
                units.append(str(symbol) if symbol is not None else "<no unit symbol>")
    return finish(out, np.array(times, "datetime64[ns]"), values, units)
