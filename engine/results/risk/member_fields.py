"""What the risk computations take from one member's run folder (read through
``metrotwin.results.rundata``), reduced to one grid or one vector each:

- the peak water depth (m): the largest ``flood_depth_max`` over the outputs;
- the peak UTCI (°C): the largest ``universal_thermal_comfort_index`` over the outputs;
- the hours with UTCI above each threshold (h): the heat model's own accumulators
  ``utci_hours_above_<t>_day`` + ``_night`` at the last output where they exist for that
  threshold (counted at the model's step), else counted from the UTCI outputs
  (``exceedance.hours_above``, at the output interval);
- the design day's maximum apparent temperature (°C) in each cell: the apparent temperature
  (``metrotwin.physics.apparent_temperature``) of the design day's maximum air temperature
  plus the cell's urban anomaly, at the design day's vapour pressure at its maximum. The
  anomaly is the mean over the outputs of ``air_temperature`` less the weather's own air
  temperature at that time (the heat model's ``weather_air_temperature`` indicator): the city
  warms or cools the air it is given, and a run of a few hours (a morning's storm) still
  gives the day's maximum its anomaly — assumed to hold at the time of the maximum;
- the links closed at the flood's peak (the output where the summed water depth is largest);
- the walkers' and cyclists' minutes above UTCI 38 °C by population group (mobility's
  ``heat_exposure_minutes_above_38`` indicator), when the run has it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from metrotwin.physics import (
    KELVIN_OFFSET,
    apparent_temperature,
    dew_point,
    saturation_vapour_pressure,
)
from metrotwin.results.risk.exceedance import hours_above
from metrotwin.results.rundata import VariantRun, time_index

#: the heat model's indicator of the weather's air temperature (°C) at each output
WEATHER_AIR = "weather_air_temperature"
#: UTCI of very strong heat stress (°C; Bröde et al. 2012, the UTCI assessment scale)
VERY_STRONG_HEAT_STRESS = 38.0


@dataclass(frozen=True)
class MemberFields:
    """One member's reduced outputs (see the module docstring); None where the run lacks
    the variable."""

    peak_depth: np.ndarray | None
    peak_utci: np.ndarray | None
    utci_hours: dict[float, np.ndarray]
    daily_max_apparent_temperature: np.ndarray | None
    closed_at_peak: np.ndarray | None
    heat_minutes_by_group: dict[str, float] | None


def _peak_depth(run: VariantRun) -> np.ndarray | None:
    if not run.has("flood_depth_max"):
        return None
    values = np.asarray(run.ds["flood_depth_max"].values, dtype=np.float64)
    if values.ndim == 3:
        finite = np.isfinite(values).any(axis=0)
        values = np.where(finite, np.nanmax(np.where(np.isfinite(values), values, -np.inf),
                                            axis=0), np.nan)  # fmt: skip
    return values


def _peak_utci(run: VariantRun) -> np.ndarray | None:
    if not run.has("universal_thermal_comfort_index") or len(run.times) == 0:
        return None
    values = np.asarray(run.ds["universal_thermal_comfort_index"].values, np.float64)
    with warnings.catch_warnings():  # inside buildings UTCI is NaN at every output
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(values, axis=0)


def _utci_hours(run: VariantRun, threshold: float) -> np.ndarray | None:
    names = [f"utci_hours_above_{threshold:g}_{part}" for part in ("day", "night")]
    if all(run.has(n) for n in names):
        last = [np.asarray(run.ds[n].isel(time=-1).values, np.float64) for n in names]
        return np.nan_to_num(last[0]) + np.nan_to_num(last[1])
    if not run.has("universal_thermal_comfort_index") or len(run.times) < 2:
        return None
    step_hours = float(np.median(np.diff(run.seconds))) / 3600.0
    series = np.asarray(run.ds["universal_thermal_comfort_index"].values, np.float64)
    return hours_above(series[None], threshold, step_hours)[0]


def _design_day(run: VariantRun) -> dict | None:
    forcing = (run.resolved.get("scenario") or {}).get("forcing") or {}
    return (forcing.get("weather") or {}).get("design_day")


def _weather_air_temperature(run: VariantRun) -> np.ndarray | None:
    """The weather's air temperature (°C) at each output, from the indicators' series."""
    series = run.indicators.get("time_series") or {}
    values = (series.get("values") or {}).get(f"heat.{WEATHER_AIR}")
    if values is None or len(values) != len(run.times):
        return None
    return np.asarray(values, np.float64)


def _daily_max_apparent_temperature(run: VariantRun) -> np.ndarray | None:
    day, reference = _design_day(run), _weather_air_temperature(run)
    if not run.has("air_temperature") or day is None or reference is None:
        return None
    da = run.ds["air_temperature"]
    values = np.asarray(da.values, np.float64)
    if str(da.attrs.get("units", "K")) == "K":
        values = values - KELVIN_OFFSET
    with warnings.catch_warnings():  # a cell never defined (outside the domain) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        anomaly = np.nanmean(values - reference[:, None, None], axis=0)
    t_max = float(day["air_temperature_max"])
    vapour = float(day.get("relative_humidity", 50.0)) / 100.0 * float(
        saturation_vapour_pressure(t_max + KELVIN_OFFSET))  # fmt: skip
    return apparent_temperature(t_max + anomaly, dew_point(vapour) - KELVIN_OFFSET)


def _closed_at_peak(run: VariantRun) -> np.ndarray | None:
    if not run.has("link_closed"):
        return None
    closed = run.ds["link_closed"]
    if "time" not in closed.dims:
        return np.asarray(closed.values) > 0
    peak = time_index(run, "peak", peak_field="flood_water_thickness")
    return np.asarray(closed.isel(time=peak).values) > 0


def _heat_minutes_by_group(run: VariantRun) -> dict[str, float] | None:
    name = f"heat_exposure_minutes_above_{VERY_STRONG_HEAT_STRESS:g}"
    indicator = ((run.indicators.get("models") or {}).get("mobility") or {}).get(name)
    groups = (indicator or {}).get("by_group") or {}
    values = {str(g): float(v) for g, v in groups.items()
              if isinstance(v, (int, float)) and np.isfinite(v)}  # fmt: skip
    return dict(sorted(values.items())) or None


def read_member(run: VariantRun, utci_thresholds) -> MemberFields:
    """The reduced outputs of the member whose run folder ``run`` opens."""
    hours = {}
    for t in utci_thresholds:
        grid = _utci_hours(run, float(t))
        if grid is not None:
            hours[float(t)] = grid
    return MemberFields(
        peak_depth=_peak_depth(run),
        peak_utci=_peak_utci(run),
        utci_hours=hours,
        daily_max_apparent_temperature=_daily_max_apparent_temperature(run),
        closed_at_peak=_closed_at_peak(run),
        heat_minutes_by_group=_heat_minutes_by_group(run),
    )
