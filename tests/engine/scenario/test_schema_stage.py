"""The scenario schema is the lowest stage: it imports nothing of the later ones, and the
checks that need them (each model's ``Params`` through the registry, the registered
intervention types) run in ``metrotwin.run.scenario``, which the public names
``metrotwin.Scenario`` / ``load_scenario`` / ``parse_scenario`` are."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import metrotwin
from metrotwin.city.interventions import Intervention
from metrotwin.errors import ScenarioError
from metrotwin.run.registry import get_model
from metrotwin.scenario import scenario as schema

LATER_STAGES = ("metrotwin.city", "metrotwin.run", "metrotwin.results", "metrotwin.observe",
                "metrotwin.models", "metrotwin.viz", "metrotwin.hpc")  # fmt: skip


def test_the_schema_imports_no_later_stage():
    """In a fresh interpreter, loading and validating the schema (the demo file) imports no
    module of city, run, results, observe, models, viz or hpc."""
    code = (
        "import sys\n"
        "from metrotwin.scenario import scenario as s\n"
        "s.validate_file(s.Scenario)\n"
        f"print([m for m in sys.modules if m.startswith({LATER_STAGES!r})])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]", proc.stdout


def test_the_public_names_are_the_full_validation():
    assert metrotwin.Scenario.__module__ == "metrotwin.run.scenario"
    assert metrotwin.load_scenario.__module__ == "metrotwin.run.scenario"
    assert issubclass(metrotwin.Scenario, schema.Scenario)


def test_the_public_loader_validates_models_and_interventions(demo_data, tmp_path):
    demo_data["models"]["flood"]["no_such_parameter"] = 1
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(demo_data))
    with pytest.raises(ScenarioError, match=r"flood\.no_such_parameter"):
        metrotwin.load_scenario(path)
    demo_data["models"]["flood"].pop("no_such_parameter")
    demo_data["interventions"] = [{"type": "no_such_intervention"}]
    with pytest.raises(ScenarioError, match="unknown intervention type 'no_such_intervention'"):
        metrotwin.parse_scenario(demo_data)


def test_the_full_scenario_holds_typed_sections(demo_data):
    """Params objects and Intervention objects, also in a resolved variant (of the same
    class), and also through ``Scenario.model_validate`` directly."""
    for scenario in (metrotwin.parse_scenario(demo_data),
                     metrotwin.Scenario.model_validate(demo_data)):  # fmt: skip
        assert isinstance(scenario.models["flood"], get_model("flood").Params)
        variant = scenario.resolve_variant("green_blue")
        assert type(variant) is metrotwin.Scenario
        assert variant.interventions and all(
            isinstance(i, Intervention) for i in variant.interventions
        )
        assert isinstance(variant.models["heat"], get_model("heat").Params)


def test_the_schema_alone_keeps_the_sections_as_written(demo_data):
    scenario = schema.validate_scenario(schema.Scenario, demo_data)
    assert scenario.models["flood"] == demo_data["models"]["flood"]
    assert scenario.resolve_variant("green_blue").interventions[0]["type"] == "green_roof"
    with pytest.raises(ScenarioError, match="'models' maps model names to their parameters"):
        schema.validate_scenario(schema.Scenario, {**demo_data, "models": [1]})
