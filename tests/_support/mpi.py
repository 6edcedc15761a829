"""How tests launch metrotwin under the venv's own MPI (a system mpiexec from another MPI would
fail or start singletons): one rank as plain Python, several under mpiexec with
``python -m mpi4py`` so that an exception aborts every rank."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

MPIEXEC = Path(sys.executable).parent / "mpiexec"


def require_mpiexec() -> None:
    if not MPIEXEC.exists():
        pytest.skip(f"no mpiexec beside {sys.executable} (pip install mpich)")


def metrotwin_command(args: list[str], ranks: int) -> list[str]:
    """The command running ``metrotwin ARGS`` on ``ranks`` ranks."""
    if ranks == 1:
        return [sys.executable, "-m", "metrotwin", *args]
    return [str(MPIEXEC), "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "metrotwin", *args]


def mpi_env(plugin: Path, **extra: str) -> dict:
    """The environment of a launched run: the test's plugin models on the path, one numba
    thread per rank (the ranks already oversubscribe the cores)."""
    return dict(os.environ, PYTHONPATH=str(plugin), NUMBA_NUM_THREADS="1", **extra)


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


def stopper_plugin(root: Path) -> Path:
    """A folder to put on PYTHONPATH that registers the ``stopper`` model (entry point)."""
    plugin = root / "plugin"
    info = plugin / "mt_stopper-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (plugin / "mt_stopper.py").write_text(STOPPER)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mt-stopper\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[metrotwin.models]\nstopper = mt_stopper:Stopper\n")
    return plugin


def scenario_setup(tmp_path_factory, name: str, data: dict) -> tuple[Path, Path]:
    """A folder with scenario ``data`` written as ``NAME.yaml`` and the stopper plugin: the
    (scenario, plugin) pair of a module's MPI runs (skips without mpiexec)."""
    import yaml

    require_mpiexec()
    root = tmp_path_factory.mktemp(name)
    scenario = root / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump(data))
    return scenario, stopper_plugin(root)


def serial_reference(scenario: Path, plugin: Path, *extra: str) -> Path:
    """The one-rank run every rank count is compared with (``OUT`` = ``serial`` beside it)."""
    out = scenario.parent / "serial"
    proc = run_scenario(scenario, out, 1, plugin, *extra)
    assert proc.returncode == 0, proc.stderr
    return out


def run_scenario(scenario: Path, out: Path, ranks: int, plugin: Path, *extra: str,
                 stop_at: float | None = None, timeout: float = 180):
    """``metrotwin run SCENARIO -o OUT`` on ``ranks`` ranks; ``stop_at`` (s) makes the stopper
    model signal the run at that simulated time."""
    import subprocess

    env = mpi_env(plugin)
    env.pop("MT_STOP_AT", None)
    if stop_at is not None:
        env["MT_STOP_AT"] = str(stop_at)
    cmd = metrotwin_command(["run", str(scenario), "-o", str(out), "--no-progress", *extra], ranks)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=scenario.parent,
                          timeout=timeout, check=False)


def assert_same_run(a: Path, b: Path, variants=("baseline",)) -> None:
    """Two run directories hold bit-identical fields and indicators (totals, districts and
    time series)."""
    import json

    import numpy as np

    from metrotwin.results.output import open_runs

    da, db = (open_runs(p).sel(variant=list(variants)) for p in (a, b))
    assert sorted(da.data_vars) == sorted(db.data_vars)
    assert da.sizes == db.sizes
    for name in da.data_vars:
        assert np.array_equal(da[name].values, db[name].values, equal_nan=True), name
    for variant in variants:
        ia = json.loads((a / variant / "indicators.json").read_text())
        ib = json.loads((b / variant / "indicators.json").read_text())
        assert ia["models"] == ib["models"], variant
        assert ia["time_series"] == ib["time_series"], variant
