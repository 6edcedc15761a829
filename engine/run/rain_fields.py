"""The rain of one risk member on one tile: the design hyetograph of a return period, made
to vary in space by ``hazards.design_storms.spatial`` (a moving storm, a random multiplier,
or both; ``metrotwin.run.rain``), in the form of gridded rain forcing.

Everything random is drawn on the whole domain's grid from the member's seed and the tile
cut from it: a member's rain is bit-identical however the domain is split between ranks. The
same seed gives the same multiplier at every return period (common random numbers).

Memory: the rates of the tile, ``8 nt ny nx`` bytes (25 x 1000 x 1000: 200 MB), plus, with a
random field, the torus of the whole domain for the draws (``40 my mx`` bytes at the peak:
2000 x 2000 for a 1000 x 1000 grid, 160 MB, at most 3072 x 3072, 380 MB).

A 1-hour 10-year storm moving east at 10 m/s along the middle row of a 3 x 4 grid: every cell
of that row receives the IDF depth, 1200 / (60 + 8)^0.75 mm/h over 1 h = 50.68 mm, the rows
100 m away exp(-(100 / 500)^2) = 96 % of it; the rain lasts until the storm has crossed:

>>> from metrotwin.city.grid import Grid
>>> storms = DesignStorms.model_validate({
...     "idf": {"form": "parametric", "coefficients": {10: {"a": 1200, "b": 8, "c": 0.75}}},
...     "return_periods": [10], "hyetograph": {"duration": "1 h", "time_step": "20 min"},
...     "spatial": {"moving_cell": {"radius": 500, "direction": 90, "speed": 10,
...                                 "start": [0, 150]}}})
>>> grid = Grid(ny=3, nx=4, resolution=100.0, west=0.0, north=300.0, crs="EPSG:32632")
>>> times, rates = member_rain(storms, 10, 0, grid, (slice(0, 3), slice(0, 4)))
>>> times.tolist(), rates.shape
([0.0, 1200.0, 2400.0, 3600.0, 4800.0], (5, 3, 4))
>>> (np.tensordot(np.diff(times), rates[:-1], axes=1) * 1000).round(2)
array([[48.69, 48.69, 48.69, 48.69],
       [50.68, 50.68, 50.68, 50.68],
       [48.69, 48.69, 48.69, 48.69]])
"""

from __future__ import annotations

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.physics import MM_PER_HOUR
from metrotwin.run.design_storm import design_hyetograph
from metrotwin.run.rain.moving_cell import moving_cell_rain
from metrotwin.run.rain.multiplier import multiply_rain
from metrotwin.scenario.hazards import DesignStorms


def _tile_shape(grid: Grid, window: tuple[slice, slice]) -> tuple[int, int]:
    """(ny, nx) of the tile ``window``; ValueError unless it is a window of ``grid``."""
    for part, n in zip(window, grid.shape):
        if part.step not in (None, 1) or not 0 <= part.start < part.stop <= n:
            raise ValueError(f"window {window} is not a window of a {grid.shape} grid")
    return tuple(part.stop - part.start for part in window)


def member_rain(storms: DesignStorms, period: float, seed: int, global_grid: Grid,
                window: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
    """The ``period``-year design storm of the member drawn with ``seed`` on the tile
    ``window`` (rows, columns of ``global_grid``, e.g. ``decomposition.local_window``).

    Returns ``times`` (s since the start, (nt,)) and ``rates`` (m/s, (nt, ny, nx)): each rate
    holds from its time to the next, and the last step, at the end of the rain, is all zero
    (as ``forcing.rainfall.hyetograph`` and a gridded rain file are read). Without
    ``spatial`` the rain is the hyetograph everywhere.

    ScenarioError if the storm cannot be made (see ``design_hyetograph``, ``moving_cell_rain``
    and ``circulant.embedding_scale``)."""
    pairs = design_hyetograph(storms, period)
    edges = np.array([t for t, _ in pairs])
    uniform = np.array([rate for _, rate in pairs]) * MM_PER_HOUR
    spatial = storms.spatial
    shape = _tile_shape(global_grid, window)
    if spatial is not None and spatial.moving_cell is not None:
        times, rates = moving_cell_rain(spatial.moving_cell, (edges, uniform[:-1]),
                                        global_grid, window)
    else:
        times = edges
        rates = np.empty((uniform.size,) + shape)
        rates[:] = uniform[:, None, None]
    if spatial is not None and spatial.random_field is not None:
        multiply_rain(rates[:-1], spatial.random_field, storms.hyetograph.time_step,
                      global_grid, window, seed)
    return times, rates
