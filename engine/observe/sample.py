"""Synthetic observations from a finished run: the run's fields sampled at sensor positions
with seeded Gaussian noise of each sensor's error std, written as long-form CSV (what
``metrotwin observe RUN_DIR --sensors sensors.csv -o obs.csv`` does; for twin experiments).

Samples are clipped to the variable's plausible range (a gauge never reports a negative
depth), which biases the noise where the truth is within a few stds of a bound. A sample where
the field is NaN (air temperature inside a building) is left out and counted."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from metrotwin.errors import DataSourceError
from metrotwin.city.grid import Grid
from metrotwin.observe.files import short
from metrotwin.observe.read_csv import read_sensor_table
from metrotwin.observe.snap import lonlat_to_crs, snap_to_cells, snap_to_links
from metrotwin.observe.variables import OBSERVED
from metrotwin.results.output import open_runs, write_text_atomic

#: the fields.nc variable(s) each observed variable is sampled from
FIELDS = {
    "water_depth": ("flood_water_thickness",),
    "water_level": ("flood_water_thickness", "surface_altitude"),  # depth + ground
    "rain_rate": ("rainfall_rate",),
    "air_temperature": ("air_temperature",),
    "vehicle_count": ("link_flow",),  # h-1, times the counting interval
    "vehicle_speed": ("link_speed",),
}


def grid_of(ds) -> Grid:
    """The grid of a fields.nc dataset (cell centres ``x``, ``y``; CRS in ``spatial_ref``)."""
    x, y = ds["x"].values, ds["y"].values
    res = float(x[1] - x[0]) if x.size > 1 else float(y[0] - y[1])
    wkt = ds["spatial_ref"].attrs.get("crs_wkt") or ds["spatial_ref"].attrs.get("spatial_ref")
    return Grid(ny=y.size, nx=x.size, resolution=res, west=float(x[0]) - res / 2,
                north=float(y[0]) + res / 2, crs=wkt)  # fmt: skip


def sample_run(run_dir: Path, sensors: Path, out: Path, *, seed: int = 0,
               variant: str | None = None) -> dict[str, int]:  # fmt: skip
    """Write ``out`` (CSV ``sensor_id,time,variable,value,units``) from the run ``run_dir``
    (a variant folder, or a run folder: ``variant`` or the baseline) sampled at the sensors of
    the sensor table ``sensors``. Returns the number of rows written and of samples left out.
    ``out`` must not exist (nothing a user owns is overwritten)."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise DataSourceError(f"{out} exists; give a new file name for the observations")
    table = read_sensor_table(Path(sensors))
    runs = open_runs(run_dir, variants=None if variant is None else [variant])
    try:
        return _sample(runs.isel(variant=0), table, run_dir, sensors, out, seed)
    finally:
        runs.close()


def _sample(ds, table, run_dir, sensors, out, seed) -> dict[str, int]:
    grid = grid_of(ds)
    x = np.array([s.x for s in table])
    y = np.array([s.y for s in table])
    geo = ~(np.isfinite(x) & np.isfinite(y))
    if geo.any():
        lon = np.array([s.lon for s in table])
        lat = np.array([s.lat for s in table])
        x[geo], y[geo] = lonlat_to_crs(lon[geo], lat[geo], grid.pyproj_crs)
    cell, _ = snap_to_cells(grid, x, y)
    link = np.full(len(table), -1)
    if "link_from" in ds:
        link, _ = snap_to_links(ds["node_x"].values, ds["node_y"].values,
                                ds["link_from"].values, ds["link_to"].values, x, y)
    times = ds["time"].values
    rng = np.random.default_rng(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sensor_id", "time", "variable", "value", "units"])
    written = skipped = 0
    stamps = [np.datetime_as_string(t, unit="s") + "Z" for t in times.astype("datetime64[s]")]
    for k, sensor in enumerate(table):
        spec = OBSERVED[sensor.variable]
        names = FIELDS[sensor.variable]
        missing = [n for n in names if n not in ds]
        if missing:
            raise DataSourceError(f"{run_dir}: the run has no field {missing[0]!r}, which "
                                  f"sensor {short(sensor.sensor_id)} ({sensor.variable}) needs")
        where = link[k] if spec.on == "link" else cell[k]
        if cell[k] < 0 or where < 0:
            raise DataSourceError(f"{sensors}: sensor {short(sensor.sensor_id)} lies outside "
                                  "the run's domain (or no road link is near it)")
        truth = _series(ds, names, where, grid, spec.on)
        if sensor.variable == "vehicle_count":
            if not np.isfinite(sensor.interval):
                raise DataSourceError(f"{sensors}: vehicle counts of sensor "
                                      f"{short(sensor.sensor_id)} need an interval column")
            truth = truth * sensor.interval / 3600.0
        noisy = truth + sensor.error_std * rng.standard_normal(truth.size)
        noisy = np.clip(noisy, spec.valid_min, spec.valid_max)
        for stamp, value in zip(stamps, noisy):
            if not np.isfinite(value):
                skipped += 1
                continue
            writer.writerow([sensor.sensor_id, stamp, sensor.variable, repr(float(value)),
                             spec.units])  # fmt: skip
            written += 1
    write_text_atomic(out, buffer.getvalue())
    return {"rows": written, "left_out": skipped}


def _series(ds, names, where, grid, on) -> np.ndarray:
    """The truth at one cell or link over the output times (sum of ``names``' fields)."""
    total = 0.0
    for name in names:
        da = ds[name]
        if on == "link":
            values = da.isel(link=int(where)).values
        else:
            row, col = divmod(int(where), grid.nx)
            values = da.isel(y=row, x=col).values
        total = total + np.asarray(values, float)
    return np.broadcast_to(total, ds["time"].shape).astype(float)
