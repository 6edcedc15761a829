"""Interventions edit the state where they should and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.city.interventions import apply_interventions, intervention_cells, parse_interventions
from metrotwin.city.landcover import CODE
from metrotwin.run.testing import make_grid, make_state


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
    z0 = town["surface_altitude"].copy()
    _apply(town, {"type": "retention_pond", "where": {"polygon": poly}, "depth": 2},
           {"type": "drainage_upgrade", "where": {"district": "North"}, "increase": 10})  # fmt: skip
    dug = z0 - town["surface_altitude"]
    assert np.allclose(dug[13:16, 1:4], 2.0)  # the ground lowered by depth, as documented
    assert (town["land_cover"][13:16, 1:4] == CODE["grass"]).all()
    assert (town["drainage_capacity"][:10] == 10).all() and (town["drainage_capacity"][10:] == 0).all()


def test_retention_pond_digs_depth_below_each_cell_not_below_the_lowest(town):
    """Issue #16: a flat floor at the area's lowest ground minus depth dug 1.5-7.8 m on a
    slope for depth 1.5; every cell now goes exactly ``depth`` down (the relief kept)."""
    z0 = town["surface_altitude"].copy()  # a slope of 10 m across the grid
    _apply(town, {"type": "retention_pond", "where": {"bbox": _bbox(town, 0, 10, 0, 10)},
                  "depth": 1.5})  # fmt: skip
    dug = z0 - town["surface_altitude"]
    changed = dug != 0
    assert changed.sum() == 100 - 25  # the 10 x 10 box less its 5 x 5 building
    assert np.allclose(dug[changed], 1.5)  # exact arithmetic up to float64 rounding


def test_retention_pond_leaves_roads_and_says_how_many(town):
    """Issue #16: a basin drawn across a street turned the road cells into grass, silently."""
    before = town["land_cover"].copy()
    z0 = town["surface_altitude"].copy()
    with pytest.warns(UserWarning, match=r"retention_pond: 10 road cells in its area"):
        where = {"bbox": _bbox(town, 12, 14, 0, 20)}
        changed = _apply(town, {"type": "retention_pond", "where": where, "depth": 2})
    road = before == CODE["road"]
    assert np.array_equal(town["land_cover"][road], before[road])
    assert np.array_equal(town["surface_altitude"][road], z0[road])
    assert list(changed.values()) == [2 * 15]  # rows 12-13 of the 15 paved columns


def test_intervention_cells_counts_the_selection_and_the_change(town):
    items = parse_interventions([{"type": "cool_roof", "where": {"district": "North"}},
                                 {"type": "retention_pond", "depth": 1,
                                  "where": {"bbox": _bbox(town, 0, 20, 13, 17)}}])  # fmt: skip
    with pytest.warns(UserWarning, match="road cells"):
        rows = intervention_cells(town, items, np.random.default_rng(0))
    # North is rows 0-9 (200 cells), of which the 25 roofs change; the pond's 4 columns are
    # 2 paved and 2 of road, which it leaves out
    assert rows == [("1:cool_roof", 200, 25), ("2:retention_pond", 80, 40)]


def _bbox(state, row0, row1, col0, col1) -> list[float]:
    """The bbox [west, south, east, north] (m) around the cells [row0:row1, col0:col1]."""
    g, half = state.grid, state.grid.resolution / 2
    ys = g.y[row0:row1]
    return [g.x[col0] - half, ys.min() - half, g.x[col1 - 1] + half, ys.max() + half]


def test_missing_layer_is_refused(town):
    del town.ds["tree_canopy_height"]
    with pytest.raises(ValueError, match="trees.*tree_canopy_height"):
        _apply(town, {"type": "trees"})


def test_validate_cells_shows_what_each_intervention_selects_and_changes(demo_data, tmp_path,
                                                                         capsys):  # fmt: skip
    """Issue #16: ``validate`` never showed which cells an intervention selects."""
    import re

    import yaml

    from metrotwin.city.build import build_city
    from metrotwin.cli import main
    from metrotwin.run.runner import prepare_variant
    from metrotwin.run.scenario import load_scenario

    box = [690800, 5334400, 691400, 5334800]
    demo_data["variants"]["pond"] = {
        "interventions": [{"type": "retention_pond", "depth": 1.5, "where": {"bbox": box}}]}
    path = tmp_path / "pond.yaml"
    path.write_text(yaml.safe_dump(demo_data), encoding="utf-8")
    assert main(["validate", str(path), "--cells"]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"retention_pond: \d+ road cells in its area are left", err)
    pond = out.split("\npond:\n")[1]
    shown = dict(re.findall(r"^  (\S+): selects \d+ cells, changes (\d+)$", pond, re.M))
    # the 600 cells of the 600 m x 400 m box at 20 m, and what the run itself changes
    assert re.search(r"^  1:retention_pond: selects 600 cells, changes \d+$", out, re.M)
    scenario = load_scenario(path)
    run = prepare_variant(scenario, "pond", build_city(scenario)).interventions
    assert {k: int(v) for k, v in shown.items()} == run and 0 < run["1:retention_pond"] < 600
