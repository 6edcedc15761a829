"""The ``hazards:`` schema: valid sections load; each kind of bad input gives one message that
names the field, the value and what would be valid."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from metrotwin.errors import ScenarioError
from metrotwin.scenario.hazards import DesignStorms, Hazards, Heatwaves, Sampling
from metrotwin.scenario.scenario import Scenario, validate_scenario
from metrotwin.scenario.validation import format_validation_error

PARAMETRIC = {
    "form": "parametric",
    "coefficients": {2: {"a": 800.0, "b": 8.0, "c": 0.75}, 10: {"a": 1200.0, "b": 8.0, "c": 0.75}},
}
TABLE = {
    "form": "table",
    "durations": ["10 min", "30 min", "1 h", "2 h"],
    "intensities": {5: [90.0, 45.0, 28.0, 17.0], 50: [140.0, 70.0, 44.0, 27.0]},
}


def message(schema, data) -> str:
    with pytest.raises(ValidationError) as err:
        schema.model_validate(data)
    return format_validation_error(err.value, prefix="hazards")


def test_a_valid_section_loads_with_periods_sorted():
    hazards = Hazards.model_validate({
        "design_storms": {"idf": PARAMETRIC, "return_periods": [10, 2],
                          "hyetograph": {"method": "alternating_block", "duration": "1 h",
                                         "time_step": "5 min", "peak_position": 0.5}},
        "heatwaves": {"daily_max_temperature": {5: 33.0, 50: 37.5}},
        "uncertain": [{"name": "models.flood.manning_n", "low": 0.01, "high": 0.05,
                       "distribution": "loguniform"}],
        "sampling": {"method": "sobol", "members": 8, "seed": 3},
    })  # fmt: skip
    assert hazards.design_storms.return_periods == [2.0, 10.0]
    assert hazards.design_storms.hyetograph.time_step == 300.0
    assert hazards.sampling.members == 8
    table = DesignStorms.model_validate({"idf": TABLE, "return_periods": [5]})
    assert table.idf.durations == [600.0, 1800.0, 3600.0, 7200.0]


@pytest.mark.parametrize("period", [1, 0.5, -2, 0])
def test_a_return_period_of_one_year_or_less_is_refused(period):
    text = message(DesignStorms, {"idf": PARAMETRIC, "return_periods": [period]})
    assert "hazards.return_periods.0" in text
    assert f"return period {period!r} is not valid: give a number of years > 1" in text


def test_idf_parameters_giving_infinite_intensities_are_refused():
    bad = {"form": "parametric", "coefficients": {2: {"a": 800.0, "b": -3.0, "c": 0.75}}}
    text = message(DesignStorms, {"idf": bad, "return_periods": [2]})
    assert "coefficients.2.b = -3 min" in text and "give b > -1" in text


def test_idf_parameters_giving_negative_intensities_are_refused():
    bad = {"form": "parametric", "coefficients": {2: {"a": -800.0, "b": 8.0, "c": 0.75}}}
    text = message(DesignStorms, {"idf": bad, "return_periods": [2]})
    assert "coefficients.2.a" in text and "greater than 0" in text and "-800" in text


def test_idf_parameters_above_the_rain_bound_are_refused():
    bad = {"form": "parametric", "coefficients": {2: {"a": 1e6, "b": 0.0, "c": 0.5}}}
    text = message(DesignStorms, {"idf": bad, "return_periods": [2]})
    assert "gives intensity 1e+06 mm/h at duration 1 min" in text and "<= 3600 mm/h" in text


def test_an_idf_table_rising_with_duration_is_refused():
    bad = dict(TABLE, intensities={5: [90.0, 95.0, 28.0, 17.0]})
    text = message(DesignStorms, {"idf": bad, "return_periods": [5]})
    assert "intensities.5: intensity rises from 90 mm/h at 10 min to 95 mm/h at 30 min" in text


def test_an_idf_table_whose_depth_falls_with_duration_is_refused():
    bad = dict(TABLE, intensities={5: [90.0, 20.0, 18.0, 17.0]})  # 15 mm in 10 min, 10 in 30
    text = message(DesignStorms, {"idf": bad, "return_periods": [5]})
    assert "depth i*d falls from 15 mm at 10 min to 10 mm at 30 min" in text


def test_an_idf_table_weaker_for_a_rarer_storm_is_refused():
    bad = dict(TABLE, intensities={5: [90.0, 45.0, 28.0, 17.0], 50: [80.0, 70.0, 44.0, 27.0]})
    text = message(DesignStorms, {"idf": bad, "return_periods": [5]})
    assert "the 50-year intensity is below the 5-year one" in text


def test_a_row_of_the_wrong_length_is_refused():
    bad = dict(TABLE, intensities={5: [90.0, 45.0]})
    text = message(DesignStorms, {"idf": bad, "return_periods": [5]})
    assert "intensities.5 has 2 intensities for 4 durations" in text


def test_a_return_period_without_a_curve_and_a_storm_longer_than_the_table_are_refused():
    text = message(DesignStorms, {"idf": TABLE, "return_periods": [5, 100]})
    assert "return periods 100 years have no IDF curve; the IDF relation has 5, 50" in text
    text = message(DesignStorms, {"idf": TABLE, "return_periods": [5],
                                  "hyetograph": {"duration": "3 h"}})  # fmt: skip
    assert "hyetograph.duration (10800 s) is longer than the IDF relation's longest" in text


def test_a_storm_not_a_whole_number_of_steps_is_refused():
    text = message(DesignStorms, {"idf": PARAMETRIC, "return_periods": [2],
                                  "hyetograph": {"duration": 1000, "time_step": 300}})  # fmt: skip
    assert "duration (1000 s) must be a whole number" in text


def test_peak_position_outside_zero_one_is_refused():
    text = message(DesignStorms, {"idf": PARAMETRIC, "return_periods": [2],
                                  "hyetograph": {"peak_position": 1.5}})  # fmt: skip
    assert "hazards.hyetograph.peak_position" in text and "1.5" in text


def test_a_heatwave_table_cooler_for_a_rarer_event_is_refused():
    text = message(Heatwaves, {"daily_max_temperature": {5: 35.0, 50: 33.0}})
    assert "the 50-year value (33 °C) is below the 5-year one (35 °C)" in text
    text = message(Heatwaves, {"daily_max_temperature": {1: 35.0}})
    assert "return period 1 is not valid" in text


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ({"name": "x", "low": 2.0, "high": 1.0}, "x: low (2) must be below high (1)"),
        ({"name": "x", "low": 0.0, "high": 1.0, "distribution": "loguniform"},
         "a loguniform range needs low > 0, got low = 0"),
        ({"name": "x", "low": 0.0, "high": 1.0, "distribution": "normal"},
         "give mean and std for a normal distribution"),
        ({"name": "x", "low": 0.0, "high": 1.0, "distribution": "normal", "mean": 3.0,
          "std": 1.0}, "mean 3 is outside [low, high] = [0, 1]"),
    ],
)  # fmt: skip
def test_bad_uncertain_parameters_are_refused(parameter, expected):
    assert expected in message(Hazards, {"uncertain": [parameter]})


def test_sobol_needs_a_power_of_two_members():
    text = message(Sampling, {"method": "sobol", "members": 12})
    assert "power of 2 members" in text and "got 12; use 8 or 16" in text
    assert Sampling.model_validate({"method": "lhs", "members": 12}).members == 12


def test_a_parameter_named_twice_is_refused():
    one = {"name": "models.flood.manning_n", "low": 0.01, "high": 0.05}
    assert "named twice: models.flood.manning_n" in message(Hazards, {"uncertain": [one, one]})


class ScenarioWithHazards(Scenario):
    """The scenario schema with the one line that would add the section (not added yet)."""

    hazards: Hazards | None = None


def test_in_a_scenario_bad_hazards_end_as_one_message_naming_the_field(small_scenario_data):
    data = dict(small_scenario_data, hazards={
        "design_storms": {"idf": PARAMETRIC, "return_periods": [0.5, 10]}})  # fmt: skip
    with pytest.raises(ScenarioError) as err:
        validate_scenario(ScenarioWithHazards, data, source="risk.yaml")
    text = str(err.value)
    assert text.startswith("risk.yaml: hazards.design_storms.return_periods.0: return period")
    assert len(text.splitlines()) == 1
    data["hazards"]["design_storms"]["return_periods"] = [2, 10]
    # a storm must fit in the period (hazards_fit): the default 2-h storm does not in 30 min
    data["hazards"]["design_storms"]["hyetograph"] = {"duration": "30 min"}
    good = validate_scenario(ScenarioWithHazards, data, source="risk.yaml")
    assert good.hazards.design_storms.return_periods == [2.0, 10.0]
