"""``metrotwin live`` end to end (issue 20, "done when"): a real Mosquitto, the twin and
``metrotwin replay`` each in its own process, as in the README's two terminals. The twin
publishes every cycle of its period, each nowcast identical to an offline assimilated run of
its journal, every message sent is counted (accepted, duplicate or quarantined), the status is
retained on the broker; the twin exits by itself when its period is over, and stops cleanly
on SIGTERM, or on SIGINT while its broker is away."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from metrotwin.cli import main
from metrotwin.live.broker import Credentials, Publisher, parse_broker_url
from metrotwin.live.journal import Journal
from metrotwin.live.reading import Reading

from tests._support.mosquitto import PASSWORD, USER, mosquitto  # noqa: F401 (a fixture)

from .test_cycle import nowcast_fields
from .twin_data import CYCLES, demo_readings, offline_fields, small_twin_data, write_journal_csv

METROTWIN = [sys.executable, "-m", "metrotwin.cli"]
#: rows of the feed that are not readings the twin takes: (row, the reason's code), in the
#: order the replay sends them (a time that does not read first, then by time)
GARBAGE = [
    (("gauge00", "yesterday", "water_depth", "0.1", "m"), "malformed"),
    (("gauge01", "2026-07-15T06:20:00Z", "water_depth", "deep", "m"), "malformed"),
    (("nosuch", "2026-07-15T06:30:00Z", "water_depth", "0.2", "m"), "unknown_sensor"),
    (("gauge02", "2026-07-15T06:40:00Z", "air_temperature", "300", "K"), "unknown_variable"),
]
#: a wait for the twin's processes (s): they start in a few seconds once numba's cache is
#: warm; a cold cache compiles the kernels first (a minute on a busy machine)
WAIT_S = 240


def environment(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METROTWIN_MQTT_")}
    return {**env, "NUMBA_NUM_THREADS": "1", **extra}


def with_credentials() -> dict:
    return environment(METROTWIN_MQTT_USERNAME=USER, METROTWIN_MQTT_PASSWORD=PASSWORD)


def twin_scenario(folder: Path, **period) -> Path:
    """The small demo twin's scenario file in ``folder`` (its period changed by ``period``)."""
    data = small_twin_data(folder, [])
    data["period"].update(period)
    path = folder / "twin.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def feed_csv(path: Path, readings: list[Reading], garbage=()) -> int:
    """The feed as an observations CSV (good rows, then ``garbage``); its rows."""
    write_journal_csv(path, readings)
    with open(path, "a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(garbage)
    return len(readings) + len(garbage)


def start_twin(scenario: Path, url: str, out: Path, *extra: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([*METROTWIN, "live", str(scenario), "--broker", url, "-o", str(out),
                             "--horizon", "20 min", *extra], env=env or with_credentials(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def replay(csv: Path, url: str) -> None:
    done = subprocess.run([*METROTWIN, "replay", str(csv), "--broker", url, "--speed", "0"],
                          env=with_credentials(), capture_output=True, text=True,
                          timeout=WAIT_S)  # fmt: skip
    assert done.returncode == 0, done.stderr


def wait_for(what, condition, process: subprocess.Popen, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the twin exited ({process.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.2)


def finish(process: subprocess.Popen, timeout: float = WAIT_S) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the twin did not exit within {timeout} s:\n{out}\n{err}")
    return process.returncode, out, err


def cycles_of(out: Path) -> list[Path]:
    folder = out / "cycles"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def retained(url: str, topic: str, timeout: float = 10.0) -> dict:
    """The retained message of ``topic`` on the broker, as a new client gets it."""
    host, port = url.removeprefix("mqtt://").split(":")
    got, came = {}, threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(USER, PASSWORD)

    def on_message(client, userdata, msg):
        got.update(json.loads(msg.payload), retain=msg.retain)
        came.set()

    client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
    client.on_message = on_message
    client.connect(host, int(port))
    client.loop_start()
    try:
        assert came.wait(timeout), f"no retained message on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
    return got


def test_a_replayed_feed_drives_the_twin_through_its_period_as_the_offline_run(
        tmp_path, mosquitto):  # noqa: F811 (the fixture)  # fmt: skip
    scenario = twin_scenario(tmp_path)
    # the readings of the period, then one after its end: the simulated clock's last cycle
    # (07:10) runs when it arrives, and the twin exits by itself (its period is over)
    after_end = Reading("gauge00", "2026-07-15T07:20:00Z", "water_depth", 0.05, "m")
    readings = [*demo_readings(), after_end]
    duplicate = readings[120].csv_row()
    sent = feed_csv(tmp_path / "feed.csv", readings,
                    [*(row for row, _ in GARBAGE), duplicate])  # fmt: skip
    out = tmp_path / "out"
    twin = start_twin(scenario, mosquitto.url, out, "--simulated-clock")
    try:
        wait_for("the ingest", lambda: (out / "feed" / "journal.jsonl").exists(), twin)
        replay(tmp_path / "feed.csv", mosquitto.url)
        code, stdout, stderr = finish(twin)
    finally:
        twin.kill()
    assert code == 0, stderr
    assert f"live twin stopped after {CYCLES} cycle(s), the period is over" in stdout
    published = cycles_of(out)
    assert [p.name for p in published] == [f"20260715T0{6 + m // 60}{m % 60:02d}00Z"
                                           for m in range(10, 80, 10)]  # fmt: skip
    assert len(published) == CYCLES >= 6
    # every message counted once: the readings, the duplicate, the garbage quarantined
    status = json.loads((out / "status.json").read_text())
    assert status["cycle_time"] == "2026-07-15T07:10:00Z"
    assert status["counts"] == {"accepted": len(readings), "duplicate": 1,
                                "quarantined": len(GARBAGE)}  # fmt: skip
    assert sum(status["counts"].values()) == sent
    with Journal(out / "feed" / "journal.jsonl") as journal:
        assert list(journal.readings()) == readings  # in the replay's (time) order
    quarantined = (out / "feed" / "quarantine.jsonl").read_text().splitlines()
    reasons = [json.loads(line)["reason"].split(":")[0] for line in quarantined]
    assert reasons == [code for _, code in GARBAGE]
    # the status a client connecting now gets: the last cycle's, retained
    assert retained(mosquitto.url, "city/twin/status") == {**status, "retain": True}
    # each nowcast is the offline run's analysis at its time, bit for bit
    (tmp_path / "offline").mkdir()
    offline = offline_fields(tmp_path / "offline", readings)  # the journal's readings
    compared = 0
    for cycle in published:
        t, fields = nowcast_fields(cycle / "nowcast")
        assert fields
        for name, values in fields.items():
            assert np.array_equal(values, offline[name][t], equal_nan=True), (cycle.name, name)
            compared += 1
    assert compared >= 6 * 4
    assert status["readings_assimilated"] > 0


def test_sigterm_stops_the_twin_after_its_cycle_with_everything_written(
        tmp_path, mosquitto):  # noqa: F811  # fmt: skip
    scenario = twin_scenario(tmp_path)
    readings = demo_readings(40)  # up to 06:40
    feed_csv(tmp_path / "feed.csv", readings)
    credentials = tmp_path / "mqtt.credentials"  # the other way to give them
    credentials.write_text(f"username={USER}\npassword={PASSWORD}\n")
    credentials.chmod(0o600)
    out = tmp_path / "out"
    twin = start_twin(scenario, mosquitto.url, out, "--simulated-clock", "--credentials",
                      str(credentials), env=environment())  # fmt: skip
    try:
        wait_for("the ingest", lambda: (out / "feed" / "journal.jsonl").exists(), twin)
        replay(tmp_path / "feed.csv", mosquitto.url)
        # 06:10 to 06:30 run as the feed passes them; 06:40 waits for a later reading
        wait_for("3 cycles", lambda: len(cycles_of(out)) == 3 and (out / "status.json").exists()
                 and json.loads((out / "status.json").read_text())["cycle_time"].endswith(
                     "06:30:00Z"), twin)  # fmt: skip
        twin.send_signal(signal.SIGTERM)
        code, stdout, stderr = finish(twin)
    finally:
        twin.kill()
    assert code == 0, stderr
    assert "SIGTERM: the twin stops after its current cycle" in stderr
    # the feed ended with the stop: the cycle of its last time (06:40) runs, then it exits
    assert "live twin stopped by SIGTERM after 4 cycle(s);" in stdout
    assert f"messages: {len(readings)} accepted, 0 duplicate, 0 quarantined" in stdout
    assert [p.name for p in cycles_of(out)][-1] == "20260715T064000Z"
    leftovers = [p.name for p in (out / "cycles").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # nothing half-written
    status = json.loads((out / "status.json").read_text())
    assert status == json.loads((out / "nowcast" / "status.json").read_text())
    assert status["cycle_time"] == "2026-07-15T06:40:00Z"
    assert json.loads((out / "state" / "readings.json").read_text())  # a checkpoint
    assert retained(mosquitto.url, "city/twin/status")["cycle_time"] == status["cycle_time"]


def test_a_wall_clock_twin_cycles_while_its_broker_is_away_and_stops_on_sigint(
        tmp_path, mosquitto):  # noqa: F811  # fmt: skip
    # the first cycle (10 min after the period's start) is due on the wall clock 30 s after
    # its time: due_in s after the scenario is written, well after the broker is stopped
    due_in = 15
    now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    start = now - timedelta(minutes=10, seconds=30) + timedelta(seconds=due_in)
    scenario = twin_scenario(tmp_path, start=start.isoformat())
    out = tmp_path / "out"
    twin = start_twin(scenario, mosquitto.url, out)
    try:
        wait_for("the ingest", lambda: (out / "feed" / "journal.jsonl").exists(), twin)
        mosquitto.stop()
        assert cycles_of(out) == []
        wait_for("a cycle without the broker", lambda: (out / "status.json").exists(), twin,
                 timeout=due_in + 60)  # fmt: skip
        time.sleep(2.0)  # the twin retries with back-off
        assert twin.poll() is None
        began = time.monotonic()
        twin.send_signal(signal.SIGINT)
        code, stdout, stderr = finish(twin, timeout=30)
        took = time.monotonic() - began
    finally:
        twin.kill()
    assert code == 0, stderr
    assert "live twin stopped by SIGINT after 1 cycle(s);" in stdout
    status = json.loads((out / "status.json").read_text())
    assert status["cycle_time"] == (start + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["readings_heard"] == 0 and len(status["sensors_silent"]) == 50
    assert "Traceback" not in stderr
    assert "reconnecting with back-off" in stderr
    assert "is away: those of the twin's messages it has not acknowledged" in stderr
    # paho's back-off sleeps a second at a time; the poll is a second: a few seconds at most
    assert took < 10, took


def test_a_full_window_drops_the_twins_message_instead_of_holding_its_cycle(
        tmp_path, mosquitto):  # noqa: F811  # fmt: skip
    """While the broker is away the twin's retained messages wait in the publisher's window;
    once it is full, a publish gives up after ``wait`` s (the next cycle's replace them)."""
    publisher = Publisher(parse_broker_url(mosquitto.url), credentials=Credentials(USER, PASSWORD),
                          window=2, min_backoff=0.2, max_backoff=1.0)  # fmt: skip
    publisher.start(timeout=10)
    try:
        assert publisher.publish("city/twin/status", b"{}", retain=True, wait=1.0)
        publisher.flush(timeout=10)
        mosquitto.stop()
        assert publisher.publish("city/twin/status", b"1", retain=True, wait=0.5)
        assert publisher.publish("city/twin/status", b"2", retain=True, wait=0.5)
        began = time.monotonic()
        assert not publisher.publish("city/twin/status", b"3", retain=True, wait=0.5)
        assert 0.4 < time.monotonic() - began < 3
    finally:
        publisher.stop()


def test_wrong_credentials_end_the_twin_with_one_message(
        tmp_path, mosquitto, monkeypatch, capsys):  # noqa: F811  # fmt: skip
    scenario = twin_scenario(tmp_path)
    monkeypatch.setenv("METROTWIN_MQTT_USERNAME", USER)
    monkeypatch.setenv("METROTWIN_MQTT_PASSWORD", "not-" + PASSWORD)
    began = time.monotonic()
    assert main(["live", str(scenario), "--broker", mosquitto.url, "-o",
                 str(tmp_path / "out")]) == 2  # fmt: skip
    assert time.monotonic() - began < 20  # not the 30 s of waiting for a broker
    err = capsys.readouterr().err
    assert f"metrotwin: error: broker {mosquitto.url} refused the connection" in err
    assert "Traceback" not in err and err.count("error:") == 1
    deadline = time.monotonic() + 5  # the broker writes its log in its own time
    while "not authorised" not in mosquitto.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # a retry would come after 0.5 s
    assert mosquitto.log().count("not authorised") == 1  # one try, no retry


def test_a_twin_killed_and_started_again_misses_nothing_and_ends_as_the_offline_run(
        tmp_path, mosquitto):  # noqa: F811  # fmt: skip
    """SIGKILL after its third cycle; the rest of the feed is published while it is down (the
    broker queues it for the twin's persistent session); started again, the twin resumes from
    its checkpoint, replays its journal, takes the queued readings and ends its period with
    every nowcast the offline run's, the journal holding each reading once."""
    scenario = twin_scenario(tmp_path)
    first = demo_readings(40)  # up to 06:40: cycles 06:10 to 06:30 run
    after_end = Reading("gauge00", "2026-07-15T07:20:00Z", "water_depth", 0.05, "m")
    rest = [r for r in demo_readings() if r not in set(first)] + [after_end]
    feed_csv(tmp_path / "first.csv", first)
    feed_csv(tmp_path / "rest.csv", rest)
    out = tmp_path / "out"
    twin = start_twin(scenario, mosquitto.url, out, "--simulated-clock")
    try:
        wait_for("the ingest", lambda: (out / "feed" / "journal.jsonl").exists(), twin)
        replay(tmp_path / "first.csv", mosquitto.url)
        wait_for("3 cycles", lambda: len(cycles_of(out)) >= 3, twin)
        twin.send_signal(signal.SIGKILL)
        twin.wait(timeout=WAIT_S)
    finally:
        twin.kill()
    replay(tmp_path / "rest.csv", mosquitto.url)  # the twin is down: the broker keeps them
    again = start_twin(scenario, mosquitto.url, out, "--simulated-clock")
    try:
        code, stdout, stderr = finish(again)
    finally:
        again.kill()
    assert code == 0, stderr
    assert "the period is over" in stdout
    readings = [*first, *rest]
    with Journal(out / "feed" / "journal.jsonl") as journal:
        assert sorted(journal.readings(), key=Reading.csv_row) == sorted(readings,
                                                                          key=Reading.csv_row)
    published = cycles_of(out)
    assert len(published) == CYCLES
    (tmp_path / "offline").mkdir()
    offline = offline_fields(tmp_path / "offline", readings)
    for cycle in published:
        t, fields = nowcast_fields(cycle / "nowcast")
        for name, values in fields.items():
            assert np.array_equal(values, offline[name][t], equal_nan=True), (cycle.name, name)
