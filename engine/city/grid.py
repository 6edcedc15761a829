"""The regular projected grid every field of a scenario lives on.

Rows run north to south (row 0 is the northern edge, as in a GeoTIFF), columns west to east.
Cells are square, ``resolution`` metres on a side, in a projected CRS.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pyproj import CRS


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Parameters
    ----------
    ny, nx : number of rows and columns.
    resolution : cell size (m).
    west, north : coordinates of the grid's north-west corner (m, in ``crs``).
    crs : any CRS pyproj understands (``"EPSG:32632"``, WKT); must be projected (metres).
    """

    ny: int
    nx: int
    resolution: float
    west: float
    north: float
    crs: str

    def __post_init__(self):
        if self.ny < 1 or self.nx < 1:
            raise ValueError(f"grid shape must be positive, got ({self.ny}, {self.nx})")
        if not self.resolution > 0:
            raise ValueError(f"grid resolution must be > 0 m, got {self.resolution}")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def size(self) -> int:
        return self.ny * self.nx

    @property
    def cell_area(self) -> float:
        """Area of one cell (m²)."""
        return self.resolution * self.resolution

    @property
    def east(self) -> float:
        return self.west + self.nx * self.resolution

    @property
    def south(self) -> float:
        return self.north - self.ny * self.resolution

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in metres."""
        return (self.west, self.south, self.east, self.north)

    @cached_property
    def pyproj_crs(self) -> CRS:
        return CRS.from_user_input(self.crs)

    @property
    def x(self) -> np.ndarray:
        """Cell-centre eastings (m), west to east."""
        return self.west + (np.arange(self.nx) + 0.5) * self.resolution

    @property
    def y(self) -> np.ndarray:
        """Cell-centre northings (m), north to south."""
        return self.north - (np.arange(self.ny) + 0.5) * self.resolution

    def window(self, rows: slice, cols: slice) -> Grid:
        """The grid of the cells ``rows`` x ``cols`` of this one."""
        res = self.resolution
        return Grid(ny=rows.stop - rows.start, nx=cols.stop - cols.start, resolution=res,
                    west=self.west + cols.start * res, north=self.north - rows.start * res,
                    crs=self.crs)

    def index_of(self, x, y):
        """(row, col) of the cells holding points (x, y); may fall outside the grid."""
        col = np.floor((np.asarray(x, dtype=float) - self.west) / self.resolution).astype(int)
        row = np.floor((self.north - np.asarray(y, dtype=float)) / self.resolution).astype(int)
        return row, col

    def contains(self, x, y) -> np.ndarray:
        row, col = self.index_of(x, y)
        return (row >= 0) & (row < self.ny) & (col >= 0) & (col < self.nx)

    def lonlat_centre(self) -> tuple[float, float]:
        """Longitude and latitude (degrees) of the domain centre, for the sun's position."""
        from pyproj import Transformer

        to_geo = Transformer.from_crs(self.pyproj_crs, "EPSG:4326", always_xy=True)
        lon, lat = to_geo.transform(
            0.5 * (self.west + self.east), 0.5 * (self.south + self.north)
        )
        return float(lon), float(lat)
