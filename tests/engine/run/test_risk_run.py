"""A risk run end to end on a tiny generated town (flood only, 2 return periods x 2 samples x
2 variants): every (variant, member) in ``OUT/<variant>/members/<id>``, the summarizer called
once per variant on the sorted members after they are published; a failed summary keeps the
members and ``--restart`` makes it again without running them; bad ``hazards:`` input is one
message, exit 2, nothing written; the members are bit-identical on 1 and 3 ranks and after a
stop and a restart on another number of ranks."""

from __future__ import annotations

import copy
import importlib.machinery
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from metrotwin.cli import main
from metrotwin.errors import MetrotwinError
from metrotwin.run import runner
from metrotwin.run.runner import run_scenario
from metrotwin.run.scenario import parse_scenario

from tests._support.mpi import run_scenario as launch
from tests._support.mpi import scenario_setup
from tests.engine.scenario.test_hazards_fit import BASE

MEMBERS = ["T2-s000", "T2-s001", "T10-s000", "T10-s001"]


class Summaries:
    """A summarizer that records its calls and writes a file into the variant's folder."""

    def __init__(self, fail: str | None = None):
        self.calls, self.fail = [], fail

    def __call__(self, variant_dir: Path, members, hazards) -> dict:
        self.calls.append((variant_dir, list(members), hazards))
        if variant_dir.name == self.fail:
            raise ValueError("deliberate failure")
        assert all((m.folder / "fields.nc").is_file() for m in members)  # published first
        (variant_dir / "risk.json").write_text(json.dumps([m.id for m in members]))
        return {}


def _max_depth(folder: Path) -> float:
    with xr.open_dataset(folder / "fields.nc") as ds:
        return float(ds["flood_depth_max"].max())


def test_a_risk_run(tmp_path):
    scenario = parse_scenario(copy.deepcopy(BASE))
    summaries = Summaries()
    out = tmp_path / "out"
    results = run_scenario(scenario, out, progress=False, summarize=summaries)
    assert results == {"baseline": out / "baseline", "drained": out / "drained"}
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "drained"]  # no work folder
    for variant in results:
        assert sorted(p.name for p in (out / variant).iterdir()) == ["members", "risk.json"]
        assert sorted(p.name for p in (out / variant / "members").iterdir()) == sorted(MEMBERS)
        for m in MEMBERS:
            resolved = yaml.safe_load((out / variant / "members" / m / "scenario.resolved.yaml")
                                      .read_text())  # fmt: skip
            assert resolved["run"]["variant"] == f"{variant}/members/{m}"
    assert [(d, [m.id for m in ms]) for d, ms, _ in summaries.calls] == [
        (out / "baseline", MEMBERS), (out / "drained", MEMBERS)]  # fmt: skip
    assert all(h is scenario.hazards for _, _, h in summaries.calls)
    members = summaries.calls[0][1]
    assert members[2].folder == out / "baseline" / "members" / "T10-s000"
    assert members[0].parameters == members[2].parameters != members[1].parameters
    # the storm of the 10-year event floods deeper than the 2-year one, sample for sample
    for k in (0, 1):
        assert _max_depth(members[2 + k].folder) > _max_depth(members[k].folder)


def test_members_after_each_variants_first_are_set_up_when_they_run(tmp_path, monkeypatch):
    """A group holds each variant's first member and the one running, not all of them."""
    events = []
    set_up, run = runner.CitySource.set_up, runner.VariantRun.run

    def spy_set_up(self, name):
        events.append(("set up", name))
        return set_up(self, name)

    def spy_run(self):
        events.append(("run", self.p.name))
        return run(self)

    monkeypatch.setattr(runner.CitySource, "set_up", spy_set_up)
    monkeypatch.setattr(runner.VariantRun, "run", spy_run)
    data = copy.deepcopy(BASE)
    data["hazards"]["design_storms"]["return_periods"] = [10]
    run_scenario(parse_scenario(data), tmp_path / "out", progress=False, summarize=Summaries())
    b, d = "baseline/members/T10-s00", "drained/members/T10-s00"
    assert events == [("set up", b + "0"), ("set up", d + "0"), ("run", b + "0"),
                      ("set up", b + "1"), ("run", b + "1"), ("run", d + "0"),
                      ("set up", d + "1"), ("run", d + "1")]  # fmt: skip


