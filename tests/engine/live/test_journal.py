"""The observation journal: durable appends, deduplication that survives a reopen, a torn
last line (a write cut by a crash) cut off without losing a complete line, and a CSV export
that the offline reader reads as the readings journaled; the quarantine beside it."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import numpy as np
import pytest

from metrotwin.errors import OutputError
from metrotwin.live import journal as journal_module
from metrotwin.live.journal import Journal, JournalError
from metrotwin.live.quarantine import KEEP, Quarantine, entry
from metrotwin.live.reading import Reading
from metrotwin.observe.read_csv import read_csv_readings


def readings(n: int, sensor: str = "gauge00", start: int = 0) -> list[Reading]:
    return [Reading(sensor, f"2026-07-15T06:{m // 60:02d}:{m % 60:02d}Z", "water_depth",
                    0.1 * m + 1e-17 * m, "m") for m in range(start, start + n)]  # fmt: skip


def test_append_is_fsynced_before_it_returns(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    with Journal(tmp_path / "journal.jsonl") as journal:
        synced.clear()
        fresh = journal.append(readings(5))
        assert len(fresh) == 5
        size = (tmp_path / "journal.jsonl").stat().st_size
        assert synced == [size]  # one fsync for the batch, after the whole batch was written
        assert journal.append([]) == [] and synced == [size]  # nothing to write: no fsync


def test_duplicates_are_dropped_within_a_batch_and_across_a_reopen(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        first = readings(3) + [Reading("gauge00", "2026-07-15T06:00:00Z", "water_depth", 9.0,
                                       "m")]  # the same sensor and time again: dropped
        assert journal.append(first) == readings(3)
    with Journal(path) as journal:
        assert len(journal) == 3 and ("gauge00", "2026-07-15T06:00:02Z") in journal
        again = journal.append(readings(5) + readings(2, sensor="gauge01"))
        assert again == readings(2, start=3) + readings(2, sensor="gauge01")
        assert list(journal.readings()) == readings(5) + readings(2, sensor="gauge01")
        assert list(journal.readings(start=4)) == readings(1, start=4) + readings(2, "gauge01")
    assert len(path.read_text().splitlines()) == 7


@pytest.mark.parametrize("chunk", [1 << 20, 7])  # the file read a MiB, or 7 bytes, at a time
@pytest.mark.parametrize("cut", [1, 10, "all but the newline"])
def test_a_torn_last_line_is_cut_off_and_complete_lines_are_kept(tmp_path, monkeypatch, cut,
                                                                 chunk):  # fmt: skip
    """A crash in the middle of a write leaves part of a line at the end (no newline): never
    acknowledged, so the broker sends it again; it is cut off, the complete lines kept."""
    monkeypatch.setattr(journal_module, "_CHUNK", chunk)
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        journal.append(readings(4))
    complete = path.read_bytes()
    line = journal_module._line(readings(1, start=4)[0])
    torn = line[:-1] if cut == "all but the newline" else line[:cut]
    with open(path, "ab") as file:  # what a write cut short leaves
        file.write(torn)
    with Journal(path) as journal:
        assert list(journal.readings()) == readings(4)
        assert path.read_bytes() == complete
        assert journal.append(readings(2, start=4)) == readings(2, start=4)  # sent again
    with Journal(path) as journal:
        assert list(journal.readings()) == readings(6)


def test_a_complete_line_that_does_not_read_is_an_error_not_dropped(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        journal.append(readings(2))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + '{"sensor_id": "gauge00", "time": 5}\n' + lines[1])
    with pytest.raises(JournalError, match="line 2"):
        Journal(path)
    assert len(path.read_text().splitlines()) == 3  # untouched


def test_one_process_appends_at_a_time(tmp_path):
    with Journal(tmp_path / "journal.jsonl"):
        with pytest.raises(JournalError, match="another process"):
            Journal(tmp_path / "journal.jsonl")


def test_the_csv_export_is_what_the_offline_reader_reads(tmp_path):
    data = readings(70) + [
        Reading("station00", "2026-07-15T06:00:00Z", "air_temperature", 298.9069052108743, "K"),
        Reading("station00", "2026-07-15T06:10:00Z", "air_temperature", 1 / 3 + 290, "K"),
    ]  # fmt: skip
    with Journal(tmp_path / "journal.jsonl") as journal:
        journal.append(data)
        assert journal.export_csv(tmp_path / "obs.csv") == len(data)
        with pytest.raises(OutputError, match="exists"):
            journal.export_csv(tmp_path / "obs.csv")
    offline = read_csv_readings(tmp_path / "obs.csv")
    assert offline.sensor_id == [r.sensor_id for r in data]
    assert offline.variable == [r.variable for r in data]
    assert (offline.time == np.array([r.time[:-1] for r in data], "datetime64[ns]")).all()
    assert (offline.value == np.array([r.value for r in data])).all()  # to the bit
    assert (offline.flag == 0).all()


def test_a_disk_error_is_one_clear_error_and_nothing_is_acknowledged(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "journal.jsonl")

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_module.os, "write", full)
    with pytest.raises(JournalError, match="No space left"):
        journal.append(readings(1))
    with pytest.raises(JournalError, match="closed"):
        journal.append(readings(1))


def test_the_quarantine_keeps_refused_payloads_escaped_and_cut_short(tmp_path):
    when = datetime(2026, 7, 15, 6, 0, tzinfo=timezone.utc)
    nasty = b"\xff\x00$(rm -rf /)\n" + b"x" * 2000
    quarantine = Quarantine(tmp_path / "quarantine.jsonl")
    quarantine.add([entry(when, "city/sensors/../../etc", nasty, "not_json: not UTF-8"),
                    entry(when, "city/sensors/g", b"{}", "malformed: sensor_id is None")])
    quarantine.close()
    lines = (tmp_path / "quarantine.jsonl").read_bytes().splitlines()
    assert len(lines) == 2 and len(Quarantine(tmp_path / "quarantine.jsonl")) == 2
    first = json.loads(lines[0])
    assert first["reason"] == "not_json: not UTF-8" and first["bytes"] == len(nasty)
    # the first KEEP bytes (14 before the x's), the undecodable one escaped, and "..."
    assert first["payload"] == "\\xff\x00$(rm -rf /)\n" + "x" * (KEEP - 14) + "..."
    assert first["received"] == "2026-07-15T06:00:00.000+00:00"
    assert all(byte < 128 for byte in lines[0])  # escaped: one line of ASCII
