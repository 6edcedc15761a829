"""The small demo twin's readings and its offline assimilated run, shared by the live tests."""

from __future__ import annotations

import pytest

from .twin_data import demo_readings, offline_fields, small_twin_data


@pytest.fixture(scope="session")
def readings():
    """The demo twin's readings of the small twin's 70 min, in arrival order."""
    return demo_readings()


@pytest.fixture(scope="session")
def offline(tmp_path_factory, readings):
    """``metrotwin run`` of the small twin with the readings as its observations CSV: its
    fields at each output time, name -> (time (s) -> array as stored)."""
    return offline_fields(tmp_path_factory.mktemp("offline"), readings)


@pytest.fixture
def live_folder(tmp_path):
    """A folder with the small twin's scenario data (sensor table, empty journal CSV)."""
    return tmp_path, small_twin_data(tmp_path, [])