def test_the_default_summarizer_is_summary_summarize_variant(tmp_path, monkeypatch):
    """Without ``summarize``, a risk run calls ``metrotwin.results.risk.summary
    .summarize_variant`` where the module exists (here a stand-in), and warns without it."""
    summaries = Summaries()
    fake = types.ModuleType(runner.SUMMARY_MODULE)
    fake.__spec__ = importlib.machinery.ModuleSpec(runner.SUMMARY_MODULE, None)
    fake.summarize_variant = summaries
    monkeypatch.setitem(sys.modules, runner.SUMMARY_MODULE, fake)
    data = copy.deepcopy(BASE)
    data["hazards"]["design_storms"]["return_periods"] = [10]
    run_scenario(parse_scenario(data), tmp_path / "out", progress=False)
    assert [folder.name for folder, _, _ in summaries.calls] == ["baseline", "drained"]
    monkeypatch.setattr(runner.importlib.util, "find_spec", lambda name: None)
    assert runner.default_summarizer() is None


def test_a_failed_summary_keeps_the_members_and_restart_makes_it(tmp_path):
    scenario = parse_scenario(copy.deepcopy(BASE))
    out = tmp_path / "out"
    with pytest.raises(MetrotwinError) as info:
        run_scenario(scenario, out, progress=False, summarize=Summaries(fail="drained"))
    message = str(info.value)
    assert "risk summary of variant 'drained' could not be made (ValueError: deliberate " \
           "failure); retry with: metrotwin run SCENARIO -o" in message  # fmt: skip
    assert message.endswith("--restart")
    member = out / "drained" / "members" / "T2-s000" / "fields.nc"
    written = member.stat().st_mtime_ns
    other = copy.deepcopy(BASE)  # other samples: the kept members are not this scenario's
    other["hazards"]["sampling"]["seed"] = 99
    with pytest.raises(MetrotwinError) as info:
        run_scenario(parse_scenario(other), out, progress=False, restart=True,
                     summarize=Summaries())  # fmt: skip
    assert "T2-s000: this member was run with other hazards than the scenario's " \
           "(models.flood.manning_uniform: 0.0" in str(info.value)  # fmt: skip
    assert (out / ".metrotwin-work").is_dir() and member.stat().st_mtime_ns == written
    summaries = Summaries()
    results = run_scenario(scenario, out, progress=False, restart=True, summarize=summaries)
    assert list(results) == ["baseline", "drained"] and len(summaries.calls) == 2
    assert member.stat().st_mtime_ns == written  # not run again
    assert (out / "drained" / "risk.json").exists() and not (out / ".metrotwin-work").exists()


def test_a_finished_risk_run_is_replaced_only_with_overwrite(tmp_path):
    data = copy.deepcopy(BASE)
    data["hazards"]["design_storms"]["return_periods"] = [10]
    del data["variants"]
    scenario = parse_scenario(data)
    out = tmp_path / "out"
    run_scenario(scenario, out, progress=False, summarize=Summaries())
    member = out / "baseline" / "members" / "T10-s000" / "fields.nc"
    first = member.stat().st_mtime_ns
    with pytest.raises(MetrotwinError, match="holds a finished run .*--overwrite"):
        run_scenario(scenario, out, progress=False, summarize=Summaries())
    summaries = Summaries()
    run_scenario(scenario, out, progress=False, overwrite=True, summarize=summaries)
    assert member.stat().st_mtime_ns != first and len(summaries.calls) == 1
    assert sorted(p.name for p in out.iterdir()) == ["baseline"]


def _bad(**hazards) -> dict:
    data = copy.deepcopy(BASE)
    for path, value in hazards.items():
        node = data["hazards"]
        *parents, last = path.split("__")
        for part in parents:
            node = node[int(part) if part.isdigit() else part]
        node[last] = value
    return data


@pytest.mark.parametrize("data, says", [
    (_bad(design_storms__return_periods=[1, 10]), "return period 1 is not valid: give a number "
                                                  "of years > 1"),
    (_bad(design_storms__idf__coefficients__2__b=-1.5), "coefficients.2.b = -1.5 min makes d + "
                                                        "b <= 0"),
    (_bad(uncertain__0__high=2.0), "hazards.uncertain.0.high: models.flood.manning_uniform = 2 "
                                   "is not a valid value"),
])  # fmt: skip
def test_bad_hazards_are_one_message_exit_2_and_nothing_written(tmp_path, capsys, data, says):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--no-progress", "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"metrotwin: error: {path}: ") and says in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


# -- on several ranks ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mpi_case(tmp_path_factory):
    data = copy.deepcopy(BASE)
    data["models"]["stopper"] = {}  # signals the run at MT_STOP_AT (tests._support.mpi)
    data["parallel"] = {"checkpoint_interval": "10 min"}
    scenario, plugin = scenario_setup(tmp_path_factory, "riskmpi", data)
    reference = scenario.parent / "serial"
    proc = launch(scenario, reference, 1, plugin, "--no-report")
    assert proc.returncode == 0, proc.stderr
    return scenario, plugin, reference


