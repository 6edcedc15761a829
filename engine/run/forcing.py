"""Time-dependent inputs of a run: rainfall and the weather of the period."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from metrotwin.city.layer_bounds import check_bounds
from metrotwin.errors import DataSourceError
from metrotwin.physics import MM_PER_HOUR
from metrotwin.run.weather import load_weather
from metrotwin.scenario.messages import short_repr

if TYPE_CHECKING:
    from metrotwin.city.grid import Grid
    from metrotwin.scenario.scenario import Scenario


class Forcing:
    """Rain and weather for one variant, as models ask for them.

    ``rain_rate(t)`` is the rain intensity (m/s) at simulation time ``t`` (s): a float for a
    uniform hyetograph or a (ny, nx) array for gridded rain. ``rain_depth(t0, t1)`` is the
    exact depth (m) fallen between two times, so that mass balances close to round-off.

    ``rain`` (optional) is rain made in memory, e.g. a risk run member's moving storm or
    random field, in place of ``forcing.rainfall``: ``(times, rates)`` with ``times`` (s
    since the start, strictly increasing, each rate holding until the next time) and
    ``rates`` (m/s, >= 0: the unit the models take) of shape (n,) for uniform rain or
    (n, ny, nx) on ``grid`` (this rank's tile) for gridded rain.
    """

    def __init__(self, scenario: Scenario, grid: Grid, global_grid: Grid | None = None,
                 rain: tuple[np.ndarray, np.ndarray] | None = None):  # fmt: skip
        self.scenario = scenario
        self.grid = grid
        #: the whole domain (a rank's ``grid`` is its tile): its centre places the sun
        self.global_grid = global_grid or grid
        self.spec = scenario.forcing
        self._gridded = None
        self._in_memory = rain is not None
        if rain is not None:
            self._times, self._rates, self._gridded = _in_memory_rain(rain, grid)
            return
        rain = self.spec.rainfall
        if rain is not None and rain.hyetograph is not None:
            self._times = np.array([t for t, _ in rain.hyetograph], dtype=float)
            self._rates = np.array([r for _, r in rain.hyetograph], dtype=float) * MM_PER_HOUR
        elif rain is not None:
            self._times, self._rates = np.array([0.0]), np.array([0.0])
            self._gridded = _read_gridded_rain(rain.file, rain.variable, grid, scenario)
        else:
            self._times, self._rates = np.array([0.0]), np.array([0.0])

    @property
    def has_rain(self) -> bool:
        return self.spec.rainfall is not None or self._in_memory

    @property
    def rain_is_gridded(self) -> bool:
        return self._gridded is not None

    def rain_rate(self, t: float):
        """Rain intensity (m/s) at time ``t`` (s since start); 0 before the first entry."""
        if self._gridded is not None:
            times, rates = self._gridded
            i = np.searchsorted(times, t, side="right") - 1
            return rates[i] if i >= 0 else np.zeros(self.grid.shape)
        i = np.searchsorted(self._times, t, side="right") - 1
        return float(self._rates[i]) if i >= 0 else 0.0

    def rain_depth(self, t0: float, t1: float):
        """Rain depth (m) between ``t0`` and ``t1`` (s): integral of the step hyetograph."""
        if self._gridded is not None:
            times, rates = self._gridded
            return _step_integral(times, rates, t0, t1)
        return float(_step_integral(self._times, self._rates, t0, t1))

    def next_rain_change(self, t: float) -> float:
        """The next time after ``t`` at which the rain rate changes (inf if never)."""
        times = self._gridded[0] if self._gridded is not None else self._times
        later = times[times > t]
        return float(later[0]) if later.size else float("inf")

    @cached_property
    def weather(self):
        """The weather of the period (see ``metrotwin.run.weather``), or None without one."""
        if self.spec.weather is None:
            return None
        return load_weather(self.spec.weather, self.scenario.period, self.global_grid)


def _in_memory_rain(rain, grid: Grid):
    """(uniform times, uniform rates (m/s), gridded (times, rates (m/s)) or None) of rain
    ``(times (s), rates (m/s))`` given in memory; ValueError if it is not of that form (a
    bug of the caller's: a user never writes it)."""
    times = np.asarray(rain[0], dtype=float)
    rates = np.asarray(rain[1], dtype=float)
    if times.ndim != 1 or not times.size or np.any(np.diff(times) <= 0):
        raise ValueError(f"in-memory rain: times must increase strictly, got {short_repr(times)}")
    if rates.shape not in ((times.size,), (times.size, *grid.shape)):
        raise ValueError(f"in-memory rain: rates of shape {rates.shape}; expected "
                         f"({times.size},) or ({times.size}, {grid.shape[0]}, {grid.shape[1]})")
    if not (np.isfinite(rates).all() and (rates >= 0).all()):
        raise ValueError("in-memory rain: rates must be finite and >= 0 m/s")
    if rates.ndim == 1:
        return times, rates, None
    return np.array([0.0]), np.array([0.0]), (times, rates)


def _step_integral(times: np.ndarray, rates: np.ndarray, t0: float, t1: float):
    """Integral from t0 to t1 of a right-continuous step function (rates[i] from times[i])."""
    total = 0.0 * rates[0]
    edges = np.append(times, np.inf)
    for i in range(len(times)):
        lo, hi = max(t0, edges[i]), min(t1, edges[i + 1])
        if hi > lo:
            total = total + rates[i] * (hi - lo)
    return total


def _read_gridded_rain(path, variable: str, grid: Grid, scenario: Scenario):
    """Rain (mm/h) on (time, y, x) from netCDF, regridded (nearest) onto the grid."""
    import xarray as xr

    try:
        ds = xr.open_dataset(path)
    except Exception as err:  # noqa: BLE001 - its text may quote the file: name the kind only
        raise DataSourceError(
            f"{path}: cannot open the rainfall file as netCDF ({type(err).__name__})"
        ) from None
    if variable not in ds:
        raise DataSourceError(
            f"{path}: no variable {short_repr(variable)}; it has "
            f"{short_repr(sorted(map(str, ds.data_vars)), 300)}"
        )
    da = ds[variable]
    missing = [d for d in ("time", "y", "x") if d not in da.dims]
    if missing:
        raise DataSourceError(f"{path}: {variable} needs dims (time, y, x), lacks {missing}")
    units = da.attrs.get("units", "")
    if units not in ("mm h-1", "mm/h", "mm hr-1"):
        raise DataSourceError(f"{path}: {variable} has units {units!r}; expected 'mm h-1'")
    da = da.sel(x=grid.x, y=grid.y, method="nearest")
    values = np.asarray(da.transpose("time", "y", "x").values, dtype=float)
    if not np.isfinite(values).all():
        n = int(np.count_nonzero(~np.isfinite(values)))
        raise DataSourceError(f"{path}: {variable} has {n} missing or infinite rain rate(s)")
    check_bounds(values, grid, layer="rainfall_rate", source=f"rainfall file {path}")
    t = da["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        start = np.datetime64(scenario.period.start.replace(tzinfo=None))
        times = (t - start) / np.timedelta64(1, "s")
    else:
        times = np.asarray(t, dtype=float)
    return np.asarray(times, dtype=float), values * MM_PER_HOUR
