"""Data sources onto the scenario grid: rasters, footprints, land cover, districts, drainage.

Every test writes small files in ``tmp_path``, in CRSs other than the scenario's (EPSG:32633,
UTM 33N), loads them through ``build_city_from_data`` and checks values, alignment and CRS
on the resulting state.
"""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box

from metrotwin.city import landcover
from metrotwin.city.sources.datasources import DataSourceWarning
from metrotwin.scenario.data import DataDomain
from metrotwin.city.sources.from_data import build_city_from_data
from metrotwin.errors import DataSourceError, ScenarioError
from metrotwin.run.scenario import parse_scenario

CRS_DOMAIN = "EPSG:32633"
W, S, E, N = 500_000.0, 4_982_840.0, 500_200.0, 4_983_000.0  # 200 m x 160 m
RES = 10.0
TO_GEO = Transformer.from_crs(CRS_DOMAIN, "EPSG:4326", always_xy=True)
TO_UTM = Transformer.from_crs("EPSG:4326", CRS_DOMAIN, always_xy=True)


def plane(x, y):
    """The test terrain: a tilted plane (m), linear so bilinear resampling is exact."""
    return 100.0 + 0.05 * (np.asarray(x) - W) - 0.02 * (np.asarray(y) - S)


# -- file builders ---------------------------------------------------------------------------
def write_tif(path, values, transform, crs, nodata=None):
    values = np.asarray(values)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def geo_raster(path, func, *, step=2e-5, margin=60.0, nodata=None, dtype="float64"):
    """A lon/lat (EPSG:4326) raster over the domain (+ margin) whose pixel at (lon, lat)
    holds ``func(x, y)`` of the pixel centre's UTM 33N coordinates."""
    lon0, lat0, lon1, lat1 = TO_GEO.transform_bounds(W - margin, S - margin, E + margin, N + margin)
    nx, ny = int((lon1 - lon0) / step) + 1, int((lat1 - lat0) / step) + 1
    lon = lon0 + (np.arange(nx) + 0.5) * step
    lat = lat1 - (np.arange(ny) + 0.5) * step
    x, y = TO_UTM.transform(*np.meshgrid(lon, lat))
    values = func(x, y).astype(dtype)
    return write_tif(path, values, Affine(step, 0, lon0, 0, -step, lat1), "EPSG:4326", nodata)


def utm_raster(
    path, func, *, res=2.0, bounds=(W, S, E, N), crs=CRS_DOMAIN, nodata=None, dtype="float64"
):
    w, s, e, n = bounds
    nx, ny = round((e - w) / res), round((n - s) / res)
    x = w + (np.arange(nx) + 0.5) * res
    y = n - (np.arange(ny) + 0.5) * res
    values = func(*np.meshgrid(x, y)).astype(dtype)
    return write_tif(path, values, Affine(res, 0, w, 0, -res, n), crs, nodata)


def domain(**kwargs) -> DataDomain:
    data = {"crs": CRS_DOMAIN, "resolution": RES, "extent": [W, S, E, N]}
    data.update(kwargs)
    return DataDomain.model_validate(data, context={"base_dir": None})


def centres():
    x = W + (np.arange(round((E - W) / RES)) + 0.5) * RES
    y = N - (np.arange(round((N - S) / RES)) + 0.5) * RES
    return np.meshgrid(x, y)


@pytest.fixture
def dem(tmp_path):
    return geo_raster(tmp_path / "dem_wgs84.tif", plane)


def build(d, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataSourceWarning)
        return build_city_from_data(d, 0, **kw)


# -- elevation -------------------------------------------------------------------------------
def test_dem_in_lonlat_lands_on_the_utm_grid(dem):
    state = build(domain(elevation={"path": str(dem)}))
    assert state.grid.shape == (16, 20)
    assert CRS.from_user_input(state.grid.crs) == CRS.from_epsg(32633)
    assert CRS.from_wkt(state.ds["spatial_ref"].attrs["crs_wkt"]).to_epsg() == 32633
    xx, yy = centres()
    np.testing.assert_allclose(state.ds["x"].values, xx[0])
    np.testing.assert_allclose(state.ds["y"].values, yy[:, 0])
    # bilinear interpolation of a linear field is exact; the tolerance (5 mm) covers the
    # projection's curvature over a 2 m lon/lat pixel (< 1e-6 relative) and float rounding
    np.testing.assert_allclose(state["surface_altitude"], plane(xx, yy), atol=5e-3)
    attrs = state.ds["surface_altitude"].attrs
    assert attrs["source"] == str(dem)
    assert attrs["resampling"] == "bilinear"
    assert attrs["nodata_cells"] == 0 and attrs["coverage"] == 1.0
    assert attrs["standard_name"] == "surface_altitude"


