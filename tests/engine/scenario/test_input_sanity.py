"""Adversarial input (issue #15): every kind that once passed validation and failed later, ran
forever or published wrong numbers is now refused at validation with one bounded message."""

from __future__ import annotations

import io
import os
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest
import yaml

from metrotwin.cli import main
from metrotwin.errors import MetrotwinError, ScenarioError
from metrotwin.scenario.messages import MAX_MESSAGE
from metrotwin.run.scenario import load_scenario, parse_scenario


def _refused(data, *words):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, source="s.yaml")
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert len(message) <= MAX_MESSAGE
    return message


def _cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [".", "..", ".hidden", "-rf", "a/b", "x" * 65, "comparison", ""])
def test_unsafe_scenario_names_are_refused(demo_data, name):
    demo_data["name"] = name
    _refused(demo_data, "name")


@pytest.mark.parametrize(
    "name", ["comparison", "Comparison", ".metrotwin-work", ".", "..", "baseline", "v" * 65, "a.b/"]
)
def test_unsafe_variant_names_are_refused(demo_data, name):
    demo_data["variants"][name] = {}
    _refused(demo_data, "variant name")


@pytest.mark.parametrize("name", ["demo", "demo.v2", "A-1_b", "x" * 64])
def test_safe_names_are_kept(demo_data, name):
    demo_data["name"] = name
    demo_data["variants"] = {name: {}}
    assert parse_scenario(demo_data).variant_names == ["baseline", name]


# -- NaN and infinities --------------------------------------------------------------------------
NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    "path, value",
    [
        (("forcing", "rainfall", "hyetograph"), [[0, NAN]]),
        (("forcing", "rainfall", "hyetograph"), [[0, INF]]),
        (("forcing", "rainfall", "hyetograph"), [[0, "nan"]]),
        (("models", "flood", "initial_water"), {"level": NAN}),
        (("models", "flood", "initial_water"), {"level": "inf"}),
        (("models", "flood", "theta"), "nan"),
        (("models", "heat", "air_layer_depth"), "1e999"),
        (("models", "mobility", "demand_scale"), "nan"),
        (("period", "duration"), INF),
        (("period", "duration"), "1e999 s"),
        (("period", "coupling_interval"), NAN),
        (("domain", "generated", "west"), "-inf"),
        (("forcing", "weather", "design_day", "wind_speed"), "nan"),
    ],
)
def test_nan_and_inf_are_refused_in_every_numeric_field(demo_data, path, value):
    node = demo_data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    _refused(demo_data, path[-1])


def test_nan_in_an_intervention_is_refused(demo_data):
    demo_data["interventions"] = [{"type": "trees", "fraction": "nan"}]
    _refused(demo_data, "fraction")


def test_inf_in_a_third_party_models_parameters_is_refused(demo_data, toy_registry):
    demo_data["models"] = {"source": {"rate": INF}}  # its Params is a plain pydantic BaseModel
    _refused(demo_data, "models.source.rate", "finite")


# -- YAML --------------------------------------------------------------------------------------
def test_duplicate_yaml_keys_name_both_lines(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: dup\ndomain:\n  generated:\n    resolution: 20\n    size_x: 600\n"
        "    resolution: 1\nperiod: {start: 2026-07-15T06:00:00, duration: 1 h}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "'resolution'" in message and "line 6" in message and "line 4" in message


def _alias_bomb(levels=9, width=9) -> str:
    text = 'a: &a ["lol"' + ', "lol"' * (width - 1) + "]\n"
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]\n"
        prev = name
    return text + f"name: bomb\nmodels: {{flood: {{inflows: *{prev}}}}}\n"


def test_yaml_alias_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    assert path.stat().st_size < 600  # 9^9 = 387 million strings once expanded
    start = time.perf_counter()
    code, _, err = _cli("validate", str(path))
    # the old loader took 44 s and 3.3 GB here; counting each node once takes milliseconds
    assert time.perf_counter() - start < 5.0
    assert code == 2 and "expands" in err and len(err) <= MAX_MESSAGE + 100


