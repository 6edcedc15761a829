"""The flood model under MPI (issue 6), with the venv's own mpiexec (oversubscribed on this
machine's cores): a flood-only scenario gives bit-identical fields and indicators on 1 and 4
ranks, and a run stopped by a signal after a checkpoint on 2 ranks, restarted on 3 (an uneven
layout of the 41 x 61 grid), ends bit-identical to the serial run. The same
with the advection term on (``advection: true``, whose wider stencil sets the halo), on 4
ranks (a 2 x 2 layout: tile corners) and across a restart.

The scenario puts a point inflow on the first owned column of the second rank of a 2-rank
layout (so the inflow lands next to a tile edge), a line inflow across the west edge, rain,
and free outflow on two sides (so that boundary faces run across tile edges).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from metrotwin.results.output import open_runs

from tests._support.mpi import assert_same_run, run_scenario, scenario_setup

pytestmark = pytest.mark.mpi


SCENARIO = {
    "name": "floodmpi",
    "seed": 3,
    # 41 x 61 cells: no layout of 2, 3 or 4 ranks divides it evenly
    "domain": {"generated": {"size_x": 1220, "size_y": 820, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "6 min",
               "coupling_interval": "1 min", "output_interval": "2 min"},
    "forcing": {"rainfall": {"hyetograph": [[0, 80.0], ["3 min", 20.0]]}},
    "models": {
        "flood": {
            "inflows": [
                # x = 690610 is in column 30, the first column of rank 1 on 2 ranks
                {"name": "culvert", "point": [690610, 5335590], "hydrograph": [[0, 2.0], ["6 min", 4.0]]},
                {"name": "river", "line": [[690005, 5335500], [690005, 5335700]], "hydrograph": [[0, 5.0]]},
            ],
            "boundaries": {"east": "free", "south": "free"},
        },
        "stopper": {},
    },
    "parallel": {"checkpoint_interval": "2 min"},
}  # fmt: skip

SCENARIO_ADVECTION = {**SCENARIO, "name": "floodmpiadv",
                      "models": {**SCENARIO["models"],
                                 "flood": {**SCENARIO["models"]["flood"], "advection": True}}}


def _fixed_step(per_sweep):
    """The scenario with a fixed 1.5 s step, ``per_sweep`` steps per sweep (2 cells of halo
    per step; None: the default)."""
    flood = {**SCENARIO["models"]["flood"], "fixed_time_step": 1.5, "steps_per_sweep": per_sweep}
    return {**SCENARIO, "name": f"floodmpisweep{per_sweep}",
            "models": {**SCENARIO["models"], "flood": flood}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    scenario, plugin = scenario_setup(tmp_path_factory, "flood_mpi", SCENARIO)
    root = scenario.parent
    (root / "flood_advection.yaml").write_text(yaml.safe_dump(SCENARIO_ADVECTION))
    for per_sweep in (1, 3, None):
        (root / f"flood_sweep{per_sweep}.yaml").write_text(yaml.safe_dump(_fixed_step(per_sweep)))
    narrow = {**_fixed_step(None), "name": "floodmpinarrow",
              "parallel": {**SCENARIO["parallel"], "layout": [1, 4]}}
    (root / "flood_narrow.yaml").write_text(yaml.safe_dump(narrow))
    return root, scenario, plugin


def _run(setup, ranks, out, *extra, stop_at=None, advection=False, scenario_file=None):
    root, scenario, plugin = setup
    if advection:
        scenario = root / "flood_advection.yaml"
    if scenario_file:
        scenario = root / scenario_file
    return run_scenario(scenario, out, ranks, plugin, *extra, stop_at=stop_at, timeout=120)


@pytest.fixture(scope="module")
def serial_run(setup):
    out = setup[0] / "serial"
    proc = _run(setup, 1, out)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def serial_run_advection(setup):
    out = setup[0] / "serial_advection"
    proc = _run(setup, 1, out, advection=True)
    assert proc.returncode == 0, proc.stderr
    return out


def _assert_same_run(a: Path, b: Path):
    assert_same_run(a, b)
    ind = json.loads((a / "baseline" / "indicators.json").read_text())["models"]["flood"]
    assert ind["volume_balance_error"]["value"] <= 1e-12


def test_serial_run_closes_the_volume_balance(serial_run):
    """The reference run itself is sound: every account is exercised and the balance closes
    to <= 1e-12 (the issue's requirement)."""
    ind = json.loads((serial_run / "baseline" / "indicators.json").read_text())["models"]["flood"]
    assert ind["volume_balance_error"]["value"] <= 1e-12
    for key in ("rain", "inflow", "boundary_out", "infiltration", "storage"):
        assert ind[f"volume_{key}"]["value"] > 0, key


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_flood_on_n_ranks_is_bit_identical_to_serial(setup, serial_run, ranks):
    out = setup[0] / f"n{ranks}"
    proc = _run(setup, ranks, out)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())
    assert resolved["run"]["ranks"] == ranks
    _assert_same_run(serial_run, out)


