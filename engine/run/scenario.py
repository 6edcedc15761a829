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

from pydantic import BaseModel

from metrotwin.city.interventions import Intervention, parse_interventions
from metrotwin.run.registry import list_models, model_params
from metrotwin.scenario import scenario as schema


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


def parse_scenario(
    data: Any, *, source: str = "scenario", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario from parsed YAML; ScenarioError names every field that is wrong."""
    return schema.validate_scenario(Scenario, data, source=source, base_dir=base_dir)


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Load and validate a scenario file (default: the built-in demo)."""
    return schema.validate_file(Scenario, path)


__all__ = ["Scenario", "load_scenario", "parse_scenario"]
