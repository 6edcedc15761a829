"""The output folder is safe: resolved before any decision, locked against a second run,
checked (writable, not a file, not a finished run, no user folder in the way) before the city
is built, cleaned of only what the run created; a full or read-only disk is the user's error
(exit 2) with its cause; Ctrl-C keeps finished variants and a checkpoint to restart from."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from collections import namedtuple
from pathlib import Path

import pytest
import yaml

from metrotwin.results.checkpoint import has_checkpoint
from metrotwin.cli import main

from tests._support.mpi import MPIEXEC, metrotwin_command, mpi_env, require_mpiexec

PLUGIN = Path(__file__).parents[2] / "_support" / "mpi_plugin"
WORK = ".metrotwin-work"
LOCK_FILE = ".metrotwin.lock"


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def small_file(tmp_path, small_scenario_data):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    return path


@pytest.fixture
def failing_file(tmp_path, small_scenario_data):
    small_scenario_data["models"]["failing"] = {}
    path = tmp_path / "fail.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    return path


@pytest.fixture
def no_city(monkeypatch):
    """Building the city is an error: proves that a refusal came before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the city was built before the output folder was refused")

    monkeypatch.setattr("metrotwin.run.runner.prepare_variants", refuse)


@pytest.fixture
def crash_dirs(tmp_path, monkeypatch):
    """The crash log's candidate folders, inside the test's own folder."""
    cache, temp = tmp_path / "cache", tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    return cache, temp


@pytest.fixture
def read_only():
    """Make a folder read-only for this process: chmod for a user, the immutable attribute
    for root (whom permissions do not stop)."""
    undo = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555)
            undo.append(lambda: path.chmod(0o755))
            return
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("as root, only chattr +i makes a folder read-only, and it is unavailable")
        undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))

    yield make
    for step in reversed(undo):
        step()


def _main(capsys, *args) -> tuple[int, str]:
    code = main(["run", *map(str, args), "--no-progress"])
    return code, capsys.readouterr().err


def _tree(path: Path) -> dict[str, int]:
    """Every file below ``path`` with its modification time (ns): what 'unchanged' means."""
    files = (p for p in sorted(path.rglob("*")) if p.is_file())
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in files}


#: the MPI-test model (a diffusing tracer) with a pause per coupling step, to catch a run in
#: a subprocess mid-way: 6 steps of 5 min per variant
SLOW = {
    "name": "slow",
    "seed": 3,
    "domain": {"generated": {"size_x": 480, "size_y": 400, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "30 min",
               "coupling_interval": "5 min", "output_interval": "10 min"},
    "models": {"diffuse": {"sleep_per_step": 0.4}},
    "variants": {"wetter": {"models": {"diffuse": {"below": 104}}}},
}  # fmt: skip


def _slow_file(tmp_path, **changes) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump({**SLOW, **changes}))
    return path


