"""Flood damage per building from depth-damage curves (default: the JRC global curves for
Europe) and a maximum damage per m² by country.

Huizinga, de Moel & Szewczyk (2017), Global flood depth-damage functions, JRC105688, EUR 28552
EN, doi:10.2760/16510. The tables and where their values come from are in ``data/README.md``.

Damage of a building (EUR, 2010 prices) = fraction(max water depth) * maximum damage per m² *
footprint area (m²) * storeys counted. The JRC building-based maximum damage is one value per
m² of building; by default one storey is counted (``storeys_counted=1``: the value per m² of
footprint, as a footprint-based exposure such as Delft-FIAT's uses it), and a caller who
treats the value as per m² of floor counts up to ``storeys_counted`` of the building's storeys.
Depths at or below 0 do no damage; beyond the curve's deepest point (6 m) its last value holds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from metrotwin.results.risk import RiskInputError

#: metrotwin's building uses (``city.state``: 1 residential, 2 commercial/office,
#: 3 industrial, 4 public) -> JRC damage class. Public buildings (schools, hospitals, offices)
#: are in the JRC "commercial" class by its definition ("offices, schools, hospitals, hotels,
#: shops", Huizinga et al. 2017, as quoted by the CLIMAAX handbook).
USE_CLASS = {
    "residential": "residential",
    "commercial": "commercial",
    "industrial": "industrial",
    "public": "commercial",
}

#: the report's construction-cost relation cost = a * GDP^b (EUR/m², GDP per capita in 2010
#: US$) and its adjustments: depreciated share, undamageable share, content factor
JRC_COST_A = {"residential": 24.078, "commercial": 33.642, "industrial": 30.824}
JRC_COST_B = {"residential": 0.3852, "commercial": 0.3574, "industrial": 0.3249}
JRC_DEPRECIATED = 0.6
JRC_UNDAMAGEABLE = 0.4
JRC_CONTENT = {"residential": 0.5, "commercial": 1.0, "industrial": 1.5}


@dataclass(frozen=True)
class DepthDamageCurve:
    """Damage fraction (-) of the maximum damage against water depth (m)."""

    depths: np.ndarray
    fractions: np.ndarray

    def __post_init__(self):
        d, f = np.asarray(self.depths, float), np.asarray(self.fractions, float)
        if d.ndim != 1 or d.shape != f.shape or d.size < 2:
            raise RiskInputError("a depth-damage curve needs matching depth and fraction lists")
        if not (np.all(np.isfinite(d)) and np.all(np.diff(d) > 0)):
            raise RiskInputError(f"curve depths must increase strictly, got {d.tolist()}")
        if not (np.all((f >= 0) & (f <= 1)) and np.all(np.diff(f) >= 0)):
            raise RiskInputError(
                f"curve fractions must be in [0, 1] and not decrease with depth, got {f.tolist()}"
            )

    def __call__(self, depth) -> np.ndarray:
        """Damage fraction (-) at ``depth`` (m): linear between points, 0 for depth <= 0."""
        depth = np.asarray(depth, dtype=float)
        out = np.interp(depth, self.depths, self.fractions)
        return np.where(depth > 0, out, 0.0)


def _read_table(name: str) -> tuple[list[str], list[list[str]]]:
    text = files("metrotwin.results.risk").joinpath("data", name).read_text(encoding="utf-8")
    rows = list(csv.reader(line for line in io.StringIO(text) if not line.startswith("#")))
    return rows[0], rows[1:]


@cache
def jrc_curves() -> dict[str, DepthDamageCurve]:
    """The JRC Europe curves by class: 'residential', 'commercial', 'industrial'."""
    header, rows = _read_table("jrc_depth_damage_europe.csv")
    table = np.array(rows, dtype=float)
    return {cls: DepthDamageCurve(table[:, 0], table[:, k])
            for k, cls in enumerate(header) if k > 0}  # fmt: skip


@cache
def jrc_max_damage_table() -> dict[str, dict[str, float]]:
    """ISO 3166 alpha-3 code -> {'residential', 'commercial'}: EUR/m² (2010), building based."""
    header, rows = _read_table("jrc_max_damage_eur2010.csv")
    return {r[0]: {h: float(v) for h, v in zip(header[2:], r[2:])} for r in rows}


def jrc_max_damage_from_gdp(gdp_per_capita_usd2010: float, damage_class: str) -> float:
    """Maximum damage (EUR/m², 2010) of ``damage_class`` by the report's method: construction
    cost a * GDP^b, times the depreciated share, the damageable share and 1 + content factor."""
    cost = JRC_COST_A[damage_class] * gdp_per_capita_usd2010 ** JRC_COST_B[damage_class]
    structure = cost * JRC_DEPRECIATED * (1.0 - JRC_UNDAMAGEABLE)
    return structure * (1.0 + JRC_CONTENT[damage_class])


def implied_gdp(residential_max_damage: float) -> float:
    """GDP per capita (2010 US$) the report's method needs to give ``residential_max_damage``."""
    scale = JRC_DEPRECIATED * (1.0 - JRC_UNDAMAGEABLE) * (1.0 + JRC_CONTENT["residential"])
    cost = residential_max_damage / scale
    return (cost / JRC_COST_A["residential"]) ** (1.0 / JRC_COST_B["residential"])