def test_every_standard_layer_with_documented_defaults(dem):
    state = build(domain(elevation={"path": str(dem)}, drainage_capacity=12.5))
    for name, dtype in {
        "surface_altitude": "float64",
        "building_height": "float64",
        "building_id": "int32",
        "building_use": "int8",
        "land_cover": "int16",
        "tree_canopy_height": "float64",
        "district": "int16",
        "drainage_capacity": "float64",
    }.items():
        assert state[name].dtype == dtype, name
        assert state[name].shape == state.grid.shape
    assert np.all(state["land_cover"] == landcover.code_of("grass"))
    assert not state["building_height"].any() and not state["building_id"].any()
    assert state.district_names == {1: "domain"}
    assert np.all(state["drainage_capacity"] == 12.5)
    assert "closed_cell" not in state and state.n_links == 0


def test_default_extent_is_the_rasters_own_cells(tmp_path):
    path = utm_raster(tmp_path / "dem.tif", plane, res=RES)
    state = build(DataDomain(crs=CRS_DOMAIN, resolution=RES, elevation={"path": str(path)}))
    assert state.grid.bounds == pytest.approx((W, S, E, N))
    xx, yy = centres()
    np.testing.assert_allclose(state["surface_altitude"], plane(xx, yy), atol=1e-9)


def test_default_extent_of_a_reprojected_raster_lies_inside_it(dem):
    state = build(DataDomain(crs=CRS_DOMAIN, resolution=RES, elevation={"path": str(dem)}))
    assert state.ds["surface_altitude"].attrs["nodata_cells"] == 0
    # the lon/lat raster covers the domain + 60 m; its inner box must hold the domain
    w, s, e, n = state.grid.bounds
    assert w <= W and s <= S and e >= E and n >= N
    assert w % RES == 0 and n % RES == 0  # snapped to multiples of the resolution


def test_netcdf_elevation_in_another_crs(tmp_path):
    import rioxarray  # noqa: F401
    import xarray as xr

    to_3035 = Transformer.from_crs(CRS_DOMAIN, "EPSG:3035", always_xy=True)
    x0, y0, x1, y1 = to_3035.transform_bounds(W - 60, S - 60, E + 60, N + 60)
    x = np.arange(x0, x1, 2.0) + 1.0
    y = np.arange(y1, y0, -2.0) - 1.0
    back = Transformer.from_crs("EPSG:3035", CRS_DOMAIN, always_xy=True)
    ux, uy = back.transform(*np.meshgrid(x, y))
    da = xr.DataArray(plane(ux, uy), coords={"y": y, "x": x}, dims=("y", "x"), name="elev")
    da = da.rio.write_crs("EPSG:3035")
    ds = da.to_dataset()
    ds["other"] = xr.DataArray(np.zeros(3), dims="k")
    ds.to_netcdf(tmp_path / "dem.nc")
    state = build(domain(elevation={"path": str(tmp_path / "dem.nc")}))
    xx, yy = centres()
    np.testing.assert_allclose(state["surface_altitude"], plane(xx, yy), atol=5e-3)


def test_ascii_grid_without_crs_needs_and_takes_one(tmp_path):
    path = tmp_path / "dem.asc"
    values = plane(*np.meshgrid(W + 5 + 10 * np.arange(20), N - 5 - 10 * np.arange(16)))
    with rasterio.open(
        path,
        "w",
        driver="AAIGrid",
        height=16,
        width=20,
        count=1,
        dtype="float64",
        transform=Affine(RES, 0, W, 0, -RES, N),
    ) as dst:
        dst.write(values, 1)
    with pytest.raises(DataSourceError, match=r"dem\.asc.*no CRS.*crs:"):
        build(domain(elevation={"path": str(path)}))
    state = build(domain(elevation={"path": str(path), "crs": CRS_DOMAIN}))
    np.testing.assert_allclose(state["surface_altitude"], values)


