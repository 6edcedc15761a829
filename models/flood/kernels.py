"""Numerical kernels of the flood model: the local-inertial shallow-water sweep.

Only ``@njit(cache=True)`` functions on plain numpy arrays (grouped in the namedtuples of
``groups.py``) live here (no xarray, no MPI), so that a decomposed run calls the same code on
its tile. The losses of a step are in ``losses.py``, the advective acceleration of the
optional advection term in ``advection.py``.

Grid conventions (those of ``metrotwin.city.grid``): cells ``(row, col)``, row 0 at the north
edge. Unit discharges live on the faces: ``q_at_xface`` has shape ``(ny, nx + 1)`` and is
positive towards the east (face ``col`` is the west face of cell ``col``); ``q_at_yface`` has
shape ``(ny + 1, nx)`` and is positive towards the south (increasing row; face ``row`` is the
north face of cell ``row``). The outermost faces are the domain boundaries.

Boundary codes (``Boundaries.kind`` ordered north, south, west, east): 0 closed, 1 free
outflow at normal depth for the slope ``Boundaries.value``, 2 fixed water-surface elevation
``Boundaries.value``.

The scheme (``local_inertial_steps``): the momentum update of every face is de Almeida et al.
(2012) eq. 13 (theta-weighting of the explicit discharge) with the semi-implicit Manning
friction of Bates et al. (2010) eq. 11. The flow depth of a face is max(eta) - max(z) (Bates
et al. 2010, sec. 2.2). An outflow limiter then scales, cell by cell, the outgoing
discharges of any cell that would give more water than it holds (so depths never go
negative, e.g. thin films running off raised building blocks). The continuity update (Bates
et al. 2010 eq. 4) adds rain, the losses of the lossy cells, and updates the in-solver
statistics.

The sweep runs row by row with a lag: in step s, the momentum of row i, the limiter of row
i - 1 and the continuity of row i - 2, and step s + 1 two rows behind step s (the rows it
needs are final by then). So every array is streamed through memory once per sweep, not once
per step, while the rows in flight (a few hundred kB) stay in the cache: a wavefront form of
temporal blocking. Every cell sees the same arithmetic in the same order as with one step
per sweep, so the results are bit-identical whatever the number of steps per sweep. Within
a row each stage is a branch-free loop (selects, no calls) that the compiler vectorises, and
the few lossy cells of the row get a scalar loop of their own.

Precision: depths, the continuity update and every volume account are float64; the face
discharges and the momentum, limiter and statistics arithmetic are float32 (8 lanes per AVX2
instruction instead of 4, half the memory traffic of the discharges). Volume is conserved to
float64 round-off all the same: a float32 discharge is exact in float64, so the continuity
update moves the same volume out of one cell and into the other, and the limiter keeps a
margin (``LIMITER_MARGIN``) against the float32 rounding of what a cell gives. The depth
differences across the faces are formed in float64 and rounded once, so that a flat water
surface has exactly no slope (see ``_momentum``). Depths, slopes and discharges carry ~1e-7
relative round-off per step, five orders of magnitude below the scheme's truncation error
(the validation tests bound the result against analytic and benchmark solutions). With the
advection term the momentum stays in float64 (``_momentum_adv``) and only the stored
discharges are float32.

References
----------
Bates, P. D., Horritt, M. S., Fewtrell, T. J. (2010). A simple inertial formulation of the
    shallow water equations for efficient two-dimensional flood inundation modelling.
    J. Hydrol. 387, 33-45. doi:10.1016/j.jhydrol.2010.03.027
de Almeida, G. A. M., Bates, P., Freer, J. E., Souvignet, M. (2012). Improving the stability of
    a simple formulation of the shallow water equations for 2-D flood modeling. Water Resour.
    Res. 48, W05528. doi:10.1029/2011WR011570
Stelling, G. S., Duinmeijer, S. P. A. (2003). A staggered conservative scheme for every
    Froude number in rapidly varied shallow water flows. Int. J. Numer. Meth. Fluids 43,
    1329-1354. doi:10.1002/fld.537 (the optional advection term)
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from metrotwin.models.flood.fastmath import (
    fast_cbrt,
    fmax32,
    fmax32_numbers,
    fmax64,
    inv_cbrt,
    pow_minus_seven_thirds32,
)
from metrotwin.models.flood.groups import (
    Boundaries,
    Faces,
    Losses,
    Sweep,
    no_inflows,
    no_losses,
)
from metrotwin.models.flood.losses import losses_row

#: unit discharges (m2/s) smaller than this are set to 0 (far below any physical effect, and
#: above the float32 subnormals, whose arithmetic is 100x slower)
Q_TINY = 1e-30

#: the dtype of the face discharges: single precision (see ``local_inertial_steps``)
DISCHARGE_DTYPE = np.float32

#: boundary condition codes (``Boundaries.kind``)
BC_CLOSED = 0
BC_FREE = 1
BC_STAGE = 2


@njit(cache=True, inline="always", error_model="numpy")
def _momentum_adv(q0, q_theta, q_orth, ha, hb, za, zb, fric_face, wet, dt, gdt_dx, h_min):
    """``_momentum`` for the advective scheme: the pressure term takes the mean of the two
    depths above the face's bed, g (h_a + h_b)/2 d(eta)/dx, which on a flat bed is the exact
    flux difference g (h_b^2 - h_a^2) / (2 dx), so that the scheme conserves momentum and
    its shocks move at the right speed (as in Stelling & Duinmeijer 2003); still zero for
    water at rest (d(eta)/dx = 0). The wet test and the friction keep max(eta) - max(z)."""
    eta_a = za + ha
    eta_b = zb + hb
    z_face = za if za > zb else zb
    h_face = (eta_a if eta_a > eta_b else eta_b) - z_face
    da = eta_a - z_face
    db = eta_b - z_face
    h_p = 0.5 * ((da if da > 0.0 else 0.0) + (db if db > 0.0 else 0.0))
    flows = wet & (h_face > h_min)
    hf = h_face if flows else 1.0
    r = inv_cbrt(hf)
    r2 = r * r
    r7 = r2 * r2 * r2 * r  # h^(-7/3)
    mag = np.sqrt(q0 * q0 + q_orth * q_orth)
    qn = (q_theta - gdt_dx * h_p * (eta_b - eta_a)) / (1.0 + dt * fric_face * mag * r7)
    return qn if flows & (abs(qn) > Q_TINY) else 0.0


def face_coefficients(z, fric, active):
    """The static per-face inputs of ``local_inertial_steps``, float32 (from float64 inputs),
    a ``Faces`` of:

    - ``rise_x`` (ny, nx + 1), ``drop_x``: max(z_b - z_a, 0) and min(z_b - z_a, 0) (m), the
      bed of the cell east of the face above and below that of the cell west of it;
    - ``rise_y`` (ny + 1, nx), ``drop_y``: the same with the cell south of the face (b) and
      the cell north of it (a);
    - ``friction_x``, ``friction_y``: the mean g n^2 of the two cells.

    A closed face (either cell inactive, and the domain-edge faces, which the boundary
    conditions handle) has rise +inf and drop -inf: no depth above the higher bed, so no
    flow, with no test of its own in the momentum loop.

    ``z`` bed elevation (m), ``fric`` g n^2 per cell, ``active`` uint8 per cell.
    """
    ny, nx = z.shape
    step_x = np.full((ny, nx + 1), np.nan)
    step_y = np.full((ny + 1, nx), np.nan)
    step_x[:, 1:-1] = np.where((active[:, 1:] > 0) & (active[:, :-1] > 0), z[:, 1:] - z[:, :-1],
                               np.nan)
    step_y[1:-1] = np.where((active[1:] > 0) & (active[:-1] > 0), z[1:] - z[:-1], np.nan)
    friction_x = np.zeros((ny, nx + 1), np.float32)
    friction_y = np.zeros((ny + 1, nx), np.float32)
    friction_x[:, 1:-1] = 0.5 * (fric[:, 1:] + fric[:, :-1])
    friction_y[1:-1] = 0.5 * (fric[1:] + fric[:-1])
    faces = []
    for step in (step_x, step_y):
        closed = np.isnan(step)
        faces += [np.where(closed, np.inf, np.maximum(step, 0.0)).astype(np.float32),
                  np.where(closed, -np.inf, np.minimum(step, 0.0)).astype(np.float32)]
    return Faces(*faces, friction_x, friction_y)


_ZERO32 = np.float32(0.0)
_ONE32 = np.float32(1.0)
_Q_TINY32 = np.float32(Q_TINY)


@njit(cache=True, inline="always", error_model="numpy")
def _momentum(q0, q_theta, q_orth, ha, hb, dh, rise, drop, friction, dt, gdt_dx, h_min):
    """New unit discharge (m2/s) of one face, float32 and branch-free: de Almeida et al.
    (2012) eq. 13 (Bates et al. 2010 eq. 11 with the theta-weighted explicit part) with the
    semi-implicit Manning friction g n^2 |q| q / h^(7/3); 0 where the face is closed or its
    flow depth max(eta) - max(z) is <= ``h_min``.

    Written with the depths ``ha``, ``hb`` of the two cells and the bed step dz = z_b - z_a
    split into its ``rise`` max(dz, 0) and ``drop`` min(dz, 0), instead of the water-surface
    elevations: max(eta) - max(z) = max(ha - rise, hb + drop) and eta_b - eta_a = (hb - ha)
    + dz. In single precision the elevations (tens of metres) would leave ~4e-6 m of
    resolution; the depths keep 6e-8 relative. A closed face has rise +inf, drop -inf: its
    flow depth is -inf (its slope NaN, never used).

    Well-balanced: ``dh`` is hb - ha formed in float64 and rounded once to float32, and
    rise + drop is dz rounded once (one of them is 0). Over a lake filled to a level L
    (h = L - z) hb - ha = -dz exactly in float64 wherever the bed lies within a factor 2 of
    L (Sterbenz: every difference is exact, as on any terrain well above its datum; to
    1e-16 relative elsewhere), and rounding is symmetric, so the slope dh + dz is exactly 0:
    a lake at rest stays at rest over any bed. Formed from the float32 depths, (hb32 -
    ha32) + dz32 carried the separate roundings of the three terms, 2^-24 (|dz| + h), and
    still water over an uneven bed moved."""
    depth_a = ha - rise
    depth_b = hb + drop
    h_face = depth_a if depth_a > depth_b else depth_b
    flows = h_face > h_min
    hf = h_face if flows else _ONE32
    mag = np.sqrt(q0 * q0 + q_orth * q_orth)
    # dt g n^2 h^(-7/3): dt folded into the series' coefficients (one product less)
    qn = (q_theta - gdt_dx * hf * (dh + (rise + drop))) / (
        _ONE32 + friction * mag * pow_minus_seven_thirds32(hf, dt))
    # water at rest: friction and theta-weighting shrink q geometrically, step after step;
    # below Q_TINY it is 0, before it reaches the subnormal floats (100x slower arithmetic)
    return qn if flows & (abs(qn) > _Q_TINY32) else _ZERO32


#: the numbers of one step that the momentum rows use: ``theta`` de Almeida's weighting,
#: ``w_side`` (1 - theta) / 2, ``dt`` the step (s), ``gdt_dx`` g dt / dx (m s-1), ``h_min``
#: the smallest flow depth (m); float64 (the float32 rows round them once)
StepCoefficients = namedtuple("StepCoefficients", "theta w_side dt gdt_dx h_min")

#: the arrays of the momentum of a row's x faces (``_x_faces_row``) and of the y faces above
#: it (``_y_faces_row``), gathered once per sweep: a kernel called for every row takes only
#: the arrays it uses, for each array of its arguments costs a reference count increment and
#: decrement per call (the sweep was 2.5x slower when the row kernels took whole groups)
XRows = namedtuple("XRows", "h h32 dh old q_at_xface q_at_yface rise drop friction")
YRows = namedtuple("YRows", "h h32 dh old old_up q_at_yface rise drop friction")

#: the sweep's scratch (see ``_sweep_scratch``): per step s of the sweep, at rows 2 s + (row
#: parity), ``old_qx`` the old x-face discharges and ``h32`` the old float32 depths of rows
#: i - 1 and i (the continuity of step s writes the new depths where step s + 1 reads them,
#: at 2 (s + 1) + parity); ``old_up`` the old y faces above row i at row s; ``dh`` the depth
#: differences of a row's faces (m); ``fac`` the limiter factor of cell j at fac[j + 1] (1
#: beyond); ``times32`` the statistics' step, end time and fill in float32; ``rain_at`` the
#: rain depths (m) of row r in step s at s * ny + r when gridded (else one row of zeros);
#: ``inflow_row``/``loss_row`` where each row's inflow entries / lossy cells start;
#: ``cols`` and ``water`` the columns and depths of a row's lossy cells
Scratch = namedtuple(
    "Scratch",
    "h32 old_qx old_up dh fac times32 rain_at inflow_row loss_row cols water",
)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _x_faces_row(rows, hr, i, step):
    """Momentum of the interior x faces of row ``i`` (float32), on the ``XRows`` ``rows``:
    ``h32[hr]`` the row's depths, ``h[i]`` the same in float64 (for the depth differences,
    rounded into the scratch row ``dh``), ``old[hr]`` its old x-face discharges,
    ``q_at_xface[i]`` where the new ones go; ``step`` the ``StepCoefficients``.
    A function of its own so that the loop vectorises (8 faces at a time with AVX2, 16 with
    AVX-512). The row kernels take whole arrays and row indices rather than row slices: a
    slice is a new array view, with its reference count incremented and decremented, and
    the sweep with ~40 of them per row and step was 6 % slower (1000 x 1000, Zen 4)."""
    h, h32, dh, old, q_at_xface, q_at_yface, rise, drop, friction = rows
    th, ws = np.float32(step.theta), np.float32(step.w_side)
    dt32, g32, hm = np.float32(step.dt), np.float32(step.gdt_dx), np.float32(step.h_min)
    quarter = np.float32(0.25)
    # a loop of its own: float64 arithmetic in the momentum loop halved its float32 lanes
    # (16 -> 8 with AVX-512). Measured on 1000 x 1000 (EPYC, AVX-512, CPU time): the sweep
    # ran 394 M cell-updates/s before the well-balanced slope, 344 with these two loops,
    # 330 with float64 inside the momentum loops or with a float64 ring of elevations
    for f in range(1, h32.shape[1]):
        dh[f] = np.float32(h[i, f] - h[i, f - 1])
    for f in range(1, h32.shape[1]):
        q0 = old[hr, f]
        q_theta = th * q0 + ws * (old[hr, f - 1] + old[hr, f + 1])
        q_orth = quarter * (q_at_yface[i, f - 1] + q_at_yface[i, f] + q_at_yface[i + 1, f - 1]
                            + q_at_yface[i + 1, f])
        q_at_xface[i, f] = _momentum(q0, q_theta, q_orth, h32[hr, f - 1], h32[hr, f], dh[f],
                                     rise[i, f], drop[i, f], friction[i, f], dt32, g32, hm)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _y_faces_row(rows, ha, hb, i, s, step):
    """Momentum of the y faces between rows i - 1 (a, north) and i (b), float32, on the
    ``YRows`` ``rows``: ``q_at_yface[i]`` updated, ``old_up[s]`` the old discharges of the
    faces above (replaced by the old ones of these), ``h32[ha]``/``h32[hb]`` the depths
    (``h[i - 1]``/``h[i]`` in float64; their differences rounded into the scratch row
    ``dh``) and ``old[ha]``/``old[hb]`` the old x faces of both rows."""
    h, h32, dh, old, old_up, q_at_yface, rise, drop, friction = rows
    th, ws = np.float32(step.theta), np.float32(step.w_side)
    dt32, g32, hm = np.float32(step.dt), np.float32(step.gdt_dx), np.float32(step.h_min)
    quarter = np.float32(0.25)
    for j in range(h32.shape[1]):
        dh[j] = np.float32(h[i, j] - h[i - 1, j])
    for j in range(h32.shape[1]):
        q0 = q_at_yface[i, j]
        q_theta = th * q0 + ws * (old_up[s, j] + q_at_yface[i + 1, j])
        q_orth = quarter * (old[ha, j] + old[ha, j + 1] + old[hb, j] + old[hb, j + 1])
        q_at_yface[i, j] = _momentum(q0, q_theta, q_orth, h32[ha, j], h32[hb, j], dh[j],
                                     rise[i, j], drop[i, j], friction[i, j], dt32, g32, hm)
        old_up[s, j] = q0


@njit(cache=True, error_model="numpy")
def _to_float32(h, i, out, o):
    """``out[o] = h[i]`` in float32."""
    for j in range(h.shape[1]):
        out[o, j] = np.float32(h[i, j])


@njit(cache=True, error_model="numpy")
def _copy(values, i, out, o):
    """``out[o] = values[i]`` as a loop: 6x faster than numba's slice assignment on a row."""
    for j in range(values.shape[1]):
        out[o, j] = values[i, j]


