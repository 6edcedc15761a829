"""Numerical kernels of the flood model: the local-inertial shallow-water step and the losses.

Only ``@njit(cache=True)`` functions on plain numpy arrays live here (no xarray, no MPI), so
that a decomposed run calls the same code on its tile.

Grid conventions (those of ``metrotwin.city.grid``): cells ``(row, col)``, row 0 at the north
edge. Unit discharges live on the faces: ``q_at_xface`` has shape ``(ny, nx + 1)`` and is
positive towards the east (face ``col`` is the west face of cell ``col``); ``q_at_yface`` has
shape ``(ny + 1, nx)`` and is positive towards the south (increasing row; face ``row`` is the
north face of cell ``row``). The outermost faces are the domain boundaries.

Boundary codes (``bc_type`` ordered north, south, west, east): 0 closed, 1 free outflow at
normal depth for the slope ``bc_value``, 2 fixed water-surface elevation ``bc_value``.

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
Green, W. H., Ampt, G. A. (1911). Studies on soil physics, 1. The flow of air and water
    through soils. J. Agric. Sci. 4, 1-24. doi:10.1017/S0021859600001441
"""

from __future__ import annotations

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

#: unit discharges (m2/s) smaller than this are set to 0 (far below any physical effect, and
#: above the float32 subnormals, whose arithmetic is 100x slower)
Q_TINY = 1e-30

#: the dtype of the face discharges: single precision (see ``local_inertial_steps``)
DISCHARGE_DTYPE = np.float32

#: boundary condition codes (bc_type)
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
    in this order:

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
    return (*faces, friction_x, friction_y)


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


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _x_faces_row(h, h32, hr, rise, drop, friction, q_at_yface, old, o, q_at_xface, i, dh,
                 theta, w_side, dt, gdt_dx, h_min):
    """Momentum of the interior x faces of row ``i`` (float32): ``h32[hr]`` the row's
    depths, ``h[i]`` the same in float64 (for the depth differences, rounded into the
    scratch row ``dh``), ``old[o]`` its old x-face discharges, ``q_at_xface[i]`` where the
    new ones go.
    A function of its own so that the loop vectorises (8 faces at a time with AVX2, 16 with
    AVX-512). The row kernels take whole arrays and row indices rather than row slices: a
    slice is a new array view, with its reference count incremented and decremented, and
    the sweep with ~40 of them per row and step was 6 % slower (1000 x 1000, Zen 4)."""
    th, ws = np.float32(theta), np.float32(w_side)
    dt32, g32, hm = np.float32(dt), np.float32(gdt_dx), np.float32(h_min)
    quarter = np.float32(0.25)
    # a loop of its own: float64 arithmetic in the momentum loop halved its float32 lanes
    # (16 -> 8 with AVX-512). Measured on 1000 x 1000 (EPYC, AVX-512, CPU time): the sweep
    # ran 394 M cell-updates/s before the well-balanced slope, 344 with these two loops,
    # 330 with float64 inside the momentum loops or with a float64 ring of elevations
    for f in range(1, h32.shape[1]):
        dh[f] = np.float32(h[i, f] - h[i, f - 1])
    for f in range(1, h32.shape[1]):
        q0 = old[o, f]
        q_theta = th * q0 + ws * (old[o, f - 1] + old[o, f + 1])
        q_orth = quarter * (q_at_yface[i, f - 1] + q_at_yface[i, f] + q_at_yface[i + 1, f - 1]
                            + q_at_yface[i + 1, f])
        q_at_xface[i, f] = _momentum(q0, q_theta, q_orth, h32[hr, f - 1], h32[hr, f], dh[f],
                                     rise[i, f], drop[i, f], friction[i, f], dt32, g32, hm)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _y_faces_row(h, h32, ha, hb, rise, drop, friction, old_up, s, q_at_yface, i, old, oa, ob,
                 dh, theta, w_side, dt, gdt_dx, h_min):
    """Momentum of the y faces between rows i - 1 (a, north) and i (b), float32:
    ``q_at_yface[i]`` updated, ``old_up[s]`` the old discharges of the faces above (replaced
    by the old ones of these), ``h32[ha]``/``h32[hb]`` the depths (``h[i - 1]``/``h[i]`` in
    float64; their differences rounded into the scratch row ``dh``) and
    ``old[oa]``/``old[ob]`` the old x faces of both rows."""
    th, ws = np.float32(theta), np.float32(w_side)
    dt32, g32, hm = np.float32(dt), np.float32(gdt_dx), np.float32(h_min)
    quarter = np.float32(0.25)
    for j in range(h32.shape[1]):
        dh[j] = np.float32(h[i, j] - h[i - 1, j])
    for j in range(h32.shape[1]):
        q0 = q_at_yface[i, j]
        q_theta = th * q0 + ws * (old_up[s, j] + q_at_yface[i + 1, j])
        q_orth = quarter * (old[oa, j] + old[oa, j + 1] + old[ob, j] + old[ob, j + 1])
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
def _x_faces_row_adv(h, z, fric, active, qy_north, qy_south, old, out, adv, theta, w_side, dt,
                     gdt_dx, h_min):
    """``_x_faces_row`` with the advective acceleration ``adv`` (m2 s-2, the row's x faces,
    from ``advection_at_faces``) added explicitly to the momentum of every face."""
    for f in range(1, h.size):
        q0 = old[f]
        q_theta = theta * q0 + w_side * (old[f - 1] + old[f + 1]) + dt * adv[f]
        q_orth = 0.25 * (qy_north[f - 1] + qy_north[f] + qy_south[f - 1] + qy_south[f])
        wet = (active[f - 1] & active[f]) != 0
        out[f] = _momentum_adv(q0, q_theta, q_orth, h[f - 1], h[f], z[f - 1], z[f],
                               0.5 * (fric[f - 1] + fric[f]), wet, dt, gdt_dx, h_min)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _y_faces_row_adv(h_a, h_b, z_a, z_b, fric_a, fric_b, active_a, active_b, old_up, q, q_down,
                     qx_a, qx_b, adv, theta, w_side, dt, gdt_dx, h_min):
    """``_y_faces_row`` with the advective acceleration ``adv`` (m2 s-2) of these faces."""
    for j in range(h_a.size):
        q0 = q[j]
        q_theta = theta * q0 + w_side * (old_up[j] + q_down[j]) + dt * adv[j]
        q_orth = 0.25 * (qx_a[j] + qx_a[j + 1] + qx_b[j] + qx_b[j + 1])
        wet = (active_a[j] & active_b[j]) != 0
        q[j] = _momentum_adv(q0, q_theta, q_orth, h_a[j], h_b[j], z_a[j], z_b[j],
                             0.5 * (fric_a[j] + fric_b[j]), wet, dt, gdt_dx, h_min)
        old_up[j] = q0


