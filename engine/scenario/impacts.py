"""The ``hazards.impacts:`` section: how a risk run turns its members' fields into impacts.

Flood damage per building (depth-damage curves by building use, maximum damage per m² by
country, or the user's own tables), the residents placed from residential floor area, the
exposure and exceedance thresholds, and the heat-health settings. The computations are in
``metrotwin.results.risk``; this module only validates what the user wrote (the defaults of
the heat-health relation, with their sources, are in ``metrotwin.results.risk.heat_health``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from metrotwin.scenario.files import check_file
from metrotwin.scenario.schema import StrictModel


def _thresholds(value: list[float], what: str) -> list[float]:
    """``value`` sorted, unless it is empty, too long or repeats a value."""
    if not 1 <= len(value) <= 16:
        raise ValueError(f"give 1 to 16 {what}, got {len(value)}")
    if len(set(value)) != len(value):
        raise ValueError(f"{what} repeat a value: {value}")
    return sorted(value)


class HeatHealth(StrictModel):
    """The exposure-response relation of heat deaths on the daily maximum apparent temperature.

    ``None`` takes the default of ``metrotwin.results.risk.heat_health`` (sources there)."""

    threshold: float | None = Field(
        None, ge=-10, le=45,
        description="daily maximum apparent temperature above which risk rises (°C)",
    )
    rr_per_degree: float | None = Field(
        None, ge=1, le=2, description="relative risk of death per °C above the threshold (-)"
    )
    baseline_deaths_per_1000_per_year: float | None = Field(
        None, ge=0, lt=1000, description="crude death rate of the population (per 1000 per year)"
    )


class Impacts(StrictModel):
    """Damage, exposure and heat-health settings of a risk run."""

    country: str = Field(
        "DEU", pattern=r"^[A-Z]{3}$",
        description="ISO 3166 alpha-3 code of the JRC maximum damage per m² (e.g. DEU, NLD)",
    )  # fmt: skip
    damage_curves: Path | None = Field(
        None, description="CSV: depth_m, then one damage fraction (0-1) column per building use"
    )
    max_damage: Path | None = Field(
        None, description="CSV: use, eur_per_m2 (maximum damage per m² of footprint per use)"
    )
    depth_at: Literal["border", "centroid"] = Field(
        "border",
        description="water depth at a building: the largest peak depth in the cells bordering "
        "its footprint (buildings are raised blocks in the flood model), or the depth in the "
        "cell of its footprint centroid (Delft-FIAT's 'centroid')",
    )
    storey_height: float = Field(3.0, gt=0, le=20, description="height of one storey (m)")
    storeys_counted: int = Field(
        1, ge=1, le=500, description="storeys the maximum damage per m² is counted for"
    )
    floor_area_per_resident: float = Field(
        40.0, gt=0, le=1000, description="residential floor area per resident (m²)"
    )
    exposure_depth: float = Field(
        0.1, gt=0, le=10, description="depth at a building above which it and its residents "
        "count as exposed (m)",
    )  # fmt: skip
    depth_thresholds: list[float] = Field(
        [0.1, 0.3, 0.5], description="depths of the exceedance maps P(peak depth > d) (m)"
    )
    utci_thresholds: list[float] = Field(
        [32.0, 38.0], description="UTCI of the heat-stress exceedance maps (°C)"
    )
    utci_min_hours: float = Field(
        4.0, gt=0, le=8784, description="N of P(hours with UTCI above a threshold >= N h) (h)"
    )
    heat_health: HeatHealth = Field(default_factory=HeatHealth)

    @field_validator("damage_curves", "max_damage", mode="before")
    @classmethod
    def _exists(cls, value, info):
        return None if value is None else check_file(value, info)

    @field_validator("depth_thresholds")
    @classmethod
    def _depths(cls, value):
        if any(not 0 < d <= 100 for d in value):
            raise ValueError(f"depth_thresholds must be in (0, 100] m, got {value}")
        return _thresholds(value, "depth_thresholds")

    @field_validator("utci_thresholds")
    @classmethod
    def _utci(cls, value):
        if any(not -50 <= u <= 60 for u in value):
            raise ValueError(f"utci_thresholds must be in [-50, 60] °C, got {value}")
        return _thresholds(value, "utci_thresholds")