def test_crs_given_in_the_scenario_must_agree_with_the_file(dem):
    with pytest.raises(DataSourceError) as err:
        build(domain(elevation={"path": str(dem), "crs": "EPSG:32632"}))
    message = str(err.value)
    assert str(dem) in message and "EPSG:4326" in message and "EPSG:32632" in message


def test_raster_that_does_not_overlap_the_domain(tmp_path):
    far = utm_raster(tmp_path / "far.tif", plane, bounds=(W + 5000, S, E + 5000, N))
    with pytest.raises(DataSourceError) as err:
        build(domain(elevation={"path": str(far)}))
    assert str(far) in str(err.value) and "does not overlap" in str(err.value)


def test_raster_in_a_wrong_crs_does_not_overlap(tmp_path):
    # UTM 33N coordinates labelled as UTM 32N: a classic mismatch, lands ~470 km away
    wrong = utm_raster(tmp_path / "mislabelled.tif", plane, crs="EPSG:32632")
    with pytest.raises(DataSourceError, match=r"mislabelled\.tif does not overlap.*EPSG:32632"):
        build(domain(elevation={"path": str(wrong)}))


def _holey(x, y):
    z = plane(x, y)
    hole = (np.abs(x - 500_100) < 20) & (np.abs(y - 4_982_920) < 20)  # 4 x 4 cells at 10 m
    return np.where(hole, -9999.0, z)


@pytest.mark.parametrize("policy", ["error", "fill", "close"])
def test_elevation_nodata_policies(tmp_path, policy):
    path = utm_raster(tmp_path / "holey.tif", _holey, nodata=-9999.0)
    d = domain(elevation={"path": str(path), "nodata": policy})
    if policy == "error":
        with pytest.raises(DataSourceError) as err:
            build(d)
        assert str(path) in str(err.value) and "16 of 320 cells" in str(err.value)
        return
    with pytest.warns(DataSourceWarning, match="16 of 320 cells"):
        state = build_city_from_data(d, 0)
    z = state["surface_altitude"]
    assert np.all(np.isfinite(z)) and z.min() > 90  # filled from neighbours, not -9999
    assert state.ds["surface_altitude"].attrs["nodata_cells"] == 16
    if policy == "close":
        closed = state["closed_cell"]
        assert closed.dtype == np.uint8 and closed.sum() == 16
        xx, yy = centres()
        np.testing.assert_array_equal(
            closed == 1, (np.abs(xx - 500_100) < 20) & (np.abs(yy - 4_982_920) < 20)
        )
    else:
        assert "closed_cell" not in state


def test_constant_elevation_for_an_analytic_floodplain():
    d = DataDomain(
        crs="EPSG:27700", resolution=10.0, extent=[0, 0, 1000, 2000], elevation={"constant": 0.0}
    )
    state = build(d)
    assert state.grid.shape == (200, 100) and state.grid.bounds == (0, 0, 1000, 2000)
    assert np.all(state["surface_altitude"] == 0.0)
    row, col = state.grid.index_of(300.0, 1300.0)
    assert (int(row), int(col)) == (70, 30)


# -- DSM -------------------------------------------------------------------------------------
def _block(x, y):
    return (np.abs(x - 500_055) < 25) & (np.abs(y - 4_982_925) < 25)  # 5 x 5 cells


def test_buildings_from_dsm_minus_dem(tmp_path, dem):
    dsm = geo_raster(
        tmp_path / "dsm.tif", lambda x, y: plane(x, y) + np.where(_block(x, y), 12.0, 0.3)
    )
    state = build(domain(elevation={"path": str(dem)}, dsm={"path": str(dsm)}))
    xx, yy = centres()
    inner = (np.abs(xx - 500_055) < 15) & (np.abs(yy - 4_982_925) < 15)  # away from the edge
    np.testing.assert_allclose(state["building_height"][inner], 12.0, atol=0.01)
    far = ~((np.abs(xx - 500_055) < 35) & (np.abs(yy - 4_982_925) < 35))
    assert not state["building_height"][far].any()  # 0.3 m of clutter is not a building
    ids = np.unique(state["building_id"][state["building_id"] > 0])
    assert ids.tolist() == [1]
    roof = landcover.code_of("roof")
    np.testing.assert_array_equal(state["land_cover"] == roof, state["building_id"] > 0)
    assert np.all(state["building_use"][state["building_id"] > 0] == 1)


