"""netCDF readings following CF discrete sampling geometries, ``featureType: timeSeries``
(CF 1.11 chapter 9): orthogonal or incomplete multidimensional arrays (``station, time``),
contiguous ragged arrays (``row_size`` with ``sample_dimension``) and indexed ragged arrays
(``station_index`` with ``instance_dimension``). Fill values are "no reading" in CF and are
not readings; a NaN that is not the fill value is a non-finite reading."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

from metrotwin.errors import DataSourceError
from metrotwin.observe.files import read_bytes, short
from metrotwin.observe.readings import NAT, Readings, Sensor, finish
from metrotwin.observe.variables import OBSERVED, by_standard_name


def _strings(var) -> list[str]:
    data = var[...]
    if var.dtype == "S1" or (hasattr(data, "dtype") and data.dtype.kind == "S" and data.ndim > 1):
        data = netCDF4.chartostring(np.ma.filled(data, b""))
    return [str(s.decode() if isinstance(s, bytes) else s).strip() for s in np.ravel(data)]


def _floats(var) -> np.ndarray:
    return np.ma.filled(np.ma.asarray(var[...], dtype=float), np.nan)


def _find(nc, **attrs):
    for name, var in nc.variables.items():
        if all(getattr(var, key, None) in values for key, values in attrs.items()):
            return name, var
    return None, None


def _times(var, what) -> np.ndarray:
    units = getattr(var, "units", None)
    if not units or "since" not in units:
        raise DataSourceError(f"{what}: time variable {var.name!r} has units {short(units)}; "
                              "CF needs '<unit> since <date>'")
    raw = np.ma.asarray(var[...])
    out = np.full(raw.shape, NAT)
    ok = ~np.ma.getmaskarray(raw) & np.isfinite(np.ma.filled(raw.astype(float), np.nan))
    try:
        stamps = netCDF4.num2date(np.asarray(raw)[ok], units,
                                  getattr(var, "calendar", "standard"),
                                  only_use_cftime_datetimes=False,
                                  only_use_python_datetimes=True)  # fmt: skip
    except (ValueError, TypeError) as err:
        raise DataSourceError(f"{what}: time variable {var.name!r} cannot be decoded "
                              f"({short(str(err), 80)})") from None
    out[ok] = np.array([np.datetime64(s, "ns") for s in np.ravel(stamps)])
    return out  # the UTC offset of the units is applied by num2date


def read_netcdf_readings(path: Path, *, mapping: dict[str, str] | None = None,
                         what: str = "observations") -> Readings:  # fmt: skip
    """Readings and station positions of a CF timeSeries netCDF file."""
    data = read_bytes(path, what=what)
    try:
        nc = netCDF4.Dataset("observations", mode="r", memory=data)
    except OSError:
        raise DataSourceError(f"{what}: {path} is not a netCDF file") from None
    try:
        return _read(nc, path, mapping or {}, what)
    finally:
        nc.close()


def _read(nc, path, mapping, what) -> Readings:
    feature = str(getattr(nc, "featureType", "")).lower()
    if feature != "timeseries":
        raise DataSourceError(f"{what}: {path} has featureType {short(feature)}; metrotwin "
                              "reads CF discrete sampling geometries with featureType timeSeries")
    id_name, id_var = _find(nc, cf_role=("timeseries_id",))
    if id_var is None:
        raise DataSourceError(f"{what}: {path} has no variable with cf_role timeseries_id")
    station_dim = id_var.dimensions[0]
    ids = _strings(id_var)
    n_station = len(ids)
    time_name, time_var = _find(nc, standard_name=("time",))
    if time_var is None and "time" in nc.variables:
        time_name, time_var = "time", nc.variables["time"]
    if time_var is None:
        raise DataSourceError(f"{what}: {path} has no time variable (standard_name time)")
    times = _times(time_var, f"{what}: {path}")
    coords = {}
    for key, names in (("lon", ("longitude",)), ("lat", ("latitude",)),
                       ("x", ("projection_x_coordinate",)), ("y", ("projection_y_coordinate",))):
        _, var = _find(nc, standard_name=names)
        if var is not None and var.dimensions == (station_dim,):
            coords[key] = _floats(var)
    # the data variables: a standard name metrotwin knows, or the source's mapping
    data_vars = {}
    for name, var in nc.variables.items():
        if name in (id_name, time_name) or name in nc.dimensions:
            continue
        observed = mapping.get(name)
        if observed is None:
            found = by_standard_name(getattr(var, "standard_name", ""))
            observed = found.name if found else None
        if observed is not None and station_dim in var.dimensions or (
            observed is not None and var.dimensions == time_var.dimensions
        ):
            data_vars[name] = (observed, var)
    if not data_vars:
        raise DataSourceError(f"{what}: {path} has no variable metrotwin observes (standard_name "
                              "one of " + ", ".join(s for v in OBSERVED.values()
                                                    for s in v.standard_names)
                              + "); map others with the source's variables: {name: variable}")
    # which station each sample belongs to
    row_name, row_var = _find(nc, sample_dimension=tuple(nc.dimensions))
    index_name, index_var = _find(nc, instance_dimension=(station_dim,))
    if row_var is not None:
        sizes = np.ma.filled(row_var[...], 0).astype(np.int64)
        n_samples = len(nc.dimensions[row_var.sample_dimension])
        if sizes.size != n_station or (sizes < 0).any() or sizes.sum() != n_samples:
            raise DataSourceError(f"{what}: {path} row_size {row_name!r} adds up to "
                                  f"{sizes.sum()} readings, the sample dimension has {n_samples}")
        station_of_sample = np.repeat(np.arange(n_station), sizes)
        sample_times = times
    elif index_var is not None:
        station_of_sample = np.ma.filled(index_var[...], -1).astype(np.int64)
        bad = (station_of_sample < 0) | (station_of_sample >= n_station)
        if bad.any():
            raise DataSourceError(f"{what}: {path} {index_name!r} points at station "
                                  f"{station_of_sample[bad][0]}; there are {n_station}")
        sample_times = times
    else:
        station_of_sample = None  # multidimensional
    out = Readings(source=str(path))
    all_times, all_values, all_units = [], [], []
    for name, (observed, var) in data_vars.items():
        raw = np.ma.asarray(var[...], dtype=float)
        present = ~np.ma.getmaskarray(raw)
        values = np.asarray(raw.data, dtype=float)
        if station_of_sample is not None:
            stations, t = station_of_sample, sample_times
        else:  # (station, time): time(time) or time(station, time)
            if var.dimensions[0] != station_dim or raw.ndim != 2:
                raise DataSourceError(f"{what}: {path} variable {name!r} has dimensions "
                                      f"{var.dimensions}; a timeSeries variable is (station, "
                                      "time) or on the sample dimension of a ragged array")
            stations = np.broadcast_to(np.arange(n_station)[:, None], raw.shape)
            t = np.broadcast_to(times if times.ndim == 2 else times[None, :], raw.shape)
        stations, t = np.ravel(stations), np.ravel(t)
        keep = np.ravel(present) & (stations >= 0) & (stations < n_station)
        units = getattr(var, "units", None)
        for s, when, value in zip(stations[keep], t[keep], np.ravel(values)[keep]):
            out.sensor_id.append(ids[s])
            out.variable.append(observed)
            all_times.append(when)
            all_values.append(float(value))
            all_units.append(units if units is not None else "<no units attribute>")
        for s in np.unique(stations[keep]):
            out.sensors.append(Sensor(
                ids[s], observed, x=_at(coords, "x", s), y=_at(coords, "y", s),
                lon=_at(coords, "lon", s), lat=_at(coords, "lat", s), origin=str(path)))
    return finish(out, np.array(all_times, "datetime64[ns]"), all_values, all_units)


def _at(coords, key, s) -> float:
    return float(coords[key][s]) if key in coords else np.nan
