"""Data domains under MPI (issue 6: each rank builds its own tile from the sources): a rank
reads only its window of the rasters, and its tile equals the serial city cut to that
window, value for value, with the domain's counts in the provenance (no-data cells,
coverage) and the same road network. Run on 3 (a 1 x 3 layout) and 4 (2 x 2) ranks.

The domain has a DEM with a no-data hole closed and filled (the fill needs the whole
raster), footprints crossing the tile edges (one holds no cell), a land-cover raster in
another UTM zone, a canopy raster, district polygons in lon/lat and an OSM road extract."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests._support.mpi import MPIEXEC, require_mpiexec
from tests.engine.city.test_datasources import (
    CRS_DOMAIN,
    E,
    N,
    S,
    W,
    _holey,
    districts_file,
    footprints,
    umep_classes,
    utm_raster,
)
from tests.engine.city.test_sources_roads import osm_xml

pytestmark = pytest.mark.mpi

CHECK = r'''
import sys, warnings
import numpy as np
from mpi4py import MPI
from metrotwin.city.build import build_city, global_shape
from metrotwin.hpc.decomposition import MPIDecomposition
from metrotwin.run.scenario import load_scenario
from metrotwin.city.state import subset_state

warnings.simplefilter("ignore")
scenario = load_scenario(sys.argv[1])
comm = MPI.COMM_WORLD
dec = MPIDecomposition.create(comm, global_shape(scenario), halo=1)
tile = build_city(scenario, dec)
# the reference: the serial city (every file read whole) cut to this rank's window
whole = build_city(scenario)
ref = subset_state(whole, dec.local_window, dec)
bad = []
if tile.grid != ref.grid:
    bad.append(f"grid {tile.grid} != {ref.grid}")
for name in ref.ds.data_vars:
    a, b = ref.ds[name].values, tile.ds[name].values if name in tile.ds else None
    if b is None or a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
        bad.append(f"{name} differs")
    for key in ("nodata_cells", "coverage", "buildings", "footprints_without_cells"):
        if key in ref.ds[name].attrs and ref.ds[name].attrs[key] != tile.ds[name].attrs.get(key):
            bad.append(f"{name}.{key}: {ref.ds[name].attrs[key]} != {tile.ds[name].attrs.get(key)}")
extra = sorted(set(tile.ds.data_vars) - set(ref.ds.data_vars))
if extra:
    bad.append(f"extra variables {extra}")
if tile.district_names != whole.district_names:
    bad.append(f"districts {tile.district_names} != {whole.district_names}")
reports = comm.gather((dec.rank, tile.grid.shape, bad), root=0)
if comm.rank == 0:
    for rank, shape, problems in reports:
        print(f"rank {rank} tile {shape}: " + ("; ".join(problems) if problems else "same"))
    sys.exit(1 if any(p for _, _, p in reports) else 0)
'''


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    require_mpiexec()
    root = tmp_path_factory.mktemp("data_mpi")
    to32 = __import__("pyproj").Transformer.from_crs(CRS_DOMAIN, "EPSG:32632", always_xy=True)
    back = __import__("pyproj").Transformer.from_crs("EPSG:32632", CRS_DOMAIN, always_xy=True)
    x0, y0, x1, y1 = to32.transform_bounds(W - 60, S - 60, E + 60, N + 60)
    files = {
        "dem": utm_raster(root / "holey.tif", _holey, nodata=-9999.0),
        "cover": utm_raster(root / "lc32.tif", lambda x, y: umep_classes(*back.transform(x, y)),
                            res=2.0, bounds=(x0, y0, x1, y1), crs="EPSG:32632", dtype="uint8",
                            nodata=255),
        "canopy": utm_raster(root / "cdsm.tif", lambda x, y: __import__("numpy").where(
            (x > 500_040) & (x < 500_160) & (y < 4_982_900), 8.0, -1.0)),
        "buildings": footprints(root, height=[15.0, 7.5, 2.0]),
        "districts": districts_file(root),
        "roads": osm_xml(root / "roads.osm"),
    }
    data = {
        "name": "data_mpi",
        "domain": {"data": {
            "crs": CRS_DOMAIN, "resolution": 10.0, "extent": [W, S, E, N],
            "elevation": {"path": str(files["dem"]), "nodata": "close"},
            "land_cover": {"path": str(files["cover"]), "mapping": "umep"},
            "tree_canopy": {"path": str(files["canopy"])},
            "buildings": {"path": str(files["buildings"]), "height_attribute": "height"},
            "districts": {"path": str(files["districts"]), "name_attribute": "NAME"},
            "roads": {"path": str(files["roads"])},
        }},
        "period": {"start": "2026-07-15T06:00:00", "duration": "10 min"},
        "models": {},
    }  # fmt: skip
    path = root / "data_mpi.yaml"
    path.write_text(yaml.safe_dump(data))
    (root / "check.py").write_text(CHECK)
    return path


@pytest.mark.parametrize("ranks", [3, 4])
def test_each_rank_reads_its_tile_equal_to_the_serial_city(scenario, ranks):
    proc = subprocess.run(
        [str(MPIEXEC), "-n", str(ranks), sys.executable, "-m", "mpi4py",
         str(scenario.parent / "check.py"), str(scenario)],
        capture_output=True, text=True, timeout=300, check=False, env={**__import__("os").environ,
                                                          "NUMBA_NUM_THREADS": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": same") == ranks, proc.stdout