def test_recursive_yaml_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: loop\nmodels: &m {flood: {inflows: [*m]}}\n")
    with pytest.raises(ScenarioError, match="recursive"):
        load_scenario(path)


def test_merge_keys_and_small_aliases_still_work(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: merged\ndomain: {generated: {size_x: 600, size_y: 480, resolution: 20}}\n"
        "period: {start: 2026-07-15T06:00:00, duration: 1 h}\n"
        "models: {flood: &f {theta: 0.8, cfl: 0.5}}\n"
        "variants: {calm: {models: {flood: {<<: *f, cfl: 0.4}}}}\n"
    )
    scenario = load_scenario(path)
    resolved = scenario.resolve_variant("calm").models["flood"]
    assert (resolved.theta, resolved.cfl) == (0.8, 0.4)


def test_every_message_is_bounded():
    assert len(str(MetrotwinError("x" * 100_000))) <= MAX_MESSAGE
    assert len(str(ScenarioError("y" * 100_000, source="s.yaml"))) <= MAX_MESSAGE


def test_a_huge_value_is_not_echoed_whole(demo_data):
    demo_data["name"] = "n" * 100_000
    assert len(_refused(demo_data, "scenario name")) < 1000


# -- resources -----------------------------------------------------------------------------------
def _write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def eight_gib(monkeypatch):
    monkeypatch.setattr("metrotwin.run.estimate.available_memory", lambda: 8.0 * 2**30)


def test_validate_prints_the_estimate(tmp_path, small_scenario_data, toy_registry, eight_gib):
    code, out, _ = _cli("validate", str(_write(tmp_path, small_scenario_data)))
    assert code == 0
    # the estimate's line (a scenario with interventions adds a hint about --cells after it)
    line = next(s for s in out.splitlines() if s.startswith("estimate:"))
    # 600 m x 480 m at 20 m = 24 x 30 cells; 30 min at 5 min = 6 coupling steps
    assert line.startswith("estimate: 24x30 = 720 cells, 6 coupling steps")
    assert "memory ~" in line and "run time ~" in line


def test_a_grid_larger_than_memory_is_refused_before_running(monkeypatch, tmp_path, demo_data,
                                                            eight_gib):
    demo_data["domain"]["generated"].update(size_x=70_000, size_y=70_000, resolution=10)
    path = _write(tmp_path, demo_data)
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    for command in ("validate", "run"):
        code, _, err = _cli(command, str(path))
        assert code == 2, err
        assert "49,000,000 cells" in err and "8 GiB available" in err
        assert "coarser resolution" in err and "--force" in err
    assert time.perf_counter() - start < 10.0  # was: MemoryError after 75 s
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
    code, out, _ = _cli("validate", "--force", str(path))
    assert code == 0 and "49,000,000 cells" in out


@pytest.mark.parametrize(
    "change, words",
    [
        ({"duration": "3650 d", "coupling_interval": 1, "output_interval": 3600},
         ["coupling steps", "coupling_interval"]),
        ({"coupling_interval": 1e-9}, ["coupling_interval", ">= 1 s"]),
        ({"duration": ".inf"}, ["duration", "finite"]),
        ({"duration": "1e400 d"}, ["duration"]),
        ({"output_interval": 10, "coupling_interval": 10, "duration": "30 d"}, ["output frames"]),
    ],
)  # fmt: skip
def test_period_steps_are_bounded(demo_data, change, words):
    demo_data["period"].pop("end", None)
    demo_data["period"].setdefault("duration", "6 h")
    demo_data["period"].update(change)
    if change.get("duration") == ".inf":
        demo_data["period"]["duration"] = INF
    _refused(demo_data, *words)


