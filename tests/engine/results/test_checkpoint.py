"""Checkpoint and restart: a run killed (SIGKILL) after a checkpoint and restarted on another
number of ranks ends with the outputs of an uninterrupted run, bit for bit; SIGTERM (what
Slurm sends before the time limit) makes a run save a checkpoint and stop with status 75; a
damaged checkpoint or a changed scenario stops a restart on every rank with exit status 2."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import yaml

from tests._support.mpi import metrotwin_command, mpi_env, require_mpiexec
from tests.hpc.test_mpi import PLUGIN, SCENARIO, _assert_same_run

pytestmark = pytest.mark.mpi


def _start(args, ranks, cwd):
    return subprocess.Popen(metrotwin_command(args, ranks), env=mpi_env(PLUGIN), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def _end_session(proc) -> None:
    """Make sure no rank of an ended job lives on (a launcher may return before every rank
    of an aborted job has gone) before the test touches the files again."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_for(path, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path} appeared: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.02)


@pytest.fixture
def slow_scenario(tmp_path):
    require_mpiexec()
    data = dict(SCENARIO)
    data["models"] = {"diffuse": {"sleep_per_step": 0.4}}
    data["variants"] = {}
    data["parallel"] = {"checkpoint_interval": "10 min"}
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(data))
    reference = tmp_path / "reference"
    proc = _start(["run", str(path), "-o", str(reference), "--no-progress"], 1, tmp_path)
    assert proc.wait(timeout=240) == 0, proc.communicate()
    return path, reference


@pytest.mark.parametrize("first, second", [(2, 3), (3, 1)])
def test_killed_run_restarts_on_other_ranks_bit_for_bit(slow_scenario, tmp_path, first, second):
    path, reference = slow_scenario
    out = tmp_path / f"out{first}{second}"
    proc = _start(["run", str(path), "-o", str(out), "--no-progress"], first, tmp_path)
    _wait_for(out / ".metrotwin-work" / "baseline" / "checkpoint" / "manifest.json", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (out / "baseline").exists()  # nothing published by the killed run
    again = _start(["run", str(path), "-o", str(out), "--restart", "--no-progress"], second, tmp_path)
    stdout, stderr = again.communicate(timeout=240)
    assert again.returncode == 0, stderr
    _assert_same_run(reference, out)
    log = (out / "baseline" / "run.log").read_text()
    assert "restarted at t = 600 s" in log or "restarted at t = 1200 s" in log
    assert not (out / ".metrotwin-work").exists()


def test_sigterm_saves_a_checkpoint_and_stops_with_75(slow_scenario, tmp_path):
    path, reference = slow_scenario
    out = tmp_path / "out"
    proc = _start(["run", str(path), "-o", str(out), "--no-progress"], 2, tmp_path)
    _wait_for(out / ".metrotwin-work" / "baseline", proc)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)  # as a batch system does: every rank gets it
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 75, stderr
    assert "saved a checkpoint" in stderr and "--restart" in stderr
    assert (out / ".metrotwin-work" / "baseline" / "checkpoint" / "manifest.json").exists()
    again = _start(["run", str(path), "-o", str(out), "--restart", "--no-progress"], 2, tmp_path)
    _, stderr = again.communicate(timeout=240)
    assert again.returncode == 0, stderr
    _assert_same_run(reference, out)


def test_a_damaged_checkpoint_is_refused_on_every_rank_and_kept(tmp_path):
    """Stopped on 2 ranks, restarted on 3: a damaged file that only rank 1 of 3 checks
    (each rank hashes a share of the files) stops every rank with its message and exit 2;
    so does a changed scenario; the checkpoint stays, and a restart once both are undone
    continues the run."""
    require_mpiexec()
    data = dict(SCENARIO, models={"diffuse": {"sleep_per_step": 0.4}}, variants={})
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = _start(["run", str(path), "-o", str(out), "--no-progress"], 2, tmp_path)
    _wait_for(out / ".metrotwin-work" / "baseline", proc)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=120) == 75, proc.communicate()
    ck = out / ".metrotwin-work" / "baseline" / "checkpoint"
    damaged = ck / "outputs.00001.nc"  # sorted data files [o0, o1, s0, s1]: rank 1 of 3 has o1
    original = damaged.read_bytes()
    damaged.write_bytes(original[:-100])

    def restart(scenario):
        again = _start(["run", str(scenario), "-o", str(out), "--restart", "--no-progress"], 3,
                       tmp_path)  # fmt: skip
        _, stderr = again.communicate(timeout=240)
        _end_session(again)
        return again.returncode, stderr

    status, stderr = restart(path)
    assert status == 2, stderr
    # each rank ends the job (hpc.ensemble.abort) with the verdict they agreed on
    said = [line for line in stderr.splitlines() if line.startswith("metrotwin: error")]
    assert said and all("outputs.00001.nc: does not match its SHA-256" in line
                        and "without --restart" in line for line in said), stderr
    assert any(f"on rank {r}:" in stderr for r in (0, 2)), stderr  # not only the one that saw it
    assert not (out / "baseline").exists() and ck.is_dir()
    damaged.write_bytes(original)
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(dict(data, models={"diffuse": {"sleep_per_step": 0.4,
                                                                      "diffusivity": 6.0}})))
    status, stderr = restart(changed)
    assert status == 2 and "models.diffuse.diffusivity: 5.0 -> 6.0" in stderr, stderr
    assert ck.is_dir()
    status, stderr = restart(path)
    assert status == 0, stderr
    assert "restarted at t = " in (out / "baseline" / "run.log").read_text()
