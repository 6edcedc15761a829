"""The CUDA flood solver on 2 MPI ranks, one (simulated) GPU each (issue 23, item 3): the halo
strips of the device arrays go through the host and ``ctx.exchange_halos``; the run must be
bit-identical to the 1-rank CUDA run, as the CPU path is (test_flood_mpi).

The ranks run ``metrotwin run`` under the venv's mpiexec with numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), where ``device: cuda`` selects ``CudaSolver`` (the simulator
counts only when the GPU is asked for by name). A generated city of 16 x 16 cells of 20 m (the generator's smallest), 1 minute: the 2
tiles are 8 columns wide
(a halo of 2), a point inflow falls on the first column of the second tile, rain, and free
outflow on the east and south sides (boundary faces on both tiles)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from metrotwin.results.output import open_runs

from tests._support.mpi import assert_same_run, metrotwin_command, mpi_env, scenario_setup

pytestmark = pytest.mark.mpi

SCENARIO = {
    "name": "floodcuda",
    "seed": 5,
    "domain": {"generated": {"size_x": 320, "size_y": 320, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "1 min",
               "coupling_interval": "30 s", "output_interval": "30 s"},
    "forcing": {"rainfall": {"hyetograph": [[0, 120.0]]}},
    "models": {"flood": {
        # 'cuda' builds CudaSolver or stops the run (device.choose): a finished run ran on it
        "device": "cuda",
        # x = 690170 is in column 8, the first column of rank 1 on 2 ranks
        "inflows": [{"name": "culvert", "point": [690170, 5335890], "hydrograph": [[0, 6.0]]}],
        "boundaries": {"east": "free", "south": "free"},
    }},
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The run directories of the CUDA solver on 1 and on 2 ranks."""
    scenario, plugin = scenario_setup(tmp_path_factory, "flood_cuda_mpi", SCENARIO)
    env = mpi_env(plugin, NUMBA_ENABLE_CUDASIM="1")
    out = {}
    for ranks in (1, 2):
        out[ranks] = scenario.parent / f"n{ranks}"
        cmd = metrotwin_command(["run", str(scenario), "-o", str(out[ranks]), "--no-progress"],
                                ranks)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              cwd=scenario.parent, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def test_cuda_on_2_ranks_is_bit_identical_to_1_rank(runs):
    """Every output field (maximum depth included) and indicator equal, and water crossed the
    tile edge (the second tile floods from the inflow on its first column)."""
    assert_same_run(runs[1], runs[2])
    depth_max = open_runs(runs[2])["flood_depth_max"].values
    assert np.nanmax(depth_max) > 0.01
    # the inflow's water reached the first tile: the rain alone brings 2 mm in the minute
    assert np.nanmax(depth_max[..., :8]) > 0.003
