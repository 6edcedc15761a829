"""Interventions edit the state where they should and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.interventions import apply_interventions, parse_interventions
from metrotwin.landcover import CODE
from metrotwin.testing import make_grid, make_state


@pytest.fixture
def town():
    grid = make_grid(20, 20, resolution=10)
    cover = np.full(grid.shape, CODE["paved"], dtype="int16")
    cover[5:10, 5:10] = CODE["roof"]
    cover[:, 15:] = CODE["road"]
    height = np.where(cover == CODE["roof"], 12.0, 0.0)
    district = np.ones(grid.shape, dtype="int16")
    district[10:, :] = 2
    state = make_state(grid, land_cover=cover, building_height=height, district=district,
                       surface_altitude=np.tile(np.linspace(10, 0, 20), (20, 1)))  # fmt: skip
    state.ds["district"].attrs.update(flag_values=np.array([1, 2]), flag_meanings="North South")
    return state


def _apply(state, *items, seed=0):
    return apply_interventions(state, parse_interventions(list(items)), np.random.default_rng(seed))


def test_cool_roof_changes_only_roofs(town):
    before = town["land_cover"].copy()
    changed = _apply(town, {"type": "cool_roof"})
    assert list(changed.values()) == [25]
    after = town["land_cover"]
    assert (after[before == CODE["roof"]] == CODE["cool_roof"]).all()
    assert np.array_equal(after[before != CODE["roof"]], before[before != CODE["roof"]])


def test_district_selection(town):
    _apply(town, {"type": "permeable_paving", "where": {"district": "South"}})
    cover = town["land_cover"]
    assert (cover[10:, :15] == CODE["permeable_paving"]).all()
    assert not (cover[:10] == CODE["permeable_paving"]).any()


def test_trees_fraction_is_deterministic(town):
    item = {"type": "trees", "fraction": 0.5, "height": 9}
    _apply(town, item)
    first = town["tree_canopy_height"].copy()
    eligible = ((town["land_cover"] == CODE["paved"])).sum()
    # each cell is drawn on its own: a binomial count, within 4 standard deviations
    assert abs((first == 9).sum() - 0.5 * eligible) < 4 * np.sqrt(0.25 * eligible)
    town["tree_canopy_height"][...] = 0
    _apply(town, item)
    assert np.array_equal(first, town["tree_canopy_height"])
    town["tree_canopy_height"][...] = 0
    town.seed = 99
    _apply(town, item)
    assert not np.array_equal(first, town["tree_canopy_height"])


def test_levee_raises_a_line(town):
    z0 = town["surface_altitude"].copy()
    x = town.grid.x
    y = town.grid.y
    _apply(town, {"type": "levee", "line": [[x[3], y[0]], [x[3], y[-1]]], "width": 0,
                  "crest_height": 2.0})  # fmt: skip
    raised = town["surface_altitude"] - z0
    assert np.allclose(raised[:, 3], 2.0)
    assert np.count_nonzero(raised) == 20


def test_retention_pond_and_drainage(town):
    g = town.grid
    poly = [[g.x[0], g.y[12]], [g.x[4], g.y[12]], [g.x[4], g.y[16]], [g.x[0], g.y[16]]]
    _apply(town, {"type": "retention_pond", "where": {"polygon": poly}, "depth": 2},
           {"type": "drainage_upgrade", "where": {"district": "North"}, "increase": 10})  # fmt: skip
    assert town["surface_altitude"][13:16, 1:4].max() == pytest.approx(
        town["surface_altitude"][13:16, 1:4].min())  # a flat floor
    assert town["surface_altitude"][14, 2] < 10 - 2
    assert (town["drainage_capacity"][:10] == 10).all() and (town["drainage_capacity"][10:] == 0).all()


def test_missing_layer_is_refused(town):
    del town.ds["tree_canopy_height"]
    with pytest.raises(ValueError, match="trees.*tree_canopy_height"):
        _apply(town, {"type": "trees"})
