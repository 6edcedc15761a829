"""Cost-benefit of a variant (metrotwin.results.risk.economics, .costs) by hand computations."""

import numpy as np
import pytest
from pydantic import ValidationError

from metrotwin.city.interventions import INTERVENTIONS
from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk import economics as econ
from metrotwin.results.risk.costs import (
    CROWN_AREA_M2,
    intervention_costs,
    line_length,
    quantity,
    unit_cost_table,
)
from metrotwin.run.registry import list_models
from metrotwin.scenario.economics import Economics


def test_annuity_factor_is_the_sum_of_the_discounted_years():
    for rate, years in [(0.03, 30), (0.07, 12), (0.0, 5)]:
        by_hand = sum((1 + rate) ** -t for t in range(1, years + 1))
        assert econ.annuity_factor(rate, years) == pytest.approx(by_hand, rel=1e-12)


def test_renewals_fall_at_each_end_of_life_before_the_horizon():
    assert econ.renewal_factor(0.05, 10, 30) == pytest.approx(1.05**-10 + 1.05**-20)
    assert econ.renewal_factor(0.05, 30, 30) == 0.0  # renewed at the horizon: not counted
    assert econ.renewal_factor(0.05, 50, 30) == 0.0


def test_npv_and_bcr_of_three_samples_by_hand():
    e = Economics(discount_rate=0.05, horizon_years=10)
    a = sum(1.05**-t for t in range(1, 11))  # 7.7217...
    out = econ.cost_benefit([100.0, 200.0, 300.0], 1000.0, e)
    np.testing.assert_allclose(out["npv_per_sample"], [100 * a - 1000, 200 * a - 1000,
                                                       300 * a - 1000])  # fmt: skip
    assert out["npv"]["p50"] == pytest.approx(200 * a - 1000)
    assert out["npv"]["mean"] == pytest.approx(200 * a - 1000)
    # numpy's linear quantile of 3 points: p05 = x0 + 0.1 (x1 - x0)
    assert out["npv"]["p05"] == pytest.approx(110 * a - 1000)
    assert out["bcr"]["p95"] == pytest.approx(290 * a / 1000)


def test_nothing_spent_has_no_bcr():
    out = econ.cost_benefit([5.0, 6.0], 0.0, Economics())
    assert out["bcr"] is None and out["npv"]["p50"] > 0


def test_benefit_adds_avoided_damage_and_valued_life_years():
    e = Economics(inflation_rate=0.02, price_year=2024, value_per_life_year=40_000.0,
                  life_year_price_year=2005, life_years_lost_per_death=1.5)  # fmt: skip
    b = econ.annual_benefits([1000.0, 3000.0], [400.0, 1000.0], [2.0, 4.0], [1.0, 3.5], e,
                             damage_price_year=2010)  # fmt: skip
    damage = np.array([600.0, 2000.0]) * 1.02**14
    lives = np.array([1.0, 0.5]) * 1.5 * 40_000.0 * 1.02**19
    np.testing.assert_allclose(b, damage + lives, rtol=1e-12)


def test_samples_of_different_designs_are_refused():
    with pytest.raises(RiskInputError, match="samples"):
        econ.annual_benefits([1.0, 2.0], [1.0], None, None, Economics(), damage_price_year=2010)


def test_equity_benefit_per_resident_and_who_gains_most():
    per = econ.benefit_per_resident({"Oldtown": 5000.0, "Eastfield": 900.0, "Park": 10.0},
                                    {"Oldtown": 1000.0, "Eastfield": 100.0, "Park": 0.0},
                                    {"Oldtown": 2000, "Eastfield": 200, "Park": 0})  # fmt: skip
    assert per == {"Oldtown": 2.0, "Eastfield": 4.0}
    assert econ.gains_most(per) == "Eastfield"
    assert econ.gains_most({"A": -1.0}) is None


def test_quantities_from_cells_lines_and_depths():
    assert quantity({}, "m2", 30, 100.0) == 3000.0
    assert quantity({"depth": 2.0}, "m3", 30, 100.0) == 6000.0
    assert quantity({"line": [[0, 0], [30, 40], [30, 50]]}, "m", 99, 100.0) == 60.0
    assert quantity({}, "tree", 10, 100.0) == 1000.0 / CROWN_AREA_M2
    assert line_length([[0, 0], [3, 4]]) == 5.0


def test_intervention_costs_by_hand():
    e = Economics(discount_rate=0.03, horizon_years=30, inflation_rate=0.0)
    items = [{"type": "green_roof", "where": {"district": "Oldtown"}},
             {"type": "cool_roof", "label": "white roofs"}]  # fmt: skip
    # the baseline had one intervention: these are the run's 2nd and 3rd
    costs = intervention_costs(items, 1, {"2:green_roof": 100, "white roofs": 50}, 100.0, e)
    row = unit_cost_table()["green_roof"]
    area = 100 * 100.0
    a = sum(1.03**-t for t in range(1, 31))
    assert costs[0].quantity == area
    assert costs[0].capital == pytest.approx(area * row.cost_per_unit)
    assert costs[0].maintenance == pytest.approx(area * row.maintenance_per_unit_year * a)
    assert costs[0].renewals == 0.0  # a 50-year life outlasts the 30-year horizon
    cool = unit_cost_table()["cool_roof"]  # 10-year life: renewed at years 10 and 20
    assert costs[1].renewals == pytest.approx(5000 * cool.cost_per_unit * (1.03**-10 + 1.03**-20))


def test_a_scenario_override_replaces_its_fields_only():
    e = Economics(inflation_rate=0.0, unit_costs={"levee": {"cost_per_unit": 1000.0}})
    (cost,) = intervention_costs([{"type": "levee", "line": [[0, 0], [100, 0]]}], 0, {}, 25.0, e)
    assert cost.capital == pytest.approx(100 * 1000.0)
    assert cost.maintenance == pytest.approx(
        100 * unit_cost_table()["levee"].maintenance_per_unit_year * econ.annuity_factor(0.03, 30)
    )


def test_unknown_types_are_refused_with_the_known_ones():
    with pytest.raises(RiskInputError, match=r"unit_costs.floodgate: .*green_roof"):
        intervention_costs([], 0, {}, 1.0, Economics(unit_costs={"floodgate": {}}))
    with pytest.raises(RiskInputError, match="'floodgate' has no unit cost"):
        intervention_costs([{"type": "floodgate"}], 0, {}, 1.0, Economics())


def test_every_intervention_type_has_a_unit_cost():
    list_models()  # the model packages register their own types
    assert set(INTERVENTIONS) <= set(unit_cost_table())


def test_economics_section_is_validated():
    with pytest.raises(ValidationError, match="Green Roof"):
        Economics.model_validate({"unit_costs": {"Green Roof": {}}})
    with pytest.raises(ValidationError, match="discount_rate"):
        Economics.model_validate({"discount_rate": -0.01})