def test_dsm_below_dem_is_refused_naming_both_files(tmp_path, dem):
    # the DSM and the DEM swapped: the "DSM" lies 12 m below the "DEM" on the block
    high = geo_raster(
        tmp_path / "really_dsm.tif",
        lambda x, y: plane(x, y) + np.where(_block(x, y) | (x > 500_100), 12.0, 0.0),
    )
    with pytest.raises(DataSourceError) as err:
        build(domain(elevation={"path": str(high)}, dsm={"path": str(dem)}))
    message = str(err.value)
    assert str(high) in message and str(dem) in message and "lower than the DEM" in message


def test_a_little_dsm_noise_below_the_dem_is_clipped(tmp_path, dem):
    dsm = geo_raster(
        tmp_path / "dsm.tif", lambda x, y: plane(x, y) - np.where(_block(x, y), 1.0, 0.1)
    )
    d = domain(elevation={"path": str(dem)}, dsm={"path": str(dsm), "max_below_fraction": 0.2})
    with pytest.warns(DataSourceWarning, match="below the DEM"):
        state = build_city_from_data(d, 0)
    assert not state["building_height"].any()


# -- footprints ------------------------------------------------------------------------------
def footprints(tmp_path, crs="EPSG:3035", name="buildings.gpkg", **columns):
    """Three buildings drawn in UTM 33N, written in ``crs``: A 4x4 cells, B 2x3 cells, and a
    1 m shed that holds no cell centre."""
    geoms = [
        box(500_020, 4_982_900, 500_060, 4_982_940),
        box(500_120, 4_982_950, 500_140, 4_982_980),
        box(500_181, 4_982_861, 500_182, 4_982_862),
    ]
    gdf = gpd.GeoDataFrame(columns, geometry=geoms, crs=CRS_DOMAIN).to_crs(crs)
    path = tmp_path / name
    gdf.to_file(path)
    return path


def test_footprints_with_heights_use_and_roof(tmp_path, dem):
    path = footprints(
        tmp_path,
        height=[15.0, 7.5, 2.0],
        kind=["office", "house", "shed"],
        roof=["green", None, None],
    )
    d = domain(
        elevation={"path": str(dem)},
        buildings={
            "path": str(path),
            "use_attribute": "kind",
            "use_mapping": {"office": "commercial", "house": "residential"},
            "roof_attribute": "roof",
            "roof_mapping": {"green": "green_roof"},
        },
    )
    with pytest.warns(DataSourceWarning, match="1 of 3 footprints"):
        state = build_city_from_data(d, 0)
    xx, yy = centres()
    a = (xx > 500_020) & (xx < 500_060) & (yy > 4_982_900) & (yy < 4_982_940)
    b = (xx > 500_120) & (xx < 500_140) & (yy > 4_982_950) & (yy < 4_982_980)
    assert a.sum() == 16 and b.sum() == 6
    np.testing.assert_array_equal(
        state["building_height"], np.where(a, 15.0, np.where(b, 7.5, 0.0))
    )
    ids = state["building_id"]
    assert len(np.unique(ids[a])) == 1 and len(np.unique(ids[b])) == 1 and ids[a][0] != ids[b][0]
    assert not ids[~(a | b)].any()
    np.testing.assert_array_equal(state["building_use"], np.where(a, 2, np.where(b, 1, 0)))
    cover = state["land_cover"]
    assert np.all(cover[a] == landcover.code_of("green_roof"))
    assert np.all(cover[b] == landcover.code_of("roof"))
    assert np.all(cover[~(a | b)] == landcover.code_of("grass"))
    attrs = state.ds["building_height"].attrs
    assert attrs["source"] == str(path) and attrs["buildings"] == 2
    assert attrs["footprints_without_cells"] == 1


def test_storeys_times_storey_height_where_no_height(tmp_path, dem):
    path = footprints(tmp_path, height=[None, 9.0, None], levels=["5", None, 1])
    d = domain(
        elevation={"path": str(dem)},
        buildings={"path": str(path), "storeys_attribute": "levels", "storey_height": 3.2},
    )
    state = build(d)
    assert sorted(np.unique(state["building_height"]).tolist()) == [0.0, 9.0, 16.0]


