"""Residents placed in the buildings, and what they are exposed to.

Residents of a building = its residential floor area (footprint m² x storeys, residential
use only) / the floor area per resident (m²). Residents stay in their building's cells: the
water depth at a building is the one of ``buildings.depth_at_buildings``, the outdoor values
(air temperature, hours of heat stress) the mean over its border cells (the street outside
the door; the heat model does not compute UTCI on buildings). A building with no border
value takes the mean of the whole grid.
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.buildings import RESIDENTIAL, Buildings, border_mean
from metrotwin.results.risk.heat_health import attributable_deaths


def residents(buildings: Buildings, floor_area_per_resident: float) -> np.ndarray:
    """Residents (persons, fractional) of each building."""
    if not floor_area_per_resident > 0:
        raise RiskInputError(
            f"floor_area_per_resident must be > 0 m², got {floor_area_per_resident!r}"
        )
    floor_area = buildings.footprint_m2 * buildings.storeys
    return np.where(buildings.use_code == RESIDENTIAL, floor_area / floor_area_per_resident, 0.0)


def outdoor_value(buildings: Buildings, grid) -> np.ndarray:
    """The value of ``grid`` (y, x) outside each building (the mean over its border)."""
    values = border_mean(buildings, grid)
    everywhere = np.nanmean(np.asarray(grid, float)) if np.isfinite(grid).any() else 0.0
    return np.where(np.isfinite(values), values, everywhere)


def heat_deaths(buildings: Buildings, people, daily_temperature, days: int,
                health: dict) -> np.ndarray:  # fmt: skip
    """Deaths attributable, per building, to a heatwave of ``days`` days, each as hot as the
    design day (``daily_temperature`` (y, x), °C: the day's maximum apparent temperature,
    the metric of the default relation) outside the residents' homes;
    ``health`` holds ``threshold``, ``rr_per_degree``, ``baseline_deaths_per_1000_per_year``."""
    if days < 1:
        raise RiskInputError(f"a heatwave lasts at least 1 day, got {days!r}")
    temperature = outdoor_value(buildings, daily_temperature)
    daily = np.repeat(temperature[None], days, axis=0)
    return attributable_deaths(
        daily, people, health["threshold"], rr_per_degree=health["rr_per_degree"],
        baseline_deaths_per_1000_per_year=health["baseline_deaths_per_1000_per_year"])


def hours_per_resident(buildings: Buildings, people, hours_grid) -> float:
    """Mean hours (h) of a resident's home street above a UTCI threshold; 0 without residents."""
    people = np.asarray(people, float)
    total = float(people.sum())
    if total <= 0:
        return 0.0
    return float(np.sum(outdoor_value(buildings, hours_grid) * people) / total)
