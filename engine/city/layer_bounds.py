"""Physical bounds of the static layers, checked after a source is read onto the grid.

A raster with the wrong byte order, in the wrong unit or simply corrupt reads without error
and gives values such as 6e306 m of ground: every range check written downstream as a
comparison passes, and a run publishes nonsense. Each layer read from a file is therefore
checked against the range a real city can have; the error gives the count of offending cells
and where the first one lies (x/y of its centre in the scenario CRS). NaN stays no-data, for
the no-data rules of each reader (``elevation.nodata`` ...).
"""

from __future__ import annotations

import numpy as np

from metrotwin.city import landcover
from metrotwin.city import tiling
from metrotwin.errors import DataSourceError
from metrotwin.scenario.schema import MAX_RAIN

#: layer -> (lowest, highest, units). Ground from the Dead Sea shore (-430 m) to above
#: Everest; building and canopy heights above the tallest building (828 m); rain up to 1 mm/s
#: (3600 mm/h): above the world-record minute (38 mm, Barot, Guadeloupe 1970: 2280 mm/h),
#: and the rate of the SWASHES rain benchmarks (MacDonald's long channel); water depths above
#: any urban flood.
BOUNDS: dict[str, tuple[float, float, str]] = {
    "surface_altitude": (-500.0, 9000.0, "m"),
    "surface_model": (-500.0, 10000.0, "m"),
    "building_height": (0.0, 1000.0, "m"),
    "tree_canopy_height": (0.0, 1000.0, "m"),
    "water_depth": (0.0, 100.0, "m"),
    "rainfall_rate": (0.0, MAX_RAIN, "mm h-1"),
}


def check_bounds(values: np.ndarray, grid, *, layer: str, source: str,
                 low: float | None = None, high: float | None = None) -> None:
    """Raise DataSourceError when a finite value of ``values`` (on ``grid``, or a tile of it)
    lies outside the bounds of ``layer`` (or ``low``..``high``); ``+-inf`` counts as outside.

    ``values`` may have a leading time axis (gridded rain): a cell is counted once per time.
    """
    lo, hi, units = BOUNDS[layer]
    lo = lo if low is None else low
    hi = hi if high is None else high
    values = np.asarray(values)
    bad = ~np.isnan(values) & ((values < lo) | (values > hi))
    n = tiling.count(bad) if bad.ndim == 2 else int(np.count_nonzero(bad))
    if not n:
        return
    where = _first(values, bad, grid)
    raise DataSourceError(
        f"{source}: {n} cell value(s) of {layer} lie outside {lo:g}..{hi:g} {units}{where}; "
        f"is the file in another unit, another vertical datum, or corrupt (wrong byte order)?"
    )


def check_land_cover(codes: np.ndarray, grid, *, source: str) -> None:
    """Raise DataSourceError when ``codes`` holds a value that is no land-cover class."""
    known = np.array(sorted(landcover.CODE.values()))
    bad = ~np.isin(codes, known)
    n = tiling.count(bad)
    if n:
        raise DataSourceError(
            f"{source}: {n} cell(s) of land_cover hold codes that are no class"
            f"{_first(codes, bad, grid)}; classes: {', '.join(landcover.CODE)}"
        )


def _first(values: np.ndarray, bad: np.ndarray, grid) -> str:
    """' (first at x=..., y=... in CRS: value)' for the first offending cell on this grid."""
    index = np.argwhere(bad)
    if not index.size:
        return " (on another rank's tile)"
    row, col = index[0][-2:]
    value = values[tuple(index[0])]
    x = grid.west + (col + 0.5) * grid.resolution
    y = grid.north - (row + 0.5) * grid.resolution
    return f" (first at x={x:.1f}, y={y:.1f} in {grid.crs}: {float(value):.4g})"
