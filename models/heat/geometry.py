"""The city's 3D form as the heat model sees it, computed once per scenario: horizon angles,
sky view factors (total and towards N, E, S, W), wall heights and aspects, tree canopies; and
the direct-sun share of every cell for a sun position.

A decomposed (MPI) run needs a horizon halo: the search distance of the horizon sweep is the
whole line, so a rank needs the DSM up to ``max_height_difference / tan(lowest sun or sky
angle)`` cells beyond its block (about 400 m for 40 m buildings and a 6 degree horizon).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metrotwin.models.heat import kernels


@dataclass
class Geometry:
    """Geometry of a grid (arrays (ny, nx) unless noted).

    dsm : ground + buildings (m). canopy_top : what trees and buildings block (m).
    under_canopy : cells whose own tree crown shades a person (bool).
    svf : effective sky view factor (buildings, and canopies passing ``transmissivity``).
    svf_side : (4, ny, nx) effective SVF of vertical faces towards N, E, S, W (0-1 of half sky).
    svf_buildings, svf_side_buildings : SVFs of the buildings alone (the sky and the crowns);
    wall_height (m), wall_aspect (degrees).
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
    _t: tuple | None = None

    def sunlit(self, altitude_deg: float, azimuth_deg: float, out: np.ndarray | None = None):
        """Share of direct sun (0-1) reaching each cell for a sun position (degrees)."""
        out = np.empty(self.dsm.shape) if out is None else out
        if altitude_deg <= 0.0:
            out[:] = 0.0
            return out
        if self._t is None:
            self._t = (np.ascontiguousarray(self.dsm.T), np.ascontiguousarray(self.canopy_top.T))
        dsm_t, top_t = self._t
        hb = np.empty(self.dsm.shape, np.float32)
        kernels.horizon_angle_towards(self.dsm, self.dsm, dsm_t, dsm_t, float(azimuth_deg),
                                      resolution=self.resolution, out=hb)
        if self.has_trees:
            hc = np.empty_like(hb)
            kernels.horizon_angle_towards(self.canopy_top, self.dsm, top_t, dsm_t,
                                          float(azimuth_deg), resolution=self.resolution, out=hc)
        else:
            hc = hb
        kernels.sunlit_fraction_at_cell(
            hb, hc, self.under_canopy, np.radians(altitude_deg),
            transmissivity=self.transmissivity, out=out,
        )
        return out


def azimuths(n: int) -> np.ndarray:
    """``n`` equally spaced azimuths (degrees), the first at north."""
    return np.arange(n) * (360.0 / n)


def sky_view(obstacle, observer, n_azimuth: int, resolution: float):
    """SVF (ny, nx) and side SVFs (4, ny, nx) from a horizon stack of ``n_azimuth`` directions."""
    svf = np.empty(obstacle.shape)
    side = np.empty((4, *obstacle.shape))
    kernels.sky_view_factors(np.ascontiguousarray(obstacle, dtype=float),
                             np.ascontiguousarray(observer, dtype=float), azimuths(n_azimuth),
                             resolution=float(resolution), out_total=svf, out_side=side)
    return svf, side


def build_geometry(ground, building_height, canopy_height, *, resolution: float,
                   n_azimuth: int = 32, transmissivity: float = 0.03) -> Geometry:
    """Geometry from the ground (DEM, m), building heights and canopy heights (m above ground)."""
    dsm = np.ascontiguousarray(ground + building_height, dtype=float)
    trees = (canopy_height > 0) & (building_height <= 0)
    canopy_top = np.where(trees, np.maximum(dsm, ground + canopy_height), dsm)
    svf_b, side_b = sky_view(dsm, dsm, n_azimuth, resolution)
    if trees.any():
        svf_c, side_c = sky_view(canopy_top, dsm, n_azimuth, resolution)
        svf_c[trees] = 0.0  # the own crown closes the sky above a person under a tree
        side_c[:, trees] = 0.0
        svf = svf_c + transmissivity * (svf_b - svf_c)
        side = side_c + transmissivity * (side_b - side_c)
    else:
        svf, side = svf_b, side_b
    wall_h = np.empty(dsm.shape)
    wall_a = np.empty(dsm.shape)
    kernels.wall_height_and_aspect(dsm, resolution=resolution, min_height=2.0,
                                   out_height=wall_h, out_aspect=wall_a)
    return Geometry(
        dsm=dsm, canopy_top=np.ascontiguousarray(canopy_top), under_canopy=trees, svf=svf,
        svf_side=np.ascontiguousarray(side), svf_buildings=svf_b,
        svf_side_buildings=np.ascontiguousarray(side_b), wall_height=wall_h,
        wall_aspect=wall_a, resolution=resolution, transmissivity=transmissivity,
        has_trees=bool(trees.any()),
    )
