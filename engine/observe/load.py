"""The scenario's ``observations:`` section read, checked and snapped onto a city state."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metrotwin.observe.qc import assemble
from metrotwin.observe.read_csv import read_csv_readings, read_sensor_table
from metrotwin.observe.read_netcdf import read_netcdf_readings
from metrotwin.observe.read_sensorthings import read_sensorthings_readings
from metrotwin.observe.readings import Readings, Sensor
from metrotwin.scenario.observations import ObservationsSection
from metrotwin.observe.table import ObservationSet
from metrotwin.city.state import CityState

NETWORK_KEYS = ("node_x", "node_y", "link_from", "link_to")


def read_source(source, base_dir: Path, index: int) -> tuple[Readings, list[Sensor]]:
    """The readings of one source and the sensors it declares (its sensor table first, then
    those of the file, each with the source's default error std and counting interval)."""
    what = f"observations source {index + 1} ({source.format})"
    path = Path(base_dir) / source.path
    if source.format == "csv":
        readings = read_csv_readings(path, zone=source.naive_timezone, units=source.units,
                                     what=what)  # fmt: skip
    elif source.format == "netcdf":
        readings = read_netcdf_readings(path, mapping=source.variables, what=what)
    else:
        readings = read_sensorthings_readings(path, zone=source.naive_timezone,
                                              mapping=source.variables, what=what)  # fmt: skip
    return readings, source_sensors(source, base_dir, index, readings.sensors)


def source_sensors(source, base_dir: Path, index: int, in_file: list[Sensor] = ()) -> list[Sensor]:
    """The sensors source ``index`` declares: its sensor table's, then ``in_file`` (those its
    file declares), each with the source's default error std and counting interval."""
    sensors = []
    if source.sensors is not None:
        what = f"observations source {index + 1} ({source.format}) sensor table"
        sensors = read_sensor_table(Path(base_dir) / source.sensors, what=what)
    sensors = sensors + list(in_file)
    for sensor in sensors:
        if not np.isfinite(sensor.error_std) and sensor.variable in source.error_std:
            sensor.error_std = source.error_std[sensor.variable]
        if not np.isfinite(sensor.interval) and source.count_interval is not None:
            sensor.interval = source.count_interval
    return sensors


def load_observations(section: ObservationsSection, state: CityState,
                      base_dir: Path) -> ObservationSet:  # fmt: skip
    """Read every source of ``section`` (paths relative to ``base_dir``), check every reading
    and snap the sensors onto ``state``'s whole city (its global grid, buildings, road
    network; on a grid split over ranks the buildings are gathered, so that every rank
    snaps alike and the cells are flat indices of the whole grid).

    Unusable readings are flagged, not raised; a file that is not of its format, or a sensor
    table that is wrong, raises :class:`metrotwin.errors.DataSourceError`."""
    all_readings, all_sensors = [], []
    for i, source in enumerate(section.sources):
        readings, sensors = read_source(source, base_dir, i)
        all_readings.append(readings)
        all_sensors.extend(sensors)
    return assemble_on(state, section, all_readings, all_sensors)


def assemble_on(state: CityState, section: ObservationsSection, readings: list[Readings],
                sensors: list[Sensor], *, withhold=None) -> ObservationSet:  # fmt: skip
    """``assemble`` the ``readings`` of ``sensors`` on ``state``'s whole city with the checks
    of ``section`` (``withhold``: instead of the section's, e.g. the sensors a live twin
    fixed at its start)."""
    network = None
    if all(k in state.ds for k in NETWORK_KEYS):
        network = {k: state.ds[k].values for k in NETWORK_KEYS}
    buildings = None
    if "building_height" in state:
        dec = state.decomposition
        whole = (slice(0, dec.global_shape[0]), slice(0, dec.global_shape[1]))
        buildings = dec.fetch_window(state.owned(np.asarray(state["building_height"])), whole)
    return assemble(readings, sensors, state.global_grid, building_height=buildings,
                    network=network, max_link_distance=section.max_link_distance,
                    withhold=section.withhold if withhold is None else withhold,
                    seed=section.seed)  # fmt: skip