@njit(cache=True, error_model="numpy")
def _row_max(h):
    """max(0, max(h)) of a row of depths (>= 0: the continuity update clips; +inf shows)."""
    deepest = 0.0
    for j in range(h.size):
        deepest = fmax64(deepest, h[j])
    return deepest


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _x_faces_row_adv(cells, qy_north, qy_south, old, out, adv, step):
    """``_x_faces_row`` with the advective acceleration ``adv`` (m2 s-2, the row's x faces,
    from ``advection.advection_at_faces``) added explicitly to the momentum of every face,
    in float64 (``_momentum_adv``): ``cells`` the row's (h, z, fric, active), ``qy_north``
    and ``qy_south`` its y faces, ``old`` its old x faces, ``out`` where the new ones go."""
    h, z, fric, active = cells
    theta, w_side, dt, gdt_dx, h_min = step
    for f in range(1, h.size):
        q0 = old[f]
        q_theta = theta * q0 + w_side * (old[f - 1] + old[f + 1]) + dt * adv[f]
        q_orth = 0.25 * (qy_north[f - 1] + qy_north[f] + qy_south[f - 1] + qy_south[f])
        wet = (active[f - 1] & active[f]) != 0
        out[f] = _momentum_adv(q0, q_theta, q_orth, h[f - 1], h[f], z[f - 1], z[f],
                               0.5 * (fric[f - 1] + fric[f]), wet, dt, gdt_dx, h_min)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _y_faces_row_adv(cells_a, cells_b, old_up, q, q_down, qx_a, qx_b, adv, step):
    """``_y_faces_row`` with the advective acceleration ``adv`` (m2 s-2) of these faces, in
    float64: ``cells_a``/``cells_b`` the (h, z, fric, active) of the rows north and south of
    the faces, ``old_up`` the old faces above (replaced by the old ones of these), ``q``
    these faces (updated), ``q_down`` those below, ``qx_a``/``qx_b`` the old x faces of both
    rows."""
    h_a, z_a, fric_a, active_a = cells_a
    h_b, z_b, fric_b, active_b = cells_b
    theta, w_side, dt, gdt_dx, h_min = step
    for j in range(h_a.size):
        q0 = q[j]
        q_theta = theta * q0 + w_side * (old_up[j] + q_down[j]) + dt * adv[j]
        q_orth = 0.25 * (qx_a[j] + qx_a[j + 1] + qx_b[j] + qx_b[j + 1])
        wet = (active_a[j] & active_b[j]) != 0
        q[j] = _momentum_adv(q0, q_theta, q_orth, h_a[j], h_b[j], z_a[j], z_b[j],
                             0.5 * (fric_a[j] + fric_b[j]), wet, dt, gdt_dx, h_min)
        old_up[j] = q0


