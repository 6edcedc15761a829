"""``hazards.design_storms.spatial``: a moving storm and a random multiplier load; each bad
value gives one message naming the field, the value and what would be valid."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from metrotwin.scenario.hazards import DesignStorms, Hazards
from metrotwin.scenario.validation import format_validation_error

IDF = {"form": "parametric", "coefficients": {10: {"a": 1200.0, "b": 8.0, "c": 0.75}}}
CELL = {"radius": 2000.0, "direction": 270.0, "speed": 8.0}
FIELD = {"coefficient_of_variation": 0.5, "correlation_length": 1500.0}


def storms(spatial) -> dict:
    return {"idf": IDF, "return_periods": [10], "spatial": spatial}


def message(spatial) -> str:
    """The one message a bad ``spatial`` gives, as the command line shows it."""
    with pytest.raises(ValidationError) as err:
        Hazards.model_validate({"design_storms": storms(spatial)})
    text = format_validation_error(err.value, prefix="hazards")
    assert len(text.splitlines()) == 1, text
    return text


def test_a_moving_storm_and_a_random_field_load():
    spatial = DesignStorms.model_validate(storms({
        "moving_cell": dict(CELL, start=[512000.0, 5403000.0]),
        "random_field": dict(FIELD, covariance="gaussian", decorrelation_time="15 min"),
    })).spatial  # fmt: skip
    assert spatial.moving_cell.start == (512000.0, 5403000.0)
    assert spatial.random_field.decorrelation_time == 900.0
    assert spatial.random_field.covariance == "gaussian"
    alone = DesignStorms.model_validate(storms({"random_field": FIELD})).spatial
    assert alone.moving_cell is None and alone.random_field.decorrelation_time is None
    assert DesignStorms.model_validate(storms(None)).spatial is None


@pytest.mark.parametrize(
    ("spatial", "expected"),
    [
        ({"moving_cell": dict(CELL, radius=0)},
         "hazards.design_storms.spatial.moving_cell.radius: radius 0 m is not valid: give a "
         "value > 0 and <= 1e+06 m"),
        ({"moving_cell": dict(CELL, direction=360)},
         "moving_cell.direction: direction 360 ° is not valid: give a value >= 0 and < 360 °"),
        ({"moving_cell": dict(CELL, direction=-10)},
         "moving_cell.direction: direction -10 ° is not valid: give a value >= 0 and < 360 °"),
        ({"moving_cell": dict(CELL, speed=0.05)},
         "moving_cell.speed: speed 0.05 m/s is not valid: give a value >= 0.1 and < 100 m/s"),
        ({"moving_cell": dict(CELL, speed="fast")},
         "moving_cell.speed: Input should be a valid number, unable to parse string as a number "
         "(got 'fast')"),
        ({"moving_cell": dict(CELL, start=[1.0])}, "moving_cell.start.1: required field is "
                                                   "missing"),
        ({"moving_cell": dict(CELL, shape="square")},
         "moving_cell.shape: unknown field (check the spelling against the documented fields)"),
        ({"random_field": dict(FIELD, coefficient_of_variation=0)},
         "random_field.coefficient_of_variation: coefficient_of_variation 0 (-) is not valid: "
         "give a value > 0 and <= 2 (-)"),
        ({"random_field": dict(FIELD, coefficient_of_variation=2.5)},
         "coefficient_of_variation 2.5 (-) is not valid: give a value > 0 and <= 2 (-)"),
        ({"random_field": dict(FIELD, correlation_length=-5)},
         "random_field.correlation_length: correlation_length -5 m is not valid: give a value "
         "> 0 and <= 1e+06 m"),
        ({"random_field": dict(FIELD, covariance="spherical")},
         "random_field.covariance: Input should be 'exponential' or 'gaussian' "
         "(got 'spherical')"),
        ({"random_field": dict(FIELD, decorrelation_time=-60)},
         "random_field.decorrelation_time: decorrelation_time must be >= 0 s and <= 1e7 s (0: a "
         "new field each block; leave it out for one field for the whole storm), got -60 s"),
        ({"random_field": dict(FIELD, decorrelation_time="soon")},
         "random_field.decorrelation_time: 'soon' is not a duration"),
        ({}, "hazards.design_storms.spatial: spatial is empty; give moving_cell, random_field "
             "or both (or leave spatial out for rain uniform in space)"),
    ],
)  # fmt: skip
def test_each_bad_value_is_named_with_what_would_be_valid(spatial, expected):
    assert expected in message(spatial)
