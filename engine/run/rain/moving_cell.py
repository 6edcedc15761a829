"""A design storm moving along a straight track at constant velocity.

The storm's rain pattern is the design hyetograph laid out along the track and translated,
frozen, at the storm's speed (Taylor's hypothesis; the moving storms of Yen & Chow 1969, Water
Resour. Res. 5(5), 989-1006, and Niemczynowicz 1991, Atmos. Res. 27, 109-127): a point at
distance ``s`` (m) along the track from its start and ``n`` (m) across it receives

    rate(t) = h(t - s / v) * exp(-(n / R)^2)

with ``h`` the design hyetograph, ``v`` the speed and ``R`` the radius. What is preserved:
every point of the track's centreline (``n = 0``, ``s >= 0``) receives the whole hyetograph,
delayed by its travel time, hence exactly the IDF point depth; off the centreline the depth
is ``exp(-(n / R)^2)`` of it. No areal reduction factor is applied: the design storm stays
the point IDF storm on its track. (A round cell whose centre rate follows the hyetograph
would give the points it crosses only ``R sqrt(pi) / (v T)`` of the hyetograph's depth, e.g.
12 % for R = 5 km, v = 10 m/s, T = 2 h, so it could not carry the IDF depth.)

The Gaussian profile across the track, rather than a top-hat, keeps the rain on the grid
independent of where the track falls between cell centres and follows the Gaussian core of
observed convective cells (Féral et al. 2003, HYCELL, Radio Sci. 38(3), 1056).

Each output step holds the exact mean rate of the delayed hyetograph over the step (from the
hyetograph's cumulative depth), so depths add up to round-off whatever the delay.
"""

from __future__ import annotations

import math

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.errors import ScenarioError
from metrotwin.scenario.hazards import MovingCell

#: most output steps: a slow storm crossing a wide domain is refused before the rates (8 bytes
#: per step and cell) are allocated
MAX_STEPS = 10_000


def heading(cell: MovingCell) -> tuple[float, float]:
    """Unit vector (east, north) the storm moves along: its bearing clockwise from north."""
    angle = math.radians(cell.direction)
    return math.sin(angle), math.cos(angle)


def track_start(cell: MovingCell, grid: Grid) -> tuple[float, float]:
    """The point (m) the storm's front crosses at time 0: the given start, else the point on
    the track through the domain centre level with the most upstream cell centre."""
    if cell.start is not None:
        return float(cell.start[0]), float(cell.start[1])
    ux, uy = heading(cell)
    xc, yc = 0.5 * (grid.west + grid.east), 0.5 * (grid.south + grid.north)
    xs, ys = grid.x[[0, -1]], grid.y[[0, -1]]
    upstream = min((x - xc) * ux + (y - yc) * uy for x in xs for y in ys)
    return xc + upstream * ux, yc + upstream * uy


def track_coordinates(cell: MovingCell, grid: Grid, rows: slice,
                      cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """Distance along the track from its start (m) and across it (m, positive to the right)
    of the centres of the cells ``rows`` x ``cols`` of ``grid``, each (ny, nx)."""
    ux, uy = heading(cell)
    x0, y0 = track_start(cell, grid)
    dx = grid.x[cols][None, :] - x0
    dy = grid.y[rows][:, None] - y0
    return dx * ux + dy * uy, dx * uy - dy * ux


def output_times(cell: MovingCell, grid: Grid, duration: float, step: float) -> np.ndarray:
    """Step starts (s) until the storm has passed the whole domain, then its end: the last
    delay is that of the most downstream cell centre of ``grid`` (the whole domain's grid, so
    that every tile has the same times)."""
    along, _ = track_coordinates(cell, grid, slice(0, grid.ny, grid.ny - 1 or 1),
                                 slice(0, grid.nx, grid.nx - 1 or 1))  # the corners
    last_delay = max(float(along.max()), 0.0) / cell.speed
    steps = math.ceil((duration + last_delay) / step * (1 - 1e-12))
    if steps > MAX_STEPS:
        raise ScenarioError(
            f"hazards.design_storms.spatial.moving_cell.speed = {cell.speed:g} m/s takes "
            f"{last_delay:g} s to cross the domain: {steps} steps of {step:g} s, more than "
            f"{MAX_STEPS}; give a faster storm or a longer hyetograph.time_step"
        )
    return step * np.arange(steps + 1)


def moving_cell_rain(cell: MovingCell, hyetograph: tuple[np.ndarray, np.ndarray],
                     grid: Grid, window: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
    """Rain of the moving storm on the tile ``window`` of the domain ``grid``.

    ``hyetograph`` is (block edges (s), block rates (m/s)): n + 1 edges, n rates. Returns the
    step starts (s, the last one the end of the rain) and the mean rate over each step (m/s),
    (nt, ny, nx), the last step all zero."""
    edges, block_rates = hyetograph
    cumulative = np.concatenate(([0.0], np.cumsum(block_rates * np.diff(edges))))  # m
    times = output_times(cell, grid, float(edges[-1]), float(edges[1] - edges[0]))
    along, across = track_coordinates(cell, grid, *window)
    delay = along / cell.speed
    profile = np.exp(-np.square(across / cell.radius))
    rates = np.zeros((times.size,) + along.shape)
    fallen = np.interp(times[0] - delay, edges, cumulative)
    for k in range(times.size - 1):
        later = np.interp(times[k + 1] - delay, edges, cumulative)
        np.multiply(later - fallen, profile / (times[k + 1] - times[k]), out=rates[k])
        fallen = later
    return times, rates
