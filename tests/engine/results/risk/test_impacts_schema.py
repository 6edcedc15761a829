"""The hazards.impacts section: defaults, and bad values refused with one message naming
the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from metrotwin.scenario.hazards import Hazards


def test_defaults_and_sorted_thresholds():
    impacts = Hazards.model_validate({"impacts": {"depth_thresholds": [0.5, 0.1]}}).impacts
    assert impacts.depth_thresholds == [0.1, 0.5]
    assert (impacts.country, impacts.depth_at, impacts.storeys_counted) == ("DEU", "border", 1)
    assert impacts.heat_health.rr_per_degree is None  # the sourced default of heat_health


@pytest.mark.parametrize("section, field", [
    ({"country": "Germany"}, "impacts.country"),
    ({"damage_curves": "/no/such/curves.csv"}, "impacts.damage_curves"),
    ({"depth_at": "door"}, "impacts.depth_at"),
    ({"depth_thresholds": [0.1, 0.1]}, "impacts.depth_thresholds"),
    ({"utci_thresholds": [99.0]}, "impacts.utci_thresholds"),
    ({"heat_health": {"rr_per_degree": 0.9}}, "impacts.heat_health.rr_per_degree"),
    ({"floor_area_per_resident": 0}, "impacts.floor_area_per_resident"),
    ({"colour": "red"}, "impacts.colour"),
])  # fmt: skip
def test_bad_impacts_input_names_the_field(section, field):
    with pytest.raises(ValidationError) as err:
        Hazards.model_validate({"impacts": section})
    errors = err.value.errors()
    assert len(errors) == 1
    assert ".".join(str(p) for p in errors[0]["loc"]) == field
