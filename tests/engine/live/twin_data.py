"""A small live twin of the demo twin (the demo town at 100 m cells, 4 members, 70 min) and
its readings in arrival order (helpers of the live tests)."""

from __future__ import annotations

import copy
import csv
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import yaml

from metrotwin.live.reading import CSV_COLUMNS, Reading
from metrotwin.run.runner import run_scenario
from metrotwin.run.scenario import parse_scenario

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
#: cycles of the small twin: 70 min of 10-min coupling steps
CYCLES = 7


def demo_readings(minutes: float = 70) -> list[Reading]:
    """The demo twin's readings up to ``minutes`` after its start, in the order a feed
    delivers them: by time, the sensors of one time in the file's order."""
    with open(SCENARIOS / "demo_twin" / "obs.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    readings = [Reading(r["sensor_id"], r["time"], r["variable"], float(r["value"]), r["units"])
                for r in rows]
    readings.sort(key=lambda r: r.time)  # stable: a time's sensors keep the file's order
    last = f"2026-07-15T{6 + int(minutes) // 60:02d}:{int(minutes) % 60:02d}:00Z"
    return [r for r in readings if r.time <= last]


def write_journal_csv(path: Path, readings: list[Reading]) -> Path:
    """The readings as an observations CSV (what a journal exports)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(r.csv_row() for r in readings)
    return path


def small_twin_data(folder: Path, readings: list[Reading] = ()) -> dict:
    """The demo twin made small (100 m cells, 4 members, 70 min, exact transform), its
    sensor table copied into ``folder`` and ``readings`` as its observations CSV there."""
    with open(SCENARIOS / "demo_twin.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data = copy.deepcopy(data)
    data["domain"]["generated"]["resolution"] = 100
    data["period"]["duration"] = f"{CYCLES * 10} min"
    data["assimilation"].update(members=4, transform_step=1)
    data["models"]["heat"].update(air_cell_size=100, azimuths=8)
    shutil.copyfile(SCENARIOS / "demo_twin" / "sensors.csv", folder / "sensors.csv")
    write_journal_csv(folder / "journal.csv", list(readings))
    data["observations"]["sources"] = [{"format": "csv", "path": "journal.csv",
                                        "sensors": "sensors.csv"}]
    return data


def scenario_of(data: dict, folder: Path):
    return parse_scenario(copy.deepcopy(data), base_dir=folder)


def offline_fields(folder: Path, readings: list[Reading]) -> dict:
    """``metrotwin run`` in ``folder`` of the small twin with ``readings`` as its
    observations CSV: its fields at each output time, name -> (time (s) -> array as stored)."""
    data = small_twin_data(folder, readings)
    run_scenario(scenario_of(data, folder), folder / "run", progress=False)
    with netCDF4.Dataset(folder / "run" / "baseline" / "fields.nc") as nc:
        nc.set_auto_mask(False)
        times = [float(t) for t in nc["time"][:]]
        return {name: {t: np.array(var[i]) for i, t in enumerate(times)}
                for name, var in nc.variables.items() if var.dimensions[:1] == ("time",)
                and name != "time"}  # fmt: skip