#: the outflow limiter lets a cell give at most this fraction of its depth: the float32
#: rounding of the outflows and of the depth (< 8 ulp, 5e-7 relative) can then never make the
#: double-precision continuity update negative (which, clipped to 0, would create water)
LIMITER_MARGIN = np.float32(1.0 - 2.0**-20)


@njit(cache=True, error_model="numpy")
def _limiter_row(h32, hr, q_at_xface, q_at_yface, r, fac, c, col0, col1):
    """Outflow limiter of row ``r``: scales the outgoing discharges of every cell that would
    give more than ``LIMITER_MARGIN`` times its depth ``h32[hr]`` (m) in the step (``c`` =
    dt / dx); returns how many cells of columns [col0, col1) it limited. ``fac`` (nx + 2) is
    float32 scratch, 1 at both ends. Each face is scaled by the factor of the cell its water
    leaves."""
    c32 = np.float32(c)
    nx = h32.shape[1]
    for j in range(nx):
        qw = q_at_xface[r, j]
        qe = q_at_xface[r, j + 1]
        qn_ = q_at_yface[r, j]
        qs = q_at_yface[r + 1, j]
        out = (((_ZERO32 - (qw if qw < _ZERO32 else _ZERO32)) + (qe if qe > _ZERO32 else _ZERO32))
               - (qn_ if qn_ < _ZERO32 else _ZERO32)) + (qs if qs > _ZERO32 else _ZERO32)
        give = out * c32
        avail = h32[hr, j] * LIMITER_MARGIN
        factor = avail / give if give > avail else _ONE32
        fac[j + 1] = factor
        # a select of the factor, never of the loaded value (that would become a masked
        # store, microcode on AMD Zen)
        q_at_yface[r, j] = qn_ * (factor if qn_ < _ZERO32 else _ONE32)
        q_at_yface[r + 1, j] = qs * (factor if qs > _ZERO32 else _ONE32)
    for f in range(nx + 1):
        q = q_at_xface[r, f]
        west = fac[f]
        east = fac[f + 1]
        q_at_xface[r, f] = q * (west if q > _ZERO32 else east)
    # over a slice: with the runtime bounds in the range, numba would give every index a
    # negative-index check, and the loop would not vectorise; and a count in the loop above
    # is slower (measured), a reduction there hinders it
    return _count_limited(fac[col0 + 1:col1 + 1])


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _count_limited(factors):
    """How many of the limiter's ``factors`` are below 1. Counted in float32 lanes, 8 per
    instruction (an integer count would widen to int64: 4); exact below 2^24 per row and in
    any order, hence the reassociation the vectoriser needs."""
    count = _ZERO32
    for j in range(factors.size):
        count += np.float32(factors[j] < _ONE32)
    return np.int64(count)