def test_footprints_without_height_attribute_are_refused(tmp_path, dem):
    path = footprints(tmp_path, name="no_heights.geojson", crs="EPSG:4326", owner=["a", "b", "c"])
    with pytest.raises(DataSourceError) as err:
        build(domain(elevation={"path": str(dem)}, buildings={"path": str(path)}))
    message = str(err.value)
    assert str(path) in message and "'height'" in message and "owner" in message


@pytest.mark.filterwarnings("ignore:.*hold no cell centre")
def test_footprints_with_some_heights_missing(tmp_path, dem):
    path = footprints(tmp_path, height=[12.0, None, None])
    d = {"elevation": {"path": str(dem)}, "buildings": {"path": str(path)}}
    with pytest.raises(DataSourceError, match=r"buildings\.gpkg: 1 of 3 footprints have no height"):
        build(domain(**d))
    d["buildings"]["default_height"] = 6.0
    with pytest.warns(DataSourceWarning, match="default_height 6"):
        state = build_city_from_data(domain(**d), 0)
    assert sorted(np.unique(state["building_height"]).tolist()) == [0.0, 6.0, 12.0]


def test_missing_footprint_heights_from_the_dsm(tmp_path, dem):
    # a DSM on the grid's own cells (a 2 m DSM would be smoothed over the 2 x 3 cell roof)
    on_b = lambda x, y: (np.abs(x - 500_130) < 10) & (np.abs(y - 4_982_965) < 15)
    dsm = utm_raster(
        tmp_path / "dsm.tif", lambda x, y: plane(x, y) + np.where(on_b(x, y), 8.0, 0.0), res=RES
    )
    path = footprints(tmp_path, height=[12.0, None, None])
    state = build(
        domain(elevation={"path": str(dem)}, dsm={"path": str(dsm)}, buildings={"path": str(path)})
    )
    assert sorted(np.round(np.unique(state["building_height"]), 2).tolist()) == [0.0, 8.0, 12.0]
    assert state.ds["building_height"].attrs["heights_from_dsm"] == 1


def test_heights_in_centimetres_are_refused(tmp_path, dem):
    path = footprints(tmp_path, height=[1500.0, 750.0, 200.0])
    with pytest.raises(DataSourceError, match="1500 m tall.*units"):
        build(domain(elevation={"path": str(dem)}, buildings={"path": str(path)}))


def test_footprints_elsewhere_are_refused(tmp_path, dem):
    gdf = gpd.GeoDataFrame({"height": [10.0]}, geometry=[box(0, 0, 10, 10)], crs="EPSG:32633")
    gdf.to_file(tmp_path / "far.gpkg")
    with pytest.raises(DataSourceError, match=r"far\.gpkg: no feature lies over the domain"):
        build(domain(elevation={"path": str(dem)}, buildings={"path": str(tmp_path / "far.gpkg")}))


# -- land cover ------------------------------------------------------------------------------
def umep_classes(x, y):
    """UMEP codes: grass (5) west, paved (1) east, water (7) in a band in the north."""
    return np.where(y > 4_982_970, 7, np.where(x < 500_100, 5, 1))


def test_land_cover_raster_in_another_utm_zone_with_a_preset(tmp_path, dem):
    to32 = Transformer.from_crs(CRS_DOMAIN, "EPSG:32632", always_xy=True)
    back = Transformer.from_crs("EPSG:32632", CRS_DOMAIN, always_xy=True)
    x0, y0, x1, y1 = to32.transform_bounds(W - 60, S - 60, E + 60, N + 60)
    path = utm_raster(
        tmp_path / "lc32.tif",
        lambda x, y: umep_classes(*back.transform(x, y)),
        res=2.0,
        bounds=(x0, y0, x1, y1),
        crs="EPSG:32632",
        dtype="uint8",
        nodata=255,
    )
    state = build(
        domain(elevation={"path": str(dem)}, land_cover={"path": str(path), "mapping": "umep"})
    )
    xx, yy = centres()
    expected = np.where(yy > 4_982_970, 1, np.where(xx < 500_100, 9, 6))  # water, grass, paved
    # cells next to a class boundary may go either way after mode resampling of a rotated grid
    clear = (np.abs(yy - 4_982_970) > 10) & ((np.abs(xx - 500_100) > 10) | (yy > 4_982_970))
    np.testing.assert_array_equal(state["land_cover"][clear], expected[clear])
    assert state.ds["land_cover"].attrs["mapping"] == "umep"
    assert state.ds["land_cover"].attrs["flag_meanings"].split()[0] == "water"


