"""A scenario's ``hazards:`` against the rest of it: events needed, design storms replace
``forcing.rainfall`` (both given is refused), a storm fits in the period, heatwaves need a
design day and span the storms' return periods, an uncertain parameter names an existing
field that takes both ends of its range. Each refusal is one message naming the field."""

from __future__ import annotations

import copy

import pytest

from metrotwin.errors import ScenarioError
from metrotwin.run.scenario import parse_scenario
from metrotwin.scenario.scenario import Scenario as SchemaScenario
from metrotwin.scenario.scenario import validate_scenario

STORMS = {
    "idf": {"form": "parametric",
            "coefficients": {2: {"a": 600, "b": 8, "c": 0.75}, 10: {"a": 900, "b": 8, "c": 0.75}}},
    "hyetograph": {"duration": "30 min", "time_step": "10 min"},
    "return_periods": [2, 10],
}  # fmt: skip

BASE = {
    "name": "risky",
    "domain": {"generated": {"size_x": 800, "size_y": 640, "resolution": 40}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "40 min",
               "coupling_interval": "5 min", "output_interval": "10 min"},
    "models": {"flood": {}},
    "variants": {"drained": {"interventions": [{"type": "drainage_upgrade", "capacity": 30}]}},
    "hazards": {"design_storms": STORMS,
                "uncertain": [{"name": "models.flood.manning_uniform", "low": 0.02, "high": 0.05}],
                "sampling": {"members": 2}},
}  # fmt: skip


def data(**hazards) -> dict:
    out = copy.deepcopy(BASE)
    out["hazards"].update(hazards)
    return out


def refused(scenario: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario)
    return str(info.value)


def test_a_valid_risk_scenario_and_one_without_hazards():
    assert parse_scenario(data()).hazards.design_storms.return_periods == [2.0, 10.0]
    plain = copy.deepcopy(BASE)
    del plain["hazards"]
    assert parse_scenario(plain).hazards is None


def test_events_are_needed():
    message = refused(data(design_storms=None))
    assert message.startswith("scenario: hazards: give design_storms or heatwaves"), message


def test_design_storms_and_forcing_rainfall_together_are_refused():
    scenario = data()
    scenario["forcing"] = {"rainfall": {"hyetograph": [[0, 10], [600, 0]]}}
    assert "forcing.rainfall: a risk run's rain is each member's design storm" in refused(scenario)
    in_variant = data()  # a variant bringing its own rain is refused too, naming the variant
    in_variant["variants"]["drained"]["forcing"] = {"rainfall": {"hyetograph": [[0, 10]]}}
    message = refused(in_variant)
    assert "variants.drained" in message and "remove forcing.rainfall" in message, message


def test_a_storm_longer_than_the_period_is_refused():
    storms = copy.deepcopy(STORMS)
    storms["hyetograph"]["duration"] = "1 h"
    message = refused(data(design_storms=storms))
    assert "hazards.design_storms.hyetograph.duration (3600 s) is longer than the period " \
           "(2400 s)" in message, message  # fmt: skip


def test_heatwaves_need_a_design_day_and_span_the_storms():
    heat = {"daily_max_temperature": {2: 31, 10: 35}}
    message = refused(data(heatwaves=heat))
    assert "hazards.heatwaves: each member's heatwave sets the daily extremes of " \
           "forcing.weather.design_day" in message, message  # fmt: skip
    scenario = data(heatwaves={"daily_max_temperature": {2: 31, 5: 33}})
    scenario["forcing"] = {"weather": {"design_day": {"relative_humidity": 40}}}
    message = refused(scenario)
    assert "return periods 10 years are outside the heatwave table's 2 to 5 years" in message


@pytest.mark.parametrize("name, says", [
    ("period.duration", "'period.duration' is not a field a member may vary"),
    ("forcing.rainfall.hyetograph", "forcing.rainfall.hyetograph is set by each member's event"),
])  # fmt: skip
def test_uncertain_parameters_the_schema_refuses(name, says):
    uncertain = [{"name": name, "low": 1, "high": 2}]
    with pytest.raises(ScenarioError, match="hazards.uncertain.0.name") as info:
        validate_scenario(SchemaScenario, data(uncertain=uncertain))
    assert says in str(info.value)


def test_an_uncertain_field_must_exist_and_take_its_range():
    missing = [{"name": "models.flood.manning_uniformz", "low": 0.02, "high": 0.05}]
    message = refused(data(uncertain=missing))
    assert message.startswith("scenario: hazards.uncertain.0.name: "
                              "'models.flood.manning_uniformz' is not a field"), message
    too_high = [{"name": "models.flood.manning_uniform", "low": 0.02, "high": 1.5}]
    message = refused(data(uncertain=too_high))
    assert message.startswith("scenario: hazards.uncertain.0.high: models.flood."
                              "manning_uniform = 1.5 is not a valid value"), message
    assert "less than or equal to 1" in message
    no_model = [{"name": "models.mobility.demand_scale", "low": 0.5, "high": 1.5}]
    assert "models.mobility is not there" in refused(data(uncertain=no_model))


def test_a_variant_override_is_still_checked():
    scenario = data()
    scenario["variants"]["drained"]["models"] = {"flood": {"cfl": 5}}
    assert "variants.drained" in refused(scenario)


def test_a_design_storm_above_the_rain_bound_is_refused_at_validation():
    # the schema checks the IDF from 1-min storms on; in 10-s blocks its peak is above the
    # 3600 mm/h any rain input allows (3000 / (1/6)^0.75 = 11500 mm/h for a 10-s storm)
    storms = copy.deepcopy(STORMS)
    storms["idf"]["coefficients"] = {2: {"a": 2000, "b": 0, "c": 0.75},
                                     10: {"a": 3000, "b": 0, "c": 0.75}}
    storms["hyetograph"]["time_step"] = "10 s"
    message = refused(data(design_storms=storms))
    assert "hazards.design_storms: the 2-year chicago storm reaches" in message, message
