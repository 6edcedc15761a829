"""Quality control: readings and declared sensors into one :class:`ObservationSet`, every
reading flagged with the first reason it cannot be used (see :mod:`metrotwin.observe.flags`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metrotwin.errors import DataSourceError, ScenarioError
from metrotwin.city.grid import Grid
from metrotwin.observe.files import short
from metrotwin.observe.flags import FLAG, GOOD, WITHHELD
from metrotwin.observe.readings import Readings, Sensor
from metrotwin.observe.snap import lonlat_to_crs, snap_to_cells, snap_to_links
from metrotwin.observe.table import ObservationSet
from metrotwin.observe.variables import OBSERVED


class ObservationsUnusable(DataSourceError):
    """Not one reading of the scenario's observations can be used."""


def assemble(readings: Sequence[Readings], sensors: Sequence[Sensor], grid: Grid, *,
             building_height: np.ndarray | None = None, network: dict | None = None,
             max_link_distance: float = 25.0, withhold: list[str] | float = (),
             seed: int = 0) -> ObservationSet:  # fmt: skip
    """Check every reading and build the observation set.

    ``sensors`` are the declared sensors (sensor tables first: the first declaration of a
    (sensor, variable) wins); ``network`` holds ``node_x, node_y, link_from, link_to`` arrays
    (the state's road network) or is None; ``withhold`` names sensors, or gives the fraction
    of sensors with good readings to keep out of the analysis (chosen with ``seed``)."""
    stations: dict[tuple[str, str], int] = {}
    declared: list[Sensor] = []
    for sensor in sensors:
        key = (sensor.sensor_id, sensor.variable)
        if key not in stations:
            stations[key] = len(declared)
            declared.append(sensor)
    n_declared = len(declared)
    station_parts, order = [], []
    for src, r in enumerate(readings):
        idx = np.empty(len(r), np.int64)
        for i, key in enumerate(zip(r.sensor_id, r.variable)):
            if key not in stations:
                stations[key] = len(declared)
                declared.append(Sensor(key[0], key[1]))
            idx[i] = stations[key]
        station_parts.append(idx)
        order.append(np.full(len(r), src, np.int16))
    n = len(declared)
    station = np.concatenate(station_parts) if station_parts else np.zeros(0, np.int64)
    flag = np.concatenate([r.flag for r in readings]) if readings else np.zeros(0, np.uint8)
    time = (np.concatenate([r.time for r in readings]) if readings
            else np.zeros(0, "datetime64[ns]"))  # fmt: skip
    value = np.concatenate([r.value for r in readings]) if readings else np.zeros(0)
    attr = {k: np.array([getattr(s, k) for s in declared], float).reshape(n)
            for k in ("x", "y", "lon", "lat", "error_std", "interval")}  # fmt: skip
    # positions: lon/lat into the scenario CRS where no x, y is given
    geo = ~(np.isfinite(attr["x"]) & np.isfinite(attr["y"])) & np.isfinite(attr["lon"])
    if geo.any():
        attr["x"][geo], attr["y"][geo] = lonlat_to_crs(attr["lon"][geo], attr["lat"][geo],
                                                       grid.pyproj_crs)
    cell, distance = snap_to_cells(grid, attr["x"], attr["y"])
    variable = np.array([s.variable for s in declared], object).reshape(n)
    on_link = np.array([v in OBSERVED and OBSERVED[v].on == "link" for v in variable], bool)
    link = np.full(n, -1, np.int64)
    if network is not None and on_link.any():
        lk, ld = snap_to_links(network["node_x"], network["node_y"], network["link_from"],
                               network["link_to"], attr["x"][on_link], attr["y"][on_link])
        link[on_link], distance[on_link] = lk, ld
    elif on_link.any():
        distance[on_link] = np.nan
    # the reason a station cannot be used (0: it can)
    reason = np.zeros(n, np.uint8)
    known = np.arange(n) < n_declared
    positioned = np.isfinite(attr["x"]) & np.isfinite(attr["y"])

    def mark(mask, name):
        reason[(reason == 0) & mask] = FLAG[name]

    mark(~known | ~positioned, "unknown_sensor")
    mark(cell < 0, "outside_domain")
    at_ground = np.array([v in OBSERVED and OBSERVED[v].at_ground for v in variable], bool)
    if building_height is not None:
        in_building = np.zeros(n, bool)
        in_building[cell >= 0] = np.ravel(building_height)[cell[cell >= 0]] > 0
        mark(at_ground & in_building, "inside_building")
    mark(on_link & ~(distance <= max_link_distance), "far_from_link")
    good = flag == GOOD
    st_reason = reason[station]
    flag[good & (st_reason > 0)] = st_reason[good & (st_reason > 0)]
    # plausible range, per variable
    for name, spec in OBSERVED.items():
        rows = (flag == GOOD) & (variable[station] == name)
        out = rows & ~((value >= spec.valid_min) & (value <= spec.valid_max))
        flag[out] = FLAG["out_of_range"]
    _flag_time_order(station, time, flag)
    _check_declared(declared[:n_declared], known, reason, variable)
    _withhold(withhold, seed, station, flag, np.array([s.sensor_id for s in declared], object))
    return ObservationSet(
        sensor_id=np.array([s.sensor_id for s in declared], object).reshape(n),
        variable=variable, x=attr["x"], y=attr["y"], lon=attr["lon"], lat=attr["lat"],
        error_std=attr["error_std"], interval=attr["interval"], cell=cell, link=link,
        distance=distance, station=station, time=time, value=value, flag=flag,
        source=np.concatenate(order) if order else np.zeros(0, np.int16),
        sources=[r.source for r in readings],
    )