def test_land_cover_values_without_a_class_are_refused(tmp_path, dem):
    path = utm_raster(tmp_path / "lc.tif", lambda x, y: umep_classes(x, y) + 20, dtype="uint8")
    with pytest.raises(DataSourceError) as err:
        build(
            domain(
                elevation={"path": str(dem)},
                land_cover={"path": str(path), "mapping": {"25": "grass"}},
            )
        )
    assert str(path) in str(err.value) and "21, 27" in str(err.value)
    state = build(
        domain(
            elevation={"path": str(dem)},
            land_cover={"path": str(path), "mapping": {25: "grass"}, "unmapped": "default"},
            default_land_cover="bare_soil",
        )
    )
    assert set(np.unique(state["land_cover"])) == {
        landcover.code_of("grass"),
        landcover.code_of("bare_soil"),
    }


def test_land_cover_polygons_with_a_user_table(tmp_path, dem):
    gdf = gpd.GeoDataFrame(
        {"use": ["park", "lake"]},
        geometry=[box(W, S, W + 100, N), box(W + 150, S, E, S + 50)],
        crs=CRS_DOMAIN,
    ).to_crs("EPSG:4326")
    gdf.to_file(tmp_path / "lc.geojson")
    d = domain(
        elevation={"path": str(dem)},
        land_cover={
            "path": str(tmp_path / "lc.geojson"),
            "attribute": "use",
            "mapping": {"park": "trees", "lake": "water"},
        },
        default_land_cover="paved",
    )
    state = build(d)
    xx, yy = centres()
    expected = np.where(xx < W + 100, 10, np.where((xx > W + 150) & (yy < S + 50), 1, 6))
    np.testing.assert_array_equal(state["land_cover"], expected)
    assert state.ds["land_cover"].attrs["nodata_cells"] == int((expected == 6).sum())


def test_tree_canopy_raster(tmp_path, dem):
    path = utm_raster(tmp_path / "cdsm.tif", lambda x, y: np.where(x < 500_050, 8.0, -1.0))
    state = build(domain(elevation={"path": str(dem)}, tree_canopy={"path": str(path)}))
    xx, _ = centres()
    # bilinear resampling from 2 m to 10 m averages over the source pixels under the kernel
    # (GDAL widens it when downsampling): the cells next to the canopy's edge are mixed
    clear = np.abs(xx - 500_050) > 10
    np.testing.assert_allclose(
        state["tree_canopy_height"][clear], np.where(xx < 500_050, 8.0, 0.0)[clear]
    )
    assert state["tree_canopy_height"].min() >= 0.0  # -1 (no tree) is not a negative canopy


# -- districts and drainage ------------------------------------------------------------------
def districts_file(tmp_path):
    north = Polygon([(W - 50, 4_982_920), (E + 50, 4_982_920), (E + 50, N + 50), (W - 50, N + 50)])
    south = box(W - 50, S - 50, 500_150, 4_982_920)
    beyond = box(W + 9000, S, W + 9100, N)  # a neighbour municipality off the domain
    gdf = gpd.GeoDataFrame(
        {"NAME": ["North Side", "South", "Faraway"]},
        geometry=[north, south, beyond],
        crs=CRS_DOMAIN,
    ).to_crs("EPSG:4326")
    gdf.to_file(tmp_path / "districts.geojson")
    return tmp_path / "districts.geojson"


def test_districts_from_polygons(tmp_path, dem):
    path = districts_file(tmp_path)
    d = domain(
        elevation={"path": str(dem)},
        districts={"path": str(path), "name_attribute": "NAME"},
        drainage_capacity={"default": 5.0, "by_district": {"North Side": 20.0}},
    )
    with pytest.warns(DataSourceWarning, match="in no district"):
        state = build_city_from_data(d, 0)
    assert state.district_names == {0: "outside", 1: "North_Side", 2: "South"}
    attrs = state.ds["district"].attrs
    assert attrs["flag_meanings"] == "outside North_Side South"
    assert attrs["flag_values"].tolist() == [0, 1, 2] and attrs["flag_values"].dtype == np.int16
    xx, yy = centres()
    expected = np.where(yy > 4_982_920, 1, np.where(xx < 500_150, 2, 0))
    np.testing.assert_array_equal(state["district"], expected)
    np.testing.assert_array_equal(state["drainage_capacity"], np.where(expected == 1, 20.0, 5.0))