def max_damage_per_m2(country: str, use: str) -> float:
    """Maximum damage (EUR/m², 2010) of a building of ``use`` in ``country`` (ISO alpha-3):
    the workbook's value for residential and commercial, the report's method for industrial."""
    table = jrc_max_damage_table()
    if country not in table:
        raise RiskInputError(
            f"no JRC maximum damage for country {country!r}; the table has "
            f"{', '.join(sorted(table))} (give a user table for others)"
        )
    damage_class = damage_class_of(use)
    row = table[country]
    if damage_class in row:
        return row[damage_class]
    return jrc_max_damage_from_gdp(implied_gdp(row["residential"]), damage_class)


def damage_class_of(use: str) -> str:
    """The JRC class of building ``use``; RiskInputError naming the valid uses if none."""
    if use not in USE_CLASS:
        raise RiskInputError(
            f"building use {use!r} has no depth-damage curve; uses with a curve: "
            f"{', '.join(sorted(USE_CLASS))}"
        )
    return USE_CLASS[use]


def building_damage(
    max_depth, uses, footprint_m2, storeys, *, country: str, storeys_counted: int = 1,
    curves: dict[str, DepthDamageCurve] | None = None,
) -> np.ndarray:  # fmt: skip
    """Damage (EUR, 2010) of each building from its maximum water depth (m), use (text),
    footprint area (m²) and storeys (>= 1), in ``country`` (ISO alpha-3)."""
    curves = curves or jrc_curves()
    depth = np.asarray(max_depth, dtype=float)
    area = np.broadcast_to(np.asarray(footprint_m2, dtype=float), depth.shape)
    floors = np.broadcast_to(np.minimum(np.asarray(storeys, dtype=float), storeys_counted),
                             depth.shape)  # fmt: skip
    if np.any(area < 0) or np.any(floors < 1) or not np.all(np.isfinite(depth)):
        raise RiskInputError(
            "building damage needs finite depths, footprints >= 0 m² and storeys >= 1"
        )
    uses = np.broadcast_to(np.asarray(uses, dtype=object), depth.shape)
    out = np.zeros(depth.shape)
    for use in sorted(set(uses.ravel().tolist())):
        damage_class = damage_class_of(use)
        if damage_class not in curves:
            raise RiskInputError(f"no depth-damage curve for class {damage_class!r}")
        here = uses == use
        value = max_damage_per_m2(country, use) * area[here] * floors[here]
        out[here] = curves[damage_class](depth[here]) * value
    return out
