"""``observations.nc``: every reading, used or not, as a CF discrete-sampling-geometry
timeSeries (contiguous ragged array: readings grouped by station, ``row_size`` per station),
its quality flag as CF ``flag_values`` / ``flag_meanings`` and the counts per reason as global
attributes; with an assimilated run, the model's values at each reading (free run, forecast
and analysis ensemble mean and spread) and the innovation. Written under a temporary name and
renamed when complete; :func:`read_observations_nc` reads it back in read order.

A reading's value is stored in the data variable of what its station measures (``water_depth``,
``air_temperature``...: one CF variable per observed variable, since each has its own units,
NaN on the other variables' readings); the model's values likewise, in ``<variable>_<kind>``
(``water_depth_analysis_mean``...) and ``<variable>_innovation``, with the same units."""

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

#: the model's values at a reading that ``write_observations`` accepts, with what each is
MODEL_VALUES: dict[str, str] = {
    "free_run": "free run (the forecast without assimilation) at the sensor",
    "background_mean": "ensemble mean of the forecast before the analysis at the sensor",
    "background_spread": "ensemble spread (standard deviation) of the forecast before the "
                         "analysis at the sensor",
    "analysis_mean": "ensemble mean of the analysis at the sensor",
    "analysis_spread": "ensemble spread (standard deviation) of the analysis at the sensor",
}  # fmt: skip
INNOVATION = "innovation"
_INNOVATION_TEXT = "innovation: observed value minus the forecast ensemble mean at the sensor"

#: station variables (float, NaN unknown) of the file and their CF attributes
_STATION_FLOATS = {
    "lon": {"standard_name": "longitude", "units": "degrees_east"},
    "lat": {"standard_name": "latitude", "units": "degrees_north"},
    "x": {"standard_name": "projection_x_coordinate", "units": "m"},
    "y": {"standard_name": "projection_y_coordinate", "units": "m"},
    "error_std": {"long_name": "observation error standard deviation, in the units of the "
                  "station's variable"},
    "count_interval": {"units": "s", "long_name": "counting interval of vehicle counts"},
    "snap_distance": {"units": "m", "long_name": "distance from the sensor to its cell centre "
                      "or its link's centre line"},
}  # fmt: skip
#: ObservationSet field of each station variable
_STATION_FIELD = {"count_interval": "interval", "snap_distance": "distance",
                  "cell_index": "cell", "link_index": "link"}  # fmt: skip
_STATION_INTS = {
    "cell_index": "flat grid index (row * nx + col) of the sensor's cell, -1 outside the grid",
    "link_index": "index of the sensor's road link, -1 for a cell sensor or none",
}


def write_observations(path: Path, obs: ObservationSet, *, crs_wkt: str | None = None,
                       attrs: dict | None = None,
                       model_values: dict[str, np.ndarray] | None = None) -> None:  # fmt: skip
    """Write ``obs`` to ``path`` (usually ``<variant>/observations.nc``).

    ``crs_wkt``: the scenario CRS, to give every station its WGS84 position; ``attrs``: more
    global attributes; ``model_values``: any of :data:`MODEL_VALUES` (``"free_run"``,
    ``"background_mean"``, ``"background_spread"``, ``"analysis_mean"``,
    ``"analysis_spread"``) to float64 arrays of length ``obs.n_obs`` in read order, in the
    readings' model units (NaN where not sampled); with ``background_mean`` the innovation
    (value - background mean) is written too. Raises ``ValueError`` for an unknown kind or a
    wrong length, before anything is written."""
    values = _checked_model_values(obs, model_values)
    order = np.argsort(obs.station, kind="stable")  # contiguous per station, in read order
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
            _station_variables(nc, obs, crs_wkt)
            _reading_variables(nc, obs, order)
            _data_variables(nc, obs, order, {"": obs.value, **values})


def _checked_model_values(obs: ObservationSet, model_values) -> dict[str, np.ndarray]:
    """The model values as float64 arrays (plus the innovation), or ``ValueError``."""
    out = {}
    for kind, array in (model_values or {}).items():
        if kind not in MODEL_VALUES:
            raise ValueError(f"model_values: unknown kind {kind!r}; valid: "
                             f"{', '.join(MODEL_VALUES)}")  # fmt: skip
        array = np.asarray(array, dtype=np.float64)
        if array.shape != (obs.n_obs,):
            raise ValueError(f"model_values[{kind!r}] has shape {array.shape}; it needs one "
                             f"value per reading: ({obs.n_obs},)")  # fmt: skip
        out[kind] = array
    if "background_mean" in out:
        out[INNOVATION] = obs.value - out["background_mean"]
    return out


