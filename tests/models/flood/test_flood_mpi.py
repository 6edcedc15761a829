"""The flood model under MPI (issue 6), with the venv's own mpiexec (oversubscribed on this
machine's cores): a flood-only scenario gives bit-identical fields and indicators on 1, 2, 3
and 4 ranks (3 gives an uneven layout of the 41 x 61 grid), and a run stopped by a signal
after a checkpoint on 2 ranks, restarted on 3, ends bit-identical to the serial run.

The scenario puts a point inflow on the first owned column of the second rank of a 2-rank
layout (so the inflow lands next to a tile edge), a line inflow across the west edge, rain,
and free outflow on two sides (so that boundary faces run across tile edges).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from metrotwin.output import open_runs

from ...mpi import metrotwin_command, mpi_env, require_mpiexec

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

# A model that does nothing but send its own process SIGUSR1 (what Slurm sends before the
# time limit) once the run passes MT_STOP_AT seconds: the runner then saves a checkpoint at
# the next coupling time and stops. Without MT_STOP_AT it is inert.
STOPPER = '''
import os, signal
from metrotwin import Model

class Stopper(Model):
    name = "stopper"
    def initialize(self, state, ctx):
        self.sent = False
    def advance(self, state, until):
        at = os.environ.get("MT_STOP_AT")
        if at is not None and until >= float(at) and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGUSR1)
'''


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    require_mpiexec()
    root = tmp_path_factory.mktemp("flood_mpi")
    plugin = root / "plugin"
    (plugin / "mt_floodstop-0.1.dist-info").mkdir(parents=True)
    (plugin / "mt_floodstop.py").write_text(STOPPER)
    (plugin / "mt_floodstop-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mt-floodstop\nVersion: 0.1\n"
    )
    (plugin / "mt_floodstop-0.1.dist-info" / "entry_points.txt").write_text(
        "[metrotwin.models]\nstopper = mt_floodstop:Stopper\n"
    )
    scenario = root / "flood.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    return root, scenario, plugin


def _run(setup, ranks, out, *extra, stop_at=None, timeout=120):
    root, scenario, plugin = setup
    env = mpi_env(plugin)
    env.pop("MT_STOP_AT", None)
    if stop_at is not None:
        env["MT_STOP_AT"] = str(stop_at)
    cmd = metrotwin_command(["run", str(scenario), "-o", str(out), "--no-progress", *extra], ranks)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, timeout=timeout)


@pytest.fixture(scope="module")
def serial_run(setup):
    out = setup[0] / "serial"
    proc = _run(setup, 1, out)
    assert proc.returncode == 0, proc.stderr
    return out


def _assert_same_run(a: Path, b: Path):
    da, db = open_runs(a), open_runs(b)
    assert sorted(da.data_vars) == sorted(db.data_vars)
    assert da.sizes == db.sizes
    for name in da.data_vars:
        assert np.array_equal(da[name].values, db[name].values, equal_nan=True), name
    ia = json.loads((a / "baseline" / "indicators.json").read_text())
    ib = json.loads((b / "baseline" / "indicators.json").read_text())
    assert ia["models"] == ib["models"]
    assert ia["time_series"] == ib["time_series"]


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
