"""The parts of the impacts: building table, depth at a building, damage tables (JRC defaults
and user CSVs, bad tables refused with one message), facilities on a small graph."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.buildings import building_table, depth_at_buildings
from metrotwin.results.risk.damage import building_damage
from metrotwin.results.risk.damage_tables import damage_model, read_curves, read_max_damage
from metrotwin.results.risk.facilities import facilities_cut_off, main_component
from tests.engine.results.risk.risk_city import dataset, depth_grid, static_layers


def test_building_table_of_the_three_building_city():
    b = building_table(dataset(depth_grid({})), storey_height=3.0)
    assert b.ids.tolist() == [1, 2, 3]
    assert b.uses.tolist() == ["residential", "commercial", "public"]
    assert b.footprint_m2.tolist() == [200.0, 100.0, 100.0]  # cells x 10 m x 10 m
    assert b.storeys.tolist() == [2, 1, 3]
    assert b.district.tolist() == [1, 2, 1]


def test_depth_is_the_deepest_face_neighbour_not_a_corner():
    b = building_table(dataset(depth_grid({})), storey_height=3.0)
    # building 2 at (1, 5): (0, 5) is a face neighbour, (0, 4) only a corner one
    depth = depth_grid({(0, 5): 0.3, (0, 4): 0.9, (2, 5): 0.1, (1, 1): 5.0, (4, 2): 0.7})
    got = depth_at_buildings(b, depth)
    assert got[1] == 0.3
    assert got[0] == 0.0  # water "on" building 1's own cell is not at its border
    assert got[2] == 0.0
    # the centroid rule reads the footprint's own cell: building 3 is the one cell (4, 2)
    np.testing.assert_array_equal(depth_at_buildings(b, depth, "centroid")[1:], [0.0, 0.7])
    with pytest.raises(RiskInputError, match="depth_at"):
        depth_at_buildings(b, depth, "nearest")


def test_unknown_building_use_code_is_named():
    layers = static_layers()
    layers["building_use"][1, 5] = 7
    with pytest.raises(RiskInputError, match=r"building_use code 7 \(buildings \[2\]\)"):
        building_table(dataset(depth_grid({}), layers=layers), storey_height=3.0)


def test_jrc_default_model_matches_building_damage():
    depth = np.array([0.3, 1.2, 2.5, 0.0])
    uses = ["residential", "commercial", "industrial", "public"]
    area, storeys = np.array([120.0, 300.0, 800.0, 50.0]), np.array([2, 1, 1, 4])
    model = damage_model(uses, "NLD")
    got = model.damage(depth, np.array(uses, object), area, storeys, storeys_counted=1)
    want = building_damage(depth, uses, area, storeys, country="NLD")
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_user_tables_replace_the_defaults_use_by_use(tmp_path):
    curves = tmp_path / "c.csv"
    curves.write_text("# my curve\ndepth_m,residential\n0,0\n2,1\n")
    maxima = tmp_path / "m.csv"
    maxima.write_text("use,eur_per_m2\nresidential,1000\n")
    model = damage_model(["residential", "commercial"], "DEU", curves, maxima)
    assert model.damage([1.0], np.array(["residential"], object), [10.0], [1], 1)[0] == 5000.0
    assert model.sources["commercial"] == "curve: JRC Europe; max: JRC DEU"


@pytest.mark.parametrize("reader, text, message", [
    (read_curves, "depth_m,hospital\n0,0\n1,1\n",
     r"building use 'hospital' is not one metrotwin knows"),
    (read_curves, "depth,residential\n0,0\n1,1\n", r"the header must be depth_m"),
    (read_curves, "depth_m,residential\n0,0\n1,high\n", r"row 3, residential is 'high'"),
    (read_curves, "depth_m,residential\n0,0.5\n1,0.2\n",
     r"column residential: curve fractions must"),
    (read_curves, "depth_m,residential\n0,0\n1\n", r"row 3 has 1 values for 2 columns"),
    (read_curves, "depth_m,residential\n", r"needs a header line and at least one row"),
    (read_max_damage, "use,eur\nresidential,1\n", r"the header must be use,eur_per_m2"),
    (read_max_damage, "use,eur_per_m2\nshed,1\n", r"building use 'shed'"),
    (read_max_damage, "use,eur_per_m2\nresidential,-5\n",
     r"row 2, residential: give each use once"),
    (read_max_damage, "use,eur_per_m2\nresidential,nan\n", r"row 2, eur_per_m2 is 'nan'"),
])  # fmt: skip
def test_bad_user_table_gives_one_message_naming_the_file(tmp_path, reader, text, message):
    path = tmp_path / "table.csv"
    path.write_text(text)
    with pytest.raises(RiskInputError, match=message) as err:
        reader(path)
    assert str(path) in str(err.value)


def test_unknown_country_without_user_maximum_is_named():
    with pytest.raises(RiskInputError, match="no JRC maximum damage for country 'XXX'"):
        damage_model(["residential"], "XXX")


def test_main_component_and_cut_off_on_a_small_graph():
    """Nodes 0-1-2-3 and 4-5; link 1-2 closed: components {0,1}, {2,3}, {4,5} tie at 2 nodes,
    the main one is node 0's; facilities at 0, 3 and 5: only the first reaches it."""
    frm, to = [0, 1, 2, 4], [1, 2, 3, 5]
    closed = [False, True, False, False]
    assert main_component(6, frm, to, [True] * 4).tolist() == [True] * 4 + [False] * 2
    assert facilities_cut_off([0, 3, 5], 6, frm, to, closed).tolist() == [False, True, True]
    # a direction of travel does not matter: the link 3 -> 2 joins 2 and 3 as well
    assert facilities_cut_off([3], 4, [0, 1, 3], [1, 2, 2], [False] * 3).tolist() == [False]