def _reading_variables(nc, obs: ObservationSet, order: np.ndarray) -> None:
    t = nc.createVariable("time", "f8", ("obs",), fill_value=np.nan)
    t.setncatts({"standard_name": "time", "axis": "T", "calendar": "standard",
                 "units": "seconds since 1970-01-01 00:00:00 UTC"})  # fmt: skip
    times = obs.time[order]
    t[:] = np.where(np.isnat(times), np.nan,
                    (times - _EPOCH).astype("timedelta64[ns]").astype(np.int64) / 1e9)
    f = nc.createVariable("flag", "u1", ("obs",))
    f.setncatts({"long_name": "quality flag of the reading", "standard_name": "quality_flag",
                 "flag_values": np.arange(len(FLAG_MEANINGS), dtype="u1"),
                 "flag_meanings": " ".join(FLAG_MEANINGS)})  # fmt: skip
    f[:] = obs.flag[order]
    r = nc.createVariable("read_order", "i8", ("obs",))
    r.setncatts({"long_name": "position of the reading among all readings as read "
                 "(sources in order, each in file order)", "units": "1"})  # fmt: skip
    r[:] = order
    s = nc.createVariable("source", "i2", ("obs",))
    s.setncatts({"long_name": "index of the source file (global attribute sources, one per "
                 "line, from 0)", "units": "1"})  # fmt: skip
    s[:] = obs.source[order]


def _data_variables(nc, obs: ObservationSet, order: np.ndarray, columns: dict) -> None:
    """One variable per observed variable and column (``""``: the readings themselves)."""
    var_of_obs = obs.variable[obs.station[order]] if obs.n_obs else np.zeros(0, object)
    for name, spec in OBSERVED.items():
        mine = var_of_obs == name
        if not mine.any():
            continue
        for kind, column in columns.items():
            v = nc.createVariable(f"{name}_{kind}" if kind else name, "f8", ("obs",),
                                  fill_value=np.nan)  # fmt: skip
            text = MODEL_VALUES.get(kind, _INNOVATION_TEXT) if kind else ""
            v.setncatts({"units": spec.units,
                         "long_name": f"{spec.long_name}: {text}" if text else spec.long_name,
                         "coordinates": "time lat lon station_id"})  # fmt: skip
            if not kind:
                v.ancillary_variables = "flag"
                if spec.standard_names:
                    v.standard_name = spec.standard_names[0]
            v[:] = np.where(mine, column[order], np.nan)


def _station_variables(nc, obs: ObservationSet, crs_wkt) -> None:
    row_size = np.bincount(obs.station, minlength=obs.n_station).astype(np.int64)
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
    given = {"lon": lon, "lat": lat}
    for name, attrs in _STATION_FLOATS.items():
        v = nc.createVariable(name, "f8", ("station",), fill_value=np.nan)
        v.setncatts(attrs)
        v[:] = given.get(name, getattr(obs, _STATION_FIELD.get(name, name)))
    for name, text in _STATION_INTS.items():
        v = nc.createVariable(name, "i8", ("station",))
        v.setncatts({"long_name": text, "units": "1"})
        v[:] = getattr(obs, _STATION_FIELD[name])


def read_observations_nc(path: Path) -> tuple[ObservationSet, dict[str, np.ndarray], dict]:
    """Read an ``observations.nc`` back: its readings in read order (as they were given to
    :func:`write_observations`), the model values it holds, by kind (``innovation``
    included), in read order, and its global attributes."""
    with netCDF4.Dataset(Path(path)) as nc:
        nc.set_auto_mask(False)
        st = {name: nc[name][:] for name in (*_STATION_FLOATS, *_STATION_INTS)}
        back = np.argsort(nc["read_order"][:], kind="stable")  # file position of each reading
        variable = np.array([str(s) for s in nc["observed_variable"][:]], object)
        station = np.repeat(np.arange(len(variable)), nc["row_size"][:])[back]
        seconds = nc["time"][:][back]
        time = np.where(np.isnan(seconds), np.datetime64("NaT", "ns"),
                        _EPOCH + np.nan_to_num(seconds * 1e9).astype("timedelta64[ns]"))
        columns = {}
        for kind in ("", *MODEL_VALUES, INNOVATION):
            names = [(n, f"{n}_{kind}" if kind else n) for n in OBSERVED]
            found = [(n, v) for n, v in names if v in nc.variables]
            if not found:
                continue
            column = np.full(len(back), np.nan)
            for name, v in found:
                mine = variable[station] == name
                column[mine] = nc[v][:][back][mine]
            columns[kind] = column
        sources = nc.getncattr("sources").split("\n") if "sources" in nc.ncattrs() else []
        obs = ObservationSet(
            sensor_id=np.array([str(s) for s in nc["station_id"][:]], object), variable=variable,
            **{_STATION_FIELD.get(k, k): v for k, v in st.items()},
            station=station.astype(np.int64), time=time, value=columns.pop("", np.full(
                len(back), np.nan)), flag=nc["flag"][:][back].astype(np.uint8),
            source=nc["source"][:][back].astype(np.int64), sources=sources,
        )  # fmt: skip
        attrs = {k: nc.getncattr(k) for k in nc.ncattrs()}
    return obs, columns, attrs
