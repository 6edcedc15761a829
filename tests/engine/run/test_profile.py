"""`metrotwin run --profile`: where a run's time and memory go, stage by stage."""

from __future__ import annotations

import subprocess
import sys

import yaml

from metrotwin.city import build as city
from metrotwin.cli import main
from metrotwin.results.output import RESOLVED_FILE
from metrotwin.run.profile import StageProfile, profile_table


def test_stages_add_up_and_keep_the_peak():
    profile = StageProfile()
    profile.add("output", 1.0)
    profile.add("output", 0.5)
    with profile.stage("models"):
        pass
    data = profile.to_json()
    assert list(data) == ["output", "models"]
    assert data["output"]["seconds"] == 1.5
    assert 0 <= data["models"]["seconds"] < 0.1
    table = profile_table("t", data)
    assert "output" in table and "total" in table


def test_the_peak_memory_of_a_stage_sees_what_it_allocated():
    """In a fresh process (the high-water mark of this one is the test session's)."""
    code = (
        "import numpy as np\n"
        "from metrotwin.run.profile import StageProfile\n"
        "p = StageProfile()\n"
        "with p.stage('small'): pass\n"
        "with p.stage('big'): a = np.ones(64 * 2**20 // 8); del a\n"  # 64 MiB, touched
        "d = p.to_json(); print(d['big']['peak_rss_mib'] - d['small']['peak_rss_mib'])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 60 <= float(res.stdout) <= 80


def test_run_profile_is_printed_and_recorded(toy_registry, small_scenario_data, tmp_path, capsys):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    assert main(["run", str(path), "-o", str(tmp_path / "out"), "--profile", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for name in ("baseline", "more"):
        assert f"variant {name}" in printed
        run = yaml.safe_load((tmp_path / "out" / name / RESOLVED_FILE).read_text())["run"]
        stages = run["profile"]
        for stage in ("city (shared by the variants)", "model set-up", "output", "indicators",
                      "model source", "model spread", "coupling"):
            assert stage in stages, stage
        booked = sum(s["seconds"] for k, s in stages.items() if not k.startswith("city"))
        # the stages of the variant's own run cannot take longer than its wall time (plus the
        # set-up, booked before the variant's clock starts) and must explain most of it
        assert booked <= run["wall_time_s"] + stages["model set-up"]["seconds"] + 0.05
        assert booked >= 0.5 * run["wall_time_s"]
        assert run["peak_rss_mib"] >= max(s["peak_rss_mib"] for s in stages.values())
    assert "after the variants" in printed and "report" in printed


def test_a_data_domain_opens_its_elevation_once_for_its_grid(monkeypatch, tmp_path):
    """The whole grid of a data domain is asked for several times per run; the raster
    header is read once, and read again when the file changes."""
    import numpy as np
    import rioxarray  # noqa: F401 - registers .rio
    import xarray as xr

    from metrotwin.run.scenario import parse_scenario

    dem = tmp_path / "dem.tif"

    def write_dem(nx):
        da = xr.DataArray(np.zeros((20, nx), "f4"), dims=("y", "x"),
                          coords={"y": 5_000_000 - 5.0 - 10.0 * np.arange(20),
                                  "x": 500_000 + 5.0 + 10.0 * np.arange(nx)})  # fmt: skip
        da.rio.write_crs("EPSG:32632", inplace=True).rio.to_raster(dem)

    write_dem(30)
    data = {"name": "d", "domain": {"data": {"crs": "EPSG:32632", "resolution": 10,
                                             "elevation": {"path": str(dem)}}},
            "period": {"start": "2026-07-15T06:00:00", "duration": "10 min",
                       "coupling_interval": "5 min", "output_interval": "5 min"},
            "models": {}}  # fmt: skip
    calls = []
    from metrotwin.city.sources import raster as sources_raster

    original = sources_raster.domain_grid
    monkeypatch.setattr(sources_raster, "domain_grid", lambda d: calls.append(1) or original(d))
    scenario = parse_scenario(data)
    for _ in range(4):
        assert city.global_grid(scenario).shape == (20, 30)
    assert len(calls) == 1
    write_dem(40)  # the same path, another raster: read again
    assert city.global_grid(scenario).shape == (20, 40)
    assert len(calls) == 2
