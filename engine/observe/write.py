"""``observations.nc``: every reading, used or not, as a CF discrete-sampling-geometry
timeSeries (contiguous ragged array: readings grouped by station, ``row_size`` per station),
its quality flag as CF ``flag_values`` / ``flag_meanings`` and the counts per reason as global
attributes. Written under a temporary name and renamed when complete."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

from metrotwin.observe.flags import FLAG_MEANINGS
from metrotwin.observe.table import ObservationSet
from metrotwin.observe.variables import OBSERVED
from metrotwin.results.output import CF_VERSION, atomic_path

OBSERVATIONS_FILE = "observations.nc"
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


def write_observations(path: Path, obs: ObservationSet, *, crs_wkt: str | None = None,
                       attrs: dict | None = None) -> None:  # fmt: skip
    """Write ``obs`` to ``path`` (usually ``<variant>/observations.nc``)."""
    order = np.argsort(obs.station, kind="stable")  # contiguous per station, in read order
    st = obs.station[order]
    row_size = np.bincount(st, minlength=obs.n_station).astype(np.int64)
    counts = obs.counts()
    with atomic_path(Path(path)) as tmp:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
            nc.setncatts({
                "Conventions": CF_VERSION, "featureType": "timeSeries",
                "title": "sensor readings with their quality flags",
                "observations_total": obs.n_obs,
                **{f"count_{name}": n for name, n in counts.items()},
                "sources": "\n".join(obs.sources), **(attrs or {}),
            })  # fmt: skip
            nc.createDimension("station", obs.n_station)
            nc.createDimension("obs", obs.n_obs)
            _station_variables(nc, obs, row_size, crs_wkt)
            t = nc.createVariable("time", "f8", ("obs",), fill_value=np.nan)
            t.setncatts({"standard_name": "time", "axis": "T", "calendar": "standard",
                         "units": "seconds since 1970-01-01 00:00:00 UTC"})  # fmt: skip
            times = obs.time[order]
            t[:] = np.where(np.isnat(times), np.nan,
                            (times - _EPOCH).astype("timedelta64[ns]").astype(np.int64) / 1e9)
            f = nc.createVariable("flag", "u1", ("obs",))
            f.setncatts({"long_name": "quality flag of the reading", "standard_name":
                         "quality_flag", "flag_values": np.arange(len(FLAG_MEANINGS), dtype="u1"),
                         "flag_meanings": " ".join(FLAG_MEANINGS)})  # fmt: skip
            f[:] = obs.flag[order]
            r = nc.createVariable("read_order", "i8", ("obs",))
            r.setncatts({"long_name": "position of the reading among all readings as read "
                         "(sources in order, each in file order)", "units": "1"})
            r[:] = order
            s = nc.createVariable("source", "i2", ("obs",))
            s.setncatts({"long_name": "index of the source file (global attribute sources, "
                         "one per line, from 0)", "units": "1"})
            s[:] = obs.source[order]
            var_of_obs = obs.variable[st] if obs.n_obs else np.zeros(0, object)
            for name, spec in OBSERVED.items():
                if not (obs.variable == name).any():
                    continue
                v = nc.createVariable(name, "f8", ("obs",), fill_value=np.nan)
                v.setncatts({"units": spec.units, "long_name": spec.long_name,
                             "coordinates": "time lat lon station_id",
                             "ancillary_variables": "flag"})  # fmt: skip
                if spec.standard_names:
                    v.standard_name = spec.standard_names[0]
                v[:] = np.where(var_of_obs == name, obs.value[order], np.nan)


def _station_variables(nc, obs: ObservationSet, row_size, crs_wkt) -> None:
    sid = nc.createVariable("station_id", str, ("station",))
    sid.setncatts({"cf_role": "timeseries_id", "long_name": "sensor identifier"})
    sid[:] = np.array([str(s) for s in obs.sensor_id], object)
    var = nc.createVariable("observed_variable", str, ("station",))
    var.long_name = "what the sensor measures (the data variable of its readings)"
    var[:] = np.array([str(s) for s in obs.variable], object)
    rs = nc.createVariable("row_size", "i8", ("station",))
    rs.setncatts({"long_name": "number of readings of the station", "sample_dimension": "obs"})
    rs[:] = row_size
    lon, lat = obs.lon.copy(), obs.lat.copy()
    if crs_wkt is not None:  # every station gets its WGS84 position
        from pyproj import Transformer

        to_geo = Transformer.from_crs(crs_wkt, "EPSG:4326", always_xy=True)
        has_xy = np.isfinite(obs.x) & np.isfinite(obs.y)
        lon[has_xy], lat[has_xy] = to_geo.transform(obs.x[has_xy], obs.y[has_xy])
    station_vars = {
        "lon": (lon, {"standard_name": "longitude", "units": "degrees_east"}),
        "lat": (lat, {"standard_name": "latitude", "units": "degrees_north"}),
        "x": (obs.x, {"standard_name": "projection_x_coordinate", "units": "m"}),
        "y": (obs.y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        "error_std": (obs.error_std, {"long_name": "observation error standard deviation, in "
                                      "the units of the station's variable"}),
        "count_interval": (obs.interval, {"units": "s",
                                          "long_name": "counting interval of vehicle counts"}),
        "snap_distance": (obs.distance, {"units": "m", "long_name": "distance from the sensor "
                                         "to its cell centre or its link's centre line"}),
    }
    for name, (values, attrs) in station_vars.items():
        v = nc.createVariable(name, "f8", ("station",), fill_value=np.nan)
        v.setncatts(attrs)
        v[:] = values
    for name, values, text in (("cell_index", obs.cell, "flat grid index (row * nx + col) of "
                                "the sensor's cell, -1 outside the grid"),
                               ("link_index", obs.link, "index of the sensor's road link, -1 "
                                "for a cell sensor or none")):  # fmt: skip
        v = nc.createVariable(name, "i8", ("station",))
        v.setncatts({"long_name": text, "units": "1"})
        v[:] = values
