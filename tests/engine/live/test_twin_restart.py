"""A live twin killed in the middle of a cycle and started again: it continues from its last
checkpoint with the journal's readings and computes the analyses of a twin never killed
(issue 20: "the twin killed mid-cycle ... its state equals that of a twin that was never
killed")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from metrotwin.errors import CheckpointError
from metrotwin.live import twin as twin_module
from metrotwin.live.clock import SimulatedClock
from metrotwin.live.twin import LiveTwin, TwinOptions, run_live
from metrotwin.run.ensemble_coupler import AssimilatingCoupler

from .test_cycle import nowcast_fields
from .twin_data import CYCLES, scenario_of


class Killed(Exception):
    """What stands for SIGKILL: the process ends where it is, nothing more is run."""


def a_twin(folder, data, out: str = "out"):
    return LiveTwin(scenario_of(data, folder), folder / out, clock=SimulatedClock(),
                    options=TwinOptions(horizon=600, keep=CYCLES))  # fmt: skip


def feed_until_killed(twin, readings) -> int:
    """Feed ``readings`` one at a time until the twin is killed; how many it was given (the
    journal: the last one was journaled before the cycle it started)."""
    for i, reading in enumerate(readings):
        try:
            twin.feed([reading])
        except Killed:
            return i + 1
    raise AssertionError("the twin was never killed")


def members_of(twin) -> dict[str, np.ndarray]:
    """Every member's analysed fields and forcing corrections."""
    out = {}
    for i, (member, forcing) in enumerate(zip(twin.cycle.coupler.members,
                                              twin.cycle.coupler.forcings)):  # fmt: skip
        for name in ("flood_water_thickness", "air_temperature"):
            out[f"{i}/{name}"] = np.array(member.state[name])
        out[f"{i}/log_rain"] = forcing.log_rain.copy()
        out[f"{i}/offset"] = np.array(forcing.air_temperature_offset)
    return out


def check_published(folder, offline) -> list[str]:
    """Every published nowcast equals the offline run's analysis at its time."""
    names = []
    for cycle in sorted((folder / "out" / "cycles").iterdir()):
        t, fields = nowcast_fields(cycle / "nowcast")
        for name, values in fields.items():
            assert np.array_equal(values, offline[name][t], equal_nan=True), (cycle.name, name)
        names.append(cycle.name)
    return names


def test_killed_in_the_middle_of_an_analysis_the_twin_resumes_and_agrees(
        live_folder, readings, offline, monkeypatch):  # fmt: skip
    folder, data = live_folder
    never_killed = a_twin(folder, data, "reference")
    run_live(never_killed, [[r] for r in readings])

    analyse = AssimilatingCoupler._cycle
    calls = []

    def dies_in_the_fourth(self, t0, t1):
        calls.append(t1)
        if len(calls) == 4:  # the members have advanced; the analysis is half done
            raise Killed
        return analyse(self, t0, t1)

    monkeypatch.setattr(AssimilatingCoupler, "_cycle", dies_in_the_fourth)
    killed = a_twin(folder, data)
    journaled = feed_until_killed(killed, readings)
    monkeypatch.setattr(AssimilatingCoupler, "_cycle", analyse)

    again = a_twin(folder, data)  # a new process: nothing of the killed one but its files
    restarted = again.start(readings[:journaled])
    assert again.cycle.t >= 4 * 600  # it caught up: the fourth cycle ran from the checkpoint
    # the checkpoint's analysis published again, then the fourth cycle
    assert [s["cycle_time"] for s in restarted[:2]] == ["2026-07-15T06:30:00Z",
                                                        "2026-07-15T06:40:00Z"]  # fmt: skip
    assert run_live(again, [[r] for r in readings[journaled:]]) > 0
    assert again.cycle.t == never_killed.cycle.t == CYCLES * 600
    expected, got = members_of(never_killed), members_of(again)
    for key, values in expected.items():
        assert np.array_equal(got[key], values), key
    assert again.cycle.coupler.assimilated == never_killed.cycle.coupler.assimilated
    assert len(check_published(folder, offline)) == CYCLES


