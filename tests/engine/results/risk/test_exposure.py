"""Buildings as a point exposure: the depth of the cell holding each point, the maximum damage
``building_damage`` counts, and the Delft-FIAT model written from them (read back here with
rasterio, geopandas and csv; FIAT itself runs in test_fiat_parity.py)."""

from __future__ import annotations

import csv

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from metrotwin.city.grid import Grid
from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.damage import building_damage, jrc_curves, max_damage_per_m2
from metrotwin.results.risk.exposure import (
    FIAT_FILES,
    PointExposure,
    depth_at_points,
    max_damage,
    read_fiat_damage,
    write_fiat_model,
)

GRID = Grid(3, 4, 10.0, 1000.0, 2000.0, "EPSG:32632")
DEPTH = np.arange(12, dtype=float).reshape(3, 4) / 4.0  # row 0 north


def _exposure():
    return PointExposure(
        x=np.array([1001.0, 1039.9, 1025.0]), y=np.array([1999.0, 1970.1, 1985.0]),
        uses=np.array(["residential", "public", "industrial"]),
        footprint_m2=np.array([100.0, 250.0, 80.0]), storeys=np.array([1, 5, 2]),
    )


def test_a_point_reads_the_cell_that_holds_it():
    # (1001, 1999): north-west cell; (1039.9, 1970.1): south-east; (1025, 1985): row 1, col 2
    x, y = [1001.0, 1039.9, 1025.0, 1010.0], [1999.0, 1970.1, 1985.0, 1990.0]
    got = depth_at_points(DEPTH, GRID, x, y)
    np.testing.assert_array_equal(got, [DEPTH[0, 0], DEPTH[2, 3], DEPTH[1, 2], DEPTH[1, 1]])


def test_a_point_outside_the_map_is_refused_by_name():
    with pytest.raises(RiskInputError, match=r"building 1 at \(1040.0, 1990.0\) m is outside"):
        depth_at_points(DEPTH, GRID, [1001.0, 1040.0], [1999.0, 1990.0])


def test_the_maximum_damage_is_the_one_building_damage_counts():
    e = _exposure()
    value = max_damage(e, country="DEU", storeys_counted=3)
    expected = [max_damage_per_m2("DEU", "residential") * 100.0,
                max_damage_per_m2("DEU", "commercial") * 250.0 * 3,
                max_damage_per_m2("DEU", "industrial") * 80.0 * 2]  # fmt: skip
    np.testing.assert_allclose(value, expected, rtol=1e-15)
    # beyond the curves' last point (fraction 1 in every JRC Europe class) damage is the maximum
    deep = building_damage(np.full(3, 9.0), e.uses, e.footprint_m2, e.storeys, country="DEU",
                           storeys_counted=3)  # fmt: skip
    np.testing.assert_array_equal(deep, value)


def test_an_exposure_field_of_the_wrong_length_is_refused():
    with pytest.raises(RiskInputError, match="exposure field 'storeys' has shape"):
        PointExposure(np.zeros(2), np.zeros(2), np.array(["a", "b"]), np.ones(2), np.ones(3))


def test_the_fiat_model_holds_the_same_map_points_values_and_curves(tmp_path):
    e = _exposure()
    settings = write_fiat_model(tmp_path / "m", DEPTH, GRID, e, country="DEU", storeys_counted=3)
    folder = settings.parent
    with rasterio.open(folder / FIAT_FILES["hazard"]) as src:
        np.testing.assert_array_equal(src.read(1), DEPTH)
        assert tuple(src.transform)[:6] == (10.0, 0.0, 1000.0, 0.0, -10.0, 2000.0)
        assert src.crs.to_epsg() == 32632
    points = gpd.read_file(folder / FIAT_FILES["geometry"])
    np.testing.assert_array_equal(points.geometry.x, e.x)
    np.testing.assert_array_equal(points["object_id"], [0, 1, 2])
    with open(folder / FIAT_FILES["exposure"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["fn_damage_structure"] for r in rows] == ["residential", "commercial", "industrial"]
    assert {r["extract_method"] for r in rows} == {"centroid"}
    assert {(r["ground_flht"], r["ground_elevtn"]) for r in rows} == {("0", "0")}
    np.testing.assert_array_equal([float(r["max_damage_structure"]) for r in rows],
                                  max_damage(e, country="DEU", storeys_counted=3))  # fmt: skip
    with open(folder / FIAT_FILES["vulnerability"], newline="") as f:
        table = list(csv.DictReader(f))
    curve = jrc_curves()["commercial"]
    np.testing.assert_array_equal([float(r["water depth"]) for r in table], curve.depths)
    np.testing.assert_array_equal([float(r["commercial"]) for r in table], curve.fractions)
    assert 'step_size = 0.01' in settings.read_text()


def test_a_map_of_another_shape_is_refused():
    with pytest.raises(RiskInputError, match=r"depth map has shape \(4, 4\); the grid is \(3, 4\)"):
        depth_at_points(np.zeros((4, 4)), GRID, [1001.0], [1999.0])


def test_bad_inputs_are_refused_before_anything_is_written(tmp_path):
    e = _exposure()
    with pytest.raises(RiskInputError, match="no depth-damage curve for class 'industrial'"):
        write_fiat_model(tmp_path / "m", DEPTH, GRID, e, country="DEU",
                         curves={k: v for k, v in jrc_curves().items() if k != "industrial"})
    with pytest.raises(RiskInputError, match="no JRC maximum damage for country 'XXX'"):
        write_fiat_model(tmp_path / "m", DEPTH, GRID, e, country="XXX")
    assert not (tmp_path / "m").exists()


def test_a_folder_with_files_in_it_is_not_written_over(tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(RiskInputError, match="is not empty"):
        write_fiat_model(tmp_path, DEPTH, GRID, _exposure(), country="DEU")
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def _fiat_output(tmp_path, rows):
    (tmp_path / FIAT_FILES["output"]).mkdir()
    path = tmp_path / FIAT_FILES["output"] / FIAT_FILES["damage"]
    path.write_text("object_id,inun_depth,total_damage\n" + "".join(f"{r}\n" for r in rows))
    return tmp_path / FIAT_FILES["settings"]


def test_fiat_damage_is_read_in_the_exposure_order_and_dry_is_zero(tmp_path):
    settings = _fiat_output(tmp_path, ["2,1.5,30.25", "0,nan,nan", "1,0.2,7.5"])
    np.testing.assert_array_equal(read_fiat_damage(settings, 3), [0.0, 7.5, 30.25])


def test_a_building_missing_from_fiat_output_is_named(tmp_path):
    settings = _fiat_output(tmp_path, ["0,1.0,3.0", "2,1.0,4.0"])
    with pytest.raises(RiskInputError, match="no damage for building 1 of 3"):
        read_fiat_damage(settings, 3)


def test_an_object_id_outside_the_exposure_is_named(tmp_path):
    settings = _fiat_output(tmp_path, ["0,1.0,3.0", "3,1.0,4.0"])
    with pytest.raises(RiskInputError, match="has object_id 3; expected 0..2"):
        read_fiat_damage(settings, 3)