def _assert_same_members(a: Path, b: Path) -> None:
    for variant in ("baseline", "drained"):
        for m in MEMBERS:
            fa, fb = (x / variant / "members" / m for x in (a, b))
            with xr.open_dataset(fa / "fields.nc") as da, xr.open_dataset(fb / "fields.nc") as db:
                assert sorted(da.data_vars) == sorted(db.data_vars)
                for name in da.data_vars:
                    assert np.array_equal(da[name].values, db[name].values, equal_nan=True), \
                        (variant, m, name)  # fmt: skip
            ia, ib = (json.loads((f / "indicators.json").read_text()) for f in (fa, fb))
            assert ia["models"] == ib["models"] and ia["time_series"] == ib["time_series"]


@pytest.mark.mpi
def test_members_on_three_ranks_are_those_of_one(mpi_case, tmp_path):
    scenario, plugin, reference = mpi_case
    out = tmp_path / "three"
    proc = launch(scenario, out, 3, plugin, "--no-report")
    assert proc.returncode == 0, proc.stderr
    _assert_same_members(reference, out)


@pytest.mark.mpi
def test_a_stopped_risk_run_restarts_on_other_ranks_bit_for_bit(mpi_case, tmp_path):
    scenario, plugin, reference = mpi_case
    out = tmp_path / "stopped"
    proc = launch(scenario, out, 3, plugin, "--no-report", stop_at=1200)
    assert proc.returncode == 75, proc.stderr
    work = out / ".metrotwin-work"
    assert any((work / v / "members").glob("*/checkpoint/manifest.json")
               for v in ("baseline", "drained")), proc.stderr
    assert "--restart" in proc.stderr
    again = launch(scenario, out, 2, plugin, "--no-report", "--restart")
    assert again.returncode == 0, again.stderr
    assert not work.exists()
    _assert_same_members(reference, out)
    logs = [(out / v / "members" / m / "run.log").read_text() for v in ("baseline", "drained")
            for m in MEMBERS]  # fmt: skip
    assert any("restarted at t = 1200 s" in log for log in logs)


def _spatial_case(tmp_path_factory) -> tuple[Path, Path]:
    data = copy.deepcopy(BASE)
    del data["variants"]
    data["hazards"]["uncertain"] = []  # the samples differ by their rain fields alone
    data["hazards"]["design_storms"] = {
        **copy.deepcopy(data["hazards"]["design_storms"]), "return_periods": [10],
        "spatial": {"moving_cell": {"radius": 300, "direction": 60, "speed": 5},
                    "random_field": {"coefficient_of_variation": 0.5,
                                     "correlation_length": 150}}}  # fmt: skip
    return scenario_setup(tmp_path_factory, "riskspatial", data)


@pytest.mark.mpi
def test_a_spatial_storm_rains_unevenly_and_alike_on_a_split_grid(tmp_path_factory, tmp_path):
    """A moving cell times a random field: the samples (which differ by their rain field
    alone) flood differently, and one member is the same when its grid is split over 2 ranks
    (the field is drawn on the whole domain and cut to each tile)."""
    scenario, plugin = _spatial_case(tmp_path_factory)
    serial = tmp_path / "serial"
    assert launch(scenario, serial, 1, plugin, "--no-report").returncode == 0
    depth = []
    for m in ("T10-s000", "T10-s001"):
        with xr.open_dataset(serial / "baseline" / "members" / m / "fields.nc") as ds:
            depth.append(ds["flood_depth_max"].values[-1])
    assert not np.array_equal(depth[0], depth[1], equal_nan=True)  # sample k's own rain
    one = copy.deepcopy(yaml.safe_load(scenario.read_text()))
    one["hazards"]["sampling"]["members"] = 1  # one unit: its group is both ranks
    one_file = scenario.with_name("one.yaml")
    one_file.write_text(yaml.safe_dump(one))
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert launch(one_file, whole, 1, plugin, "--no-report").returncode == 0
    proc = launch(one_file, parts, 2, plugin, "--no-report")
    assert proc.returncode == 0, proc.stderr
    member = Path("baseline") / "members" / "T10-s000"
    with xr.open_dataset(whole / member / "fields.nc") as a, \
            xr.open_dataset(parts / member / "fields.nc") as b:  # fmt: skip
        for name in ("flood_depth_max", "flood_water_thickness"):
            assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