@njit(cache=True, error_model="numpy")
def _continuity_row(h, h32, hr, q_at_xface, q_at_yface, r, active, rain, rr, rain_uniform, c):
    """Bates et al. (2010) eq. 4 on row ``r``, in double precision (the float32 discharges
    are exact in it, so every face moves the same volume out of one cell and into the other),
    with the rain depths ``rain[rr]`` plus ``rain_uniform`` (m) on active cells (one of them
    0: adding it changes no bit); negative results (round-off only, thanks to the limiter)
    become 0. ``h32[hr]`` receives the new depths in float32."""
    for j in range(h.shape[1]):
        # float64 before any arithmetic: float32 - float32 would round in float32, and the
        # differences of neighbouring cells would no longer cancel (a volume error of 1e-10)
        west, east = np.float64(q_at_xface[r, j]), np.float64(q_at_xface[r, j + 1])
        north, south = np.float64(q_at_yface[r, j]), np.float64(q_at_yface[r + 1, j])
        hn = h[r, j] + c * ((west - east) + (north - south))
        rain_j = rain[rr, j] + rain_uniform
        hn = hn + (rain_j if active[r, j] != 0 else 0.0)
        hn = hn if hn > 0.0 else 0.0
        h[r, j] = hn
        h32[hr, j] = np.float32(hn)


