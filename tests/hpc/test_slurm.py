"""`metrotwin slurm` writes a job script that runs the scenario under srun, restarts from the
last checkpoint when one exists, and resubmits itself after a checkpoint (status 75)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metrotwin.cli import main


@pytest.fixture
def scenario(tmp_path, small_scenario_data, toy_registry):
    small_scenario_data["models"] = {}
    small_scenario_data["variants"] = {}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    return path


def _script(tmp_path, scenario, *extra):
    out = tmp_path / "runs"
    assert main(["slurm", str(scenario), "--nodes", "2", "--time", "01:30:00", "-o", str(out),
                 "--partition", "compute", *extra]) == 0  # fmt: skip
    return out, out / "metrotwin-small.sbatch"


def test_script_header(tmp_path, scenario):
    out, script = _script(tmp_path, scenario, "--tasks-per-node", "16")
    text = script.read_text()
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=16", "#SBATCH --time=01:30:00",
                 "#SBATCH --partition=compute", "#SBATCH --signal=USR1@540"):  # fmt: skip
        assert line in text
    assert "srun" in text and "-m mpi4py -m metrotwin run" in text
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def _shims(tmp_path, srun_body):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "srun").write_text(f"#!/bin/bash\n{srun_body}\n")
    (bin_dir / "sbatch").write_text(f'#!/bin/bash\necho "$@" >> {tmp_path}/sbatch.log\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def test_script_runs_and_does_not_resubmit_when_done(tmp_path, scenario):
    out, script = _script(tmp_path, scenario)
    env = _shims(tmp_path, 'echo "$@" > ' + str(tmp_path / "srun.log") + '\nexec "$@"')
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "baseline" / "fields.nc").exists()
    assert "--restart" not in (tmp_path / "srun.log").read_text()
    assert not (tmp_path / "sbatch.log").exists()


def test_script_resubmits_after_a_checkpoint_and_restarts(tmp_path, scenario):
    out, script = _script(tmp_path, scenario)
    (out / ".metrotwin-work").mkdir()  # an earlier job left its work folder
    env = _shims(tmp_path, 'echo "$@" >> ' + str(tmp_path / "srun.log") + "\nexit 75")
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--restart" in (tmp_path / "srun.log").read_text()
    assert (tmp_path / "sbatch.log").read_text().strip() == str(script)
    assert (out / ".metrotwin-resubmits").read_text().strip() == "1"


def test_bad_walltime_is_refused(tmp_path, scenario, capsys):
    assert main(["slurm", str(scenario), "--nodes", "1", "--time", "90 minutes"]) == 2
    assert "HH:MM:SS" in capsys.readouterr().err