@njit(cache=True, error_model="numpy")
def _velocity_at_faces(h, z, q_at_xface, q_at_yface, u, v, h_min):
    """Face velocities (m/s) q / h_face, with the face flow depth of ``_momentum``
    (max(eta) - max(z)); a domain-edge face takes the depth of its cell; 0 where the face
    depth is <= ``h_min``."""
    ny, nx = h.shape
    for i in range(ny):
        for f in range(nx + 1):
            a = f - 1 if f > 0 else 0
            b = f if f < nx else nx - 1
            ea, eb = z[i, a] + h[i, a], z[i, b] + h[i, b]
            zf = z[i, a] if z[i, a] > z[i, b] else z[i, b]
            hf = (ea if ea > eb else eb) - zf
            u[i, f] = q_at_xface[i, f] / hf if hf > h_min else 0.0
    for r in range(ny + 1):
        a = r - 1 if r > 0 else 0
        b = r if r < ny else ny - 1
        for j in range(nx):
            ea, eb = z[a, j] + h[a, j], z[b, j] + h[b, j]
            zf = z[a, j] if z[a, j] > z[b, j] else z[b, j]
            hf = (ea if ea > eb else eb) - zf
            v[r, j] = q_at_yface[r, j] / hf if hf > h_min else 0.0


#: weight of the flow speed in the Courant condition with advection, dt <= alpha dx /
#: (sqrt(g h) + ADVECTION_SPEED_WEIGHT max(|u|, |v|)). Linearised, the advective flux q u
#: carries a face discharge at 2u, so its explicit upwind update alone needs 2 u dt/dx <= 1,
#: and coupled to the gravity waves a little more: a uniform flow at Froude 1.4 grew (jumps
#: of 0.7 mm between snapshots) under |u| + sqrt(g h) at alpha 0.6, and was steady to 1e-7 m
#: at Froude 0.6-1.6 for every alpha up to 0.7 with weight 1.5 (test_flood_model).
ADVECTION_SPEED_WEIGHT = 1.5


