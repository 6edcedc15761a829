"""Heatwave design days: the ``hazards.heatwaves`` return-period table of daily maximum air
temperature turned into the scenario's ``forcing.weather.design_day`` section.

Between the table's return periods the daily maximum is interpolated linearly in ln(T): the
Gumbel (EV1) law of annual maxima is linear in the reduced variate -ln(-ln(1 - 1/T)), which is
ln(T) - 1/(2T) + O(1/T^2) for large T (Coles 2001, An Introduction to Statistical Modeling of
Extreme Values, sec. 3.1.3), so ln(T) is the usual return-period axis. Outside the table's
range nothing is extrapolated: a design day for a period the table does not span is refused.
The daily minimum is the maximum less the section's ``diurnal_range``.
"""

from __future__ import annotations

import numpy as np

from metrotwin.errors import ScenarioError
from metrotwin.scenario.hazards import Heatwaves


def design_day_maximum(heatwaves: Heatwaves, period: float) -> float:
    """Daily maximum air temperature (°C) of the ``period``-year heatwave (years)."""
    table = heatwaves.daily_max_temperature
    periods = np.array(sorted(table))
    if not periods[0] <= period <= periods[-1]:
        raise ScenarioError(
            f"hazards.heatwaves: no design day for a {period:g}-year return period; the "
            f"daily_max_temperature table spans {periods[0]:g} to {periods[-1]:g} years "
            f"(nothing is extrapolated)"
        )
    values = np.array([table[t] for t in periods])
    return float(np.interp(np.log(period), np.log(periods), values))


def heatwave_design_day(heatwaves: Heatwaves, period: float, **weather) -> dict:
    """``forcing.weather.design_day`` fields of the ``period``-year heatwave: its daily maximum
    and minimum (°C), with any other design-day fields given in ``weather`` (e.g.
    ``relative_humidity``, ``wind_speed``) passed through."""
    t_max = design_day_maximum(heatwaves, period)
    return {**weather, "air_temperature_max": t_max,
            "air_temperature_min": t_max - heatwaves.diurnal_range}  # fmt: skip
