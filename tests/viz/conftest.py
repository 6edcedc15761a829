"""Fixtures of the viz tests: small runs made with the stand-in models."""

from __future__ import annotations

import pytest

from tests._support.fakemodels import make_fake_run


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory):
    """A run directory of the small town with flood, heat and mobility (stand-ins)."""
    return make_fake_run(tmp_path_factory.mktemp("fake") / "run")


@pytest.fixture(scope="session")
def flood_only_run(tmp_path_factory):
    """The small town with the flood stand-in only (no heat field, no traffic)."""
    return make_fake_run(tmp_path_factory.mktemp("flood") / "run", models=("flood",))
