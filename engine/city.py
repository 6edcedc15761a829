"""Build a scenario's city state: generated, or from data files."""

from __future__ import annotations

from metrotwin.scenario import Scenario
from metrotwin.state import CityState


def build_city(scenario: Scenario) -> CityState:
    """The static layers (and road network) of the scenario's domain."""
    domain = scenario.domain
    if domain.generated is not None:
        from metrotwin.citygen import generate_city

        return generate_city(domain.generated, scenario.seed)
    from metrotwin.datasources import build_city_from_data

    return build_city_from_data(domain.data, scenario.seed)