@pytest.mark.parametrize(
    "model, params, field",
    [("mobility", {"dt": 1e-9}, "dt"), ("flood", {"fixed_time_step": 1e-9}, "fixed_time_step"),
     ("heat", {"time_step": 0.01}, "time_step"),
     ("flood", {"max_time_step": 1e-6}, "max_time_step")],
)  # fmt: skip
def test_model_time_steps_have_a_minimum(demo_data, model, params, field):
    demo_data["models"][model] = params
    _refused(demo_data, field, "greater than or equal")


def test_checkpoints_are_not_more_frequent_than_coupling(demo_data):
    demo_data["parallel"] = {"checkpoint_interval": 1e-9}
    _refused(demo_data, "checkpoint_interval", "coupling_interval")


def test_too_many_model_steps_are_refused_unless_forced(tmp_path, demo_data, eight_gib):
    demo_data["domain"]["generated"].update(size_x=640, size_y=640, resolution=20)
    demo_data["period"] = {"start": "2026-07-15T06:00:00", "duration": "120 d",
                           "coupling_interval": "1 h", "output_interval": "1 d"}  # fmt: skip
    demo_data["models"] = {"mobility": {"dt": 0.5}}
    demo_data["variants"] = {}
    demo_data["forcing"] = {}
    demo_data["interventions"] = []
    path = _write(tmp_path, demo_data)
    code, _, err = _cli("validate", str(path))
    assert code == 2 and "mobility would take 20,736,000 steps" in err
    code, out, _ = _cli("validate", "--force", str(path))
    assert code == 0 and "mobility 20,736,000" in out


# -- files, CRS, environment -------------------------------------------------------------------
def _with_dem(demo_data, path):
    demo_data["domain"] = {"data": {"crs": "EPSG:32632", "resolution": 5,
                                    "elevation": {"path": str(path)}}}  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_input_file_is_refused_at_once(tmp_path, demo_data):
    fifo = tmp_path / "dem.tif"
    os.mkfifo(fifo)
    _with_dem(demo_data, fifo)
    _refused(demo_data, "elevation.path", "dem.tif", "not a regular file")
    demo_data["forcing"]["rainfall"] = {"file": str(fifo)}
    _refused(demo_data, "rainfall.file", "not a regular file")


def test_a_folder_as_input_file_is_refused(tmp_path, demo_data):
    _with_dem(demo_data, tmp_path)
    _refused(demo_data, "elevation.path", "is a folder")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_scenario_file_is_refused(tmp_path):
    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(fifo)


@pytest.mark.parametrize(
    "crs, words",
    [("garbage", ["unknown CRS 'garbage'"]),
     ("EPSG:4326", ["not projected", "EPSG:326xx"]),
     ("EPSG:2263", ["metres"])],  # NY State Plane, in US feet
)  # fmt: skip
def test_generated_city_crs_is_checked_at_validation(demo_data, crs, words):
    demo_data["domain"]["generated"]["crs"] = crs
    _refused(demo_data, "domain.generated.crs", *words)


def test_environment_variables_are_neither_expanded_nor_echoed(monkeypatch, tmp_path, demo_data):
    monkeypatch.setenv("METROTWIN_TEST_SECRET", str(tmp_path / "s3cr3t-value"))
    (tmp_path / "s3cr3t-value").mkdir()
    (tmp_path / "s3cr3t-value" / "dem.tif").write_bytes(b"")
    _with_dem(demo_data, "${METROTWIN_TEST_SECRET}/dem.tif")
    message = _refused(demo_data, "${METROTWIN_TEST_SECRET}/dem.tif", "file not found")
    assert "s3cr3t" not in message


def test_refdata_variable_is_still_expanded(monkeypatch, tmp_path, demo_data):
    monkeypatch.setenv("METROTWIN_REFDATA", str(tmp_path))
    (tmp_path / "dem.tif").write_bytes(b"")
    _with_dem(demo_data, "${METROTWIN_REFDATA}/dem.tif")
    scenario = parse_scenario(demo_data)
    assert scenario.domain.data.elevation.path == tmp_path / "dem.tif"


# -- readers never quote the files they read ------------------------------------------------------
SECRET_LINES = (
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:S3CRET-HASH:1000:1000::/home/alice:/bin/bash\n"
)