@njit(cache=True, error_model="numpy")
def advection_at_faces(h, z, q_at_xface, q_at_yface, u, v, adv_x, adv_y, owned, *, dx, g,
                       h_min):
    """Advective (convective) acceleration of the unit discharges, -(d(q u)/dx + d(q v)/dy)
    at the x faces and -(d(q_y u)/dx + d(q_y v)/dy) at the y faces (m2 s-2), first-order
    upwind and momentum-conservative (flux form) on the staggered grid (after Stelling &
    Duinmeijer 2003,
    IJNMF 43:1329, doi:10.1002/fld.537; the advection term the local-inertial scheme
    of Bates et al. 2010 drops, cf. de Almeida & Bates 2013, doi:10.1002/wrcr.20366).

    The control volume of an x face spans the two cells it joins. Through a cell centre the
    momentum flux is q u of the x face upwind of it (the direction: the sign of the mean
    discharge of the cell's two x faces); through a cell corner, the mean discharge of the
    two y faces meeting there times the velocity of the x face upwind (0 beyond the
    domain: water coming in brings no tangential momentum). Likewise for the y faces. The
    domain-edge faces get 0 (their boundary condition sets their discharge). Uses the old discharges and depths of
    the step (explicit): on a tile, the faces within 3 cells of its edge need the halo.
    Stelling & Duinmeijer's centre flux, the mean discharge times the upwind velocity, is
    half centred in the discharge: explicit, it is stable only for u dt/dx below ~0.2 (its
    amplification factor 1 - (1 - theta + a)(1 - cos k) - 2 i a sin k, a = u dt/dx, needs
    4 a^2 <= a + 1 - theta), which the Courant condition of the gravity waves does not
    ensure in supercritical flow (depths jumped by centimetres from step to step at Froude
    1.4); the upwind face's q u is upwind throughout.

    ``u``, ``v`` (shapes of the discharges) receive the face velocities (m/s, see
    ``_velocity_at_faces``; faces shallower than ``h_min`` (m) get 0, so thin films carry no
    advection). Returns the largest sqrt(g h) + ADVECTION_SPEED_WEIGHT max(|u|, |v|) (m/s) over
    the ``owned`` cells (as in ``local_inertial_steps``; h the cell's depth, |u| and |v| the
    largest of its x and of its y faces): the speed of the Courant condition with advection
    (see ``ADVECTION_SPEED_WEIGHT``).
    """
    ny, nx = h.shape
    _velocity_at_faces(h, z, q_at_xface, q_at_yface, u, v, h_min)
    qx, qy = q_at_xface, q_at_yface
    inv_dx = 1.0 / dx
    for i in range(ny):
        adv_x[i, 0] = 0.0
        adv_x[i, nx] = 0.0
        for f in range(1, nx):
            qb = 0.5 * (qx[i, f - 1] + qx[i, f])  # cell f - 1 (west of the face)
            m_w = qx[i, f - 1] * u[i, f - 1] if qb > 0.0 else qx[i, f] * u[i, f]
            qb = 0.5 * (qx[i, f] + qx[i, f + 1])  # cell f (east)
            m_e = qx[i, f] * u[i, f] if qb > 0.0 else qx[i, f + 1] * u[i, f + 1]
            vb = 0.5 * (qy[i, f - 1] + qy[i, f])  # north corner (positive south)
            up = u[i - 1, f] if i > 0 else 0.0
            m_n = vb * (up if vb > 0.0 else u[i, f])
            vb = 0.5 * (qy[i + 1, f - 1] + qy[i + 1, f])  # south corner
            down = u[i + 1, f] if i < ny - 1 else 0.0
            m_s = vb * (u[i, f] if vb > 0.0 else down)
            adv_x[i, f] = -((m_e - m_w) + (m_s - m_n)) * inv_dx
    for j in range(nx):
        adv_y[0, j] = 0.0
        adv_y[ny, j] = 0.0
    for r in range(1, ny):
        for j in range(nx):
            qb = 0.5 * (qy[r - 1, j] + qy[r, j])  # cell r - 1 (north of the face)
            m_n = qy[r - 1, j] * v[r - 1, j] if qb > 0.0 else qy[r, j] * v[r, j]
            qb = 0.5 * (qy[r, j] + qy[r + 1, j])  # cell r (south)
            m_s = qy[r, j] * v[r, j] if qb > 0.0 else qy[r + 1, j] * v[r + 1, j]
            ub = 0.5 * (qx[r - 1, j] + qx[r, j])  # west corner
            up = v[r, j - 1] if j > 0 else 0.0
            m_w = ub * (up if ub > 0.0 else v[r, j])
            ub = 0.5 * (qx[r - 1, j + 1] + qx[r, j + 1])  # east corner
            down = v[r, j + 1] if j < nx - 1 else 0.0
            m_e = ub * (v[r, j] if ub > 0.0 else down)
            adv_y[r, j] = -((m_s - m_n) + (m_e - m_w)) * inv_dx
    best = 0.0
    for i in range(owned[0], owned[1]):
        for j in range(owned[2], owned[3]):
            us = max(abs(u[i, j]), abs(u[i, j + 1]))
            vs = max(abs(v[i, j]), abs(v[i + 1, j]))
            speed = np.sqrt(g * h[i, j]) + ADVECTION_SPEED_WEIGHT * max(us, vs)
            best = speed if speed > best else best
    return best


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
def _statistics_row(h32, hr, q_at_xface, q_at_yface, r, depth_max, time_of_max,
                    duration_above, speed_max, dt, t_end, duration_threshold,
                    speed_min_depth, time_fill):
    """The in-solver statistics of row ``r`` (see ``local_inertial_steps``), float32, from
    its new depths ``h32[hr]``; ``dt``, ``t_end`` and ``time_fill`` (NaN) float32.

    Every update is an arithmetic expression under ``fmax32`` or an addition, never a select
    of the loaded value: the compiler would turn that into masked stores (microcode on AMD
    Zen with AVX2). ``time_fill`` is given at run time: were it a constant, LLVM would see
    that maxnum(old, NaN) is old, and store only where deeper (a masked store again). And
    the selects are of float32 values, not of float64 ones converted: LLVM would move the
    conversion after the select, three more instructions per 16 cells."""
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
def _losses_row(h, r, h32, hr, cols, ks, suction, infiltrated, drain_rate, store_capacity,
                stored, drained, water, dt):
    """``cell_losses`` on the lossy cells of row ``r``, branch-free so that it vectorises:
    ``cols`` their columns in ``h[r]`` (m, updated, and its float32 copy ``h32[hr]``), the
    other arrays the slices of the per-lossy-cell arrays for these cells (see
    ``cell_losses``; ``drained`` cumulative drainage depth (m), updated), ``water`` scratch of
    at least ``cols.size``."""
    n = cols.size
    for k in range(n):
        water[k] = h[r, cols[k]]
    for k in range(n):
        w = water[k]
        room = store_capacity[k] - stored[k]
        ret = (w if w < room else room) if room > 0.0 else 0.0
        stored[k] = stored[k] + ret
        w1 = w - ret
        f0 = infiltrated[k]
        soaks = (ks[k] > 0.0) & (w1 > 0.0)
        cap = green_ampt_capacity(f0, ks[k], suction[k], dt)
        inf = (w1 if w1 < cap else cap) if soaks else 0.0
        infiltrated[k] = f0 + inf if soaks else f0
        w2 = w1 - inf
        cap = drain_rate[k] * dt
        out = (w2 if w2 < cap else cap) if (drain_rate[k] > 0.0) & (w2 > 0.0) else 0.0
        drained[k] = drained[k] + out
        hn = w - (inf + out + ret)
        water[k] = hn if hn > 0.0 else 0.0
    for k in range(n):
        h[r, cols[k]] = water[k]
        h32[hr, cols[k]] = np.float32(water[k])