def _flag_time_order(station, time, flag) -> None:
    """Per station, in the order read: a reading at a time already seen is a duplicate (the
    first one is kept), one earlier than a reading before it is non-monotonic."""
    rows = np.flatnonzero(flag == GOOD)
    if rows.size == 0:
        return
    by_station = rows[np.argsort(station[rows], kind="stable")]
    st = station[by_station]
    bounds = np.flatnonzero(np.diff(st)) + 1
    for group in np.split(by_station, bounds):
        t = time[group].astype(np.int64)
        _, first = np.unique(t, return_index=True)
        dup = np.ones(group.size, bool)
        dup[first] = False
        flag[group[dup]] = FLAG["duplicate"]
        latest_before = np.maximum.accumulate(np.concatenate([[np.iinfo(np.int64).min], t[:-1]]))
        late = ~dup & (t < latest_before)
        flag[group[late]] = FLAG["non_monotonic"]


def _check_declared(declared: list[Sensor], known, reason, variable) -> None:
    """Declared sensors that readings would use need an error std (and counts an interval)."""
    for i, sensor in enumerate(declared):
        if reason[i]:
            continue
        if not (np.isfinite(sensor.error_std) and sensor.error_std > 0):
            raise DataSourceError(
                f"{sensor.origin or 'observations'}: sensor {short(sensor.sensor_id)} "
                f"({variable[i]}) has no error std; give it in the sensor table (error_std) "
                "or in the source's error_std: {variable: std}")
        if variable[i] == "vehicle_count" and not np.isfinite(sensor.interval):
            raise DataSourceError(
                f"{sensor.origin or 'observations'}: vehicle counts of sensor "
                f"{short(sensor.sensor_id)} have no counting interval; give it in the sensor "
                "table (interval) or in the source's count_interval")


def _withhold(withhold, seed, station, flag, ids) -> None:
    if isinstance(withhold, float):
        candidates = sorted(set(ids[station[flag == GOOD]]))
        k = int(round(withhold * len(candidates)))
        rng = np.random.default_rng(seed)
        picked = rng.choice(np.array(candidates, object), size=k, replace=False) if k else []
        chosen = set(picked)
    else:
        chosen = set(withhold)
        unknown = sorted(chosen - set(ids))
        if unknown:
            raise ScenarioError(f"withhold names sensor {short(unknown[0])}, which no source "
                                "declares", source="observations.withhold")
    if chosen:
        held = np.array([i in chosen for i in ids], bool)
        flag[(flag == GOOD) & held[station]] = WITHHELD


def require_usable(obs: ObservationSet) -> None:
    """Refuse (before the run starts) a set of which not one reading is good."""
    if obs.n_obs == 0 or not (obs.flag == GOOD).any():
        raise ObservationsUnusable(
            f"not one of the {obs.n_obs} observation readings can be used: {obs.summary()}; "
            "fix the files or remove the observations section")