def _readers():
    from datetime import timezone

    from metrotwin.models.mobility.demand import read_od_csv, read_tntp_trips
    from metrotwin.models.mobility.network import read_tntp_network
    from metrotwin.run.weather import _read_csv

    return {
        "od_csv": (read_od_csv, SECRET_LINES),
        "tntp_trips": (read_tntp_trips, "<TOTAL OD FLOW> 1\n<END OF METADATA>\n" + SECRET_LINES),
        "tntp_origin": (read_tntp_trips, "<TOTAL OD FLOW> 1\n<END OF METADATA>\nOrigin daemon:x\n"),
        "tntp_net": (read_tntp_network, "<NUMBER OF LINKS> 1\n<END OF METADATA>\n" + SECRET_LINES),
        "weather_csv": (lambda p: _read_csv(p, timezone.utc), SECRET_LINES),
    }


@pytest.mark.parametrize("kind", ["od_csv", "tntp_trips", "tntp_origin", "tntp_net", "weather_csv"])
def test_readers_never_quote_lines_of_input_files(tmp_path, kind):
    reader, text = _readers()[kind]
    path = tmp_path / "data.txt"
    path.write_text(text)
    with pytest.raises(MetrotwinError) as info:
        reader(path)
    message = str(info.value)
    assert str(path) in message  # the file is named ...
    for secret in ("daemon", "nologin", "S3CRET", "/bin/bash"):  # ... its contents are not
        assert secret not in message, message


def test_the_estimate_adds_the_costs_the_models_declare():
    from metrotwin.run.estimate import BASE_MEMORY, estimate
    from metrotwin.run.registry import get_model

    scenario = load_scenario()  # the demo: 3000 m x 2400 m at 20 m, 6 h, coupling 5 min
    est = estimate(scenario)
    assert est.shape == (120, 150) and est.coupling_steps == 72
    # flood: at least one step per max_time_step (10 s); heat: one per coupling interval, its
    # 900 s step being longer; mobility: one per dt (1 s)
    assert est.model_steps == {"flood": 2160, "heat": 72, "mobility": 21600}
    per_cell = sum(get_model(m).memory_per_cell_bytes for m in ("flood", "heat", "mobility"))
    assert est.memory_bytes == pytest.approx(BASE_MEMORY + 18_000 * per_cell)
    assert per_cell == pytest.approx(1.4 * 1024)  # README "Capacity": flood + heat + mobility
    assert est.seconds > 0


def test_layer_bounds_count_and_place_offending_cells():
    import numpy as np

    from metrotwin.errors import DataSourceError
    from metrotwin.city.grid import Grid
    from metrotwin.city.landcover import CODE
    from metrotwin.city.layer_bounds import check_bounds, check_land_cover

    grid = Grid(ny=4, nx=5, resolution=2.0, west=1000.0, north=5000.0, crs="EPSG:32632")
    depth = np.zeros(grid.shape)
    depth[1, 3], depth[2, 0], depth[3, 4] = 150.0, -1.0, np.nan  # NaN: no-data, not counted
    with pytest.raises(DataSourceError) as info:
        check_bounds(depth, grid, layer="water_depth", source="depth.tif")
    # row 1, column 3: x = 1000 + 3.5 * 2, y = 5000 - 1.5 * 2
    assert "2 cell value(s) of water_depth lie outside 0..100 m" in str(info.value)
    assert "first at x=1007.0, y=4997.0 in EPSG:32632: 150" in str(info.value)
    check_bounds(np.where(np.isnan(depth), np.nan, 1.0), grid, layer="water_depth", source="ok")
    cover = np.full(grid.shape, min(CODE.values()), dtype="int16")
    cover[0, 1] = max(CODE.values()) + 1
    with pytest.raises(DataSourceError, match="1 cell.*no class.*x=1003.0, y=4999.0"):
        check_land_cover(cover, grid, source="cover.tif")
