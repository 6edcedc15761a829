"""Kernels of the city's 3D form: horizon angles, sky view factors, walls and the share of
direct sun reaching each cell.

Units and argument conventions: see ``metrotwin.models.heat.kernels``.

References
----------
.. [1] Dozier, J. & Frew, J. (1990) Rapid calculation of terrain parameters for radiation
   modeling from digital elevation data. IEEE TGRS 28(5):963-969, doi:10.1109/36.58986
   (horizon angles and sky view factor); the sweep keeps an upper convex hull per line as in
   Stewart, A.J. (1998) Fast horizon computation at all points of a terrain with visibility
   and shading applications. IEEE TVCG 4(1):82-93.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit, prange

#: one direction of horizon sweeps (see ``_direction``): rows advanced per column (|slope| <= 1),
#: whether the sweep advances towards increasing columns, horizontal length of one step (m)
SweepLine = namedtuple("SweepLine", ["slope", "forward", "step"])
#: where the swept arrays lie: global indices of their cell [0, 0], and the search bound of
#: the horizons (cells, see ``_horizon_sweep``)
GlobalWindow = namedtuple("GlobalWindow", ["row0", "col0", "segment"])


@njit(cache=True, fastmath=True)
def _atan(t):
    """arctan(t) (rad) for t >= 0, |error| < 1.2e-5 rad: the minimax odd polynomial on [0, 1]
    (Abramowitz & Stegun 1964, 4.4.49) and atan(t) = pi/2 - atan(1/t) above 1."""
    x = t if t <= 1.0 else 1.0 / t
    x2 = x * x
    a = x * (0.9998660 + x2 * (-0.3302995 + x2 * (0.1801410 + x2 * (-0.0851330
                                                                   + x2 * 0.0208351))))
    return a if t <= 1.0 else 0.5 * math.pi - a


@njit(cache=True)
def _horizon_sweep(obstacle, observer, line_dir, window, part, weights, store, out, acc):
    """Sweep all lines of one direction ``line_dir`` (a ``SweepLine``) that advances one column
    per step (``forward``: towards increasing columns) and ``slope`` rows per column.

    Lines are r = line + round(c * slope) in global cell indices (``window``, a
    ``GlobalWindow``: the array's [0, 0] is global cell [``row0``, ``col0``]); each is swept from its far end with an upper convex hull of the
    obstacle profile ahead (Stewart 1998): a cell first removes the hull points its own
    obstacle point hides, the tangent from its viewpoint is then the hull's first vertex (a
    short walk further when the viewpoint is below the obstacle, i.e. under a canopy).
    Every cell lies on exactly one line, so chunks of lines can run in parallel without races:
    this sweeps chunk ``part[0]`` of ``part[1]`` (``_horizon_sweep_all`` runs them all).

    ``segment`` > 0 bounds the search: columns are cut into segments of ``segment`` cells
    at global multiples, and a cell sees the rest of its own segment and the whole next one
    ahead (``segment`` to 2 ``segment`` cells). The horizon then depends only on the global
    grid, not on the window swept, so tiles of a decomposed grid that hold 2 ``segment``
    cells around their cells get the serial numbers bit for bit. ``segment`` <= 0: the whole
    line.

    ``store``: write the horizon angle h (rad) into ``out``; otherwise add the sky-view
    integrands of this direction to ``acc``: acc[0] += cos^2 h, acc[1 + d] += weights[d] *
    (pi/4 - h/2 - sin(2h)/4), with cos^2 h = 1/(1 + t^2), sin 2h = 2t/(1 + t^2), t = tan h.
    """
    slope, forward, step = line_dir
    row0, col0, segment = window
    chunk, n_chunks = part
    ny, nx = obstacle.shape
    off_first = int(math.floor(col0 * slope + 0.5))
    off_last = int(math.floor((col0 + nx - 1) * slope + 0.5))
    lo = -max(off_first, off_last)
    hi = ny - 1 - min(off_first, off_last)
    n_lines = hi - lo + 1
    seg = segment if segment > 0 else nx + col0 + 1
    s_first = col0 // seg
    s_last = (col0 + nx - 1) // seg
    pos = np.empty(nx, np.float64)
    zh = np.empty(nx, np.float64)
    l0 = lo + chunk * n_lines // n_chunks
    l1 = lo + (chunk + 1) * n_lines // n_chunks
    for line in range(l0, l1):
        for s in range(s_first, s_last + 1):
            # local columns of this segment [a, b) and of the part swept [sa, sb)
            a = max(s * seg - col0, 0)
            b = min((s + 1) * seg - col0, nx)
            if forward:
                sa, sb = a, min((s + 2) * seg - col0, nx)
            else:
                sa, sb = max((s - 1) * seg - col0, 0), b
            n = 0
            for k in range(sb - sa):
                cc = sb - 1 - k if forward else sa + k
                r = line + int(math.floor((cc + col0) * slope + 0.5))
                if r < 0 or r >= ny:
                    continue
                p0 = float(cc) if forward else float(-cc)
                zo = obstacle[r, cc]
                while n >= 2:
                    if ((zh[n - 1] - zo) * (pos[n - 2] - p0)
                            <= (zh[n - 2] - zo) * (pos[n - 1] - p0)):
                        n -= 1
                    else:
                        break
                if a <= cc < b:
                    best = 0.0
                    if n > 0:
                        z0 = observer[r, cc]
                        i = n - 1
                        best = (zh[i] - z0) / (pos[i] - p0)
                        if z0 < zo:
                            while i > 0:
                                cand = (zh[i - 1] - z0) / (pos[i - 1] - p0)
                                if cand < best:
                                    break
                                best = cand
                                i -= 1
                    t = max(best, 0.0) / step
                    h = math.atan(t) if store else _atan(t)
                    if store:
                        out[r, cc] = h
                    else:
                        q = 1.0 / (1.0 + t * t)
                        acc[0, r, cc] += q
                        g = 0.25 * math.pi - 0.5 * h - 0.5 * t * q
                        for d in range(4):
                            if weights[d] > 0.0:
                                acc[1 + d, r, cc] += weights[d] * g
                pos[n] = p0
                zh[n] = zo
                n += 1


@njit(cache=True, parallel=True)
def _horizon_sweep_all(obstacle, observer, line_dir, window, weights, out, acc):
    """All lines of one direction into the sky-view accumulators, chunks of lines in
    parallel (numba threads)."""
    n_chunks = 64
    for chunk in prange(n_chunks):
        _horizon_sweep(obstacle, observer, line_dir, window, (chunk, n_chunks), weights, False,
                       out, acc)


@njit(cache=True)
def _direction(azimuth_deg, resolution):
    """(transposed, ``SweepLine``) of the sweep of one azimuth: directions nearer
    north-south than east-west are swept on the transposed grid (azimuth 270 - az there) so
    that every sweep walks along memory rows."""
    az = math.radians(azimuth_deg)
    s, c = math.sin(az), math.cos(az)
    transposed = abs(s) < abs(c)
    if transposed:
        s, c = -c, -s
    slope = -c / s
    return transposed, SweepLine(slope, s > 0, math.sqrt(1 + slope * slope) * resolution)


@njit(cache=True)
def horizon_angles(obstacle, observer, azimuth_deg, *, resolution, out, row0, col0,
                   segment):
    """Horizon elevation angle (rad, >= 0) of every cell towards each azimuth.

    For each azimuth the grid is cut into parallel digital lines (a cell belongs to exactly
    one line) swept with a convex hull (Stewart 1998, see [1]_): O(cells) per azimuth,
    independent of the search distance.

    Parameters
    ----------
    obstacle : (ny, nx) float64, absolute height of what blocks the sky (m).
    observer : (ny, nx) float64, absolute height of the viewpoint in each cell (m); equal to
        ``obstacle`` for a plain DSM, lower under tree canopies.
    azimuth_deg : (na,) float64, directions (degrees clockwise from north).
    resolution : cell size (m).
    out : (na, ny, nx) float32, horizon angles (rad).
    row0, col0 : global indices of the arrays' first cell; segment : search bound (cells),
        see ``_horizon_sweep``.
    """
    obstacle_t = np.ascontiguousarray(obstacle.T)
    observer_t = np.ascontiguousarray(observer.T)
    window = GlobalWindow(row0, col0, segment)
    for ia in range(azimuth_deg.shape[0]):
        _horizon_towards(obstacle, observer, obstacle_t, observer_t, azimuth_deg[ia],
                         resolution, out[ia], window)
    return out


@njit(cache=True)
def horizon_angle_towards(obstacle, observer, obstacle_t, observer_t, azimuth_deg, *,
                          resolution, out, row0, col0, segment):
    """Horizon angle (rad) of every cell towards one azimuth (degrees); see
    ``horizon_angles``. ``obstacle_t``/``observer_t`` are C-contiguous transposes."""
    return _horizon_towards(obstacle, observer, obstacle_t, observer_t, azimuth_deg, resolution,
                            out, GlobalWindow(row0, col0, segment))


@njit(cache=True)
def _horizon_towards(obstacle, observer, obstacle_t, observer_t, azimuth_deg, resolution, out,
                     window):
    transposed, line_dir = _direction(azimuth_deg, resolution)
    w = np.zeros(4)
    dummy = np.zeros((1, 1, 1))
    if transposed:
        tmp = np.empty(obstacle_t.shape, np.float32)
        _horizon_sweep(obstacle_t, observer_t, line_dir, _transposed(window), (0, 1), w, True,
                       tmp, dummy)
        out[:, :] = tmp.T
    else:
        _horizon_sweep(obstacle, observer, line_dir, window, (0, 1), w, True, out, dummy)
    return out


@njit(cache=True)
def _transposed(window):
    """The ``GlobalWindow`` of the transposed arrays."""
    return GlobalWindow(window.col0, window.row0, window.segment)


@njit(cache=True)
def sky_view_factors(obstacle, observer, azimuth_deg, *, resolution, out_total, out_side,
                     row0, col0, segment):
    """Sky view factors of a horizontal surface and of four vertical ones, from the horizon
    angles of ``azimuth_deg`` (equally spaced, degrees), integrated during the sweeps.

    Horizontal: SVF = (1/2pi) integral cos^2 h(phi) dphi (isotropic sky; exact for the
    cos-weighted hemisphere, Dozier & Frew 1990, doi:10.1109/36.58986).
    Vertical surface facing d (N, E, S, W): (1/pi) integral cos(phi-d)+ (pi/4 - h/2 - sin 2h / 4)
    dphi, divided by its unobstructed value 1/2, so that 1 means an open half-sky.

    Parameters
    ----------
    obstacle, observer : (ny, nx) float64 heights (m), as in ``horizon_angles``.
    azimuth_deg : (na,) equally spaced azimuths (degrees).
    resolution : cell size (m).
    out_total : (ny, nx) float64 SVF (0-1).
    out_side : (4, ny, nx) float64 normalised SVF of vertical faces towards N, E, S, W.
    row0, col0, segment : as in ``horizon_angles``.
    """
    na = azimuth_deg.shape[0]
    ny, nx = obstacle.shape
    obstacle_t = np.ascontiguousarray(obstacle.T)
    observer_t = np.ascontiguousarray(observer.T)
    acc = np.zeros((5, ny, nx))
    acc_t = np.zeros((5, nx, ny))
    norm = np.zeros(4)
    w = np.zeros(4)
    dummy = np.zeros((1, 1), np.float32)
    window = GlobalWindow(row0, col0, segment)
    for ia in range(na):
        phi = math.radians(azimuth_deg[ia])
        for d in range(4):
            w[d] = max(math.cos(phi - 0.5 * math.pi * d), 0.0)
            norm[d] += w[d] * (math.pi / 4.0)
        transposed, line_dir = _direction(azimuth_deg[ia], resolution)
        if transposed:
            _horizon_sweep_all(obstacle_t, observer_t, line_dir, _transposed(window), w, dummy,
                               acc_t)
        else:
            _horizon_sweep_all(obstacle, observer, line_dir, window, w, dummy, acc)
    for r in range(ny):
        for cc in range(nx):
            out_total[r, cc] = (acc[0, r, cc] + acc_t[0, cc, r]) / na
            for d in range(4):
                out_side[d, r, cc] = (acc[1 + d, r, cc] + acc_t[1 + d, cc, r]) / norm[d]
    return out_total


@njit(cache=True)
def wall_height_and_aspect(dsm, *, resolution, min_height, out_height, out_aspect):
    """Height (m) and aspect (degrees from north, the direction the wall faces) of wall cells.

    A wall cell is a cell higher by more than ``min_height`` than one of its 8 neighbours; its
    height is the largest drop and its aspect the direction of the drop-weighted mean outward
    normal (the wall rasters of UMEP, Lindberg et al. 2015, Solar Energy 115:369-378, without
    their line filter).
    """
    ny, nx = dsm.shape
    out_height[:] = 0.0
    out_aspect[:] = 0.0
    for r in range(ny):
        for cc in range(nx):
            z = dsm[r, cc]
            drop_max = 0.0
            ex = 0.0
            ey = 0.0
            for dr in range(-1, 2):
                for dc in range(-1, 2):
                    if dr == 0 and dc == 0:
                        continue
                    rr, c2 = r + dr, cc + dc
                    if rr < 0 or rr >= ny or c2 < 0 or c2 >= nx:
                        continue
                    drop = z - dsm[rr, c2]
                    if drop > min_height:
                        w = drop / math.sqrt(dr * dr + dc * dc)
                        ex += w * dc
                        ey -= w * dr
                        drop_max = max(drop_max, drop)
            if drop_max > 0.0:
                out_height[r, cc] = drop_max
                out_aspect[r, cc] = (math.degrees(math.atan2(ex, ey)) + 360.0) % 360.0
    return out_height


@njit(cache=True)
def sunlit_fraction_at_cell(horizon_building, horizon_canopy, under_canopy, sun_altitude, *,
                            transmissivity, out):
    """Share (0-1) of direct sunlight reaching each cell: buildings block, canopies pass
    ``transmissivity`` (Lindberg & Grimmond 2011, doi:10.1007/s00704-010-0382-8)."""
    ny, nx = horizon_building.shape
    for r in range(ny):
        for cc in range(nx):
            if sun_altitude <= 0.0 or horizon_building[r, cc] >= sun_altitude:
                out[r, cc] = 0.0
            elif under_canopy[r, cc] or horizon_canopy[r, cc] >= sun_altitude:
                out[r, cc] = transmissivity
            else:
                out[r, cc] = 1.0
    return out
