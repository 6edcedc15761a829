"""Heat-health burden: deaths attributable to days hotter than a threshold.

The attributable fraction of each day's deaths, AF = (RR - 1) / RR, is the form Gasparrini et
al. 2015 (Lancet 386:369) use for heat above the minimum-mortality temperature (Gasparrini &
Leone 2014, BMC Med. Res. Methodol. 14:55); their RR curve is a distributed-lag non-linear fit,
here it is log-linear above a threshold (a straight hot arm, as estimated by Baccini et al.
2008):

    RR(T) = exp(beta * max(T - T_thr, 0)),   beta = ln(RR per °C)
    AF(T) = (RR - 1) / RR                     attributable fraction of the day's deaths
    deaths = sum over days of AF * baseline deaths per person per day * population

Defaults, with their sources (``data/README.md`` says what could and could not be verified;
replace them with local values where known, above all the threshold: a city's
minimum-mortality temperature, e.g. from Gasparrini et al. 2015):

- ``RR_PER_DEGREE = 1.0184``: +1.84 % natural mortality per °C above the city threshold,
  north-continental European cities (Baccini et al. 2008, Epidemiology 19:711, PHEWE; +3.12 %
  for Mediterranean cities). That slope is per °C of the daily MAXIMUM APPARENT temperature;
  metrotwin applies it to the DAILY MEAN air temperature, which gives the same slope when the
  whole day warms by the same amount (a design heatwave shifted at a fixed diurnal range and
  humidity, as ``hazards.heatwaves`` builds it: Tmin = Tmax - diurnal_range). The conversion
  is an assumption, not a published daily-mean estimate.
- ``THRESHOLD_MAX_APPARENT = 23.3`` °C: Baccini et al.'s north-continental threshold of the
  daily maximum apparent temperature (29.4 °C Mediterranean). On the daily mean it becomes
  ``daily_mean_threshold(diurnal_range) = 23.3 - diurnal_range / 2`` (°C), taking the apparent
  temperature as the air temperature (moderate humidity; an approximation) and the day's mean
  as the middle of its range (a symmetric cycle).
- ``BASELINE_DEATHS_PER_1000_PER_YEAR = 10.4``: crude death rate of the EU-27 in 2019
  (Eurostat, table demo_gind, indicator GDEATHRT: about 4.65 million deaths in a population
  of about 447 million); not checked against the table itself here (see data/README.md).
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.risk import RiskInputError

RR_PER_DEGREE = 1.0184
THRESHOLD_MAX_APPARENT = 23.3
BASELINE_DEATHS_PER_1000_PER_YEAR = 10.4
DAYS_PER_YEAR = 365.25


def daily_mean_threshold(diurnal_range: float) -> float:
    """Default threshold (°C) on the daily mean air temperature for a design day of
    ``diurnal_range`` (°C, Tmax - Tmin): Baccini et al.'s maximum-apparent-temperature
    threshold less half the range (see the module docstring for the assumptions)."""
    if not 0 <= diurnal_range <= 40:
        raise RiskInputError(f"diurnal_range must be in [0, 40] °C, got {diurnal_range!r}")
    return THRESHOLD_MAX_APPARENT - diurnal_range / 2.0


def attributable_fraction(daily_temperature, threshold: float, rr_per_degree=RR_PER_DEGREE):
    """AF = (RR - 1) / RR (-) of each day at ``daily_temperature`` (°C), threshold (°C)."""
    if not rr_per_degree >= 1.0:
        raise RiskInputError(
            f"rr_per_degree must be >= 1 (a risk rising with heat), got {rr_per_degree!r}"
        )
    excess = np.maximum(np.asarray(daily_temperature, dtype=float) - threshold, 0.0)
    rr = np.exp(np.log(rr_per_degree) * excess)
    return (rr - 1.0) / rr


def attributable_deaths(
    daily_temperature, population, threshold: float, *, rr_per_degree: float = RR_PER_DEGREE,
    baseline_deaths_per_1000_per_year: float = BASELINE_DEATHS_PER_1000_PER_YEAR,
) -> np.ndarray:  # fmt: skip
    """Deaths attributable to heat over the days (first axis) of ``daily_temperature`` (°C),
    for ``population`` (persons; a number, or one per place matching the trailing axes)."""
    population = np.asarray(population, dtype=float)
    if np.any(population < 0) or not np.all(np.isfinite(population)):
        raise RiskInputError("population must be finite and >= 0")
    if not 0 <= baseline_deaths_per_1000_per_year < 1000:
        raise RiskInputError(
            f"baseline_deaths_per_1000_per_year must be in [0, 1000), got "
            f"{baseline_deaths_per_1000_per_year!r}"
        )
    daily_rate = baseline_deaths_per_1000_per_year / 1000.0 / DAYS_PER_YEAR
    af = attributable_fraction(daily_temperature, threshold, rr_per_degree)
    return np.sum(af, axis=0) * daily_rate * population
