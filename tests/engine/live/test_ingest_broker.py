"""The ingest against a real Mosquitto: a burst of 10^5 messages with bounded memory, the
broker restarted mid-stream, the ingest process killed (SIGKILL) mid-stream and started again,
wrong credentials; in each, every message sent ends as accepted, duplicate or quarantined, and
the journal holds each good reading exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from metrotwin.cli import main
from metrotwin.live.broker import (BrokerRefused, Credentials, Publisher, Subscription,
                                   parse_broker_url)  # fmt: skip
from metrotwin.live.ingest import JOURNAL, QUARANTINE, client_id_for, open_ingest, start_ingest
from metrotwin.live.journal import Journal
from metrotwin.live.messages import MessageReader, SensorCatalog
from metrotwin.observe.read_csv import read_csv_readings
from metrotwin.run.scenario import load_scenario

from tests._support.ingest_process import sensor_ids
from tests._support.mosquitto import PASSWORD, USER, mosquitto  # noqa: F401 (a fixture)

REPO = Path(__file__).resolve().parents[3]
START = datetime(2026, 7, 15, 6, 0, tzinfo=timezone.utc)
CREDENTIALS = Credentials(USER, PASSWORD)


def feed(n: int, n_sensors: int, *, bad_every: int = 0, duplicate_every: int = 0):
    """(topic, payload, kind) of ``n`` messages: readings of ``n_sensors`` sensors one second
    apart, every ``bad_every``-th one not JSON, every ``duplicate_every``-th a copy of the
    reading before it; kind is "good", "bad" or "duplicate"."""
    sensors = sensor_ids(n_sensors)
    out, last = [], None
    for i in range(n):
        sensor = sensors[i % n_sensors]
        topic = f"city/sensors/{sensor}"
        if bad_every and i % bad_every == bad_every - 1:
            out.append((topic, b'{"sensor_id": "' + sensor.encode() + b'", "time": 2026', "bad"))
            continue
        if duplicate_every and last is not None and i % duplicate_every == duplicate_every - 1:
            out.append((*last[:2], "duplicate"))
            continue
        when = START + timedelta(seconds=i // n_sensors)
        body = {"sensor_id": sensor, "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "value": round(0.001 * (i % 997), 6)}  # fmt: skip
        last = (topic, json.dumps(body).encode(), "good")
        out.append(last)
    return out


def good_keys(messages) -> set[tuple[str, str]]:
    keys = set()
    for _, payload, kind in messages:
        if kind == "good":
            body = json.loads(payload)
            keys.add((body["sensor_id"], body["time"]))
    return keys


def publish_in_thread(url: str, messages, *, pause_every: int = 0, pause: float = 0.0):
    """Publish ``messages`` at QoS 1 from a thread; the thread (join it; ``published``
    counts the messages handed to paho so far)."""

    def run():
        publisher = Publisher(parse_broker_url(url), credentials=CREDENTIALS, min_backoff=0.2,
                              max_backoff=2.0)  # fmt: skip
        publisher.start(timeout=10)
        for i, (topic, payload, _) in enumerate(messages):
            publisher.publish(topic, payload)
            thread.published = i + 1
            if pause_every and i % pause_every == pause_every - 1:
                time.sleep(pause)
        publisher.flush(timeout=60)
        publisher.stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.published = 0
    thread.start()
    return thread


def reader_for(n_sensors: int) -> MessageReader:
    catalog = SensorCatalog({sensor: ("water_depth",) for sensor in sensor_ids(n_sensors)})
    return MessageReader(catalog, max_ahead=None, max_age=None)


def subscription(url: str, client_id: str, **options) -> Subscription:
    return Subscription(parse_broker_url(url), ["city/sensors/#"], client_id=client_id,
                        credentials=CREDENTIALS, min_backoff=0.2, max_backoff=2.0,
                        **options)  # fmt: skip


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def wait_for(condition, timeout: float, what: str, every=None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if every is not None:
            every()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def journal_keys(folder: Path) -> list[tuple[str, str]]:
    with Journal(folder / JOURNAL) as journal:
        return [reading.key for reading in journal.readings()]


@pytest.mark.slow
def test_a_burst_of_1e5_messages_is_absorbed_with_bounded_memory(mosquitto, tmp_path):
    n = 100_000
    messages = feed(n, 200, bad_every=97, duplicate_every=101)
    kinds = [kind for _, _, kind in messages]
    sub = subscription(mosquitto.url, "twin-burst", queue_size=500)
    ingest = open_ingest(tmp_path / "twin", sub, reader_for(200))
    sub.start(timeout=10)
    before = peak = rss_bytes()

    def sample():
        nonlocal peak
        peak = max(peak, rss_bytes())

    publisher = publish_in_thread(mosquitto.url, messages)
    ingest.start()
    wait_for(lambda: ingest.counts.total >= n, 240, "the burst to be journaled", every=sample)
    publisher.join(timeout=60)
    ingest.close()
    counts = ingest.counts
    assert counts.total == n  # each message sent is counted once: no loss, none twice
    assert counts.quarantined == kinds.count("bad") == counts.reasons["not_json"]
    assert counts.duplicate == kinds.count("duplicate")
    assert counts.accepted == kinds.count("good") == len(journal_keys(tmp_path / "twin"))
    assert set(journal_keys(tmp_path / "twin")) == good_keys(messages)
    assert sub.high_water <= 500  # the queue is bounded: paho waits, the broker holds back
    # memory: the 10^5 payloads and paho messages held at once would take ~100 MB; the
    # journal's key set of 10^5 readings ~10 MB, the publisher's 1000 unacknowledged and the
    # queue's 500 messages < 2 MB; 60 MB leaves room for the allocator's slack
    assert peak - before < 60e6, f"RSS grew by {(peak - before) / 1e6:.0f} MB"


def test_a_broker_restart_mid_stream_loses_nothing(mosquitto, tmp_path):
    n = 12_000
    messages = feed(n, 50)
    sub = subscription(mosquitto.url, "twin-restart")
    ingest = open_ingest(tmp_path / "twin", sub, reader_for(50))
    sub.start(timeout=10)
    ingest.start()
    publisher = publish_in_thread(mosquitto.url, messages, pause_every=500, pause=0.05)
    wait_for(lambda: ingest.counts.total >= 3000, 60, "3000 messages before the restart")
    mosquitto.restart()  # SIGTERM: the broker saves its sessions and queues, then starts again
    assert publisher.published < n  # mid-stream
    publisher.join(timeout=90)
    assert not publisher.is_alive()
    wait_for(lambda: ingest.counts.accepted >= n, 60, "every reading after the restart")
    ingest.close()
    assert sub.connects >= 2  # it reconnected
    keys = journal_keys(tmp_path / "twin")
    assert len(keys) == len(set(keys)) == n and set(keys) == good_keys(messages)
    # the messages in flight at the restart may come twice (QoS 1 is at least once): the
    # second copy is counted as a duplicate, never journaled twice
    assert ingest.counts.accepted == n and ingest.counts.quarantined == 0


def _start_ingest_process(url: str, folder: Path, slow: float = 0.0) -> subprocess.Popen:
    env = dict(os.environ, METROTWIN_MQTT_USERNAME=USER, METROTWIN_MQTT_PASSWORD=PASSWORD)
    command = [sys.executable, "-m", "tests._support.ingest_process", url, str(folder),
               "twin-killed", "100", str(slow)]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture
def ingest_processes(mosquitto):  # noqa: F811 (the fixture imported above)
    """Starts ingest processes on the test's broker; kills those still running after."""
    started = []

    def start(folder: Path, slow: float = 0.0) -> subprocess.Popen:
        started.append(_start_ingest_process(mosquitto.url, folder, slow))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_the_ingest_killed_mid_stream_and_restarted_loses_nothing_and_journals_once(
        mosquitto, ingest_processes, tmp_path):  # fmt: skip
    n = 15_000
    messages = feed(n, 100)
    folder = tmp_path / "twin"
    # a slow disk: at the kill, messages are received and not yet journaled (acknowledging
    # them on receipt would lose them)
    first = ingest_processes(folder, slow=0.02)
    publisher = publish_in_thread(mosquitto.url, messages, pause_every=500, pause=0.05)
    wait_for(lambda: _lines(folder / JOURNAL) >= 3000, 60, "3000 readings journaled")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert publisher.published < n  # mid-stream: the rest comes while the twin is down
    publisher.join(timeout=90)  # the rest waits in the broker, in the killed twin's session
    assert not publisher.is_alive()
    journaled_before = _lines(folder / JOURNAL)
    assert journaled_before < n
    second = ingest_processes(folder)
    wait_for(lambda: _lines(folder / JOURNAL) >= n, 60, "the queued readings")
    time.sleep(0.5)  # anything sent twice would arrive now
    second.send_signal(signal.SIGTERM)
    counts = json.loads(second.communicate(timeout=30)[0].strip().splitlines()[-1])
    assert second.returncode == 0
    keys = journal_keys(folder)
    assert len(keys) == len(set(keys)) == n and set(keys) == good_keys(messages)
    assert counts["accepted"] == n - journaled_before and counts["quarantined"] == 0
    assert _lines(folder / QUARANTINE) == 0


