"""The ``hazards.economics`` section: what a variant costs and what its avoided losses are worth.

The cost-benefit of each variant (``metrotwin.results.risk.economics``) discounts a variant's
yearly benefits (avoided expected annual flood damage, avoided heat deaths valued by the life
years they cost) and its costs (the interventions' capital, renewals and upkeep from the unit
cost table ``metrotwin.results.risk.data/unit_costs.csv``, each row overridable here) over
``horizon_years`` at ``discount_rate``. Every amount is brought to ``price_year`` with a
constant ``inflation_rate``.

Defaults and their sources (replace them with local values where known):

- ``discount_rate = 0.03``: the social discount rate of the European Commission's Better
  Regulation Toolbox (2021, tool #61 "Discount factors"), 3 % a year in real terms.
- ``value_per_life_year = 40_000`` EUR of ``life_year_price_year = 2005``: the value of a life
  year (VOLY) recommended for the EU by Desaigues et al. 2011 (Ecological Indicators 11:902,
  9-country contingent valuation, NEEDS project; at least 25 000 and at most 100 000 EUR).
- ``life_years_lost_per_death = 1.0`` year: ILLUSTRATIVE. Heat deaths are mostly deaths
  brought forward among the frail; Baccini et al. 2013 (PLoS ONE 8:e69638) found that
  accounting for this harvesting cuts the years of life lost to summer heat in 14 European
  cities by 75 % on average, but give no per-death figure usable here.
- ``inflation_rate = 0.02`` a year: ILLUSTRATIVE price conversion (the ECB's medium-term
  inflation target), not a price index.
- ``horizon_years = 30``: ILLUSTRATIVE appraisal period.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from metrotwin.scenario.schema import StrictModel

_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*")


class UnitCostOverride(StrictModel):
    """A replacement for some fields of one intervention type's row of the unit cost table;
    the fields left out keep the table's values. Amounts in EUR of ``price_year``."""

    cost_per_unit: float | None = Field(None, ge=0, description="capital cost (EUR per unit)")
    maintenance_per_unit_year: float | None = Field(
        None, ge=0, description="upkeep (EUR per unit and year)"
    )
    lifetime_years: float | None = Field(
        None, gt=0, le=200, description="service life (years); renewed at its end"
    )
    price_year: int | None = Field(
        None, ge=1900, le=2200, description="year of these prices (default: economics.price_year)"
    )


class Economics(StrictModel):
    """Discounting, valuation and unit-cost overrides of a risk run's cost-benefit."""

    discount_rate: float = Field(0.03, ge=0, le=0.25, description="real discount rate (1/yr)")
    horizon_years: int = Field(30, ge=1, le=200, description="appraisal period (years)")
    value_per_life_year: float = Field(
        40_000.0, ge=0, description="value of a life year (EUR of life_year_price_year)"
    )
    life_year_price_year: int = Field(2005, ge=1900, le=2200)
    life_years_lost_per_death: float = Field(
        1.0, ge=0, le=100, description="years of life lost per attributable heat death"
    )
    price_year: int = Field(2024, ge=1900, le=2200, description="year of the reported EUR")
    inflation_rate: float = Field(
        0.02, ge=-0.1, le=0.5, description="constant yearly price change used to convert years"
    )
    unit_costs: dict[str, UnitCostOverride] = Field(
        default_factory=dict, description="intervention type -> fields replacing its table row"
    )

    @field_validator("unit_costs")
    @classmethod
    def _type_names(cls, value):
        for name in value:
            if not _TYPE_NAME.fullmatch(name):
                raise ValueError(
                    f"unit_costs key {name!r} is not an intervention type name (lower-case "
                    f"letters, digits and _, e.g. green_roof)"
                )
        return value
