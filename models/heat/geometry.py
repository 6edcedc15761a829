"""The city's 3D form as the heat model sees it, computed once per scenario: horizon angles,
sky view factors (total and towards N, E, S, W), wall heights and aspects, tree canopies; and
the direct-sun share of every cell for a sun position.

Horizons are searched over a bounded distance (``segment`` cells: at least one, at most two
segments ahead, cut at fixed global positions; see ``horizons._horizon_sweep``), so that a
rank of a decomposed run that holds the DSM two segments around its tile gets the serial
numbers bit for bit. The geometry is then computed on that wider window and cropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrotwin.models.heat.kernels import horizons


@dataclass
class Geometry:
    """Geometry of a grid (arrays (ny, nx) unless noted).

    dsm : ground + buildings (m). canopy_top : what trees and buildings block (m).
    under_canopy : cells whose own tree crown shades a person (bool).
    svf : effective sky view factor (buildings, and canopies passing ``transmissivity``).
    svf_side : (4, ny, nx) effective SVF of vertical faces towards N, E, S, W (0-1 of half sky).
    svf_buildings, svf_side_buildings : SVFs of the buildings alone (the sky and the crowns);
    wall_height (m), wall_aspect (degrees).
    dsm, canopy_top and under_canopy cover the window the horizons are swept on (global cells
    from [row0, col0]); the other arrays, and ``sunlit``, cover ``crop`` of it.
    """

    dsm: np.ndarray
    canopy_top: np.ndarray
    under_canopy: np.ndarray
    svf: np.ndarray
    svf_side: np.ndarray
    svf_buildings: np.ndarray
    svf_side_buildings: np.ndarray
    wall_height: np.ndarray
    wall_aspect: np.ndarray
    resolution: float
    transmissivity: float
    has_trees: bool
    row0: int = 0
    col0: int = 0
    segment: int = 0
    crop: tuple = (slice(None), slice(None))
    _t: tuple | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the cropped arrays (the model's grid)."""
        return self.svf.shape

    def sunlit(self, altitude_deg: float, azimuth_deg: float, out: np.ndarray | None = None):
        """Share of direct sun (0-1) reaching each cell for a sun position (degrees)."""
        out = np.empty(self.shape) if out is None else out
        if altitude_deg <= 0.0:
            out[:] = 0.0
            return out
        if self._t is None:
            self._t = (np.ascontiguousarray(self.dsm.T), np.ascontiguousarray(self.canopy_top.T))
        dsm_t, top_t = self._t
        hb = np.empty(self.dsm.shape, np.float32)
        where = {"row0": self.row0, "col0": self.col0, "segment": self.segment}
        horizons.horizon_angle_towards(self.dsm, self.dsm, dsm_t, dsm_t, float(azimuth_deg),
                                      resolution=self.resolution, out=hb, **where)
        if self.has_trees:
            hc = np.empty_like(hb)
            horizons.horizon_angle_towards(self.canopy_top, self.dsm, top_t, dsm_t,
                                          float(azimuth_deg), resolution=self.resolution, out=hc,
                                          **where)
        else:
            hc = hb
        crop = self.crop
        horizons.sunlit_fraction_at_cell(
            hb[crop], hc[crop], self.under_canopy[crop], np.radians(altitude_deg),
            transmissivity=self.transmissivity, out=out,
        )
        return out


def azimuths(n: int) -> np.ndarray:
    """``n`` equally spaced azimuths (degrees), the first at north."""
    return np.arange(n) * (360.0 / n)


def sky_view(obstacle, observer, n_azimuth: int, resolution: float, row0: int = 0, col0: int = 0,
             segment: int = 0):
    """SVF (ny, nx) and side SVFs (4, ny, nx) from a horizon stack of ``n_azimuth`` directions
    (``row0``, ``col0``, ``segment``: see ``horizons.horizon_angles``)."""
    svf = np.empty(obstacle.shape)
    side = np.empty((4, *obstacle.shape))
    horizons.sky_view_factors(np.ascontiguousarray(obstacle, dtype=float),
                             np.ascontiguousarray(observer, dtype=float), azimuths(n_azimuth),
                             resolution=float(resolution), out_total=svf, out_side=side,
                             row0=int(row0), col0=int(col0), segment=int(segment))
    return svf, side


def build_geometry(ground, building_height, canopy_height, *, resolution: float,
                   n_azimuth: int = 32, transmissivity: float = 0.03, row0: int = 0,
                   col0: int = 0, segment: int = 0,
                   crop: tuple = (slice(None), slice(None))) -> Geometry:
    """Geometry from the ground (DEM, m), building heights and canopy heights (m above ground).

    The arrays cover a window whose first cell is global cell [``row0``, ``col0``]; horizons
    are searched ``segment`` to 2 ``segment`` cells (0: the whole window); the per-cell results
    are kept for ``crop`` of the window (a tile inside the margin it needs)."""
    where = {"row0": row0, "col0": col0, "segment": segment}
    dsm = np.ascontiguousarray(ground + building_height, dtype=float)
    trees = (canopy_height > 0) & (building_height <= 0)
    canopy_top = np.where(trees, np.maximum(dsm, ground + canopy_height), dsm)
    svf_b, side_b = sky_view(dsm, dsm, n_azimuth, resolution, **where)
    if trees.any():
        svf_c, side_c = sky_view(canopy_top, dsm, n_azimuth, resolution, **where)
        svf_c[trees] = 0.0  # the own crown closes the sky above a person under a tree
        side_c[:, trees] = 0.0
        svf = svf_c + transmissivity * (svf_b - svf_c)
        side = side_c + transmissivity * (side_b - side_c)
    else:
        svf, side = svf_b, side_b
    wall_h = np.empty(dsm.shape)
    wall_a = np.empty(dsm.shape)
    horizons.wall_height_and_aspect(dsm, resolution=resolution, min_height=2.0,
                                   out_height=wall_h, out_aspect=wall_a)
    rows, cols = crop
    return Geometry(
        dsm=dsm, canopy_top=np.ascontiguousarray(canopy_top), under_canopy=trees,
        svf=np.ascontiguousarray(svf[rows, cols]), svf_side=np.ascontiguousarray(side[:, rows, cols]),
        svf_buildings=np.ascontiguousarray(svf_b[rows, cols]),
        svf_side_buildings=np.ascontiguousarray(side_b[:, rows, cols]),
        wall_height=wall_h[rows, cols], wall_aspect=wall_a[rows, cols], resolution=resolution,
        transmissivity=transmissivity, has_trees=bool(trees.any()), crop=(rows, cols), **where,
    )