@njit(cache=True, error_model="numpy")
def _statistics_row(h32, hr, q_at_xface, q_at_yface, r, statistics, dt, t_end,
                    duration_threshold, speed_min_depth, time_fill):
    """The in-solver ``statistics`` of row ``r`` (see ``local_inertial_steps``), float32,
    from its new depths ``h32[hr]``; ``dt``, ``t_end`` and ``time_fill`` (NaN) float32.

    Every update is an arithmetic expression under ``fmax32`` or an addition, never a select
    of the loaded value: the compiler would turn that into masked stores (microcode on AMD
    Zen with AVX2). ``time_fill`` is given at run time: were it a constant, LLVM would see
    that maxnum(old, NaN) is old, and store only where deeper (a masked store again). And
    the selects are of float32 values, not of float64 ones converted: LLVM would move the
    conversion after the select, three more instructions per 16 cells."""
    depth_max, time_of_max, duration_above, speed_max = statistics
    threshold, min_depth = np.float32(duration_threshold), np.float32(speed_min_depth)
    half = np.float32(0.5)
    for j in range(h32.shape[1]):
        hn = h32[hr, j]
        dm = depth_max[r, j]
        depth_max[r, j] = fmax32_numbers(dm, hn)  # never NaN, either
        # time only grows, and maxnum ignores a NaN: max(old, t_end) where deeper, max(old,
        # NaN) = old elsewhere (NaN too for a cell never wet); a select of two scalars only
        time_of_max[r, j] = fmax32(time_of_max[r, j], t_end if hn > dm else time_fill)
        duration_above[r, j] = duration_above[r, j] + (dt if hn > threshold else _ZERO32)
        ux = half * (q_at_xface[r, j] + q_at_xface[r, j + 1])
        uy = half * (q_at_yface[r, j] + q_at_yface[r + 1, j])
        fast = hn > min_depth
        inv_h = (_ONE32 if fast else _ZERO32) / (hn if fast else _ONE32)  # 0 where shallow
        speed_max[r, j] = fmax32_numbers(speed_max[r, j], np.sqrt(ux * ux + uy * uy) * inv_h)