def test_wrong_credentials_stop_at_once_with_one_clear_message(mosquitto, tmp_path,
                                                              monkeypatch, capsys):  # fmt: skip
    feed_csv = tmp_path / "obs.csv"
    feed_csv.write_text("sensor_id,time,variable,value\ns0000,2026-07-15T06:00:00Z,"
                        "water_depth,0.1\n")  # fmt: skip
    monkeypatch.setenv("METROTWIN_MQTT_USERNAME", USER)
    monkeypatch.setenv("METROTWIN_MQTT_PASSWORD", "not-the-password")
    began = time.monotonic()
    assert main(["replay", str(feed_csv), "--broker", mosquitto.url, "--speed", "0"]) == 2
    assert time.monotonic() - began < 5
    err = capsys.readouterr().err
    assert err.count("metrotwin: error:") == 1 and "refused" in err and "Not authorized" in err
    assert "Traceback" not in err
    sub = Subscription(parse_broker_url(mosquitto.url), ["city/sensors/#"], client_id="twin-x",
                       credentials=Credentials(USER, "wrong"), min_backoff=0.1)  # fmt: skip
    with pytest.raises(BrokerRefused, match="refused"):
        sub.start(timeout=10)
    time.sleep(1.0)  # a retry would come within 0.1 s of back-off
    assert sub.attempts == 1
    assert mosquitto.log().count("not authorised") == 2  # one attempt each, no retry storm


