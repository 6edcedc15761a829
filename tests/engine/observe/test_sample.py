"""Synthetic observations sampled from a run's fields.nc, read back through the CSV reader."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from metrotwin.errors import DataSourceError
from metrotwin.observe.load import load_observations
from metrotwin.observe.sample import sample_run
from metrotwin.scenario.observations import ObservationsSection
from metrotwin.results.output import FieldWriter
from metrotwin.city.variables import VarSpec

from .conftest import cell_centre, write


def _run(tmp_path, city):
    """A two-record fields.nc written by the run's own writer: depth rising in one cell."""
    from datetime import datetime

    depth = city.add_variable("flood_water_thickness", VarSpec("out", "m", "depth"))
    flow = city.add_variable("link_flow", VarSpec("out", "h-1", "flow", mapping="link"))
    outputs = {"flood_water_thickness": VarSpec("out", "m", "depth"),
               "link_flow": VarSpec("out", "h-1", "flow", mapping="link")}
    folder = tmp_path / "run" / "baseline"
    writer = FieldWriter(folder / "fields.nc", city, outputs,
                         start=datetime(2024, 6, 1, 12), attrs={})
    for t, level in ((0.0, 0.0), (600.0, 0.5)):
        depth[2, 3] = level
        flow[:] = 1200.0 + level * 1000
        writer.append(t)
    writer.close(success=True)
    return tmp_path / "run"


def test_sample_run_round_trip(tmp_path, city):
    run = _run(tmp_path, city)
    x, y = cell_centre(2, 3)
    write(tmp_path / "sensors.csv", "sensor_id,variable,x,y,error_std,interval\n"
                                   f"d1,water_depth,{x},{y},0.01,\n"
                                   "c1,vehicle_count,500100,4999903,2,15 min\n")
    result = sample_run(run, tmp_path / "sensors.csv", tmp_path / "obs.csv", seed=3)
    assert result == {"rows": 4, "left_out": 0}
    section = ObservationsSection.model_validate({"sources": [
        {"format": "csv", "path": "obs.csv", "sensors": "sensors.csv"}]})
    obs = load_observations(section, city, tmp_path)
    assert obs.counts()["good"] == 4
    # depth 0 -> clipped noise (>= 0), then 0.5 m +- 0.01 (4 std: 6e-5 chance to fail)
    assert obs.value[0] >= 0.0 and abs(obs.value[1] - 0.5) < 0.04
    # 1200 and 1700 vehicles per hour over 15 min: 300 and 425, +- 2 (4 std)
    np.testing.assert_allclose(obs.value[2:], [300.0, 425.0], atol=8.0)
    assert obs.time[1] == np.datetime64("2024-06-01T12:10", "ns")
    again = tmp_path / "again.csv"
    sample_run(run, tmp_path / "sensors.csv", again, seed=3)
    assert again.read_text() == (tmp_path / "obs.csv").read_text()  # seeded
    with pytest.raises(DataSourceError, match="exists"):
        sample_run(run, tmp_path / "sensors.csv", again, seed=3)


def test_sample_run_names_a_missing_field(tmp_path, city):
    run = _run(tmp_path, city)
    write(tmp_path / "sensors.csv", "sensor_id,variable,x,y,error_std\n"
                                   "t1,air_temperature,500010,4999990,0.5\n")
    with pytest.raises(DataSourceError, match="no field 'air_temperature'"):
        sample_run(run, tmp_path / "sensors.csv", tmp_path / "obs.csv")
    assert not (tmp_path / "obs.csv").exists()
    with xr.open_dataset(run / "baseline" / "fields.nc") as ds:
        assert "link_flow" in ds


def test_cli_observe(tmp_path, city, capsys):
    from metrotwin.cli import main

    run = _run(tmp_path, city)
    x, y = cell_centre(2, 3)
    write(tmp_path / "sensors.csv",
          f"sensor_id,variable,x,y,error_std\nd1,water_depth,{x},{y},0.01\n")
    out = tmp_path / "obs.csv"
    assert main(["observe", str(run), "--sensors", str(tmp_path / "sensors.csv"),
                 "-o", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "sensor_id,time,variable,value,units"
    assert len(out.read_text().splitlines()) == 3
    # a second time: the file exists, one message and exit status 2, the file unchanged
    before = out.read_text()
    assert main(["observe", str(run), "--sensors", str(tmp_path / "sensors.csv"),
                 "-o", str(out)]) == 2
    assert "metrotwin: error:" in capsys.readouterr().err and out.read_text() == before
