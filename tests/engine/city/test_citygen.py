"""The demo city generator: deterministic from the seed, and a plausible town."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from metrotwin.city.citygen import DISTRICTS, generate_city
from metrotwin.city.landcover import CODE
from metrotwin.scenario.scenario import GeneratedCity

PARAMS = GeneratedCity(size_x=2000, size_y=1600, resolution=20)


@pytest.fixture(scope="module")
def city():
    return generate_city(PARAMS, seed=3)


def test_same_seed_same_city(city):
    again = generate_city(PARAMS, seed=3)
    xr.testing.assert_identical(city.ds, again.ds)


def test_other_seed_other_city(city):
    other = generate_city(PARAMS, seed=4)
    assert not np.array_equal(city["building_height"], other["building_height"])
    assert not np.array_equal(city["surface_altitude"], other["surface_altitude"])


def test_layers_and_classes(city):
    cover = city["land_cover"]
    for name in ("water", "roof", "road", "paved", "grass", "trees", "cropland"):
        assert (cover == CODE[name]).any(), name
    roofs = cover == CODE["roof"]
    assert np.array_equal(roofs, city["building_height"] > 0)
    assert np.array_equal(roofs, city["building_id"] > 0)
    assert np.array_equal(roofs, city["building_use"] > 0)
    assert city["building_height"].max() > 18  # a taller centre
    assert (city["tree_canopy_height"] > 0).any()
    assert city.district_names == DISTRICTS
    assert set(np.unique(city["district"])) == set(DISTRICTS)


def test_river_valley_and_low_district(city):
    z = city["surface_altitude"]
    water = city["land_cover"] == CODE["water"]
    assert z[water].mean() < z[~water].mean() - 3  # the river runs in a valley
    # the low-lying old town: its terrain is lower on average than the northern bank's
    district = city["district"]
    assert np.median(z[district == 2]) < np.median(z[district == 1])


def test_road_network_follows_the_streets(city):
    ds = city.ds
    assert ds.sizes["link"] > 100
    frm, to = ds.link_from.values, ds.link_to.values
    # every link has its reverse (two-way streets)
    pairs = set(zip(frm.tolist(), to.tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    # the cells the links cross are mostly road (bridges cross water)
    cells = city["land_cover"].ravel()[ds.link_cell_index.values]
    assert np.isin(cells, [CODE["road"], CODE["water"]]).mean() > 0.9
    assert np.allclose(ds.link_length.values, PARAMS.block_size)


def test_resolution_changes_sampling_not_the_town():
    fine = generate_city(GeneratedCity(size_x=2000, size_y=1600, resolution=10), seed=3)
    coarse = generate_city(PARAMS, seed=3)
    z_fine = fine["surface_altitude"][::2, ::2]
    z_coarse = coarse["surface_altitude"]
    # same terrain function sampled at different centres: differences are a few decimetres
    assert np.median(np.abs(z_fine - z_coarse)) < 0.5
    assert coarse.ds.sizes["link"] == fine.ds.sizes["link"]


def test_tiles_assemble_to_the_whole_city(city):
    """Each MPI rank builds its own tile; the tiles must equal the city built whole."""
    ny, nx = city.grid.shape
    rows = [slice(0, 23), slice(23, 50), slice(50, ny)]
    cols = [slice(0, 41), slice(41, nx)]
    for r in rows:
        for c in cols:
            tile = generate_city(PARAMS, seed=3, window=(r, c))
            assert tile.grid.west == city.grid.x[c.start] - city.grid.resolution / 2
            for name in ("surface_altitude", "building_height", "building_id", "land_cover",
                         "tree_canopy_height", "district", "drainage_capacity"):  # fmt: skip
                assert np.array_equal(tile[name], city[name][r, c]), name
            for name in ("node_x", "link_from", "link_capacity"):
                assert np.array_equal(tile.ds[name].values, city.ds[name].values)


@pytest.mark.parametrize("seed, resolution, window", [
    (42, 10.0, None),  # the demo's town
    (3, 20.0, None),
    (7, 5.0, (slice(40, 170), slice(95, 260))),  # a tile, as an MPI rank builds it
])
def test_layout_matches_the_whole_grid_mask_reference(monkeypatch, seed, resolution, window):
    """The sorted per-block layout (and the separable terrain) give the town of the
    original whole-grid-mask generator bit for bit."""
    from metrotwin.city import citygen

    from tests._support.citygen_reference import fill_blocks_by_masks, terrain_on_full_grid

    params = GeneratedCity(size_x=3000, size_y=2400, resolution=resolution)
    fast = generate_city(params, seed, window)
    monkeypatch.setattr(citygen._Town, "fill_blocks", fill_blocks_by_masks)
    monkeypatch.setattr(citygen._Town, "terrain", terrain_on_full_grid)
    reference = generate_city(params, seed, window)
    xr.testing.assert_identical(fast.ds, reference.ds)


def test_ponds_hold_still_water():
    """A pond's floor is level and 1.5 m below the lowest ground of its shore, so the demo's
    1 m of initial water in it is at rest (a floor that followed the valley side ran off as a
    sheet at tens of m/s, found by the check that refuses to publish unphysical speeds)."""
    from scipy import ndimage

    params = GeneratedCity(size_x=3000, size_y=2400, resolution=5)
    city = generate_city(params, seed=42)
    z, cover = city["surface_altitude"], city["land_cover"]
    labels, n = ndimage.label(cover == CODE["water"])
    ponds = 0
    for k in range(1, n + 1):
        cells = labels == k
        if cells.sum() > 400:  # the river
            continue
        ponds += 1
        floor = z[cells]
        assert floor.max() == floor.min()  # level
        shore = ndimage.binary_dilation(cells) & ~cells & (cover != CODE["water"])
        assert z[shore].min() >= floor[0] + 1.0  # 1 m of water stays in
    assert ponds >= 2