@njit(cache=True, error_model="numpy")
def _sweep_scratch(shape, sweep, inflows, losses, time_fill):
    """The ``Scratch`` of a sweep on a grid of ``shape`` (see ``Scratch``)."""
    ny, nx = shape
    steps = sweep.dt.size
    old_qx = np.zeros((2 * steps, nx + 1), np.float32)
    h32 = np.empty((2 * steps + 2, nx), np.float32)
    old_up = np.empty((steps, nx), np.float32)
    dh = np.empty(nx + 1, np.float32)
    fac = np.ones(nx + 2, np.float32)
    # the statistics' step, time and fill in float32 (see ``_statistics_row``)
    times32 = np.empty((3, steps), np.float32)
    for s in range(steps):
        times32[0, s], times32[1, s], times32[2, s] = sweep.dt[s], sweep.t_end[s], time_fill
    # uniform rain is added to a row of zeros (one row in the cache, not one per step)
    rain_at = sweep.rain_grid.reshape(steps * ny, nx) if sweep.gridded else np.zeros((1, nx))
    # the inflow entries of row i are inflows.cells[inflow_row[i]:inflow_row[i + 1]], the
    # lossy cells likewise
    row_starts = np.arange(ny + 1) * nx
    inflow_row = np.searchsorted(inflows.cells, row_starts)
    loss_row = np.searchsorted(losses.cells, row_starts)
    cols = np.empty(nx, dtype=np.int64)
    water = np.empty(nx)
    return Scratch(h32, old_qx, old_up, dh, fac, times32, rain_at, inflow_row, loss_row, cols,
                   water)


@njit(cache=True, error_model="numpy")
def _north_faces(flow, ground, boundaries, params, old_up, s, dt):
    """The north boundary faces in step ``s`` (``dt`` s long); their old discharges go to
    ``old_up[s]``."""
    h, z, fric, active = flow.h, ground.z, ground.fric, ground.active
    for j in range(h.shape[1]):
        q0 = flow.q_at_yface[0, j]
        old_up[s, j] = q0
        flow.q_at_yface[0, j] = _boundary_flux(
            h[0, j], z[0, j], fric[0, j], active[0, j], q0, 0, boundaries.kind[0],
            boundaries.value[s, 0], dt, params.dx, params.g, params.h_min,
        )


@njit(cache=True, error_model="numpy")
def _south_faces(flow, ground, boundaries, params, s, dt):
    """The south boundary faces in step ``s`` (``dt`` s long)."""
    h, z, fric, active = flow.h, ground.z, ground.fric, ground.active
    ny, nx = h.shape
    i = ny - 1
    for j in range(nx):
        flow.q_at_yface[ny, j] = _boundary_flux(
            h[i, j], z[i, j], fric[i, j], active[i, j], flow.q_at_yface[ny, j], 1,
            boundaries.kind[1], boundaries.value[s, 1], dt, params.dx, params.g, params.h_min,
        )


@njit(cache=True, error_model="numpy")
def _row_losses(h, h32, hr, r, losses, k0, k1, cols, water, dt):
    """The losses of the lossy cells ``k0`` to ``k1`` (those of row ``r`` of ``h``) in a step
    of ``dt`` s (see ``losses.losses_row``; ``cols``, ``water`` scratch)."""
    nx = h.shape[1]
    for k in range(k0, k1):
        cols[k - k0] = losses.cells[k] - r * nx
    part = Losses(losses.cells[k0:k1], losses.ks[k0:k1], losses.suction[k0:k1],
                  losses.infiltrated[k0:k1], losses.drain_rate[k0:k1],
                  losses.store_capacity[k0:k1], losses.stored[k0:k1], losses.drained[k0:k1])
    losses_row(h, r, h32, hr, cols[:k1 - k0], part, water, dt)


@njit(cache=True, error_model="numpy")
def _y_edge_outflow(flow, boundaries, r, c):
    """What left the domain through the north (row ``r`` 0) or south (the last row) boundary
    faces in a step, as depths of the edge cells (``c`` = dt / dx), added to
    ``boundaries.outflow`` (the west and east faces: in the sweep)."""
    q_at_yface, out, kind = flow.q_at_yface, boundaries.outflow, boundaries.kind
    ny, nx = flow.h.shape
    if r == 0 and kind[0] != BC_CLOSED:
        for j in range(nx):
            out[0, j] -= q_at_yface[0, j] * c
    if r == ny - 1 and kind[1] != BC_CLOSED:
        for j in range(nx):
            out[ny - 1, j] += q_at_yface[ny, j] * c


