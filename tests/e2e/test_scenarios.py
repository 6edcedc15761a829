"""The ready-made scenarios: every file validates, the reference-data scenarios run end to end
where the data is present, and the demo runs all three models with variants that change what
they should."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from metrotwin.run.runner import run_scenario
from metrotwin.viz.report import compare_runs
from metrotwin.scenario.scenario import read_yaml
from metrotwin.run.scenario import load_scenario, parse_scenario

from tests.conftest import REPO, refdata_path

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
NEEDS_REFDATA = [p for p in SCENARIOS if "${METROTWIN_REFDATA}" in p.read_text()]


def skip_without_packages(path: Path) -> None:
    """Skip where the scenario reads data from a package (pkg://PACKAGE/...) not installed."""
    missing = sorted({name for name in re.findall(r"pkg://(\w+)/", path.read_text())
                      if importlib.util.find_spec(name) is None})  # fmt: skip
    if missing:
        pytest.skip(f"{path.name} reads data from {', '.join(missing)}: pip install "
                    f"metrotwin[examples]")  # fmt: skip


@pytest.fixture
def refdata_env(monkeypatch):
    path = refdata_path()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set METROTWIN_REFDATA)")
    monkeypatch.setenv("METROTWIN_REFDATA", str(path))
    return path


def test_there_are_reference_scenarios():
    names = {p.stem for p in NEEDS_REFDATA}
    assert {"ea_test4", "sioux_falls", "heat_athens"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_validates(path, refdata_env):
    skip_without_packages(path)
    scenario = load_scenario(path)
    assert scenario.models, f"{path.name} runs no model"


@pytest.mark.slow
@pytest.mark.parametrize("path", NEEDS_REFDATA, ids=lambda p: p.stem)
def test_reference_scenario_runs_end_to_end(path, refdata_env, tmp_path):
    scenario = load_scenario(path)
    results = run_scenario(scenario, tmp_path / "out", progress=False, report=compare_runs)
    assert set(results) == set(scenario.variant_names)
    for folder in results.values():
        indicators = json.loads((folder / "indicators.json").read_text())["models"]
        assert set(indicators) == set(scenario.models)
        ds = xr.open_dataset(folder / "fields.nc", decode_coords="all")
        assert ds.rio.crs is not None and ds.sizes["time"] >= 2


@pytest.fixture(scope="module")
def demo_run(demo_run_dir):
    return {name: demo_run_dir / name for name in load_scenario().variant_names}


def _indicators(folder: Path) -> dict:
    return json.loads((folder / "indicators.json").read_text())["models"]


def test_demo_runs_all_models_and_variants(demo_run):
    assert list(demo_run) == ["baseline", "green_blue", "cool_city"]
    base = _indicators(demo_run["baseline"])
    assert set(base) == {"flood", "heat", "mobility"}
    ds = xr.open_dataset(demo_run["baseline"] / "fields.nc")
    for name in ("flood_water_thickness", "universal_thermal_comfort_index", "air_temperature",
                 "traffic_heat_flux", "link_speed"):  # fmt: skip
        assert name in ds, name
    # the cloudburst floods streets and strands travellers; the heat day stresses people
    assert base["flood"]["flooded_area_10cm"]["value"] > 0
    assert abs(base["flood"]["volume_balance_error"]["value"]) <= 1e-12
    assert base["mobility"]["trips_stranded"]["value"] > 0
    assert base["heat"]["utci_peak"]["value"] > 32
    assert set(base["flood"]["flooded_area_10cm"]["by_district"]) == {"Northbank", "Oldtown", "Eastfield"}


def test_demo_variants_change_what_they_should(demo_run):
    base = _indicators(demo_run["baseline"])
    green = _indicators(demo_run["green_blue"])
    cool = _indicators(demo_run["cool_city"])
    # green roofs, permeable paving and bigger drains in the old town: less water there
    key = "flooded_area_10cm"
    assert green["flood"][key]["by_district"]["Oldtown"] < base["flood"][key]["by_district"]["Oldtown"]
    assert green["flood"]["volume_drainage"]["value"] > base["flood"]["volume_drainage"]["value"]
    # cool roofs and pavements: cooler surfaces and air
    t_base = xr.open_dataset(demo_run["baseline"] / "fields.nc")
    t_cool = xr.open_dataset(demo_run["cool_city"] / "fields.nc")
    noon = -1
    assert float(t_cool.surface_temperature.isel(time=noon).mean()) < float(
        t_base.surface_temperature.isel(time=noon).mean()) - 0.5  # fmt: skip
    assert float(t_cool.air_temperature.isel(time=noon).mean()) < float(
        t_base.air_temperature.isel(time=noon).mean())  # fmt: skip
    # the same seed gives the same commuters in every variant
    assert base["mobility"]["trips_departed"]["value"] == cool["mobility"]["trips_departed"]["value"]
    assert np.isfinite(cool["heat"]["utci_mean"]["value"])


def test_demo_is_reproducible(demo_run, tmp_path):
    again = run_scenario(load_scenario(), tmp_path / "again", variants=["cool_city"],
                         progress=False)  # fmt: skip
    a = xr.open_dataset(demo_run["cool_city"] / "fields.nc")
    b = xr.open_dataset(again["cool_city"] / "fields.nc")
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
    assert _indicators(demo_run["cool_city"]) == _indicators(again["cool_city"])


# -- every shipped scenario runs to a report (issue 16, item 2) ---------------------------------
#: how each scenario is cut for the test (period, cell size, demand): what is tested is that
#: the run ends in its report, not the physics (validated in tests/models); each cut run takes
#: under 10 s on a shared core. The demo runs as shipped (the session's `metrotwin run`).
CUTS = {
    "demo_twin": {"period": {"duration": "1 h"}, "assimilation": {"members": 3}},
    "ea_test4": {"period": {"duration": "1 h"}},
    "heat_athens": {"period": {"start": "2023-07-21T10:00:00", "duration": "2 h"},
                    "domain": {"data": {"resolution": 4.0}}, "models": {"heat": {"azimuths": 8}}},
    "heat_demo": {"period": {"end": "2026-07-15T07:30:00"},
                  "domain": {"generated": {"resolution": 30}}},
    "sioux_falls": {"period": {"duration": "1 h"},
                    "models": {"mobility": {"demand_scale": 0.05}}},
    "helsinki_centre": {"period": {"duration": "2 h"}, "domain": {"data": {"resolution": 10.0}},
                        "models": {"heat": {"azimuths": 8}}},
    "prague_bubenec": {"period": {"duration": "2 h"}, "domain": {"data": {"resolution": 8.0}},
                       "models": {"heat": {"azimuths": 8}}},
    "demo_risk": {"domain": {"generated": {"resolution": 100}},
                  "hazards": {"design_storms": {"return_periods": [2, 100]},
                              "sampling": {"members": 1}}},
}  # fmt: skip


def _merge(data: dict, cut: dict) -> dict:
    for key, value in cut.items():
        if isinstance(value, dict):
            _merge(data.setdefault(key, {}), value)
        else:
            data[key] = value
    if "end" in cut.get("period", {}):
        data["period"].pop("duration", None)
    if "duration" in cut.get("period", {}):
        data["period"].pop("end", None)
    return data


def cut_scenario(path: Path):
    """The scenario of ``path`` with its test cut (``CUTS``) applied."""
    data = _merge(read_yaml(path), CUTS.get(path.stem, {}))
    return parse_scenario(data, source=str(path), base_dir=path.parent)


def assert_report_of(out: Path, variants: list[str]) -> str:
    """The run's report, its CSV and its netCDF are there and cover every variant and every
    indicator; returns the page."""
    report = out / "comparison" / "report.html"
    assert report.is_file(), f"no report for {out}"
    page = report.read_text(encoding="utf-8")
    for v in variants:
        assert f"<b>{v}</b>" in page, v
    rows = list(csv.DictReader((report.parent / "indicators.csv").open()))
    for v in variants:
        models = _indicators(out / v)
        want = {(m, name) for m, inds in models.items() for name in inds}
        have = {(r["model"], r["indicator"]) for r in rows if r["variant"] == v}
        # rows of a part of the day the run does not cover are left out (night in a morning)
        missing = {k for k in want - have if not k[1].endswith(("_day", "_night"))}
        assert not missing, (v, missing)
    with xr.open_dataset(report.parent / "comparison.nc") as ds:
        assert list(ds["variant"].values) == variants
    for section in ("indicators", "maps", "time"):
        assert f"id='{section}'" in page, section
    return page


def assert_risk_report_of(out: Path, variants: list[str]) -> None:
    """A risk run's report: every variant's risk summary in it, and its sections."""
    page = (out / "comparison" / "report.html").read_text(encoding="utf-8")
    ranking = json.loads((out / "comparison" / "risk_comparison.json").read_text())["ranking"]
    assert sorted(ranking) == sorted(variants[1:])
    for v in variants:
        assert f"<b>{v}</b>" in page and (out / v / "risk.json").is_file(), v
    for section in ("risk", "events", "exceedance", "sensitivity", "assumptions"):
        assert f"id='{section}'" in page, section


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_runs_to_a_report(path, request, tmp_path):
    if path.stem == "demo":
        out = request.getfixturevalue("demo_run_dir")
    else:
        if path in NEEDS_REFDATA:
            request.getfixturevalue("refdata_env")
        skip_without_packages(path)
        scenario = cut_scenario(path)
        out = tmp_path / path.stem
        run_scenario(scenario, out, progress=False, report=compare_runs)
    variants = load_scenario(path).variant_names if path.stem == "demo" else \
        scenario.variant_names  # fmt: skip
    if path.stem != "demo" and scenario.hazards is not None:
        assert_risk_report_of(out, variants)
        return
    page = assert_report_of(out, variants)
    if len(variants) == 1:  # its own results: no difference to a reference
        assert "minus" not in page and "Difference maps" not in page
        assert f"results of {variants[0]}" in page
