"""A third-party model, registered through the entry-point group ``metrotwin.models`` by a
package on sys.path, is found, listed and run like a built-in."""

from __future__ import annotations

import sys
import textwrap

import pytest

from metrotwin.cli import main
from metrotwin.run.registry import list_models, refresh_models

PLUGIN = '''
from pydantic import BaseModel, ConfigDict
from metrotwin import Indicator, Model, VarSpec


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = 1e-3


class Wetting(Model):
    """Adds a uniform film of water (a stand-in for a third-party physics package)."""

    name = "wetting"
    variables = {"film_thickness": VarSpec("out", "m", "water film thickness")}
    Params = Params

    def initialize(self, state, ctx):
        self.t = 0.0

    def advance(self, state, until):
        state["film_thickness"][...] += self.params.rate * (until - self.t)
        self.t = until

    def indicators(self, state):
        return {"film_mean": Indicator(float(state["film_thickness"].mean()), "m", "mean film")}
'''


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    """Install a package the way pip leaves it: the module and a dist-info with entry points."""
    (tmp_path / "mt_wetting.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "mt_wetting-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mt-wetting\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[metrotwin.models]\nwetting = mt_wetting:Wetting\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    refresh_models()
    yield tmp_path
    sys.modules.pop("mt_wetting", None)
    refresh_models()


def test_entry_point_model_is_discovered(plugin_on_path):
    models = list_models()
    assert "wetting" in models
    assert models["wetting"].__module__ == "mt_wetting"


def test_metrotwin_models_lists_it(plugin_on_path, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "wetting" in out and "film_thickness" in out and "writes" in out


def test_plugin_runs_in_a_scenario(plugin_on_path, tmp_path):
    import json

    import yaml

    scenario = {
        "name": "plugin",
        "domain": {"generated": {"size_x": 400, "size_y": 400, "resolution": 20}},
        "period": {"start": "2026-01-01T00:00:00", "duration": 600,
                   "coupling_interval": 60, "output_interval": 300},
        "models": {"wetting": {"rate": 0.001}},
    }  # fmt: skip
    path = tmp_path / "plugin.yaml"
    path.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--no-progress"]) == 0
    ind = json.loads((out / "baseline" / "indicators.json").read_text())
    assert ind["models"]["wetting"]["film_mean"]["value"] == pytest.approx(0.6)


def test_broken_plugin_is_a_warning_not_a_crash(tmp_path, monkeypatch):
    info = tmp_path / "mt_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mt-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[metrotwin.models]\nbroken = mt_broken_missing:Nope\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    refresh_models()
    try:
        with pytest.warns(RuntimeWarning, match="'broken' failed to load"):
            models = list_models()
        assert "broken" not in models
    finally:
        refresh_models()