@njit(cache=True, error_model="numpy")
def local_inertial_steps(flow, ground, faces, statistics, losses, inflows, boundaries, sweep,
                         params, owned, advection):
    """Advance ``flow`` by the ``sweep.dt.size`` consecutive steps of ``sweep`` in one pass
    through memory: the scheme, the order of the rows and the precision are in the module
    docstring. Returns (h_max, limited): the deepest owned cell after the last step (m) and
    the number of owned cells whose outflow was limited, summed over the steps.

    The arguments are the groups of ``groups.py`` (shapes and units there): ``flow`` and
    ``statistics`` are updated in place, ``losses`` (applied after the continuity update,
    before the statistics) and ``boundaries.outflow`` too; ``inflows`` are added at the
    start of each step. ``owned`` (4,) int64: first and end row, first and end column of the
    cells this tile owns (the rest is halo: a tile needs 2 cells per step of the sweep); only
    they count in ``h_max`` and ``limited``. ``advection``: an ``Advection`` for one step,
    or None for the plain local-inertial step (a compiled specialisation of its own: the
    branches on None are pruned).

    The groups are unpacked once here and every row kernel takes only the arrays it uses:
    each array argument of a call costs a reference count increment and decrement."""
    h, q_at_xface, q_at_yface = flow
    z, fric, active = ground
    bc_type, bc_value, boundary_out = boundaries
    dt, rain, dx, g, h_min = sweep.dt, sweep.rain, params.dx, params.g, params.h_min
    ny, nx = h.shape
    steps = dt.size
    if advection is not None and steps != 1:
        raise ValueError("the advection term is for one step per sweep")
    w_side = 0.5 * (1.0 - params.theta)
    row0, row1, col0, col1 = owned[0], owned[1], owned[2], owned[3]
    scratch = _sweep_scratch(h.shape, sweep, inflows, losses, params.time_fill)
    h32, old_qx, old_up, times32 = scratch.h32, scratch.old_qx, scratch.old_up, scratch.times32
    rain_at, inflow_row, loss_row = scratch.rain_at, scratch.inflow_row, scratch.loss_row
    fac, inflow_cells, inflow_depth = scratch.fac, inflows.cells, inflows.depth
    x_rows = XRows(h, h32, scratch.dh, old_qx, q_at_xface, q_at_yface, *faces[:2], faces[4])
    y_rows = YRows(h, h32, scratch.dh, old_qx, old_up, q_at_yface, *faces[2:4], faces[5])
    h_max = 0.0
    limited = 0
    for it in range(ny + 2 * steps):
        for s in range(steps):
            c = dt[s] / dx
            step = StepCoefficients(params.theta, w_side, dt[s], g * dt[s] / dx, h_min)
            # ---- A: inflows into row i, then the momentum of its faces ----------------------
            i = it - 2 * s
            if 0 <= i < ny:
                cur = 2 * s + (i & 1)  # row i in old_qx and h32
                prev = 2 * s + ((i + 1) & 1)  # row i - 1
                if s == 0:  # step s > 0: filled by the continuity of step s - 1
                    _to_float32(h, i, h32, cur)
                for e in range(inflow_row[i], inflow_row[i + 1]):
                    col = inflow_cells[e] - i * nx
                    h[i, col] += inflow_depth[s, e]
                    h32[cur, col] = np.float32(h[i, col])
                _copy(q_at_xface, i, old_qx, cur)
                if advection is None:
                    _x_faces_row(x_rows, cur, i, step)
                else:
                    _x_faces_row_adv((h[i], z[i], fric[i], active[i]), q_at_yface[i],
                                     q_at_yface[i + 1], old_qx[cur], q_at_xface[i],
                                     advection.adv_x[i], step)
                for f in (0, nx):
                    col = 0 if f == 0 else nx - 1
                    side = 2 if f == 0 else 3
                    q_at_xface[i, f] = _boundary_flux(
                        h[i, col], z[i, col], fric[i, col], active[i, col], old_qx[cur, f],
                        side, bc_type[side], bc_value[s, side], dt[s], dx, g, h_min,
                    )
                # y faces above row i (north face of row i)
                if i == 0:
                    _north_faces(flow, ground, boundaries, params, old_up, s, dt[s])
                elif advection is None:
                    _y_faces_row(y_rows, prev, cur, i, s, step)
                else:
                    _y_faces_row_adv((h[i - 1], z[i - 1], fric[i - 1], active[i - 1]),
                                     (h[i], z[i], fric[i], active[i]), old_up[s], q_at_yface[i],
                                     q_at_yface[i + 1], old_qx[prev], old_qx[cur],
                                     advection.adv_y[i], step)
                if i == ny - 1:  # the southern boundary faces
                    _south_faces(flow, ground, boundaries, params, s, dt[s])
            # ---- B: outflow limiter of row i - 1 --------------------------------------------
            r = i - 1
            if 0 <= r < ny:
                count = _limiter_row(h32, 2 * s + (r & 1), q_at_xface, q_at_yface, r, fac, c,
                                     col0, col1)
                if row0 <= r < row1:
                    limited += count
            # ---- C: continuity, rain, losses and statistics of row i - 2 --------------------
            r = i - 2
            if 0 <= r < ny:
                # the new float32 depths go where the momentum of the next step reads them
                new = 2 * (s + 1) + (r & 1)
                if sweep.gridded:
                    _continuity_row(h, h32, new, q_at_xface, q_at_yface, r, active, rain_at,
                                    s * ny + r, 0.0, c)
                else:
                    _continuity_row(h, h32, new, q_at_xface, q_at_yface, r, active, rain_at,
                                    0, rain[s], c)
                if loss_row[r + 1] > loss_row[r]:
                    _row_losses(h, h32, new, r, losses, loss_row[r], loss_row[r + 1],
                                scratch.cols, scratch.water, dt[s])
                # a loop of its own: fused into the continuity's, the sweep was 5 % slower
                _statistics_row(h32, new, q_at_xface, q_at_yface, r, statistics, times32[0, s],
                                times32[1, s], params.duration_threshold,
                                params.speed_min_depth, times32[2, s])
                if s == steps - 1 and row0 <= r < row1:
                    deepest = _row_max(h[r, col0:col1])
                    h_max = deepest if deepest > h_max else h_max
                # boundary faces of this row: what left the domain (depth of the edge cell)
                if bc_type[2] != BC_CLOSED:
                    boundary_out[r, 0] -= q_at_xface[r, 0] * c
                if bc_type[3] != BC_CLOSED:
                    boundary_out[r, nx - 1] += q_at_xface[r, nx] * c
                if r == 0 or r == ny - 1:
                    _y_edge_outflow(flow, boundaries, r, c)
    return h_max, limited