def _start(args, cwd, **env) -> subprocess.Popen:
    return subprocess.Popen(metrotwin_command([*args, "--no-progress"], 1), cwd=cwd,
                            env=mpi_env(PLUGIN, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_until(done, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert proc.poll() is None, f"the run ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


# -- the path is resolved before any decision; clean-up removes only what the run made -----


def test_a_dotdot_output_never_deletes_the_working_directory(toy_registry, failing_file, tmp_path,
                                                              monkeypatch, capsys, crash_dirs):  # fmt: skip
    """What a scenario named '..' did with the default output runs/..: the run counted the
    working directory as its own (runs/ did not exist) and its clean-up removed it."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "thesis.tex").write_text("years of work")
    monkeypatch.chdir(cwd)
    code, err = _main(capsys, failing_file, "-o", "runs/..")
    assert code == 1 and "deliberate failure" in err  # the model's bug, reported as one
    assert (cwd / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in cwd.iterdir()) == ["thesis.tex"]  # and nothing added
    # folders the run did create are removed again, deepest first, and nothing above them
    code, err = _main(capsys, failing_file, "-o", "new/deeper/../inner")
    assert code == 1
    assert sorted(p.name for p in cwd.iterdir()) == ["thesis.tex"]


def test_the_run_folder_of_another_scenario_is_not_replaced_by_a_variant(
        toy_registry, small_file, tmp_path, capsys):  # fmt: skip
    """A scenario named '.' wrote its variants into runs/ itself: its variant 'more' replaced
    the run folder of a scenario named 'more'."""
    runs = tmp_path / "runs"
    assert _main(capsys, small_file, "-o", runs / "more", "--no-report")[0] == 0
    before = _tree(runs)
    code, err = _main(capsys, small_file, "-o", f"{runs}/.", "--no-report")
    assert code == 2
    assert str(runs / "more") in err and "not a metrotwin variant folder" in err
    assert _tree(runs) == before


# -- one run per folder ------------------------------------------------------------------


def test_a_second_run_into_a_busy_folder_is_refused_at_once_and_the_first_completes(
        toy_registry, small_file, tmp_path, capsys, no_city):  # fmt: skip
    out = tmp_path / "out"
    first = _start(["run", str(_slow_file(tmp_path)), "-o", str(out), "--no-report"], tmp_path)
    _wait_until((out / WORK / "baseline").exists, first, "the first run's work folder")
    started = time.monotonic()
    code, err = _main(capsys, small_file, "-o", out)
    assert code == 2 and time.monotonic() - started < 5
    assert str(out) in err and f"PID {first.pid} on host" in err and "another metrotwin run" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "wetter"]  # lock file gone


def test_a_lock_left_by_a_dead_run_is_taken_over(toy_registry, small_file, tmp_path, capsys,
                                                 caplog):  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE).write_text("999999 deadhost 2026-01-01T00:00:00+00:00\n")  # nobody flocks it
    code, err = _main(capsys, small_file, "-o", out, "--no-report")
    assert code == 0, err
    assert "took over the lock" in caplog.text and "PID 999999 on host deadhost" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "more"]


def test_the_lock_is_exclusive_and_released(tmp_path):
    from metrotwin.run.runlock import RunLock

    first, second = RunLock(tmp_path), RunLock(tmp_path)
    assert first.acquire() is None
    with pytest.raises(Exception, match=f"PID {os.getpid()} on host"):
        second.acquire()
    first.release()
    assert not (tmp_path / LOCK_FILE).exists()
    assert second.acquire() is None  # the file is gone: a fresh lock, no takeover
    second.release()


def test_under_mpi_every_rank_agrees_on_the_refusal(tmp_path):
    from metrotwin.run.runlock import RunLock

    require_mpiexec()
    out = tmp_path / "out"
    out.mkdir()
    lock = RunLock(out)
    lock.acquire()  # this test process holds the folder
    try:
        proc = subprocess.run([str(MPIEXEC), "-n", "2", *metrotwin_command(
            ["run", str(_slow_file(tmp_path)), "-o", str(out), "--no-progress"], 1)],
            capture_output=True, text=True, env=mpi_env(PLUGIN), timeout=120)  # fmt: skip
    finally:
        lock.release()
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("another metrotwin run") == 1 and f"PID {os.getpid()}" in proc.stderr
    assert list(out.iterdir()) == []


# -- finished runs and the user's folders ------------------------------------------------


def test_a_finished_run_is_not_overwritten_without_overwrite(toy_registry, small_file, tmp_path,
                                                             capsys):  # fmt: skip
    out = tmp_path / "out"
    assert _main(capsys, small_file, "-o", out, "--no-report")[0] == 0
    (out / "notes.txt").write_text("mine")
    before = _tree(out)
    code, err = _main(capsys, small_file, "-o", out, "--no-report")
    assert code == 2
    assert "holds a finished run" in err and "--overwrite" in err and str(out) in err
    assert _tree(out) == before
    time.sleep(0.01)
    code, err = _main(capsys, small_file, "-o", out, "--no-report", "--overwrite")
    assert code == 0, err
    after = _tree(out)
    assert after.keys() == before.keys() and after["notes.txt"] == before["notes.txt"]
    assert after["baseline/fields.nc"] != before["baseline/fields.nc"]  # metrotwin's: replaced


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_variant_never_replaces_a_folder_the_user_made(toy_registry, small_file, tmp_path,
                                                         capsys, no_city, overwrite):  # fmt: skip
    out = tmp_path / "out"
    (out / "more").mkdir(parents=True)
    (out / "more" / "photo.jpg").write_text("irreplaceable")
    code, err = _main(capsys, small_file, "-o", out, *overwrite)
    assert code == 2
    assert str(out / "more") in err and "variant 'more' would replace it" in err
    assert _tree(out).keys() == {"more/photo.jpg"}


def test_the_comparison_never_writes_into_a_folder_the_user_made(toy_registry, small_file, tmp_path,
                                                                 capsys, no_city):  # fmt: skip
    out = tmp_path / "out"
    (out / "comparison").mkdir(parents=True)
    (out / "comparison" / "draft.md").write_text("my comparison")
    code, err = _main(capsys, small_file, "-o", out)
    assert code == 2 and str(out / "comparison") in err and "--no-report" in err


def test_a_variant_named_comparison_is_refused(toy_registry, small_scenario_data,
                                                             tmp_path, capsys, no_city):  # fmt: skip
    small_scenario_data["variants"] = {"comparison": small_scenario_data["variants"]["more"]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    code, err = _main(capsys, path, "-o", tmp_path / "out")
    # the scenario's names refuse it first (issue #15: 'comparison' is reserved), with or
    # without a report
    assert code == 2 and "variant name 'comparison' is reserved" in err, err
    assert not (tmp_path / "out").exists()
    code, err = _main(capsys, path, "-o", tmp_path / "out", "--no-report")
    assert code == 2 and "variant name 'comparison' is reserved" in err, err


# -- the folder must be writable: checked first ------------------------------------------


def test_a_read_only_output_folder_is_refused_before_the_city_is_built(
        toy_registry, small_file, tmp_path, capsys, no_city, read_only):  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    read_only(out)
    code, err = _main(capsys, small_file, "-o", out)
    assert code == 2, err
    assert str(out) in err and ("permission denied" in err or "operation not permitted" in err)
    assert "Traceback" not in err and err.count("\n") == 1


def test_an_output_path_that_is_a_file_is_refused_before_the_city_is_built(
        toy_registry, small_file, tmp_path, capsys, no_city):  # fmt: skip
    target = tmp_path / "results.csv"
    target.write_text("a,b\n")
    for out in (target, target / "sub"):
        code, err = _main(capsys, small_file, "-o", out)
        assert code == 2 and f"{target} is a file, not a folder" in err
    assert target.read_text() == "a,b\n"


def test_a_read_only_working_directory_gives_one_message(tmp_path, read_only):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    scenario = _slow_file(tmp_path)
    read_only(cwd)
    proc = subprocess.run(metrotwin_command(["run", str(scenario), "--no-progress"], 1), cwd=cwd,
                          env=mpi_env(PLUGIN, XDG_CACHE_HOME=str(tmp_path / "cache")),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("metrotwin: error: ") and proc.stderr.count("\n") == 1
    assert str(cwd / "runs") in proc.stderr and "Traceback" not in proc.stderr
    assert list(cwd.iterdir()) == []


# -- a full or read-only disk during the run --------------------------------------------


def _fail_second_append(monkeypatch, error):
    from metrotwin.results.output import FieldWriter

    append = FieldWriter.append
    calls = []

    def failing(self, t):
        calls.append(t)
        if len(calls) == 2:
            raise error(self)
        return append(self, t)

    monkeypatch.setattr(FieldWriter, "append", failing)


@pytest.mark.parametrize("existing", [False, True])
def test_a_full_disk_is_exit_2_with_its_cause_and_leaves_nothing(toy_registry, small_file, tmp_path,
                                                                 capsys, monkeypatch, existing):  # fmt: skip
    full = errno.ENOSPC
    _fail_second_append(monkeypatch, lambda w: OSError(full, os.strerror(full), str(w._tmp)))
    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "keep.txt").write_text("x")
    code, err = _main(capsys, small_file, "-o", out)
    assert code == 2 and "no space left on device" in err and str(out) in err
    assert "internal error" not in err and "Traceback" not in err
    if existing:
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    else:
        assert not out.exists()


@pytest.mark.parametrize("free_mib, code", [(1, 2), (10_000, 1)])
def test_an_hdf_error_on_a_full_disk_is_the_disk(toy_registry, small_file, tmp_path, capsys,
                                                 monkeypatch, crash_dirs, free_mib, code):  # fmt: skip
    """netCDF reports a full disk as 'NetCDF: HDF error', without the errno: the free space
    tells a full disk (exit 2) from a bug (exit 1, reported)."""
    _fail_second_append(monkeypatch, lambda w: RuntimeError("NetCDF: HDF error"))
    usage = namedtuple("usage", "total used free")
    free = free_mib * 2**20
    monkeypatch.setattr("shutil.disk_usage", lambda path: usage(2**40, 2**40 - free, free))
    out = tmp_path / "out"
    result, err = _main(capsys, small_file, "-o", out)
    assert result == code, err
    assert ("no space left on device" in err) == (code == 2)
    assert ("internal error" in err) == (code == 1)
    assert not out.exists()


# -- the crash handler ------------------------------------------------------------------


def test_validate_writes_nothing_even_when_it_fails(tmp_path, monkeypatch, capsys, crash_dirs):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    def broken(path):
        raise RuntimeError("a bug")

    monkeypatch.setattr("metrotwin.cli._load", broken)
    assert main(["validate", "x.yaml"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "METROTWIN_DEBUG" in err and "Traceback" not in err
    cache, temp = crash_dirs
    assert list(cwd.iterdir()) == [] and list(temp.iterdir()) == [] and not cache.exists()


def test_an_internal_error_logs_outside_the_working_directory(toy_registry, small_file, tmp_path,
                                                              monkeypatch, capsys, crash_dirs):  # fmt: skip
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("metrotwin.run.runner.prepare_variants", broken)
    code, err = _main(capsys, small_file, "-o", tmp_path / "out")
    assert code == 1 and "internal error (RuntimeError('a bug'))" in err
    cache, _ = crash_dirs
    logs = list((cache / "metrotwin").iterdir())
    assert len(logs) == 1 and str(logs[0]) in err and "RuntimeError: a bug" in logs[0].read_text()
    assert list(cwd.iterdir()) == [] and not (tmp_path / "out").exists()


# -- Ctrl-C and --restart ---------------------------------------------------------------


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_keeps_the_finished_variant_and_a_checkpoint_and_restart_resumes(tmp_path, presses):
    """One Ctrl-C: a checkpoint at the next coupling step. Two: the run stops at once, after
    a checkpoint it had already saved (every 10 min of simulated time here)."""
    scenario = _slow_file(tmp_path, parallel={"checkpoint_interval": "10 min"})
    out = tmp_path / "out"
    proc = _start(["run", str(scenario), "-o", str(out), "--no-report"], tmp_path)
    _wait_until(lambda: has_checkpoint(out / WORK / "wetter"), proc, "a checkpoint of 'wetter'")
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert f"-o {out} --restart" in stderr and "finished variant(s) kept" in stderr
    assert "Traceback" not in stderr
    assert (out / "baseline" / "fields.nc").exists()  # published
    assert has_checkpoint(out / WORK / "wetter") and not (out / "wetter").exists()
    baseline = _tree(out / "baseline")
    # a plain run does not discard it
    again = _start(["run", str(scenario), "-o", str(out)], tmp_path)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 2 and "interrupted run" in stderr and "--restart" in stderr
    assert has_checkpoint(out / WORK / "wetter")
    again = _start(["run", str(scenario), "-o", str(out), "--restart", "--no-report"], tmp_path)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert "restarted at t = " in (out / "wetter" / "run.log").read_text()
    assert _tree(out / "baseline") == baseline  # kept as it was, not run again
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "wetter"]


def test_restart_with_nothing_to_resume_says_so(toy_registry, small_file, tmp_path, capsys,
                                                no_city):  # fmt: skip
    out = tmp_path / "out"
    code, err = _main(capsys, small_file, "-o", out, "--restart")
    assert code == 2 and "nothing to restart" in err and not out.exists()


def test_restart_of_a_finished_run_says_it_is_finished(toy_registry, small_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _main(capsys, small_file, "-o", out, "--no-report")[0] == 0
    before = _tree(out)
    code, err = _main(capsys, small_file, "-o", out, "--restart")
    assert code == 2 and "this run is finished" in err
    assert _tree(out) == before


@pytest.fixture
def small_disk(tmp_path):
    """A 48 KiB file system (tmpfs), too small for the run's outputs: a real full disk, as
    netCDF and HDF5 see it. Needs root (mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=48k", "none", str(disk)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    yield disk
    # lazily: netCDF-C keeps the handle of a file whose close failed on the full disk open
    # in this process (the command-line program ends; the test process does not)
    subprocess.run(["umount", "--lazy", str(disk)], check=True)


def test_a_real_full_disk_is_exit_2_and_leaves_nothing(toy_registry, small_file, small_disk,
                                                       capsys, crash_dirs):  # fmt: skip
    out = small_disk / "out"
    code, err = _main(capsys, small_file, "-o", out)
    assert code == 2, err
    assert err.startswith(f"metrotwin: error: {out}: no space left on device")
    assert err.count("\n") == 1 and "internal error" not in err
    assert list(small_disk.iterdir()) == []
