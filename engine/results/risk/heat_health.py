"""Heat-health burden: deaths attributable to days hotter than a threshold.

The attributable fraction of each day's deaths, AF = (RR - 1) / RR, is the form Gasparrini et
al. 2015 (Lancet 386:369) use for heat above the minimum-mortality temperature (Gasparrini &
Leone 2014, BMC Med. Res. Methodol. 14:55); their RR curve is a distributed-lag non-linear fit,
here it is log-linear above a threshold (a straight hot arm, as estimated by Baccini et al.
2008):

    RR(T) = exp(beta * max(T - T_thr, 0)),   beta = ln(RR per °C)
    AF(T) = (RR - 1) / RR                     attributable fraction of the day's deaths
    deaths = sum over days of AF * baseline deaths per person per day * population

Defaults, with their sources (``data/README.md``; replace them with local values where
known, above all the threshold, a city's own):

- the metric: the DAILY MAXIMUM APPARENT temperature (°C), the one the default relation was
  estimated on; ``metrotwin.results.risk.member_fields`` computes it in each cell from the
  design day and the simulated urban anomaly (``metrotwin.physics.apparent_temperature``);
- ``RR_PER_DEGREE = 1.0184``: +1.84 % (95 % credibility interval 0.06 to 3.64 %) of all
  natural mortality per °C of daily maximum apparent temperature above the city-specific
  threshold, north-continental European cities (Baccini et al. 2008, Epidemiology 19:711,
  PHEWE, abstract; +3.12 %, 0.60 to 5.72 %, for Mediterranean cities);
- ``THRESHOLD_MAX_APPARENT = 23.3`` °C: that study's meta-analytic threshold for
  north-continental cities (29.4 °C for Mediterranean ones);
- ``BASELINE_DEATHS_PER_1000_PER_YEAR = 10.4``: the EU's crude death rate: 4.65 million
  deaths of EU residents in 2017 (Eurostat, Statistics Explained, "Causes of death
  statistics", data extracted March 2022) over the EU-27's population of about 446 million
  that year (the population figure is not from a looked-up table; see data/README.md).
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.risk import RiskInputError

RR_PER_DEGREE = 1.0184
THRESHOLD_MAX_APPARENT = 23.3
BASELINE_DEATHS_PER_1000_PER_YEAR = 10.4
DAYS_PER_YEAR = 365.25


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
