"""What the risk computations take from one member's run folder (read through
``metrotwin.results.rundata``), reduced to one grid or one vector each:

- the peak water depth (m): the largest ``flood_depth_max`` over the outputs;
- the hours with UTCI above each threshold (h): the heat model's own accumulators
  ``utci_hours_above_<t>_day`` + ``_night`` at the last output where they exist for that
  threshold (counted at the model's step), else counted from the UTCI outputs
  (``exceedance.hours_above``, at the output interval);
- the design day's mean air temperature (°C): the mean of ``air_temperature`` over the
  outputs of the hottest calendar day simulated (a run shorter than a day gives the mean of
  the hours it simulated, which is what the heat model computed for that day);
- the links closed at the flood's peak (the output where the summed water depth is largest);
- the walkers' and cyclists' minutes above UTCI 38 °C by population group (mobility's
  ``heat_exposure_minutes_above_38`` indicator), when the run has it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from metrotwin.physics import KELVIN_OFFSET
from metrotwin.results.risk.exceedance import hours_above
from metrotwin.results.rundata import VariantRun, time_index

#: UTCI of very strong heat stress (°C; Bröde et al. 2012, the UTCI assessment scale)
VERY_STRONG_HEAT_STRESS = 38.0


@dataclass(frozen=True)
class MemberFields:
    """One member's reduced outputs (see the module docstring); None where the run lacks
    the variable."""

    peak_depth: np.ndarray | None
    utci_hours: dict[float, np.ndarray]
    daily_mean_temperature: np.ndarray | None
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


def _daily_mean_temperature(run: VariantRun) -> np.ndarray | None:
    if not run.has("air_temperature") or len(run.times) == 0:
        return None
    da = run.ds["air_temperature"]
    values = np.asarray(da.values, np.float64)
    if str(da.attrs.get("units", "K")) == "K":
        values = values - KELVIN_OFFSET
    days = run.times.astype("M8[D]")
    with warnings.catch_warnings():  # a cell never defined (outside the domain) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        means = [np.nanmean(values[days == d], axis=0) for d in np.unique(days)]
    hottest = int(np.argmax([np.nanmean(m) for m in means]))
    return means[hottest]


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
        utci_hours=hours,
        daily_mean_temperature=_daily_mean_temperature(run),
        closed_at_peak=_closed_at_peak(run),
        heat_minutes_by_group=_heat_minutes_by_group(run),
    )
