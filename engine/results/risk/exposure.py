"""Buildings as a point exposure, and its export to a Delft-FIAT (>= 0.4) geometry model so
that metrotwin's flood damage can be checked against FIAT's on the same inputs.

A building is a point (x, y in the grid's CRS, m) where its depth is read: the depth of the
grid cell holding the point (the same cell FIAT's ``centroid`` extraction pins: column
floor((x - west) / resolution), row floor((north - y) / resolution)), its use, footprint (m²)
and storeys. Its maximum damage (EUR, 2010) is the one ``damage.building_damage`` uses:
maximum damage per m² of its use x footprint x min(storeys, ``storeys_counted``).

The FIAT model written here: the depth map as a Float64 GeoTIFF, the points as a GeoPackage,
an exposure CSV (``object_id``, ``extract_method`` = centroid, ground floor height 0, ground
elevation 0, ``fn_damage_structure`` = JRC class, ``max_damage_structure`` = the building's
maximum damage), the curves as FIAT's vulnerability CSV (class names as columns, ``water
depth`` as index, in metres) and a ``settings.toml``. FIAT's damage is read back from its
output CSV in the exposure's order.

FIAT's own conventions (delft_fiat 0.4.0, ``fiat/methods/flood.py``, ``fiat/models/base.py``):
depths at or below 0.0001 m are dry; the curves are interpolated linearly onto a step of
``step_size`` (0.01 m) and read at the depth rounded to that step; depths beyond the curve
hold its last value; each damage is rounded to 0.01 EUR.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.damage import (
    DepthDamageCurve,
    damage_class_of,
    jrc_curves,
    max_damage_per_m2,
)

#: FIAT's vulnerability step (m): its curves are read at the depth rounded to this step
FIAT_STEP_M = 0.01
#: the file names of the model written by ``write_fiat_model``, in its folder
FIAT_FILES = {"settings": "settings.toml", "hazard": "depth.tif", "geometry": "buildings.gpkg",
              "exposure": "exposure.csv", "vulnerability": "vulnerability.csv",
              "output": "output", "damage": "damage.csv"}  # fmt: skip


@dataclass(frozen=True)
class PointExposure:
    """Buildings as points: x, y (m, in the grid's CRS), use (text), footprint (m²), storeys."""

    x: np.ndarray
    y: np.ndarray
    uses: np.ndarray
    footprint_m2: np.ndarray
    storeys: np.ndarray

    def __post_init__(self):
        n = np.asarray(self.x).shape
        for name in ("y", "uses", "footprint_m2", "storeys"):
            if np.asarray(getattr(self, name)).shape != n or len(n) != 1:
                raise RiskInputError(
                    f"exposure field {name!r} has shape {np.asarray(getattr(self, name)).shape}; "
                    f"every field needs one value per building, shape {n}"
                )

    def __len__(self) -> int:
        return len(self.x)


def depth_at_points(depth: np.ndarray, grid: Grid, x, y) -> np.ndarray:
    """Depth (m) of the cell of ``depth`` (grid.shape, row 0 north) holding each point (x, y,
    m); RiskInputError naming the first point outside the grid."""
    if np.shape(depth) != grid.shape:
        raise RiskInputError(f"depth map has shape {np.shape(depth)}; the grid is {grid.shape}")
    col = np.floor((np.asarray(x, float) - grid.west) / grid.resolution).astype(np.int64)
    row = np.floor((grid.north - np.asarray(y, float)) / grid.resolution).astype(np.int64)
    outside = (col < 0) | (col >= grid.nx) | (row < 0) | (row >= grid.ny)
    if np.any(outside):
        k = int(np.argmax(outside))
        raise RiskInputError(
            f"building {k} at ({float(np.asarray(x)[k])}, {float(np.asarray(y)[k])}) m is outside "
            f"the depth map; its bounds are {grid.bounds} (west, south, east, north)"
        )
    return np.asarray(depth, float)[row, col]


def max_damage(exposure: PointExposure, *, country: str, storeys_counted: int = 1) -> np.ndarray:
    """Maximum damage (EUR, 2010) of each building: per m² of its use in ``country`` x
    footprint (m²) x min(storeys, ``storeys_counted``), as ``building_damage`` counts it."""
    floors = np.minimum(np.asarray(exposure.storeys, float), storeys_counted)
    per_m2 = {use: max_damage_per_m2(country, use) for use in set(exposure.uses.tolist())}
    return np.array([per_m2[u] for u in exposure.uses.tolist()]) * exposure.footprint_m2 * floors


def write_fiat_model(
    folder, depth: np.ndarray, grid: Grid, exposure: PointExposure, *, country: str,
    storeys_counted: int = 1, curves: dict[str, DepthDamageCurve] | None = None,
) -> Path:  # fmt: skip
    """Write a FIAT geometry model of ``exposure`` under the map ``depth`` (m, grid.shape)
    into the new or empty ``folder``; returns its settings file. Refuses a non-empty folder."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise RiskInputError(f"FIAT model folder {folder} is not empty; give a new folder")
    # every input checked before the first file is written
    depth_at_points(depth, grid, exposure.x, exposure.y)  # the map's shape; buildings on it
    classes = [damage_class_of(u) for u in exposure.uses.tolist()]
    value = max_damage(exposure, country=country, storeys_counted=storeys_counted)
    curves = curves or jrc_curves()
    missing = sorted(set(classes) - set(curves))
    if missing:
        raise RiskInputError(f"no depth-damage curve for class {missing[0]!r}")
    folder.mkdir(parents=True, exist_ok=True)
    _write_hazard(folder / FIAT_FILES["hazard"], depth, grid)
    _write_points(folder / FIAT_FILES["geometry"], exposure, grid.crs)
    _write_exposure_table(folder / FIAT_FILES["exposure"], classes, value)
    _write_vulnerability(folder / FIAT_FILES["vulnerability"], curves, sorted(set(classes)))
    settings = folder / FIAT_FILES["settings"]
    settings.write_text(_settings_toml(), encoding="utf-8")
    return settings


def read_fiat_damage(settings, n: int) -> np.ndarray:
    """FIAT's total damage (EUR) of buildings 0..n-1 from the output of the model at
    ``settings``; 0 where FIAT found the building dry (it writes nan)."""
    path = Path(settings).parent / FIAT_FILES["output"] / FIAT_FILES["damage"]
    out, seen = np.zeros(n), np.zeros(n, bool)
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            k = int(row["object_id"])
            if not 0 <= k < n:
                raise RiskInputError(f"FIAT output {path} has object_id {k}; expected 0..{n - 1}")
            out[k], seen[k] = float(row["total_damage"]), True
    if not seen.all():
        raise RiskInputError(
            f"FIAT output {path} has no damage for building {int(np.argmin(seen))} of {n}"
        )
    return np.nan_to_num(out, nan=0.0)


def _write_hazard(path: Path, depth: np.ndarray, grid: Grid) -> None:
    import rasterio
    from affine import Affine

    values = np.asarray(depth, dtype="float64")
    transform = Affine(grid.resolution, 0.0, grid.west, 0.0, -grid.resolution, grid.north)
    with rasterio.open(path, "w", driver="GTiff", height=grid.ny, width=grid.nx, count=1,
                       dtype="float64", crs=grid.crs, transform=transform) as dst:  # fmt: skip
        dst.write(values, 1)


def _write_points(path: Path, exposure: PointExposure, crs: str) -> None:
    import geopandas as gpd

    points = gpd.points_from_xy(exposure.x, exposure.y)
    frame = gpd.GeoDataFrame({"object_id": np.arange(len(exposure))}, geometry=points, crs=crs)
    frame.to_file(path, driver="GPKG", layer="buildings")


def _write_exposure_table(path: Path, classes: list[str], value: np.ndarray) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["object_id", "extract_method", "ground_flht", "ground_elevtn",
                      "fn_damage_structure", "max_damage_structure"])  # fmt: skip
        # repr keeps every float exact through the text
        out.writerows([k, "centroid", 0, 0, c, repr(float(v))]
                      for k, (c, v) in enumerate(zip(classes, value)))  # fmt: skip


def _write_vulnerability(path: Path, curves: dict[str, DepthDamageCurve], names) -> None:
    depths = np.unique(np.concatenate([curves[c].depths for c in names]))
    # the table's own points (not the curve's call, which is 0 at depth 0 whatever the table)
    columns = [np.interp(depths, curves[c].depths, curves[c].fractions) for c in names]
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["water depth", *names])
        out.writerows([repr(float(v)) for v in row] for row in zip(depths, *columns))


def _settings_toml() -> str:
    return "\n".join([
        "[model]", 'type = "geom"', "threads = 1", "",
        "[output]", f'path = "{FIAT_FILES["output"]}"', "",
        "[output.csv]", f'name1 = "{FIAT_FILES["damage"]}"', "",
        "[hazard]", f'file = "{FIAT_FILES["hazard"]}"', 'elevation_reference = "DEM"', "",
        "[exposure.csv]", f'file = "{FIAT_FILES["exposure"]}"', "",
        "[exposure.geom]", f'file1 = "{FIAT_FILES["geometry"]}"', "",
        "[vulnerability]", f'file = "{FIAT_FILES["vulnerability"]}"',
        f"step_size = {FIAT_STEP_M}", "",
    ])  # fmt: skip
