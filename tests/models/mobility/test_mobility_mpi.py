"""The mobility model under MPI (issue 6), coupled to the flood model, with the venv's own
mpiexec (oversubscribed on this machine's cores): a scenario with a synthetic commuter
population, rain and a river inflow that floods and closes roads, and demand and road
interventions, gives bit-identical fields (grid and link variables) and indicators on 1, 2,
3 and 4 ranks (3 gives an uneven layout of the 41 x 61 grid), and a run stopped by a
signal after a checkpoint on 2 ranks, restarted on 3, ends bit-identical to the serial run.

What it exercises across the tile edges: the synthetic population drawn from buildings on
every tile (``demand.building_table``), the demand layers read at the origin nodes, the road
closure chosen by link midpoints, the per-link flood depth and hazard rating combined over
ranks, walkers spread over the ranks (their exposure and stranding counted where they are
owned), and the traffic heat written onto each rank's cells.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from metrotwin.results.output import open_runs

from tests._support.mpi import assert_same_run, run_scenario, scenario_setup, serial_reference

pytestmark = pytest.mark.mpi

SCENARIO = {
    "name": "mobmpi",
    "seed": 7,
    # 41 x 61 cells: no layout of 2, 3 or 4 ranks divides it evenly
    "domain": {"generated": {"size_x": 1220, "size_y": 820, "resolution": 20}},
    "period": {"start": "2026-07-15T07:00:00", "duration": "10 min",
               "coupling_interval": "1 min", "output_interval": "5 min"},
    "forcing": {"rainfall": {"hyetograph": [[0, 150.0], ["6 min", 40.0]]}},
    "interventions": [
        {"type": "mode_shift", "to": "bike", "share": 0.5,
         "where": {"bbox": [690300, 5335300, 690900, 5335800]}},
        {"type": "demand_change", "work_from_home": 0.3,
         "where": {"bbox": [690600, 5335200, 691200, 5336000]}},
        {"type": "road_closure", "where": {"bbox": [690500, 5335500, 690700, 5335700]}},
    ],
    "models": {
        "flood": {
            "inflows": [{"name": "river", "line": [[690005, 5335500], [690005, 5335700]],
                         "hydrograph": [[0, 20.0]]}],
            "boundaries": {"east": "free", "south": "free"},
        },
        # a sample of the commuters, departing around the start; shallow water closes
        # roads and stops walkers so that the flood coupling acts within 12 minutes
        "mobility": {"sample_fraction": 0.3, "departure_peak": 7.1, "departure_spread": 0.05,
                     "closed_depth": 0.05, "hazard_limit": 0.3},
        "stopper": {},
    },
    "parallel": {"checkpoint_interval": "3 min"},
}  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return scenario_setup(tmp_path_factory, "mobility_mpi", SCENARIO)


def _run(setup, ranks, out, *extra, stop_at=None):
    scenario, plugin = setup
    return run_scenario(scenario, out, ranks, plugin, *extra, stop_at=stop_at, timeout=150)


@pytest.fixture(scope="module")
def serial_run(setup):
    return serial_reference(*setup)


def _indicators(run: Path) -> dict:
    return json.loads((run / "baseline" / "indicators.json").read_text())


def test_serial_run_exercises_the_coupling(serial_run):
    """The reference run is not trivial: trips finish, roads close under the flood (and by
    the intervention), walkers or cyclists meet dangerous water, and traffic heat falls on
    the grid."""
    ind = _indicators(serial_run)["models"]["mobility"]
    assert ind["trips_completed"]["value"] > 100
    assert ind["trips_departed"]["value"] > ind["trips_completed"]["value"]
    assert ind["vehicle_km"]["value"] > 0
    ds = open_runs(serial_run)
    assert (ds["link_closed"].values == 1).any()
    assert (ds["link_flood_hazard"].values > 0).any()
    assert (ds["traffic_heat_flux"].values > 0).any()
    assert (ds["link_occupancy"].values > 0).any()


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_mobility_on_n_ranks_is_bit_identical_to_serial(setup, serial_run, ranks):
    out = setup[0].parent / f"n{ranks}"
    proc = _run(setup, ranks, out)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())
    assert resolved["run"]["ranks"] == ranks
    assert_same_run(serial_run, out)


def test_restart_on_another_number_of_ranks_is_bit_identical(setup, serial_run):
    """Stopped by SIGUSR1 during the step to 5 simulated minutes on 2 ranks (checkpoints at 3
    min, then at 5 min for the signal, with trips under way), continued with --restart on 3
    ranks: the final outputs equal the serial run's."""
    out = setup[0].parent / "restart"
    proc = _run(setup, 2, out, stop_at=300)
    assert proc.returncode != 0 and "checkpoint" in proc.stderr, proc.stderr
    assert not (out / "baseline").exists()  # nothing published: the run did not finish
    proc = _run(setup, 3, out, "--restart")
    assert proc.returncode == 0, proc.stderr
    log = (out / "baseline" / "run.log").read_text()
    assert "restarted at t = 300 s on 3 rank(s)" in log
    assert_same_run(serial_run, out)