@njit(cache=True, error_model="numpy")
def local_inertial_steps(
    h,
    z,
    fric,
    active,
    rise_x,
    drop_x,
    rise_y,
    drop_y,
    friction_x,
    friction_y,
    q_at_xface,
    q_at_yface,
    depth_max,
    time_of_max,
    duration_above,
    speed_max,
    rain_grid,
    inflow_cells,
    inflow_depth,
    loss_cells,
    ks,
    suction,
    infiltrated,
    drain_rate,
    store_capacity,
    stored,
    drained,
    boundary_out,
    *,
    dt,
    dx,
    theta,
    g,
    h_min,
    rain,
    gridded_rain,
    t_end,
    duration_threshold,
    speed_min_depth,
    time_fill,
    bc_type,
    bc_value,
    owned,
    adv_x,
    adv_y,
):
    """Advance depths and face discharges by ``dt.size`` consecutive steps ``dt[s]`` (s) in
    one sweep through memory.

    The momentum update of every face is de Almeida et al. (2012) eq. 13 (theta-weighting of
    the explicit discharge) with the semi-implicit Manning friction of Bates et al. (2010)
    eq. 11. The flow depth of a face is max(eta) - max(z) (Bates et al. 2010, sec. 2.2). An
    outflow limiter then scales, cell by cell, the outgoing discharges of any cell that would
    give more water than it holds (so depths never go negative, e.g. thin films running off
    raised building blocks). The continuity update (Bates et al. 2010 eq. 4) adds rain, the
    losses of the lossy cells, and updates the in-solver statistics.

    The sweep runs row by row with a lag: in step s, the momentum of row i, the limiter of
    row i - 1 and the continuity of row i - 2, and step s + 1 two rows behind step s (the
    rows it needs are final by then). So every array is streamed through memory once per
    sweep, not once per step, while the rows in flight (a few hundred kB) stay in the cache:
    a wavefront form of temporal blocking. Every cell sees the same arithmetic in the same
    order as with one step per sweep, so the results are bit-identical whatever the number
    of steps per sweep. Within a row each stage is a branch-free loop (selects, no calls)
    that the compiler vectorises, and the few lossy cells of the row get a scalar loop of
    their own.

    Precision: depths, the continuity update and every volume account are float64; the face
    discharges and the momentum, limiter and statistics arithmetic are float32 (8 lanes per
    AVX2 instruction instead of 4, half the memory traffic of the discharges). Volume is
    conserved to float64 round-off all the same: a float32 discharge is exact in float64,
    so the continuity update moves the same volume out of one cell and into the other, and
    the limiter keeps a margin (``LIMITER_MARGIN``) against the float32 rounding of what a
    cell gives. The depth differences across the faces are formed in float64 and rounded
    once, so that a flat water surface has exactly no slope (see ``_momentum``). Depths,
    slopes and discharges carry ~1e-7 relative round-off per step, five orders of magnitude
    below the scheme's truncation error (the validation tests bound the
    result against analytic and benchmark solutions). With ``adv_x`` the momentum stays in
    float64 (``_momentum_adv``) and only the stored discharges are float32.

    Parameters
    ----------
    h : (ny, nx) water depth (m), updated in place.
    z : (ny, nx) bed elevation the water sees (m): ground, plus buildings when raised.
    fric : (ny, nx) g * n^2 with Manning's n of the cell (m^(1/3) s-2 s2 m-2/3 ...).
    active : (ny, nx) uint8, 0 for cells excluded from flow (no rain, closed faces).
    rise_x, drop_x, rise_y, drop_y, friction_x, friction_y : the static float32 face
        arrays of ``face_coefficients(z, fric, active)``.
    q_at_xface, q_at_yface : float32 unit discharges (m2/s), updated in place (see module
        doc).
    depth_max, time_of_max, duration_above, speed_max : (ny, nx) float32 statistics,
        updated in place: maximum depth (m), its time (s), time above
        ``duration_threshold`` (s), maximum speed (m/s, where h > ``speed_min_depth``).
        ``time_fill`` is NaN, the time of maximum of a cell never wet (see
        ``_statistics_row`` for why it is an argument).
    rain_grid : (steps, ny, nx) rain depth of each step (m) when ``gridded_rain``, else
        unused.
    inflow_cells : sorted flat indices (row * nx + col) that inflows feed (repeated where
        several do, in their order); ``inflow_depth`` (steps, n) the depth (m) each entry
        adds at the start of each step.
    loss_cells : sorted flat indices (row * nx + col) of the cells with losses; the loss
        arrays below are indexed like it.
    ks, suction, infiltrated, drain_rate, store_capacity, stored : per lossy cell, see
        ``cell_losses``; applied after the continuity update, before the statistics.
    drained : per lossy cell, cumulative depth taken by the drainage inlets (m), updated.
    boundary_out : (ny, nx) cumulative depth (m) that left each edge cell through the domain
        boundary (net, positive out), updated on the sides whose ``bc_type`` is not closed.
    dt : (steps,) the time steps (s). dx : cell size (m). theta : de Almeida's weighting
        (1 = Bates 2010). g : gravity (m s-2). h_min : faces shallower than this carry no
        flow (m).
    rain : (steps,) uniform rain depth of each step (m). t_end : (steps,) time at the end of
        each step (s).
    bc_type : (4,) boundary codes, ordered north, south, west, east (closed on the sides of
        a tile that face another tile); bc_value : (steps, 4) their slope (-) or stage (m)
        in each step.
    owned : (4,) int64 first and end row, first and end column of the cells this tile owns
        (the rest is halo): only they count in ``h_max`` and ``limited``. A tile needs 2
        cells of halo per step of the sweep.
    adv_x, adv_y : advective accelerations (m2 s-2) of the x and y faces (shapes of
        ``q_at_xface``/``q_at_yface``, from ``advection_at_faces``), added explicitly to the
        momentum; None for the plain local-inertial step (a compiled specialisation of its
        own: the branches on None are pruned, so the default path is unchanged). They hold
        for one step only: with them, ``dt`` must have one element.

    Returns
    -------
    (h_max, limited) : deepest owned cell after the last step (m); number of owned cells
    whose outflow was limited, summed over the steps.
    """
    ny, nx = h.shape
    steps = dt.size
    if adv_x is not None and steps != 1:
        raise ValueError("the advection term is for one step per sweep")
    w_side = 0.5 * (1.0 - theta)
    row0, row1, col0, col1 = owned[0], owned[1], owned[2], owned[3]
    # per step s of the sweep, at rows 2 s + (row parity): the old x-face discharges and
    # the old float32 depths of rows i - 1 and i (the continuity of step s writes the new
    # depths where step s + 1 reads them, at 2 (s + 1) + parity); the old y faces above
    # row i at row s
    old_qx = np.zeros((2 * steps, nx + 1), np.float32)
    h32_old = np.empty((2 * steps + 2, nx), np.float32)
    old_up = np.empty((steps, nx), np.float32)
    dh = np.empty(nx + 1, np.float32)  # the depth differences of a row's faces (m)
    fac = np.ones(nx + 2, np.float32)  # limiter factor of cell j at fac[j + 1]; 1 beyond
    # the statistics' step, time and fill in float32 (see ``_statistics_row``)
    times32 = np.empty((3, steps), np.float32)
    for s in range(steps):
        times32[0, s], times32[1, s], times32[2, s] = dt[s], t_end[s], time_fill
    # rain depths (m) of the cells of row r in step s at rain_at[s * ny + r] when gridded;
    # uniform rain is added to a row of zeros (one row in the cache, not one per step)
    rain_at = rain_grid.reshape(steps * ny, nx) if gridded_rain else np.zeros((1, nx))
    # the inflow entries of row i are inflow_cells[inflow_row[i]:inflow_row[i + 1]], the
    # lossy cells likewise
    row_starts = np.arange(ny + 1) * nx
    inflow_row = np.searchsorted(inflow_cells, row_starts)
    loss_row = np.searchsorted(loss_cells, row_starts)
    cols = np.empty(nx, dtype=np.int64)  # columns of the lossy cells of a row
    water = np.empty(nx)  # their depths (m)
    h_max = 0.0
    limited = 0
    for it in range(ny + 2 * steps):
        for s in range(steps):
            c = dt[s] / dx
            gdt_dx = g * dt[s] / dx
            # ---- A: inflows into row i, then the momentum of its faces ----------------------
            i = it - 2 * s
            if 0 <= i < ny:
                cur = 2 * s + (i & 1)  # row i in old_qx and h32_old
                prev = 2 * s + ((i + 1) & 1)  # row i - 1
                if s == 0:  # step s > 0: filled by the continuity of step s - 1
                    _to_float32(h, i, h32_old, cur)
                for e in range(inflow_row[i], inflow_row[i + 1]):
                    col = inflow_cells[e] - i * nx
                    h[i, col] += inflow_depth[s, e]
                    h32_old[cur, col] = np.float32(h[i, col])
                _copy(q_at_xface, i, old_qx, cur)
                if adv_x is None:
                    _x_faces_row(h, h32_old, cur, rise_x, drop_x, friction_x, q_at_yface, old_qx,
                                 cur, q_at_xface, i, dh, theta, w_side, dt[s], gdt_dx, h_min)
                else:
                    _x_faces_row_adv(h[i], z[i], fric[i], active[i], q_at_yface[i],
                                     q_at_yface[i + 1], old_qx[cur], q_at_xface[i], adv_x[i],
                                     theta, w_side, dt[s], gdt_dx, h_min)
                for f in (0, nx):
                    col = 0 if f == 0 else nx - 1
                    side = 2 if f == 0 else 3
                    q_at_xface[i, f] = _boundary_flux(
                        h[i, col], z[i, col], fric[i, col], active[i, col], old_qx[cur, f],
                        side, bc_type[side], bc_value[s, side], dt[s], dx, g, h_min,
                    )
                # y faces above row i (north face of row i)
                if i == 0:
                    for j in range(nx):
                        q0 = q_at_yface[0, j]
                        old_up[s, j] = q0
                        q_at_yface[0, j] = _boundary_flux(
                            h[0, j], z[0, j], fric[0, j], active[0, j], q0,
                            0, bc_type[0], bc_value[s, 0], dt[s], dx, g, h_min,
                        )
                elif adv_y is None:
                    _y_faces_row(h, h32_old, prev, cur, rise_y, drop_y, friction_y, old_up, s,
                                 q_at_yface, i, old_qx, prev, cur, dh, theta, w_side, dt[s],
                                 gdt_dx, h_min)
                else:
                    _y_faces_row_adv(h[i - 1], h[i], z[i - 1], z[i], fric[i - 1], fric[i],
                                     active[i - 1], active[i], old_up[s], q_at_yface[i],
                                     q_at_yface[i + 1], old_qx[prev], old_qx[cur], adv_y[i],
                                     theta, w_side, dt[s], gdt_dx, h_min)
                if i == ny - 1:  # the southern boundary faces
                    for j in range(nx):
                        q_at_yface[ny, j] = _boundary_flux(
                            h[i, j], z[i, j], fric[i, j], active[i, j], q_at_yface[ny, j],
                            1, bc_type[1], bc_value[s, 1], dt[s], dx, g, h_min,
                        )
            # ---- B: outflow limiter of row i - 1 --------------------------------------------
            r = i - 1
            if 0 <= r < ny:
                count = _limiter_row(h32_old, 2 * s + (r & 1), q_at_xface, q_at_yface, r, fac, c,
                                     col0, col1)
                if row0 <= r < row1:
                    limited += count
            # ---- C: continuity, rain, losses and statistics of row i - 2 --------------------
            r = i - 2
            if 0 <= r < ny:
                # the new float32 depths go where the momentum of the next step reads them
                new = 2 * (s + 1) + (r & 1)
                if gridded_rain:
                    _continuity_row(h, h32_old, new, q_at_xface, q_at_yface, r, active, rain_at,
                                    s * ny + r, 0.0, c)
                else:
                    _continuity_row(h, h32_old, new, q_at_xface, q_at_yface, r, active, rain_at,
                                    0, rain[s], c)
                k0, k1 = loss_row[r], loss_row[r + 1]
                if k1 > k0:
                    for k in range(k0, k1):
                        cols[k - k0] = loss_cells[k] - r * nx
                    _losses_row(h, r, h32_old, new, cols[:k1 - k0], ks[k0:k1], suction[k0:k1],
                                infiltrated[k0:k1], drain_rate[k0:k1], store_capacity[k0:k1],
                                stored[k0:k1], drained[k0:k1], water, dt[s])
                # a loop of its own: fused into the continuity's, the sweep was 5 % slower
                _statistics_row(h32_old, new, q_at_xface, q_at_yface, r, depth_max, time_of_max,
                                duration_above, speed_max, times32[0, s], times32[1, s],
                                duration_threshold, speed_min_depth, times32[2, s])
                if s == steps - 1 and row0 <= r < row1:
                    deepest = _row_max(h[r, col0:col1])
                    h_max = deepest if deepest > h_max else h_max
                # boundary faces of this row: what left the domain (depth of the edge cell)
                if bc_type[2] != BC_CLOSED:
                    boundary_out[r, 0] -= q_at_xface[r, 0] * c
                if bc_type[3] != BC_CLOSED:
                    boundary_out[r, nx - 1] += q_at_xface[r, nx] * c
                if r == 0 and bc_type[0] != BC_CLOSED:
                    for j in range(nx):
                        boundary_out[0, j] -= q_at_yface[0, j] * c
                if r == ny - 1 and bc_type[1] != BC_CLOSED:
                    for j in range(nx):
                        boundary_out[ny - 1, j] += q_at_yface[ny, j] * c
    return h_max, limited


