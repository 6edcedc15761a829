"""``inspect_scenario``: the report text and one quick-look PNG per layer, for a data domain
(files in tmp_path), a generated domain and, when present, the Gothenburg reference data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from metrotwin.city.inspect import inspect_scenario
from metrotwin.viz.quicklook import quicklooks
from metrotwin.run.scenario import parse_scenario

CRS = "EPSG:32633"
W, S, E, N = 500_000.0, 4_982_840.0, 500_200.0, 4_983_000.0
PNG = b"\x89PNG\r\n\x1a\n"


def write_dem(path):
    """A 10 m DEM in EPSG:3035 over the domain, with a no-data hole."""
    from pyproj import Transformer

    to = Transformer.from_crs(CRS, "EPSG:3035", always_xy=True)
    back = Transformer.from_crs("EPSG:3035", CRS, always_xy=True)
    x0, y0, x1, y1 = to.transform_bounds(W - 50, S - 50, E + 50, N + 50)
    x = np.arange(x0, x1, 5.0) + 2.5
    y = np.arange(y1, y0, -5.0) - 2.5
    ux, uy = back.transform(*np.meshgrid(x, y))
    z = 50 + 0.1 * (ux - W)
    z[(np.abs(ux - 500_100) < 20) & (np.abs(uy - 4_982_920) < 20)] = -9999.0
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=z.shape[0],
        width=z.shape[1],
        count=1,
        dtype="float64",
        crs="EPSG:3035",
        nodata=-9999.0,
        transform=Affine(5.0, 0, x0, 0, -5.0, y1),
    ) as dst:
        dst.write(z, 1)
    return path


def data_scenario(tmp_path):
    write_dem(tmp_path / "dem.tif")
    gpd.GeoDataFrame(
        {"height": [15.0, 9.0]},
        geometry=[
            box(500_020, 4_982_960, 500_060, 4_982_990),
            box(500_140, 4_982_850, 500_180, 4_982_880),
        ],
        crs=CRS,
    ).to_crs("EPSG:4326").to_file(tmp_path / "buildings.geojson")
    gpd.GeoDataFrame(
        {"name": ["West End", "East"]},
        geometry=[box(W, S, 500_100, N), box(500_100, S, E, N)],
        crs=CRS,
    ).to_file(tmp_path / "districts.gpkg")
    return parse_scenario(
        {
            "name": "inspect-test",
            "domain": {
                "data": {
                    "crs": CRS,
                    "resolution": 10.0,
                    "extent": [W, S, E, N],
                    "elevation": {"path": "dem.tif", "nodata": "close"},
                    "buildings": {"path": "buildings.geojson"},
                    "districts": {"path": "districts.gpkg"},
                    "drainage_capacity": {"default": 10.0, "by_district": {"East": 30.0}},
                }
            },
            "period": {"start": "2026-07-01T00:00:00", "duration": "1 h"},
        },
        base_dir=tmp_path,
    )


def test_inspect_a_data_domain(tmp_path):
    out = tmp_path / "quicklooks"
    text = inspect_scenario(data_scenario(tmp_path), out, quicklooks)
    assert "domain: data files" in text
    assert "CRS EPSG:32633" in text and "resolution 10 m" in text
    assert "16 x 20 cells" in text
    assert f"source {tmp_path / 'dem.tif'}" in text
    assert "no-data cells 16" in text  # the 40 m x 40 m hole, 4 x 4 cells
    assert "closed_cell [1, uint8]: open 95.0%, closed 5.0%" in text
    assert "building_id [1, int32]: 2 buildings" in text
    assert "districts (2): West_End (160 cells), East (160 cells)" in text
    assert "road network: none" in text
    assert "warnings:" in text and "16 of 320 cells" in text
    layers = [
        "surface_altitude",
        "closed_cell",
        "building_height",
        "building_id",
        "building_use",
        "land_cover",
        "tree_canopy_height",
        "district",
        "drainage_capacity",
    ]
    for name in layers:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == PNG, name
        assert f"  {name}.png" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.png" for n in layers)


def test_inspect_a_generated_domain(tmp_path):
    scenario = parse_scenario(
        {
            "name": "small",
            "seed": 3,
            "domain": {
                "generated": {"size_x": 640, "size_y": 480, "resolution": 20, "block_size": 80}
            },
            "period": {"start": "2026-07-01T00:00:00", "duration": "1 h"},
        }
    )
    text = inspect_scenario(scenario, tmp_path, quicklooks)
    assert "domain: generated city (seed 3)" in text and "24 x 32 cells" in text
    assert "land_cover [1, int16]" in text
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "surface_altitude.png" in pngs and "district.png" in pngs
    if "road network: none" not in text:
        assert "road_network.png" in pngs


def test_inspect_gothenburg_reference_data(refdata, tmp_path):
    base = refdata / "heat/solweig_demo_rasters/goteborg_kronenhuset_1m"
    if not base.is_dir():
        pytest.skip(f"{base} not found")
    scenario = parse_scenario(
        {
            "name": "gothenburg",
            "domain": {
                "data": {
                    "crs": "EPSG:3007",
                    "resolution": 2.0,
                    "elevation": {"path": str(base / "DEM_KRbig.tif")},
                    "dsm": {"path": str(base / "DSM_KRbig.tif")},
                    "tree_canopy": {"path": str(base / "CDSM_KRbig.tif")},
                    "land_cover": {"path": str(base / "landcover.tif"), "mapping": "umep"},
                }
            },
            "period": {"start": "1997-06-06T00:00:00", "duration": "1 h"},
        }
    )
    text = inspect_scenario(scenario, tmp_path, quicklooks)
    assert "CRS EPSG:3007" in text and "111 x 117 cells" in text
    assert "DSM_KRbig.tif" in text and "landcover.tif" in text and "CDSM_KRbig.tif" in text
    assert (tmp_path / "tree_canopy_height.png").read_bytes()[:8] == PNG
