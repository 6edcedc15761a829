from __future__ import annotations

import copy

import pytest

from metrotwin.run.registry import list_models
from metrotwin.scenario.scenario import demo_scenario_path, read_yaml

from tests._support.toymodels import Failing, Source, Spread


@pytest.fixture
def toy_registry(monkeypatch):
    """The registry with the engine-test models added."""
    models = dict(list_models())
    models.update({"source": Source, "spread": Spread, "failing": Failing})
    monkeypatch.setattr("metrotwin.run.registry.list_models", lambda: models)
    return models


@pytest.fixture
def demo_data():
    """The demo scenario as parsed YAML (a fresh copy to mutate)."""
    return copy.deepcopy(read_yaml(demo_scenario_path()))


@pytest.fixture
def small_scenario_data():
    """A small, fast scenario with the toy models."""
    return {
        "name": "small",
        "seed": 7,
        "domain": {"generated": {"size_x": 600, "size_y": 480, "resolution": 20}},
        "period": {
            "start": "2026-07-15T06:00:00",
            "duration": "30 min",
            "coupling_interval": "5 min",
            "output_interval": "10 min",
        },
        "models": {"source": {"rate": 2.0}, "spread": {}},
        "variants": {"more": {"models": {"source": {"rate": 5.0}},
                              "interventions": [{"type": "cool_roof"}]}},
    }
