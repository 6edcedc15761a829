"""The small demo twin's readings and its offline assimilated run, shared by the live tests."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from metrotwin.run.runner import run_scenario

from .twin_data import demo_readings, scenario_of, small_twin_data


@pytest.fixture(scope="session")
def readings():
    """The demo twin's readings of the small twin's 70 min, in arrival order."""
    return demo_readings()


@pytest.fixture(scope="session")
def offline(tmp_path_factory, readings):
    """``metrotwin run`` of the small twin with the readings as its observations CSV: its
    fields at each output time, name -> (time (s) -> array as stored)."""
    folder = tmp_path_factory.mktemp("offline")
    data = small_twin_data(folder, readings)
    run_scenario(scenario_of(data, folder), folder / "run", progress=False)
    with netCDF4.Dataset(folder / "run" / "baseline" / "fields.nc") as nc:
        nc.set_auto_mask(False)
        times = [float(t) for t in nc["time"][:]]
        fields = {name: {t: np.array(var[i]) for i, t in enumerate(times)}
                  for name, var in nc.variables.items() if var.dimensions[:1] == ("time",)
                  and name != "time"}  # fmt: skip
    return fields


@pytest.fixture
def live_folder(tmp_path):
    """A folder with the small twin's scenario data (sensor table, empty journal CSV)."""
    return tmp_path, small_twin_data(tmp_path, [])
