"""The scenario as a run needs it: the schema of ``metrotwin.scenario.scenario`` with the
sections that depend on what is installed validated into typed objects, each model's
parameters against its ``Params`` (found through ``metrotwin.run.registry``) and each
intervention into its registered type (``metrotwin.city.interventions``; the model packages
register theirs when the registry loads them).

``Scenario``, ``load_scenario`` and ``parse_scenario`` here are the public ones (exported by
``metrotwin``): ``metrotwin validate`` and ``metrotwin run`` load every scenario through them.

>>> scenario = load_scenario()  # the built-in demo
>>> sorted(scenario.models)
['flood', 'heat', 'mobility']
>>> scenario.models["flood"].buildings  # a typed field of the flood model's Params
'raised'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError, model_validator

from metrotwin.city.interventions import Intervention, parse_interventions
from metrotwin.errors import MetrotwinError
from metrotwin.run.design_storm import design_hyetograph
from metrotwin.run.heatwave import design_day_maximum
from metrotwin.run.registry import list_models, model_params
from metrotwin.run.risk_members import events, scenario_data, set_field
from metrotwin.scenario import scenario as schema
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.validation import format_validation_error


class Scenario(schema.Scenario):
    """A scenario file, validated: ``models`` maps each model's name to its ``Params``
    object and ``interventions`` holds typed ``Intervention`` objects (the fields keep the
    schema's ``Any`` type so that each object is written out as its own class)."""

    @classmethod
    def parse_models(cls, value) -> dict[str, BaseModel]:
        return {name: model_params(name, params)
                for name, params in super().parse_models(value).items()}  # fmt: skip

    @classmethod
    def parse_interventions(cls, value) -> list[Intervention]:
        list_models()  # loading the models registers their intervention types
        return parse_interventions(super().parse_interventions(value))

    @model_validator(mode="after")
    def _variants_resolve(self):
        """A risk run's events can be made and its uncertain parameters set (see
        ``check_uncertain_fields``), checked before the variants are resolved (the schema's
        check of the same name, which this one takes the place of): an error of the
        baseline's is reported as the baseline's, not as its first variant's."""
        if self.hazards is not None:
            check_events(self)
            check_uncertain_fields(self)
        return super()._variants_resolve()


def check_events(scenario: Scenario) -> None:
    """ValueError unless every event's design storm and heatwave can be made (a block's rain
    within the bound on rain inputs, a heatwave table spanning the storms)."""
    hazards = scenario.hazards
    try:
        for period in events(hazards):
            if hazards.design_storms is not None:
                design_hyetograph(hazards.design_storms, period)
            if hazards.heatwaves is not None:
                design_day_maximum(hazards.heatwaves, period)
    except MetrotwinError as err:
        raise ValueError(str(err)) from None


def check_uncertain_fields(scenario: Scenario) -> None:
    """ValueError unless each ``hazards.uncertain`` parameter names a field of the scenario
    that exists and takes both ends of its range: the scenario is validated again with the
    field at ``low``, then at ``high`` (so a model's own bounds, e.g. ``manning_uniform`` in
    (0, 1], apply to the sampled values)."""
    for i, parameter in enumerate(scenario.hazards.uncertain):
        where = f"hazards.uncertain.{i}"
        for end in ("low", "high"):
            value = getattr(parameter, end)
            data = scenario_data(scenario)
            data["hazards"] = None
            try:
                set_field(data, parameter.name, value)
            except KeyError as err:
                raise ValueError(
                    f"{where}.name: {short_repr(parameter.name)} is not a field of this scenario "
                    f"({err.args[0]} is not there); give an existing dotted field, e.g. "
                    f"models.flood.manning_uniform or models.mobility.demand_scale"
                ) from None
            try:
                type(scenario).model_validate(data, context={"base_dir": None})
            except ValidationError as err:
                why = "; ".join(format_validation_error(err).splitlines())
                raise ValueError(
                    f"{where}.{end}: {parameter.name} = {value:g} is not a valid value of the "
                    f"field ({why}); narrow the range"
                ) from None


def parse_scenario(
    data: Any, *, source: str = "scenario", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario from parsed YAML; ScenarioError names every field that is wrong."""
    return schema.validate_scenario(Scenario, data, source=source, base_dir=base_dir)


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario file (default: the built-in demo)."""
    return schema.validate_file(Scenario, path)


__all__ = ["Scenario", "load_scenario", "parse_scenario"]