def local_inertial_step(flow, ground, statistics, params, *, dt, t_end, rain=0.0,
                        rain_grid=None, losses=None, bc_type=(0, 0, 0, 0),
                        bc_value=(0.0, 0.0, 0.0, 0.0), boundary_out=None, owned=None,
                        advection=None):
    """One step of ``local_inertial_steps``, without inflows, for tests and diagnostics:
    scalar ``dt`` (s), ``t_end`` (s) and uniform ``rain`` (m), or ``rain_grid`` (ny, nx, m);
    ``bc_type``/``bc_value`` of the four sides (4,); the faces from ``ground``; no losses,
    no boundary outflow kept and the whole grid owned unless given."""
    ny, nx = flow.h.shape
    sweep = Sweep(np.array([dt], dtype=float), np.array([t_end], dtype=float),
                  np.array([rain], dtype=float),
                  np.zeros((1, 1, 1)) if rain_grid is None else rain_grid[None],
                  rain_grid is not None)
    boundaries = Boundaries(np.asarray(bc_type, dtype=np.int64),
                            np.asarray(bc_value, dtype=float)[None],
                            np.zeros((ny, nx)) if boundary_out is None else boundary_out)
    return local_inertial_steps(
        flow, ground, face_coefficients(*ground), statistics,
        no_losses() if losses is None else losses, no_inflows(1), boundaries, sweep, params,
        np.array([0, ny, 0, nx]) if owned is None else np.asarray(owned), advection,
    )


@njit(cache=True, inline="always", error_model="numpy")
def _boundary_flux(h, z, fric, active, q0, side, kind, value, dt, dx, g, h_min):
    """Unit discharge (m2/s, positive east/south) across a domain-boundary face.

    Free outflow: a ghost cell whose water surface lies ``value`` * dx below (slope
    ``value``), same depth; the local-inertial update then relaxes to Manning's normal-depth
    discharge h^(5/3) S^(1/2) / n and never lets water in. Fixed stage: a ghost cell with the
    water surface ``value`` (m) over the same bed; water may flow in or out.
    """
    if kind == BC_CLOSED or active == 0:
        return 0.0
    outward = 1.0 if side == 1 or side == 3 else -1.0  # south and east faces point outwards
    q_out = outward * q0
    if kind == BC_FREE:
        if h <= h_min:
            return 0.0
        denom = 1.0 + dt * fric * abs(q_out) / (h * h * fast_cbrt(h))
        q_out = (q_out + g * h * dt * value) / denom
        if q_out < 0.0:
            q_out = 0.0
        return outward * q_out
    # fixed stage
    eta = z + h
    h_face = (eta if eta > value else value) - z
    if h_face <= h_min:
        return 0.0
    denom = 1.0 + dt * fric * abs(q_out) / (h_face * h_face * fast_cbrt(h_face))
    q_out = (q_out - g * h_face * dt * (value - eta) / dx) / denom
    return outward * q_out


@njit(cache=True, error_model="numpy")
def speed_at_cell(h, q_at_xface, q_at_yface, min_depth, out):
    """Speed of the water at cell centres (m/s): |mean of the face discharges| / h, zero where
    h <= ``min_depth`` (m). Written into ``out``. The arithmetic of ``_statistics_row`` (in
    float32, in the same order), so that the running maximum it keeps is never below a
    snapshot: the snapshot at a coupling time is exactly the last step's value there."""
    ny, nx = h.shape
    min32, half = np.float32(min_depth), np.float32(0.5)
    for i in range(ny):
        for j in range(nx):
            d = np.float32(h[i, j])
            ux = half * (q_at_xface[i, j] + q_at_xface[i, j + 1])
            uy = half * (q_at_yface[i, j] + q_at_yface[i + 1, j])
            fast = d > min32
            inv_h = (_ONE32 if fast else _ZERO32) / (d if fast else _ONE32)
            out[i, j] = np.sqrt(ux * ux + uy * uy) * inv_h