def test_district_name_attribute_missing_and_unknown_drainage_district(tmp_path, dem):
    path = districts_file(tmp_path)
    with pytest.raises(DataSourceError, match=r"districts\.geojson: no attribute 'name'.*NAME"):
        build(domain(elevation={"path": str(dem)}, districts={"path": str(path)}))
    with pytest.raises(DataSourceError, match="Centre.*North_Side, South"):
        build(
            domain(
                elevation={"path": str(dem)},
                districts={"path": str(path), "name_attribute": "NAME"},
                drainage_capacity={"by_district": {"Centre": 3.0}},
            )
        )


# -- the schema in a scenario ----------------------------------------------------------------
def scenario(data: dict, base_dir):
    return {
        "name": "t",
        "domain": {"data": data},
        "period": {"start": "2026-07-01T00:00:00", "duration": "1 h"},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"crs": "EPSG:4326"}, "domain.data.crs: CRS 'EPSG:4326' is not projected"),
        ({"extent": [W, S, E + 5, N]}, "not a multiple of the resolution 10 m"),
        ({"elevation": {"path": "missing.tif"}}, "file not found"),
        ({"elevation": {"constant": 0.0}, "extent": None}, "give extent"),
        (
            {"land_cover": {"path": "dem.tif", "mapping": {"1": "forest"}}},
            "unknown land-cover class 'forest'",
        ),
        ({"land_cover": {"path": "dem.tif", "mapping": "corine"}}, "presets: umep, esa_worldcover"),
        ({"roads": {"path": "dem.tif", "highway_types": ["footway"]}}, "footway"),
        ({"elevation": {"path": "dem.tif", "nodata": "ignore"}}, "nodata"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, change, message):
    utm_raster(tmp_path / "dem.tif", plane, res=RES)
    data = {
        "crs": CRS_DOMAIN,
        "resolution": RES,
        "extent": [W, S, E, N],
        "elevation": {"path": "dem.tif"},
    }
    data.update(change)
    if data["extent"] is None:
        del data["extent"]
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_scenario(scenario(data, tmp_path), base_dir=tmp_path)


def test_refdata_variable_in_paths(tmp_path, monkeypatch):
    utm_raster(tmp_path / "dem.tif", plane, res=RES)
    monkeypatch.setenv("METROTWIN_REFDATA", str(tmp_path))
    s = parse_scenario(
        scenario(
            {
                "crs": CRS_DOMAIN,
                "resolution": 20.0,
                "elevation": {"path": "${METROTWIN_REFDATA}/dem.tif"},
            },
            None,
        )
    )
    state = build(s.domain.data)
    assert state.grid.shape == (8, 10)


def test_a_data_domain_survives_variant_resolution(tmp_path):
    utm_raster(tmp_path / "dem.tif", plane, res=RES)
    footprints(tmp_path, height=[10.0, 5.0, 3.0])
    data = {
        "crs": CRS_DOMAIN,
        "resolution": RES,
        "elevation": {"path": "dem.tif", "nodata": "fill"},
        "buildings": {"path": "buildings.gpkg", "roof_mapping": {1: "green_roof"}},
        "land_cover": {"path": "dem.tif", "mapping": "umep", "unmapped": "default"},
        "drainage_capacity": {"default": 4},
    }
    raw = scenario(data, tmp_path)
    raw["variants"] = {"cool": {"interventions": [{"type": "cool_roof"}]}}
    s = parse_scenario(raw, base_dir=tmp_path)
    resolved = s.resolve_variant("cool")
    assert resolved.domain.data == s.domain.data
    assert resolved.domain.data.elevation.path == tmp_path / "dem.tif"


# -- physical bounds (issue #15) -------------------------------------------------------------
def _flipped_plane(x, y):
    """The test terrain with its bytes in the wrong order, as a file written big-endian and
    read little-endian: values from ~1e-300 to ~1e284 m."""
    return plane(x, y).byteswap()


