"""The scenario stage's schema and the observation readers share one vocabulary."""

from metrotwin.observe.variables import OBSERVED
from metrotwin.scenario.observations import OBSERVED_VARIABLES


def test_the_schema_knows_every_observed_variable_and_no_other():
    # the schema validates variable names without importing the readers' table (the scenario
    # stage is below observe): the two lists must name the same variables
    assert tuple(OBSERVED) == OBSERVED_VARIABLES