def test_the_demo_twins_feed_replayed_through_the_broker_is_journaled_as_recorded(
        mosquitto, tmp_path, monkeypatch, capsys):  # fmt: skip
    """``metrotwin replay`` of the demo twin's readings into an ingest with the demo twin's
    sensors: the journal, exported, is what the offline reader reads of the recording."""
    scenario = load_scenario(REPO / "scenarios" / "demo_twin.yaml")
    monkeypatch.setenv("METROTWIN_MQTT_USERNAME", USER)
    monkeypatch.setenv("METROTWIN_MQTT_PASSWORD", PASSWORD)
    # the demo's readings are of 2026-07-15 06:00-09:00: the twin's clock is then
    ingest = start_ingest(scenario.observations, tmp_path / "twin", broker=mosquitto.url,
                          topics=["city/sensors/#"], keep_new=True,
                          clock=lambda: datetime(2026, 7, 15, 9, 5, tzinfo=timezone.utc))
    recording = REPO / "scenarios" / "demo_twin" / "obs.csv"
    assert main(["replay", str(recording), "--broker", mosquitto.url, "--speed", "0"]) == 0
    assert "published 950 readings" in capsys.readouterr().out
    wait_for(lambda: ingest.counts.total >= 950, 30, "the demo feed")
    ingest.close()
    assert (ingest.counts.accepted, ingest.counts.quarantined) == (950, 0)
    assert len(ingest.take_new()) == 950 and ingest.take_new() == []
    with Journal(tmp_path / "twin" / JOURNAL) as journal:
        journal.export_csv(tmp_path / "journal.csv")
    offline, live = read_csv_readings(recording), read_csv_readings(tmp_path / "journal.csv")
    # the replay sends in time order, the recording is by sensor: compare sorted rows

    def rows(r):
        return sorted(zip(r.sensor_id, r.time.tolist(), r.variable, r.value.tolist()))

    assert rows(live) == rows(offline)  # to the bit


def test_a_twins_client_id_is_stable_per_output_folder(tmp_path):
    assert client_id_for(tmp_path / "a") == client_id_for(tmp_path / "b" / ".." / "a")
    assert client_id_for(tmp_path / "a") != client_id_for(tmp_path / "b")
    assert client_id_for(tmp_path).isalnum() and len(client_id_for(tmp_path)) <= 23


def test_credentials_revoked_while_running_stop_the_ingest_with_the_refusal(mosquitto,
                                                                           tmp_path):  # fmt: skip
    sub = subscription(mosquitto.url, "twin-revoked")
    ingest = open_ingest(tmp_path / "twin", sub, reader_for(1))
    sub.start(timeout=10)
    ingest.start()
    mosquitto.set_password("changed")
    mosquitto.restart()
    wait_for(lambda: ingest.error is not None, 10, "the refusal to reach the ingest")
    with pytest.raises(BrokerRefused, match="Not authorized"):
        ingest.close()
    time.sleep(0.5)  # a retry would come within the 0.2 s back-off
    assert sub.attempts == 2  # the first connection and one refused reconnection
