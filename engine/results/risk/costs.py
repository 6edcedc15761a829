"""What a variant's interventions cost: quantities from what they changed, unit costs from a
table with sources (``data/unit_costs.csv``, see ``data/README.md``) or the scenario's
``hazards.economics.unit_costs``, and the present value over the appraisal horizon.

Quantities come from the run's record of each intervention (``scenario.resolved.yaml``: the
intervention as written, and under ``run.interventions_cells_changed`` the cells it changed,
keyed by its label or ``<position>:<type>``):

- ``m2``: cells changed x cell area (``resolution`` squared);
- ``m3``: cells changed x cell area x the intervention's ``depth`` (m);
- ``m``: the length of the intervention's ``line`` (a levee's plan length, m);
- ``tree``: cells changed x cell area / ``CROWN_AREA_M2``;
- ``link``: the links changed.

Present value (EUR of ``economics.price_year``): the capital at year 0, a renewal at the same
cost at each end of life before the horizon (no residual value at the horizon), and the
yearly upkeep over years 1..horizon (``metrotwin.results.risk.economics``).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.economics import annuity_factor, price_factor, renewal_factor
from metrotwin.scenario.economics import Economics

#: crown area of one planted tree (m2): ILLUSTRATIVE, a crown about 8 m across
CROWN_AREA_M2 = 50.0
UNITS = ("m2", "m3", "m", "tree", "link")


@dataclass(frozen=True)
class UnitCost:
    """One intervention type's costs: EUR per ``unit`` (capital), EUR per unit and year
    (upkeep), service life (years), the year of the prices and where the numbers come from."""

    type: str
    unit: str
    cost_per_unit: float
    maintenance_per_unit_year: float
    lifetime_years: float
    price_year: int
    basis: str


@dataclass(frozen=True)
class InterventionCost:
    """One intervention of a variant: its quantity (``unit``) and present costs (EUR)."""

    label: str
    type: str
    unit: str
    quantity: float
    capital: float
    renewals: float
    maintenance: float

    @property
    def total(self) -> float:
        """Present value of all its costs over the horizon (EUR)."""
        return self.capital + self.renewals + self.maintenance


@cache
def unit_cost_table() -> dict[str, UnitCost]:
    """The default unit costs by intervention type (``data/unit_costs.csv``)."""
    text = files("metrotwin.results.risk").joinpath("data", "unit_costs.csv").read_text("utf-8")
    table = {}
    for row in csv.DictReader(io.StringIO(text)):
        table[row["type"]] = UnitCost(
            type=row["type"], unit=row["unit"], cost_per_unit=float(row["cost_per_unit"]),
            maintenance_per_unit_year=float(row["maintenance_per_unit_year"]),
            lifetime_years=float(row["lifetime_years"]), price_year=int(row["price_year"]),
            basis=row["basis"],
        )  # fmt: skip
    return table


def unit_costs(economics: Economics) -> dict[str, UnitCost]:
    """The table with the scenario's overrides applied; an override of a type the table does
    not know is refused (it could not say what unit its cost is per)."""
    table = dict(unit_cost_table())
    for kind, override in economics.unit_costs.items():
        if kind not in table:
            raise RiskInputError(
                f"hazards.economics.unit_costs.{kind}: no intervention type {kind!r} in the unit "
                f"cost table; known types: {', '.join(sorted(table))}"
            )
        fields = override.model_dump(exclude_none=True)
        fields.setdefault("price_year", economics.price_year)
        table[kind] = replace(table[kind], basis="scenario (hazards.economics.unit_costs)",
                              **fields)  # fmt: skip
    return table


def line_length(points) -> float:
    """Length (m) of a polyline ``[[x, y], ...]`` (m)."""
    return sum(math.dist(a, b) for a, b in zip(points, points[1:]))


def quantity(item: dict, unit: str, changed: int, cell_area_m2: float) -> float:
    """How many ``unit`` intervention ``item`` (as written in the scenario) built, from the
    cells or links it ``changed`` and the cell area (m2)."""
    if unit == "m2":
        return changed * cell_area_m2
    if unit == "m3":
        return changed * cell_area_m2 * float(item.get("depth") or 0.0)
    if unit == "m":
        return line_length(item.get("line") or [])
    if unit == "tree":
        return changed * cell_area_m2 / CROWN_AREA_M2
    if unit == "link":
        return float(changed)
    raise RiskInputError(f"unit cost unit {unit!r} is not one of {', '.join(UNITS)}")


def intervention_label(item: dict, position: int) -> str:
    """The key of an intervention in ``run.interventions_cells_changed`` (``position`` is
    0-based over the variant's interventions, the baseline's first)."""
    return item.get("label") or f"{position + 1}:{item.get('type')}"


def intervention_costs(
    items: list[dict], first_position: int, changed: dict[str, int], cell_area_m2: float,
    economics: Economics,
) -> list[InterventionCost]:  # fmt: skip
    """The present costs of ``items`` (a variant's own interventions, the first at 0-based
    ``first_position`` in its run), from the cells each ``changed`` (label -> count)."""
    table = unit_costs(economics)
    rate, horizon = economics.discount_rate, economics.horizon_years
    out = []
    for j, item in enumerate(items):
        kind = str(item.get("type"))
        if kind not in table:
            raise RiskInputError(
                f"intervention type {kind!r} has no unit cost; give one in "
                f"hazards.economics.unit_costs.{kind} (cost_per_unit, maintenance_per_unit_year, "
                f"lifetime_years) or use a type of the table: {', '.join(sorted(table))}"
            )
        cost = table[kind]
        label = intervention_label(item, first_position + j)
        amount = quantity(item, cost.unit, int(changed.get(label, 0)), cell_area_m2)
        prices = price_factor(cost.price_year, economics)
        capital = amount * cost.cost_per_unit * prices
        out.append(InterventionCost(
            label=label, type=kind, unit=cost.unit, quantity=amount, capital=capital,
            renewals=capital * renewal_factor(rate, cost.lifetime_years, horizon),
            maintenance=amount * cost.maintenance_per_unit_year * prices
            * annuity_factor(rate, horizon),
        ))  # fmt: skip
    return out