def test_killed_between_its_checkpoint_and_publishing_it_publishes_the_analysis(
        live_folder, readings, offline, monkeypatch):  # fmt: skip
    folder, data = live_folder
    forecast = twin_module.run_forecast
    calls = []

    def dies_in_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return forecast(*args, **kwargs)

    monkeypatch.setattr(twin_module, "run_forecast", dies_in_the_third)
    killed = a_twin(folder, data)
    journaled = feed_until_killed(killed, readings)
    monkeypatch.setattr(twin_module, "run_forecast", forecast)
    assert check_published(folder, offline) == ["20260715T061000Z", "20260715T062000Z"]

    again = a_twin(folder, data)
    (status,) = again.start(readings[:journaled])
    assert status["cycle_time"] == "2026-07-15T06:30:00Z"  # the analysis it had saved
    assert check_published(folder, offline)[-1] == "20260715T063000Z"


def test_a_checkpoint_of_another_scenario_is_refused(live_folder, readings):
    folder, data = live_folder
    twin = a_twin(folder, data)
    twin.feed(readings[:101])  # one past 06:10: one cycle, one checkpoint
    assert twin.cycle.t == 600
    data["assimilation"]["members"] = 3
    with pytest.raises(Exception, match="scenario|members") as err:
        a_twin(folder, data).start(readings[:101])
    assert type(err.value).__name__ == "CheckpointError"


def test_a_journal_shorter_than_the_checkpoint_saw_is_refused(live_folder, readings):
    """The checkpoint analysed readings the journal no longer holds: its analyses cannot be
    reproduced, and the message says how to start afresh."""
    folder, data = live_folder
    a_twin(folder, data).feed(readings[:101])
    with pytest.raises(CheckpointError, match="made with 101 readings, and the journal holds 90"):
        a_twin(folder, data).start(readings[:90])


#: a twin in its own process, fed one reading at a time, that stops in the middle of its
#: fourth analysis (the members advanced, nothing analysed) and says so, to be SIGKILLed
KILLED_TWIN = """
import sys
from pathlib import Path
from metrotwin.live.clock import SimulatedClock
from metrotwin.live.twin import LiveTwin, TwinOptions
from metrotwin.run.ensemble_coupler import AssimilatingCoupler
from tests.engine.live.twin_data import demo_readings, scenario_of, small_twin_data

folder, marker = Path(sys.argv[1]), Path(sys.argv[2])
analyse, calls, fed = AssimilatingCoupler._cycle, [], [0]

def stops_in_the_fourth(self, t0, t1):
    calls.append(t1)
    if len(calls) == 4:
        marker.write_text(str(fed[0]))
        while True:
            pass  # until SIGKILL
    return analyse(self, t0, t1)

AssimilatingCoupler._cycle = stops_in_the_fourth
twin = LiveTwin(scenario_of(small_twin_data(folder, []), folder), folder / "out",
                clock=SimulatedClock(), options=TwinOptions(horizon=600))
for reading in demo_readings():
    fed[0] += 1
    twin.feed([reading])
"""


def test_sigkilled_mid_cycle_the_twin_resumes_from_its_checkpoint(live_folder, readings,
                                                                  offline):  # fmt: skip
    folder, data = live_folder
    marker = folder / "killed-at"
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_TWIN, str(folder), str(marker)],
                            cwd=repo, env=env, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() or not marker.read_text():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the twin never reached its fourth analysis"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    journaled = int(marker.read_text())
    again = a_twin(folder, data)
    restarted = again.start(readings[:journaled])
    # from the third cycle's checkpoint: published again, then the fourth cycle
    assert [s["cycle_time"] for s in restarted[:2]] == ["2026-07-15T06:30:00Z",
                                                        "2026-07-15T06:40:00Z"]  # fmt: skip
    run_live(again, [[r] for r in readings[journaled:]])
    assert len(check_published(folder, offline)) == CYCLES
    reference = a_twin(folder, data, "reference")
    run_live(reference, [[r] for r in readings])
    got = members_of(again)
    for key, values in members_of(reference).items():
        assert np.array_equal(got[key], values), key