def _expected_first_bad(values, low, high):
    """(count, x, y) of the out-of-bounds cells of ``values`` on the 10 m domain grid."""
    bad = (values < low) | (values > high)
    row, col = np.argwhere(bad)[0]
    return int(bad.sum()), W + (col + 0.5) * RES, N - (row + 0.5) * RES


def test_a_byte_flipped_geotiff_dem_is_refused_with_count_and_place(tmp_path):
    path = utm_raster(tmp_path / "dem.tif", _flipped_plane, res=RES)  # on the grid's own cells
    xx, yy = centres()
    n, x, y = _expected_first_bad(_flipped_plane(xx, yy), -500.0, 9000.0)
    assert n > 10  # the flipped plane: about half its cells far outside the bounds
    with pytest.raises(DataSourceError) as err:
        build(domain(elevation={"path": str(path)}))
    message = str(err.value)
    assert str(path) in message and "surface_altitude" in message and "-500..9000 m" in message
    assert f"{n} cell value(s)" in message
    assert f"first at x={x:.1f}, y={y:.1f} in {CRS_DOMAIN}" in message


def test_a_byte_flipped_netcdf_dem_is_refused(tmp_path):
    import rioxarray  # noqa: F401
    import xarray as xr

    x = W + (np.arange(round((E - W) / RES)) + 0.5) * RES
    y = N - (np.arange(round((N - S) / RES)) + 0.5) * RES
    values = _flipped_plane(*np.meshgrid(x, y))
    da = xr.DataArray(values, coords={"y": y, "x": x}, dims=("y", "x"), name="elev")
    da.rio.write_crs(CRS_DOMAIN).to_dataset().to_netcdf(tmp_path / "dem.nc")
    with pytest.raises(DataSourceError, match=r"cell value\(s\) of surface_altitude lie outside"):
        build(domain(elevation={"path": str(tmp_path / "dem.nc")}))


def test_a_corrupt_dsm_and_canopy_are_refused(tmp_path, dem):
    huge = utm_raster(tmp_path / "huge.tif", lambda x, y: np.where(x < 500_100, 6e306, 100.0))
    with pytest.raises(DataSourceError, match="DSM file .* surface_model lie outside"):
        build(domain(elevation={"path": str(dem)}, dsm={"path": str(huge)}))
    sunk = utm_raster(tmp_path / "sunk.tif", lambda x, y: np.where(x < 500_100, -6e306, 8.0))
    with pytest.raises(DataSourceError, match="tree canopy file .* tree_canopy_height lie"):
        build(domain(elevation={"path": str(dem)}, tree_canopy={"path": str(sunk)}))


def test_a_constant_elevation_out_of_bounds_is_refused(tmp_path):
    data = {"crs": CRS_DOMAIN, "resolution": RES, "extent": [W, S, E, N],
            "elevation": {"constant": 6e306}}  # fmt: skip
    with pytest.raises(ScenarioError, match="elevation.constant"):
        parse_scenario(scenario(data, tmp_path), base_dir=tmp_path)


@pytest.mark.parametrize("bad, words", [(np.inf, "infinite"), (5000.0, "0..3600 mm h-1")])
def test_gridded_rain_out_of_bounds_is_refused(tmp_path, bad, words):
    import xarray as xr

    from metrotwin.run.forcing import Forcing
    from metrotwin.city.grid import Grid

    grid = Grid(ny=16, nx=20, resolution=RES, west=W, north=N, crs=CRS_DOMAIN)
    rain = np.full((3, grid.ny, grid.nx), 10.0)
    rain[1, 4, 7] = bad
    xr.Dataset(
        {"rainfall_rate": (("time", "y", "x"), rain, {"units": "mm h-1"})},
        coords={"time": [0.0, 600.0, 1200.0], "y": grid.y, "x": grid.x},
    ).to_netcdf(tmp_path / "rain.nc")
    s = parse_scenario(
        {"name": "t", "domain": {"generated": {}},
         "period": {"start": "2026-07-01T00:00:00", "duration": "1 h"},
         "forcing": {"rainfall": {"file": str(tmp_path / "rain.nc")}}}  # fmt: skip
    )
    with pytest.raises(DataSourceError, match=words):
        Forcing(s, grid)