def test_restart_on_another_number_of_ranks_is_bit_identical(setup, serial_run):
    """Stopped by SIGUSR1 during the step to 3 simulated minutes on 2 ranks (checkpoints at 2
    min, then at 3 min for the signal), continued with --restart on 3 ranks: the final
    outputs equal the serial run's."""
    out = setup[0] / "restart"
    proc = _run(setup, 2, out, stop_at=180)
    assert proc.returncode != 0 and "checkpoint" in proc.stderr, proc.stderr
    assert not (out / "baseline").exists()  # nothing published: the run did not finish
    proc = _run(setup, 3, out, "--restart")
    assert proc.returncode == 0, proc.stderr
    log = (out / "baseline" / "run.log").read_text()
    assert "restarted at t = 180 s on 3 rank(s)" in log
    _assert_same_run(serial_run, out)


def test_advection_on_4_ranks_is_bit_identical_to_serial(setup, serial_run,
                                                         serial_run_advection):
    """The advection term needs the velocity of the face beyond the neighbour's far face (3
    cells of halo); on a 2 x 2 layout every tile edge and corner is crossed by the flow. The
    term does act here: the depths differ from the run without it."""
    out = setup[0] / "advection_n4"
    proc = _run(setup, 4, out, advection=True)
    assert proc.returncode == 0, proc.stderr
    _assert_same_run(serial_run_advection, out)
    depth = "flood_water_thickness"
    assert not np.array_equal(open_runs(serial_run)[depth].values,
                              open_runs(serial_run_advection)[depth].values)


def test_restart_with_advection_on_another_number_of_ranks_is_bit_identical(
        setup, serial_run_advection):
    """As the restart test above, with the advection term (its Courant condition is rebuilt
    from the restored discharges)."""
    out = setup[0] / "restart_advection"
    proc = _run(setup, 2, out, stop_at=180, advection=True)
    assert proc.returncode != 0 and "checkpoint" in proc.stderr, proc.stderr
    proc = _run(setup, 3, out, "--restart", advection=True)
    assert proc.returncode == 0, proc.stderr
    _assert_same_run(serial_run_advection, out)


@pytest.fixture(scope="module")
def serial_sweep1(setup):
    out = setup[0] / "sweep1_serial"
    proc = _run(setup, 1, out, scenario_file="flood_sweep1.yaml")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize(("per_sweep", "steps", "halo"), [(3, 3, 6), (None, 8, 16)])
def test_sweeps_on_4_ranks_are_bit_identical_to_one_step_per_sweep(setup, serial_sweep1,
                                                                   per_sweep, steps, halo):
    """With a fixed step the tiles advance several steps per sweep (3, or the default 8 on
    tiles) and exchange their halo of 2 cells per step once per sweep: on 4 ranks (a 2 x 2
    layout of 20-21 x 30-31 tiles) the outputs equal the serial run's with one step per
    sweep, which exchanges every step."""
    out = setup[0] / f"sweep{per_sweep}_n4"
    proc = _run(setup, 4, out, scenario_file=f"flood_sweep{per_sweep}.yaml")
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())
    assert resolved["scenario"]["models"]["flood"]["steps_per_sweep"] == per_sweep
    assert resolved["run"]["halo"] == halo
    assert_same_run(serial_sweep1, out)
    ind = json.loads((out / "baseline" / "indicators.json").read_text())["models"]["flood"]
    assert ind["volume_balance_error"]["value"] <= 1e-12


def test_tiles_narrower_than_the_halo_are_refused(setup):
    """The default sweep on tiles needs 16 cells of halo: 4 ranks in a row split the 61
    columns into tiles of 15, which a halo exchange cannot fill (it reaches the neighbour
    only). A clear error that names the numbers, exit status 2, nothing written."""
    out = setup[0] / "narrow_n4"
    proc = _run(setup, 4, out, scenario_file="flood_narrow.yaml")
    assert proc.returncode == 2, proc.stderr
    assert "layout [1, 4] gives tiles of 15 columns, fewer than the 16 cells of halo" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "baseline").exists()
