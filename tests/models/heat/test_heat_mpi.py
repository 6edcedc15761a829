"""The heat model under MPI (issue 6), with the venv's own mpiexec (oversubscribed): a heat
scenario gives bit-identical fields and indicators on 1, 2, 3 and 4 ranks, and a run stopped
after a checkpoint on 3 ranks and restarted on 2 ends bit-identical to the serial run.

The grid (41 x 61 cells at 20 m) is split unevenly by every layout; the horizons (searched
200-400 m, i.e. two to four segments across the grid) and the 100 m air cells (whole cells
per tile, a partial row and column at the south and east edges) and the ground a person
sees both cross the tile edges, and added trees give canopy shadows."""

from __future__ import annotations

import pytest
import yaml

from metrotwin.results.output import open_runs

from tests._support.mpi import assert_same_run, run_scenario, scenario_setup, serial_reference

pytestmark = pytest.mark.mpi

SCENARIO = {
    "name": "heatmpi",
    "seed": 5,
    "domain": {"generated": {"size_x": 1220, "size_y": 820, "resolution": 20}},
    "period": {"start": "2026-07-15T10:00:00", "duration": "80 min",
               "coupling_interval": "20 min", "output_interval": "40 min"},
    "forcing": {"weather": {"design_day": {"air_temperature_max": 34, "air_temperature_min": 21,
                                           "wind_speed": 3.0, "wind_direction": 200}}},
    # the ground a person sees spans 2 cells each side (a halo of 2 around every tile)
    "models": {"heat": {"time_step": 600, "horizon_distance": 200, "ground_view_radius": 40},
               "stopper": {}},
    "interventions": [{"type": "trees", "fraction": 0.5}],
    "parallel": {"checkpoint_interval": "20 min"},
}  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory, "heat_mpi", SCENARIO)


@pytest.fixture(scope="module")
def serial_run(setup):
    return serial_reference(*setup)


@pytest.mark.parametrize(("ranks", "layout"), [(2, None), (2, [2, 1]), (3, None), (4, None)])
def test_heat_on_n_ranks_is_bit_identical_to_serial(setup, serial_run, ranks, layout):
    """Default layouts split along x (1 x n) and 2 x 2; ``--layout 2 1`` splits along y."""
    scenario, plugin = setup
    out = scenario.parent / f"n{ranks}-{layout}"
    extra = ["--layout", *map(str, layout)] if layout else []
    proc = run_scenario(scenario, out, ranks, plugin, *extra)
    assert proc.returncode == 0, proc.stderr
    run = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())["run"]
    assert run["ranks"] == ranks
    if layout:
        assert run["layout"] == layout
    assert_same_run(serial_run, out)


def test_the_model_state_kept_for_checkpoints_is_not_an_output(serial_run):
    fields = open_runs(serial_run)
    assert "heat_utci_time_integral" not in fields
    assert "sky_view_factor" in fields and "universal_thermal_comfort_index" in fields


def test_a_layout_on_the_command_line_is_checked(setup):
    scenario, plugin = setup
    proc = run_scenario(scenario, scenario.parent / "bad", 1, plugin, "--layout", "0", "2")
    assert proc.returncode == 2
    assert "--layout 0 2: layout [0, 2] needs at least one rank along each axis" in proc.stderr
    assert not (scenario.parent / "bad").exists()


def test_heat_restart_on_another_number_of_ranks_is_bit_identical(setup, serial_run):
    """Stopped by SIGUSR1 at 40 simulated minutes on 3 ranks, continued on 2: the surface
    temperatures, the air anomaly and the time integrals come back from the tiles."""
    scenario, plugin = setup
    out = scenario.parent / "restart"
    proc = run_scenario(scenario, out, 3, plugin, stop_at=2400)
    assert proc.returncode != 0 and "checkpoint" in proc.stderr, proc.stderr
    proc = run_scenario(scenario, out, 2, plugin, "--restart")
    assert proc.returncode == 0, proc.stderr
    assert "restarted at t = 2400 s on 2 rank(s)" in (out / "baseline" / "run.log").read_text()
    assert_same_run(serial_run, out)
