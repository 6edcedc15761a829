"""Twin experiments: a truth run with one forcing, synthetic sensors sampled from it with
noise, and the filter run from the wrong forcing (helpers shared by the twin tests)."""

from __future__ import annotations

import copy
import csv

import numpy as np

from metrotwin.city.build import build_city
from metrotwin.observe.snap import snap_to_links
from metrotwin.run.runner import prepare_variant
from metrotwin.run.scenario import parse_scenario

START = "2026-07-15T06:00:00"


def scenario_data(**extra) -> dict:
    """A small generated city (1.2 km x 1 km, 20 m cells)."""
    data = {
        "name": "twin", "seed": 7,
        "domain": {"generated": {"size_x": 1200, "size_y": 1000, "resolution": 20}},
        "period": {"start": START, "duration": "2 h", "coupling_interval": "10 min",
                   "output_interval": "10 min"},
        "forcing": {"rainfall": {"hyetograph": [[0, 0], [600, 30], [3600, 10], [5400, 0]]}},
        "models": {"flood": {"buildings": "raised"}},
    }  # fmt: skip
    data.update(extra)
    return data


def run_plain(data: dict, fields: list[str], base_dir=None):
    """Run a scenario without assimilation; returns {field: [array at each coupling time]}
    (t > 0) and the city state."""
    scenario = parse_scenario(data, base_dir=base_dir)
    city = build_city(scenario)
    p = prepare_variant(scenario, "baseline", city)
    p.coupler.allocate()
    p.coupler.initialize()
    out = {name: [] for name in fields}
    times = []

    def record(t):
        if t > 0:
            times.append(t)
            for name in fields:
                out[name].append(np.array(p.state[name], copy=True))

    p.coupler.run(lambda t: None, record)
    p.coupler.finalize()
    return out, times, city


def write_sensors(path, sensors: list[tuple[str, str, float, float, float]]):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sensor_id", "variable", "x", "y", "error_std"])
        w.writerows(sensors)


#: the field each observed variable reads
FIELD = {"water_depth": "flood_water_thickness", "air_temperature": "air_temperature",
         "vehicle_count": "link_flow"}  # fmt: skip
#: counting interval of the twins' traffic counters (s): the coupling interval
COUNT_INTERVAL = 600.0


def write_readings(path, sensors, cells, series, times, seed: int):
    """Readings of each sensor: the truth's field (``series``) at its cell (or link: the
    vehicles counted in ``COUNT_INTERVAL``), plus noise."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(START, "s")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sensor_id", "time", "variable", "value"])
        for (sid, var, _, _, std), cell in zip(sensors, cells):
            for k, t in enumerate(times):
                truth = series[FIELD[var]][k].ravel()[cell]
                if var == "vehicle_count":
                    truth *= COUNT_INTERVAL / 3600.0
                value = truth + std * rng.standard_normal()
                if var in ("water_depth", "vehicle_count"):
                    value = max(value, 0.0)
                stamp = np.datetime_as_string(start + np.timedelta64(int(t), "s")) + "Z"
                w.writerow([sid, stamp, var, repr(float(value))])


def run_assimilated(data: dict, base_dir):
    """Prepare and run the assimilating coupler; returns it."""
    scenario = parse_scenario(copy.deepcopy(data), base_dir=base_dir)
    city = build_city(scenario)
    p = prepare_variant(scenario, "baseline", city)
    p.coupler.allocate()
    p.coupler.initialize()
    p.coupler.run(lambda t: None)
    p.coupler.finalize()
    return p.coupler


def place_sensors(city, mask, n: int, variable: str, std: float, seed: int = 1):
    """``n`` sensors of ``variable`` on cells of ``mask`` (off buildings and open water),
    chosen with ``seed``: (sensor rows for the table, their flat cells)."""
    ok = mask & (city["building_height"] == 0) & (city["land_cover"] != 1)
    cells = np.sort(np.random.default_rng(seed).choice(np.flatnonzero(ok.ravel()), n,
                                                       replace=False))  # fmt: skip
    g = city.grid
    xs, ys = np.tile(g.x, g.ny), np.repeat(g.y, g.nx)
    prefix = variable.split("_")[-1][0]
    return [(f"{prefix}{i}", variable, xs[c], ys[c], std) for i, c in enumerate(cells)], cells


def place_counters(city, flows, n: int, std: float, seed: int = 1):
    """``n`` traffic counters at the midpoints of links with traffic in ``flows`` (the truth's
    link flows at each time), chosen with ``seed`` among the links a counter at the midpoint
    snaps to (of a road's two directions, the lower index): (sensor rows, their links)."""
    ds = city.ds
    nx, ny = ds["node_x"].values, ds["node_y"].values
    start, end = ds["link_from"].values, ds["link_to"].values
    mx, my = 0.5 * (nx[start] + nx[end]), 0.5 * (ny[start] + ny[end])
    snapped, _ = snap_to_links(nx, ny, start, end, mx, my)
    busy = np.flatnonzero((np.max(flows, axis=0) > 0) & (snapped == np.arange(mx.size)))
    links = np.sort(np.random.default_rng(seed).choice(busy, n, replace=False))
    return [(f"c{i}", "vehicle_count", mx[k], my[k], std) for i, k in enumerate(links)], links


def twin_setup(tmp_path, base: dict, truth: dict, field: str, sensors_of, *, held_every=4,
               assimilation=None, seed=3, extra_sources=()):  # fmt: skip
    """Run the truth, sample its sensors (``sensors_of(city, truth series)``) into CSV files
    in ``tmp_path``, and run the filter from ``base``; returns (coupler, truth series, times,
    sensor cells)."""
    series, times, city = run_plain(truth, [field])
    sensors, cells = sensors_of(city, series)
    write_sensors(tmp_path / "sensors.csv", sensors)
    write_readings(tmp_path / "obs.csv", sensors, cells, series, times, seed=seed)
    data = copy.deepcopy(base)
    data["observations"] = {
        "sources": [{"format": "csv", "path": "obs.csv", "sensors": "sensors.csv",
                     "count_interval": COUNT_INTERVAL}, *extra_sources],
        "withhold": [s[0] for s in sensors[::held_every]]}
    data["assimilation"] = assimilation or {"members": 12, "localisation_radius": 600,
                                            "rtps": 0.0}
    return run_assimilated(data, tmp_path), series, times, cells


def skill(coupler, withheld: bool) -> dict[str, float]:
    """RMSE against the readings of the free run and of the analysis mean, and the spread-
    skill ratio of the analysis (sqrt(mean spread^2 + mean error var) / RMSE: 1 for an
    ensemble whose spread matches its error, Fortin et al. 2014 MWR 142:1269 with the
    observation error added), at the withheld or at the assimilated sensors."""
    obs, v = coupler.obs, coupler.values
    sel = (obs.flag == (1 if withheld else 0)) & np.isfinite(v["analysis_mean"])
    std = obs.error_std[obs.station[sel]]

    def rmse(kind):
        return float(np.sqrt(np.mean((v[kind][sel] - obs.value[sel]) ** 2)))

    spread = float(np.sqrt(np.mean(v["analysis_spread"][sel] ** 2) + np.mean(std**2)))
    return {"free": rmse("free_run"), "analysis": rmse("analysis_mean"),
            "spread_skill": spread / rmse("analysis_mean"), "n": int(sel.sum())}
