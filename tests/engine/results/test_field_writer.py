"""The field writer: records copied at their output time and written by a thread while the
run goes on; a writing error reaches the run; nothing half-written is left."""

from __future__ import annotations

import errno
from datetime import datetime

import netCDF4
import numpy as np
import pytest

from metrotwin.city.variables import VarSpec
from metrotwin.results.output import FieldWriter
from metrotwin.run.testing import make_grid, make_state
from tests._support.toymodels import Source

SPEC = {"flood_water_thickness": VarSpec("out", "m", "depth", fill=0.0)}


def _writer(tmp_path):
    state = make_state(make_grid(30, 40, resolution=10.0))
    state.add_variable("flood_water_thickness", SPEC["flood_water_thickness"])
    path = tmp_path / "fields.nc"
    writer = FieldWriter(path, state, SPEC, start=datetime(2026, 7, 15, 6), attrs={})
    return state, path, writer


def test_each_record_holds_the_fields_as_they_were_at_its_time(tmp_path):
    state, path, writer = _writer(tmp_path)
    depth = state["flood_water_thickness"]
    for k in range(5):
        depth[...] = k + np.arange(depth.size).reshape(depth.shape) / 1e4
        writer.append(60.0 * k)
        depth[...] = -1.0  # the run goes on at once: the record must not see this
    assert writer.records == 5
    writer.close(success=True)
    with netCDF4.Dataset(path) as nc:
        assert list(nc["time"][:]) == [0.0, 60.0, 120.0, 180.0, 240.0]
        for k in range(5):
            expected = (k + np.arange(depth.size).reshape(depth.shape) / 1e4).astype("f4")
            assert np.array_equal(nc["flood_water_thickness"][k], expected)


class _FullDisk:
    """A variable whose writes fail as on a full disk."""

    dtype = np.dtype("f4")

    def __setitem__(self, key, value):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("when", ["append", "close"])
def test_a_writing_error_reaches_the_run_and_leaves_no_file(tmp_path, when):
    state, path, writer = _writer(tmp_path)
    writer.append(0.0)
    writer.records  # the first record is written
    writer._vars["flood_water_thickness"] = _FullDisk()
    writer.append(60.0)  # copied; the thread fails on it
    with pytest.raises(OSError) as err:
        if when == "append":
            for t in range(2, 50):  # the error is raised by one of the next calls
                writer.append(60.0 * t)
        writer.close(success=True)
    assert err.value.errno == errno.ENOSPC
    if when == "append":
        writer.close(success=False)
    assert not path.exists()
    assert not list(tmp_path.glob(".fields.nc.*"))  # no temporary file left either


def test_a_failed_run_leaves_no_file(tmp_path):
    state, path, writer = _writer(tmp_path)
    writer.append(0.0)
    writer.close(success=False)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_untrusted_values_are_named_with_their_count():
    depth = VarSpec("out", "m", "depth", valid_range=(0.0, 100.0))
    assert depth.untrusted(np.array([0.0, 3.0])) is None
    assert "1 non-finite" in depth.untrusted(np.array([0.0, np.nan]))
    assert "2 value(s) outside 0..100 m" in depth.untrusted(np.array([-1.0, 6e306, 2.0]))
    utci = VarSpec("out", "degree_C", "UTCI", fill=np.nan)  # NaN: no value (a building)
    assert utci.untrusted(np.array([np.nan, 30.0])) is None
    assert "1 non-finite" in utci.untrusted(np.array([np.inf, 30.0]))
    assert VarSpec("out", "1", "code", dtype="int16").untrusted(np.array([5], "int16")) is None


class Blowup(Source):
    """The toy tracer source, whose tracer turns NaN once the run passes 15 minutes: a
    model that blows up."""

    name = "blowup"

    def advance(self, state, until):
        super().advance(state, until)
        if until > 900:
            state["tracer"][0, 0] = np.nan


def test_a_run_whose_fields_turn_non_finite_is_not_published(toy_registry, small_scenario_data,
                                                             tmp_path, capsys):  # fmt: skip
    import yaml

    from metrotwin.cli import main

    toy_registry["blowup"] = Blowup
    small_scenario_data["models"] = {"blowup": {"rate": 2.0}}
    small_scenario_data.pop("variants")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "output 'tracer' at t = 1200 s has 1 non-finite value(s)" in err
    assert "not published" in err and err.count("\n") == 1
    assert not out.exists()
