"""The UMEP tutorial rasters (``$METROTWIN_REFDATA/heat/solweig_demo_rasters``) through
``build_city_from_data``: real GeoTIFFs in EPSG:3007 (Gothenburg) and EPSG:2100 (Athens), with
their own no-data values and float32/float64 types. Skipped when the data are absent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio

from metrotwin.city import landcover
from metrotwin.city.sources.datasources import DataSourceWarning
from metrotwin.scenario.data import DataDomain
from metrotwin.city.sources.from_data import build_city_from_data
from metrotwin.errors import DataSourceError

UMEP_TO_METROTWIN = {
    1: "paved",
    2: "roof",
    3: "trees",
    4: "trees",
    5: "grass",
    6: "bare_soil",
    7: "water",
}


def folder(refdata, name):
    path = refdata / "heat/solweig_demo_rasters" / name
    if not path.is_dir():
        pytest.skip(f"{path} not found (set METROTWIN_REFDATA)")
    return path


def read(path):
    with rasterio.open(path) as src:
        return src.read(1, masked=True).filled(np.nan).astype(float)


def build(**data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataSourceWarning)
        return build_city_from_data(DataDomain.model_validate(data), 0)


def test_gothenburg_at_its_own_resolution(refdata):
    base = folder(refdata, "goteborg_kronenhuset_1m")
    state = build(
        crs="EPSG:3007",
        resolution=1.0,
        elevation={"path": str(base / "DEM_KRbig.tif")},
        dsm={"path": str(base / "DSM_KRbig.tif")},
        tree_canopy={"path": str(base / "CDSM_KRbig.tif")},
        land_cover={"path": str(base / "landcover.tif"), "mapping": "umep"},
    )
    assert state.grid.shape == (223, 234)  # SOURCES.md: 223 x 234 px, 1 m
    assert state.grid.bounds == pytest.approx((147720.0, 6398557.0, 147954.0, 6398780.0))
    # on the file's own cells resampling is the identity: the layers are the files
    np.testing.assert_allclose(state["surface_altitude"], read(base / "DEM_KRbig.tif"), atol=1e-5)
    cdsm = read(base / "CDSM_KRbig.tif")
    np.testing.assert_allclose(state["tree_canopy_height"], np.nan_to_num(cdsm), atol=1e-5)
    raw = read(base / "landcover.tif").astype(int)
    expected = np.vectorize(lambda v: landcover.code_of(UMEP_TO_METROTWIN[v]))(raw)
    on_building = state["building_id"] > 0
    roof = landcover.code_of("roof")
    np.testing.assert_array_equal(state["land_cover"][~on_building], expected[~on_building])
    assert np.all(state["land_cover"][on_building] == roof)
    # buildings from DSM - DEM >= 2.5 m against UMEP's building class (made from the same
    # footprints): observed 99.3 % agreement; 98 % leaves room for edge pixels and DSM noise
    assert np.mean(on_building == (raw == 2)) > 0.98
    assert 40 < state["building_height"].max() < 60  # DSM 58 m, DEM 0-23 m


def test_athens_dem_and_dsm_at_2m(refdata):
    base = folder(refdata, "athens_1m")
    state = build(
        crs="EPSG:2100",
        resolution=2.0,
        elevation={"path": str(base / "DEM.tif")},
        dsm={"path": str(base / "DSM.tif")},
    )
    assert state.grid.shape == (200, 200)
    assert state.grid.bounds == pytest.approx((476800.0, 4205850.0, 477200.0, 4206250.0))
    z = state["surface_altitude"]
    assert 108.9 < z.min() and z.max() < 164.8  # SOURCES.md: terrain 109-165 m
    h = state["building_height"]
    assert 20 < h.max() < 26  # DSM - DEM of the 1 m files peaks at 25.0 m
    assert state.ds["building_height"].attrs["cells_below_dem"] > 0  # real DSMs dip a little


def test_athens_dsm_and_dem_swapped_are_refused(refdata):
    base = folder(refdata, "athens_1m")
    with pytest.raises(DataSourceError) as err:
        build(
            crs="EPSG:2100",
            resolution=4.0,
            elevation={"path": str(base / "DSM.tif")},
            dsm={"path": str(base / "DEM.tif")},
        )
    assert "DEM.tif" in str(err.value) and "DSM.tif" in str(err.value)


def test_athens_reprojected_to_utm(refdata):
    base = folder(refdata, "athens_1m")
    state = build(crs="EPSG:32634", resolution=5.0, elevation={"path": str(base / "DEM.tif")})
    assert state.ds["surface_altitude"].attrs["nodata_cells"] == 0
    assert state.ds["surface_altitude"].attrs["source_crs"] == "EPSG:2100"
    ny, nx = state.grid.shape
    assert 70 <= ny <= 80 and 70 <= nx <= 80  # the inner box of a slightly rotated 400 m tile


def test_sioux_falls_tntp_network_in_a_flat_domain(refdata):
    base = refdata / "mobility/SiouxFalls"
    if not base.is_dir():
        pytest.skip(f"{base} not found")
    state = build(
        crs="EPSG:32614",
        resolution=100.0,
        extent=[677000, 4816000, 688000, 4833000],
        elevation={"constant": 440.0},
        roads={
            "path": str(base / "SiouxFalls_net.tntp"),
            "nodes": str(base / "SiouxFalls_node.tntp"),
        },
    )
    assert state.ds.sizes["node"] == 24 and state.n_links == 76  # SOURCES.md: 24 nodes, 76 links
    assert np.all(np.diff(state["link_cell_start"]) > 0)  # every link crosses some cells
    with pytest.raises(DataSourceError, match="lie outside the domain"):
        build(
            crs="EPSG:32614",
            resolution=100.0,
            extent=[677000, 4816000, 680000, 4820000],
            elevation={"constant": 440.0},
            roads={
                "path": str(base / "SiouxFalls_net.tntp"),
                "nodes": str(base / "SiouxFalls_node.tntp"),
            },
        )
