"""The scenario schema: valid files load, and each kind of bad input gets a message that names
the field, the value and what would be valid."""

from __future__ import annotations

import copy

import pytest

from metrotwin.errors import ScenarioError
from metrotwin.run.scenario import load_scenario, parse_scenario
from metrotwin.scenario.units import parse_duration


def test_demo_scenario_loads():
    scenario = load_scenario()
    assert scenario.name == "demo"
    assert scenario.variant_names[0] == "baseline" and len(scenario.variant_names) >= 3
    assert scenario.period.seconds == 6 * 3600


@pytest.mark.parametrize(
    "text, seconds",
    [(90, 90.0), ("90", 90.0), ("90 s", 90.0), ("10 min", 600.0), ("1.5h", 5400.0),
     ("2 d", 172800.0), ("PT10M", 600.0), ("P1DT1H", 90000.0)],
)  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def _set(path, value):
    def mutate(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _drop(path):
    def mutate(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


BAD = [
    # (mutation, words the message must contain)
    (_set(["period", "end"], "2026-07-15T05:00:00"), ["period", "must end after it starts"]),
    (_set(["period", "coupling_interval"], "-5 min"), ["coupling_interval", "-300"]),
    (_set(["period", "output_interval"], "7 min"), ["output_interval", "multiple of"]),
    (_set(["period", "coupling_interval"], "soon"), ["coupling_interval", "'soon'", "10 min"]),
    (_set(["models"], {"floood": {}}), ["models", "'floood'", "installed models"]),
    (_set(["nam"], "x"), ["nam", "unknown field"]),
    (_drop(["period"]), ["period", "required"]),
    (_drop(["domain", "generated"]), ["domain", "exactly one of"]),
    (_set(["domain", "generated", "resolution"], -10), ["resolution", "greater than 0"]),
    (_set(["domain", "generated", "size_x"], 100), ["16x16 cells"]),
    (_set(["forcing", "rainfall", "hyetograph"], [[0, 10], ["10 min", -5]]), ["hyetograph", "-5"]),
    (_set(["forcing", "rainfall", "hyetograph"], [[600, 10], [0, 5]]), ["increase strictly"]),
    (_set(["forcing", "weather", "design_day", "air_temperature_min"], 40), ["air_temperature_min", "above"]),
    (_set(["forcing", "weather", "latitude"], 95), ["latitude", "95"]),
    (_set(["interventions"], [{"type": "teleport"}]), ["interventions", "'teleport'", "valid types", "green_roof"]),
    (_set(["interventions"], [{"type": "levee", "line": [[0, 0], [1, 1]]}]), ["levee", "crest_height"]),
    (_set(["interventions"], [{"type": "trees", "fraction": 2}]), ["trees", "fraction", "less than or equal to 1"]),
    (_set(["interventions"], [{"type": "green_roof", "where": {"land_cover": "lava"}}]), ["lava", "valid classes"]),
    (_set(["variants", "baseline"], {}), ["baseline"]),
    (_set(["variants", "green_blue", "models"], {"nomodel": {"x": 1}}), ["variants.green_blue.models.nomodel", "not a model"]),
    (_set(["domain"], {"data": {"crs": "EPSG:4326", "resolution": 1, "elevation": {"path": "x.tif"}}}), ["crs", "not projected"]),
    (_set(["domain"], {"data": {"crs": "EPSG:99999999", "resolution": 1, "elevation": {"path": "x.tif"}}}), ["unknown CRS"]),
    (_set(["domain"], {"data": {"crs": "EPSG:32632", "resolution": 1, "elevation": {"path": "missing.tif"}}}), ["elevation.path", "file not found", "missing.tif"]),
    (_set(["seed"], -1), ["seed", "greater than or equal to 0"]),
    (_set(["name"], "my demo!"), ["name"]),
]  # fmt: skip


@pytest.mark.parametrize("mutate, words", BAD)
def test_bad_scenarios_are_refused_with_a_clear_message(demo_data, mutate, words):
    mutate(demo_data)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(demo_data, source="demo.yaml")
    message = str(info.value)
    assert message.startswith("demo.yaml: ")
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "Traceback" not in message


def test_variant_overriding_a_parameter_that_does_not_exist(demo_data, toy_registry):
    demo_data["models"] = {"source": {"rate": 1.0}}
    demo_data["variants"]["green_blue"]["models"] = {"source": {"speed": 3}}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(demo_data, source="demo.yaml")
    assert "variants.green_blue" in str(info.value)
    assert "speed" in str(info.value) and "unknown field" in str(info.value)


def test_variant_overrides_are_merged_and_validated(demo_data, toy_registry):
    demo_data["models"] = {"source": {"rate": 1.0}}
    demo_data["variants"]["green_blue"]["models"] = {"source": {"rate": 3.0}}
    scenario = parse_scenario(demo_data)
    assert scenario.models["source"].rate == 1.0
    resolved = scenario.resolve_variant("green_blue")
    assert resolved.models["source"].rate == 3.0
    assert [i.type for i in resolved.interventions] == [
        i["type"] for i in demo_data["variants"]["green_blue"]["interventions"]
    ]


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nperiod: [unclosed\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and "YAML syntax error" in str(info.value)
    assert "line" in str(info.value)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_relative_paths_resolve_from_the_scenario_folder(tmp_path, demo_data):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dem.tif").write_bytes(b"")
    demo_data["domain"] = {"data": {"crs": "EPSG:32632", "resolution": 5,
                                    "elevation": {"path": "sub/dem.tif"}}}  # fmt: skip
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(demo_data))
    scenario = load_scenario(path)
    assert scenario.domain.data.elevation.path == tmp_path / "sub" / "dem.tif"


def test_refdata_variable_expands(tmp_path, monkeypatch, demo_data):
    (tmp_path / "dem.tif").write_bytes(b"")
    monkeypatch.setenv("METROTWIN_REFDATA", str(tmp_path))
    data = copy.deepcopy(demo_data)
    data["domain"] = {"data": {"crs": "EPSG:32632", "resolution": 5,
                               "elevation": {"path": "${METROTWIN_REFDATA}/dem.tif"}}}  # fmt: skip
    scenario = parse_scenario(data)
    assert scenario.domain.data.elevation.path == tmp_path / "dem.tif"