def local_inertial_step(*arrays, dt, rain, t_end, bc_value, time_fill=np.nan, **options):
    """One step of ``local_inertial_steps``, without inflows, for tests and diagnostics: the
    same positional arrays but the inflow pair, ``rain_grid`` (ny, nx) if gridded, and scalar
    ``dt``, ``rain``, ``t_end`` with a (4,) ``bc_value``."""
    *fields, rain_grid, loss_cells, ks, suction, infiltrated, drain, store, stored, drained, \
        boundary_out = arrays
    return local_inertial_steps(
        *fields, rain_grid[None], np.zeros(0, np.int64), np.zeros((1, 0)), loss_cells, ks,
        suction, infiltrated, drain, store, stored, drained, boundary_out, dt=np.array([dt]),
        rain=np.array([rain], dtype=float), t_end=np.array([t_end], dtype=float),
        bc_value=np.asarray(bc_value, dtype=float)[None], time_fill=time_fill, **options,
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


@njit(cache=True, inline="always", error_model="numpy")
def green_ampt_capacity(f0, ks, suction, dt):
    """Depth (m) the soil can take in a step ``dt`` (s) from the cumulative infiltration
    ``f0`` (m): the Green & Ampt (1911) infiltrability f = Ks (1 + S / F), S = psi dtheta
    (``suction``, m), Ks (``ks``, m/s), integrated over the step, F1 - f0, with F1 the
    ponded solution of F - S ln(1 + F / S) = Ks t advanced by dt from f0 (the
    infiltrability depends on F only: the time-compression form of Mein & Larson 1973, so
    the rain-fed case follows their ponding-time solution).

    Explicit, with no logarithm (so that the loss loop vectorises): with x = F / S the
    equation is dx/dtau = (1 + x) / x, tau = Ks t / S, i.e. d(x^2)/dtau = 2 (1 + x); over
    the step x1^2 = x0^2 + 2 tau (1 + x0/3 + 2 x1/3), a quadratic in x1. The weights 1/3,
    2/3 make the first step from a dry soil exact to second order (x1 = sqrt(2 tau) +
    2 tau / 3 + ..., F1 ~ sqrt(2 Ks S dt)); the cumulative infiltration is within 0.01 %
    of the exact solution for tau = Ks dt / S <= 1e-5 per step, 0.08 % at 1e-3, 0.3 % at
    1e-2 and 1 % at 0.1 (loam, Ks 3.4 mm/h and S 19 mm, has tau 5e-5 per second of step;
    tests/models/flood/test_flood_kernels.py). An infinite capacity at F = 0 (the former
    explicit rate Ks (1 + S / F0) dt) soaked any ponded water up in one step."""
    b = (2.0 / 3.0) * ks * dt
    f1 = b + np.sqrt(b * b + f0 * f0 + 2.0 * ks * dt * (suction + f0 * (1.0 / 3.0)))
    return f1 - f0


@njit(cache=True, inline="always", error_model="numpy")
def cell_losses(water, k, ks, suction, infiltrated, drain_rate, store_capacity, stored, dt):
    """Depths (m) removed from ``water`` (m) in lossy cell ``k`` during a step ``dt`` (s).

    Order: green-roof retention fills first (its substrate takes the water before anything
    runs off), then Green-Ampt infiltration, then the drainage inlets. The infiltration
    capacity over the step is Green & Ampt (1911) integrated over the step from the
    cumulative depth F (m) of its start (``green_ampt_capacity``). The depths are removed
    exactly: the sum of what is returned never exceeds ``water``.

    Arrays (per lossy cell): ks saturated conductivity (m/s); suction psi * dtheta (m);
    infiltrated F (m, updated); drain_rate inlet capacity (m/s); store_capacity green-roof
    retention (m); stored retention filled (m, updated).

    Returns (infiltration, drainage, retention) depths (m).
    """
    ret = 0.0
    inf = 0.0
    drained = 0.0
    room = store_capacity[k] - stored[k]
    if room > 0.0:
        ret = water if water < room else room
        stored[k] += ret
        water -= ret
    if ks[k] > 0.0 and water > 0.0:
        f0 = infiltrated[k]
        cap = green_ampt_capacity(f0, ks[k], suction[k], dt)
        inf = water if water < cap else cap
        infiltrated[k] = f0 + inf
        water -= inf
    if drain_rate[k] > 0.0 and water > 0.0:
        cap = drain_rate[k] * dt
        drained = water if water < cap else cap
    return inf, drained, ret


@njit(cache=True, error_model="numpy")
def apply_losses(h, cells, ks, suction, infiltrated, drain_rate, store_capacity, stored, *, dt):
    """``cell_losses`` on the listed flat cell indices of ``h`` (m), in place; returns the
    summed (infiltration, drainage, retention) depths (m). For tests and diagnostics: the
    time step applies the same losses inside its sweep."""
    flat = h.ravel()
    total = np.zeros(3)
    for k in range(cells.size):
        water = flat[cells[k]]
        if water > 0.0:
            a, b, c = cell_losses(water, k, ks, suction, infiltrated, drain_rate,
                                  store_capacity, stored, dt)
            flat[cells[k]] = max(water - a - b - c, 0.0)
            total[0] += a
            total[1] += b
            total[2] += c
    return total[0], total[1], total[2]


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
