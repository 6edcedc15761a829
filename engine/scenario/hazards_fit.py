"""A risk run's ``hazards:`` section against the rest of its scenario (the schema's checks;
``metrotwin.run.scenario`` checks the uncertain parameters' fields against the models).

A risk run's members replace ``forcing.rainfall`` by their design storm, which starts at the
period's start, and the daily extremes of ``forcing.weather.design_day`` by their heatwave's
(``metrotwin.run.risk_members``). So a scenario with design storms may not give
``forcing.rainfall`` too (it would be ignored: refused rather than guessed), each storm must
fit in the period (it is neither cut nor the period stretched: every member has the same
output times), and heatwaves need a design day. Every error names the field, the value and
what would be valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrotwin.scenario.hazards import Hazards
from metrotwin.scenario.messages import short_repr

if TYPE_CHECKING:
    from metrotwin.scenario.scenario import Scenario

#: the scenario's sections an uncertain parameter may set: a member's model parameters,
#: forcing and interventions vary; its city, period and seed are those of the variant
UNCERTAIN_ROOTS = ("models", "forcing", "interventions")


def check_hazards_fit(scenario: Scenario) -> None:
    """ValueError naming the field unless ``scenario.hazards`` fits the rest of the scenario.

    A risk run's members replace ``forcing.rainfall`` by their design storm (which starts at
    the period's start) and the daily extremes of ``forcing.weather.design_day`` by their
    heatwave's; so a scenario with design storms may not give ``forcing.rainfall`` too (it
    would be ignored), each storm must fit in the period (it is not cut, nor the period
    stretched: every member has the same output times), and heatwaves need a design day."""
    hazards = scenario.hazards
    storms, heat = hazards.design_storms, hazards.heatwaves
    if storms is None and heat is None:
        raise ValueError("hazards: give design_storms or heatwaves (the events whose return "
                         "periods the members run); uncertain parameters alone have no event")
    if scenario.assimilation is not None:
        raise ValueError("hazards: a risk run's members are not assimilated; remove "
                         "'assimilation:' (and 'observations:') or 'hazards:'")
    if storms is not None:
        _check_storms_fit(scenario, storms)
    if heat is not None:
        _check_heatwaves_fit(scenario, heat, storms)
    for i, parameter in enumerate(hazards.uncertain):
        _check_uncertain_target(f"hazards.uncertain.{i}.name", parameter.name, hazards)


def _check_storms_fit(scenario: Scenario, storms) -> None:
    if scenario.forcing.rainfall is not None:
        raise ValueError("forcing.rainfall: a risk run's rain is each member's design storm "
                         "(hazards.design_storms); remove forcing.rainfall")
    length, period = storms.hyetograph.duration, scenario.period.seconds
    if length > period * (1 + 1e-12):
        raise ValueError(f"hazards.design_storms.hyetograph.duration ({length:g} s) is longer "
                         f"than the period ({period:g} s): the storm starts with the period "
                         f"and would be cut; lengthen the period or shorten the storm")


def _check_heatwaves_fit(scenario: Scenario, heat, storms) -> None:
    weather = scenario.forcing.weather
    if weather is None or weather.design_day is None:
        raise ValueError("hazards.heatwaves: each member's heatwave sets the daily extremes of "
                         "forcing.weather.design_day; give forcing.weather.design_day (the "
                         "other design-day fields are kept)")
    if storms is None:
        return
    table = sorted(heat.daily_max_temperature)
    outside = [t for t in storms.return_periods if not table[0] <= t <= table[-1]]
    if outside:
        raise ValueError(
            f"hazards.heatwaves: the design storms' return periods "
            f"{', '.join(f'{t:g}' for t in outside)} years are outside the heatwave table's "
            f"{table[0]:g} to {table[-1]:g} years (a member's heatwave is the table's value at "
            f"its storm's return period; nothing is extrapolated)")


def _check_uncertain_target(where: str, name: str, hazards: Hazards) -> None:
    """The roots and fields an uncertain parameter may not set (whether the field exists and
    takes the values is checked by ``metrotwin.run.scenario``, which knows the models)."""
    root = name.split(".")[0]
    if root not in UNCERTAIN_ROOTS:
        raise ValueError(f"{where}: {short_repr(name)} is not a field a member may vary; give a "
                         f"dotted field under {', '.join(UNCERTAIN_ROOTS)} (e.g. "
                         f"models.flood.manning_uniform)")
    taken = []
    if hazards.design_storms is not None:
        taken.append("forcing.rainfall")
    if hazards.heatwaves is not None:
        taken += [f"forcing.weather.design_day.air_temperature_{m}" for m in ("max", "min")]
    for field in taken:
        if name == field or name.startswith(field + ".") or field.startswith(name + "."):
            raise ValueError(f"{where}: {name} is set by each member's event (hazards), not "
                             f"sampled; choose another field")
