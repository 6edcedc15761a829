"""The field writer: records copied at their output time and written by a thread while the
run goes on; a writing error reaches the run; nothing half-written is left."""

from __future__ import annotations

import errno
from datetime import datetime

import netCDF4
import numpy as np
import pytest

from metrotwin.output import FieldWriter
from metrotwin.testing import make_grid, make_state
from metrotwin.variables import VarSpec

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
