"""The coupled demo under MPI (issue 6): flood, heat and mobility on one grid split over 2, 3
and 4 ranks give the serial run's fields and indicators bit for bit.

The demo scenario as shipped, cut to its first 90 minutes (the commute starts, the
cloudburst begins at 60 min) and run for its ``green_blue`` variant (green roofs, trees,
permeable paving and a drainage upgrade act on both the flood and the heat model). One
variant per run, so that every rank works on that variant's grid; then the three variants
as an ensemble on 4 ranks (the baseline on 2 ranks, the others on one each)."""

from __future__ import annotations

import pytest
import yaml

from metrotwin.scenario.scenario import demo_scenario_path

from tests._support.mpi import assert_same_run, run_scenario, scenario_setup, serial_reference

pytestmark = pytest.mark.mpi

VARIANT = "green_blue"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    data = yaml.safe_load(demo_scenario_path().read_text())
    data["period"]["end"] = data["period"]["start"].replace(hour=7, minute=30)
    data["period"]["output_interval"] = "45 min"
    return scenario_setup(tmp_path_factory, "demo_mpi", data)


@pytest.fixture(scope="module")
def serial_run(setup):
    return serial_reference(*setup, "--no-report")


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_demo_on_n_ranks_is_bit_identical_to_serial(setup, serial_run, ranks):
    scenario, plugin = setup
    out = scenario.parent / f"n{ranks}"
    proc = run_scenario(scenario, out, ranks, plugin, "--variant", VARIANT, "--no-report",
                        timeout=400)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load((out / VARIANT / "scenario.resolved.yaml").read_text())
    assert resolved["run"]["ranks"] == ranks
    assert set(resolved["run"]["model_wall_time_s"]) == {"flood", "heat", "mobility"}
    assert_same_run(serial_run, out, variants=(VARIANT,))


def test_demo_ensemble_of_three_variants_on_four_ranks(setup, serial_run):
    scenario, plugin = setup
    out = scenario.parent / "ensemble"
    proc = run_scenario(scenario, out, 4, plugin, "--no-report", timeout=400)
    assert proc.returncode == 0, proc.stderr
    ranks = {v: yaml.safe_load((out / v / "scenario.resolved.yaml").read_text())["run"]["ranks"]
             for v in ("baseline", "green_blue", "cool_city")}
    assert ranks == {"baseline": 2, "green_blue": 1, "cool_city": 1}
    assert_same_run(serial_run, out, variants=tuple(ranks))
