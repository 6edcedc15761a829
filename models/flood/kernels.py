"""Numerical kernels of the flood model: the local-inertial shallow-water step and the losses.

Only ``@njit(cache=True)`` functions on plain numpy arrays live here (no xarray, no MPI), so
that a decomposed run calls the same code on its tile.

Grid conventions (those of ``metrotwin.grid``): cells ``(row, col)``, row 0 at the north
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
from llvmlite import ir  # numba's own code generator: used for two bit casts below
from numba import njit, types
from numba.extending import intrinsic

#: unit discharges (m2/s) smaller than this are set to 0 (far below any physical effect)
Q_TINY = 1e-100

#: boundary condition codes (bc_type)
BC_CLOSED = 0
BC_FREE = 1
BC_STAGE = 2


@intrinsic
def _bits_of(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a free bit cast)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, x):
    """The float64 whose IEEE-754 bits are the int64 ``x``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, inline="always", error_model="numpy")
def fast_cbrt(x):
    """Cube root of a positive float64 (relative error < 1e-14), ~4x faster than libm's.

    Exponent/3 bit trick for the first guess (Kahan's magic constant for doubles), then two
    Halley iterations, each tripling the number of correct digits.
    """
    y = _float_of(_bits_of(x) // 3 + 0x2A9F7893782DA1CE)
    y3 = y * y * y
    y = y * (y3 + 2.0 * x) / (2.0 * y3 + x)
    y3 = y * y * y
    return y * (y3 + 2.0 * x) / (2.0 * y3 + x)


@njit(cache=True, inline="always", error_model="numpy")
def inv_cbrt(x):
    """x^(-1/3) of a positive float64 (relative error < 1e-15), with no division, branch or
    library call, so that loops calling it vectorise (AVX2 included).

    First guess from the high word of the IEEE-754 bits, ``K - hi/3`` (the exponent/3 trick,
    max error 3.4 % with K = 1430188000, chosen by a scan); then three third-order
    (Householder) steps r <- r (1 + d/3 + 2 d^2/9), d = 1 - x r^3, each cubing the error
    (3e-2 -> 2e-4 -> 2e-11 -> round-off). The integer/float conversions go through int32
    because AVX2 has no vector int64 <-> float64 conversion.
    """
    hi = np.int32(_bits_of(x) >> 32)
    y_hi = np.int32(1430188000.0 - np.float64(hi) * (1.0 / 3.0))
    r = _float_of(np.int64(y_hi) << 32)
    d = 1.0 - x * (r * r * r)  # unrolled by hand: an inner loop stops the vectoriser
    r = r + r * d * ((1.0 / 3.0) + d * (2.0 / 9.0))
    d = 1.0 - x * (r * r * r)
    r = r + r * d * ((1.0 / 3.0) + d * (2.0 / 9.0))
    d = 1.0 - x * (r * r * r)
    return r + r * d * ((1.0 / 3.0) + d * (2.0 / 9.0))


@njit(cache=True, inline="always", error_model="numpy")
def _momentum(q0, q_theta, q_orth, ha, hb, za, zb, fric_face, wet, dt, gdt_dx, h_min):
    """New unit discharge (m2/s) of one face, branch-free: de Almeida et al. (2012) eq. 13
    (Bates et al. 2010 eq. 11 with the theta-weighted explicit part) with the semi-implicit
    Manning friction g n^2 |q| q / h^(7/3); 0 where the face is closed (``wet`` false) or
    its flow depth max(eta) - max(z) is <= ``h_min``. ``gdt_dx`` is g dt / dx."""
    eta_a = za + ha
    eta_b = zb + hb
    z_face = za if za > zb else zb
    h_face = (eta_a if eta_a > eta_b else eta_b) - z_face
    flows = wet & (h_face > h_min)
    hf = h_face if flows else 1.0
    r = inv_cbrt(hf)
    r2 = r * r
    r7 = r2 * r2 * r2 * r  # h^(-7/3)
    mag = np.sqrt(q0 * q0 + q_orth * q_orth)
    qn = (q_theta - gdt_dx * hf * (eta_b - eta_a)) / (1.0 + dt * fric_face * mag * r7)
    # water at rest: friction and theta-weighting shrink q geometrically, step after step;
    # below Q_TINY it is 0, before it reaches the subnormal floats (100x slower arithmetic)
    return qn if flows & (abs(qn) > Q_TINY) else 0.0


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


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _x_faces_row(h, z, fric, active, qy_north, qy_south, old, out, theta, w_side, dt, gdt_dx,
                 h_min):
    """Momentum of the interior x faces of one row (1-D row arrays; ``old`` the row's old
    x-face discharges, ``out`` where the new ones go). A function of its own on 1-D arrays
    so that the loop vectorises."""
    for f in range(1, h.size):
        q0 = old[f]
        q_theta = theta * q0 + w_side * (old[f - 1] + old[f + 1])
        q_orth = 0.25 * (qy_north[f - 1] + qy_north[f] + qy_south[f - 1] + qy_south[f])
        wet = (active[f - 1] & active[f]) != 0
        out[f] = _momentum(q0, q_theta, q_orth, h[f - 1], h[f], z[f - 1], z[f],
                           0.5 * (fric[f - 1] + fric[f]), wet, dt, gdt_dx, h_min)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _y_faces_row(h_a, h_b, z_a, z_b, fric_a, fric_b, active_a, active_b, old_up, q, q_down,
                 qx_a, qx_b, theta, w_side, dt, gdt_dx, h_min):
    """Momentum of the y faces between rows a (north) and b: ``q`` (updated) the faces,
    ``old_up`` the old discharges of the faces above (replaced by the old ``q``),
    ``q_down`` those below, ``qx_a``/``qx_b`` the old x faces of both rows."""
    for j in range(h_a.size):
        q0 = q[j]
        q_theta = theta * q0 + w_side * (old_up[j] + q_down[j])
        q_orth = 0.25 * (qx_a[j] + qx_a[j + 1] + qx_b[j] + qx_b[j + 1])
        wet = (active_a[j] & active_b[j]) != 0
        q[j] = _momentum(q0, q_theta, q_orth, h_a[j], h_b[j], z_a[j], z_b[j],
                         0.5 * (fric_a[j] + fric_b[j]), wet, dt, gdt_dx, h_min)
        old_up[j] = q0


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


@njit(cache=True, error_model="numpy")
def advection_at_faces(h, z, q_at_xface, q_at_yface, u, v, adv_x, adv_y, owned, *, dx, g,
                       h_min):
    """Advective (convective) acceleration of the unit discharges, -(d(q u)/dx + d(q v)/dy)
    at the x faces and -(d(q_y u)/dx + d(q_y v)/dy) at the y faces (m2 s-2), first-order
    upwind and momentum-conservative on the staggered grid (Stelling & Duinmeijer 2003,
    IJNMF 43:1329, doi:10.1002/fld.537; the advection term the local-inertial scheme
    of Bates et al. 2010 drops, cf. de Almeida & Bates 2013, doi:10.1002/wrcr.20366).

    The control volume of an x face spans the two cells it joins. Through a cell centre the
    momentum flux is the mean discharge of the cell's two x faces times the velocity of the
    face upwind of it; through a cell corner, the mean discharge of the two y faces meeting
    there times the velocity of the x face upwind (0 beyond the domain: water coming in
    brings no tangential momentum). Likewise for the y faces. The domain-edge faces get 0
    (their boundary condition sets their discharge). Uses the old discharges and depths of
    the step (explicit): on a tile, the faces within 3 cells of its edge need the halo.

    ``u``, ``v`` (shapes of the discharges) receive the face velocities (m/s, see
    ``_velocity_at_faces``; faces shallower than ``h_min`` (m) get 0, so thin films carry no
    advection). Returns the largest |u| + sqrt(g h) (m/s) over the faces of the ``owned``
    cells (as in ``local_inertial_step``; h the cell's depth): the speed of the Courant
    condition with advection.
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
            m_w = qb * (u[i, f - 1] if qb > 0.0 else u[i, f])
            qb = 0.5 * (qx[i, f] + qx[i, f + 1])  # cell f (east)
            m_e = qb * (u[i, f] if qb > 0.0 else u[i, f + 1])
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
            m_n = qb * (v[r - 1, j] if qb > 0.0 else v[r, j])
            qb = 0.5 * (qy[r, j] + qy[r + 1, j])  # cell r (south)
            m_s = qb * (v[r, j] if qb > 0.0 else v[r + 1, j])
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
            c = np.sqrt(g * h[i, j])
            for s in (abs(u[i, j]), abs(u[i, j + 1]), abs(v[i, j]), abs(v[i + 1, j])):
                best = s + c if s + c > best else best
    return best


@njit(cache=True, error_model="numpy")
def _limiter_row(h, qx, qy_north, qy_south, fac, c, col0, col1):
    """Outflow limiter of one row: scales the outgoing discharges of every cell that would
    give more than its depth ``h`` (m) in the step (``c`` = dt / dx); returns how many cells
    of columns [col0, col1) it limited. ``fac`` (nx + 2) is scratch, 1 at both ends."""
    count = 0
    for j in range(h.size):
        qw = qx[j]
        qe = qx[j + 1]
        qn_ = qy_north[j]
        qs = qy_south[j]
        out = (((0.0 - (qw if qw < 0.0 else 0.0)) + (qe if qe > 0.0 else 0.0))
               - (qn_ if qn_ < 0.0 else 0.0)) + (qs if qs > 0.0 else 0.0)
        give = out * c
        avail = h[j]
        over = give > avail
        fac[j + 1] = avail / give if over else 1.0
        count += 1 if over & (j >= col0) & (j < col1) else 0
    # each face is scaled by the factor of the cell its water leaves
    for f in range(h.size + 1):
        q = qx[f]
        qx[f] = q * (fac[f] if q > 0.0 else fac[f + 1])
    for j in range(h.size):
        q = qy_north[j]
        qy_north[j] = q * fac[j + 1] if q < 0.0 else q
        q = qy_south[j]
        qy_south[j] = q * fac[j + 1] if q > 0.0 else q
    return count


@njit(cache=True, error_model="numpy")
def _continuity_row(h, qx, qy_north, qy_south, active, rain, c):
    """Bates et al. (2010) eq. 4 on one row, with the rain depths ``rain`` (m) of active
    cells; negative results (round-off only, thanks to the limiter) become 0."""
    for j in range(h.size):
        hn = h[j] + c * ((qx[j] - qx[j + 1]) + (qy_north[j] - qy_south[j]))
        hn = hn + (rain[j] if active[j] != 0 else 0.0)
        h[j] = hn if hn > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _statistics_row(h, qx, qy_north, qy_south, depth_max, time_of_max, duration_above,
                    speed_max, dt, t_end, duration_threshold, speed_min_depth):
    """The in-solver statistics of one row (see ``local_inertial_step``)."""
    t32 = np.float32(t_end)
    for j in range(h.size):
        hn = h[j]
        dm = depth_max[j]
        deeper = hn > dm
        depth_max[j] = np.float32(hn) if deeper else dm
        time_of_max[j] = t32 if deeper else time_of_max[j]
        duration_above[j] = duration_above[j] + (dt if hn > duration_threshold else 0.0)
        ux = 0.5 * (qx[j] + qx[j + 1])
        uy = 0.5 * (qy_north[j] + qy_south[j])
        fast = hn > speed_min_depth
        speed = np.sqrt(ux * ux + uy * uy) / (hn if fast else 1.0)
        sm = speed_max[j]
        speed_max[j] = np.float32(speed) if fast & (speed > sm) else sm


@njit(cache=True, error_model="numpy")
def _losses_row(h, cols, ks, suction, infiltrated, drain_rate, store_capacity, stored, drained,
                water, dt):
    """``cell_losses`` on the lossy cells of one row, branch-free so that it vectorises:
    ``cols`` their columns in the row ``h`` (m, updated), the other arrays the slices of the
    per-lossy-cell arrays for these cells (see ``cell_losses``; ``drained`` cumulative
    drainage depth (m), updated), ``water`` scratch of at least ``cols.size``."""
    n = cols.size
    for k in range(n):
        water[k] = h[cols[k]]
    for k in range(n):
        w = water[k]
        room = store_capacity[k] - stored[k]
        ret = (w if w < room else room) if room > 0.0 else 0.0
        stored[k] = stored[k] + ret
        w1 = w - ret
        f0 = infiltrated[k]
        soaks = (ks[k] > 0.0) & (w1 > 0.0)
        cap = ks[k] * dt * (1.0 + suction[k] / (f0 if f0 > 0.0 else 1.0))
        inf = ((w1 if w1 < cap else cap) if f0 > 0.0 else w1) if soaks else 0.0
        infiltrated[k] = f0 + inf if soaks else f0
        w2 = w1 - inf
        cap = drain_rate[k] * dt
        out = (w2 if w2 < cap else cap) if (drain_rate[k] > 0.0) & (w2 > 0.0) else 0.0
        drained[k] = drained[k] + out
        hn = w - (inf + out + ret)
        water[k] = hn if hn > 0.0 else 0.0
    for k in range(n):
        h[cols[k]] = water[k]


@njit(cache=True, error_model="numpy")
def local_inertial_step(
    h,
    z,
    fric,
    active,
    q_at_xface,
    q_at_yface,
    depth_max,
    time_of_max,
    duration_above,
    speed_max,
    rain_grid,
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
    bc_type,
    bc_value,
    owned,
    adv_x,
    adv_y,
):
    """Advance depths and face discharges by one step ``dt`` (s).

    The momentum update of every face is de Almeida et al. (2012) eq. 13 (theta-weighting of
    the explicit discharge) with the semi-implicit Manning friction of Bates et al. (2010)
    eq. 11. The flow depth of a face is max(eta) - max(z) (Bates et al. 2010, sec. 2.2). An
    outflow limiter then scales, cell by cell, the outgoing discharges of any cell that would
    give more water than it holds (so depths never go negative, e.g. thin films running off
    raised building blocks). The continuity update (Bates et al. 2010 eq. 4) adds rain, the
    losses of the lossy cells, and updates the in-solver statistics.

    The sweep runs row by row with a lag (momentum of row i, limiter of row i-1, continuity of
    row i-2) so that every array is streamed through memory once per step; within a row each
    stage is a branch-free loop (selects, no calls) that the compiler vectorises, and the
    few lossy cells of the row get a scalar loop of their own.

    Parameters
    ----------
    h : (ny, nx) water depth (m), updated in place.
    z : (ny, nx) bed elevation the water sees (m): ground, plus buildings when raised.
    fric : (ny, nx) g * n^2 with Manning's n of the cell (m^(1/3) s-2 s2 m-2/3 ...).
    active : (ny, nx) uint8, 0 for cells excluded from flow (no rain, closed faces).
    q_at_xface, q_at_yface : unit discharges (m2/s), updated in place (see module doc).
    depth_max, time_of_max, duration_above, speed_max : (ny, nx) float32 statistics,
        updated in place: maximum depth (m), its time (s), time above
        ``duration_threshold`` (s), maximum speed (m/s, where h > ``speed_min_depth``).
    rain_grid : (ny, nx) rain depth of this step (m) when ``gridded_rain``, else unused.
    loss_cells : sorted flat indices (row * nx + col) of the cells with losses; the loss
        arrays below are indexed like it.
    ks, suction, infiltrated, drain_rate, store_capacity, stored : per lossy cell, see
        ``cell_losses``; applied after the continuity update, before the statistics.
    drained : per lossy cell, cumulative depth taken by the drainage inlets (m), updated.
    boundary_out : (ny, nx) cumulative depth (m) that left each edge cell through the domain
        boundary (net, positive out), updated on the sides whose ``bc_type`` is not closed.
    dt : time step (s). dx : cell size (m). theta : de Almeida's weighting (1 = Bates 2010).
    g : gravity (m s-2). h_min : faces shallower than this carry no flow (m).
    rain : uniform rain depth of this step (m). t_end : time at the end of the step (s).
    bc_type, bc_value : (4,) boundary codes and their slope (-) or stage (m), ordered
        north, south, west, east (closed on the sides of a tile that face another tile).
    owned : (4,) int64 first and end row, first and end column of the cells this tile owns
        (the rest is halo): only they count in ``h_max`` and ``limited``.
    adv_x, adv_y : advective accelerations (m2 s-2) of the x and y faces (shapes of
        ``q_at_xface``/``q_at_yface``, from ``advection_at_faces``), added explicitly to the
        momentum; None for the plain local-inertial step (a compiled specialisation of its
        own: the branches on None are pruned, so the default path is unchanged).

    Returns
    -------
    (h_max, limited) : deepest owned cell after the step (m); number of owned cells whose
    outflow was limited.
    """
    ny, nx = h.shape
    c = dt / dx
    w_side = 0.5 * (1.0 - theta)
    row0, row1, col0, col1 = owned[0], owned[1], owned[2], owned[3]
    old_prev_row = np.empty(nx)  # old q_at_yface of the row above the one being updated
    old_qx_prev = np.zeros(nx + 1)  # old q_at_xface of row i - 1
    old_qx_cur = np.empty(nx + 1)  # old q_at_xface of row i
    fac = np.ones(nx + 2)  # limiter factor of cell j at fac[j + 1]; 1 beyond the edges
    rain_row = np.full(nx, rain)
    cols = np.empty(nx, dtype=np.int64)  # columns of the lossy cells of a row
    water = np.empty(nx)  # their depths (m)
    for j in range(nx):
        old_prev_row[j] = q_at_yface[0, j]
    h_max = 0.0
    limited = 0
    gdt_dx = g * dt / dx
    for it in range(ny + 2):
        # ---- A: momentum of the faces of row i --------------------------------------------
        i = it
        if i < ny:
            old_qx_cur[:] = q_at_xface[i]
            if adv_x is None:
                _x_faces_row(h[i], z[i], fric[i], active[i], q_at_yface[i], q_at_yface[i + 1],
                             old_qx_cur, q_at_xface[i], theta, w_side, dt, gdt_dx, h_min)
            else:
                _x_faces_row_adv(h[i], z[i], fric[i], active[i], q_at_yface[i],
                                 q_at_yface[i + 1], old_qx_cur, q_at_xface[i], adv_x[i], theta,
                                 w_side, dt, gdt_dx, h_min)
            for f in (0, nx):
                col = 0 if f == 0 else nx - 1
                side = 2 if f == 0 else 3
                q_at_xface[i, f] = _boundary_flux(
                    h[i, col], z[i, col], fric[i, col], active[i, col], old_qx_cur[f],
                    side, bc_type[side], bc_value[side], dt, dx, g, h_min,
                )
            # y faces above row i (north face of row i)
            if i == 0:
                for j in range(nx):
                    q0 = q_at_yface[0, j]
                    old_prev_row[j] = q0
                    q_at_yface[0, j] = _boundary_flux(
                        h[0, j], z[0, j], fric[0, j], active[0, j], q0,
                        0, bc_type[0], bc_value[0], dt, dx, g, h_min,
                    )
            else:
                if adv_y is None:
                    _y_faces_row(h[i - 1], h[i], z[i - 1], z[i], fric[i - 1], fric[i],
                                 active[i - 1], active[i], old_prev_row, q_at_yface[i],
                                 q_at_yface[i + 1], old_qx_prev, old_qx_cur, theta, w_side, dt,
                                 gdt_dx, h_min)
                else:
                    _y_faces_row_adv(h[i - 1], h[i], z[i - 1], z[i], fric[i - 1], fric[i],
                                     active[i - 1], active[i], old_prev_row, q_at_yface[i],
                                     q_at_yface[i + 1], old_qx_prev, old_qx_cur, adv_y[i], theta,
                                     w_side, dt, gdt_dx, h_min)
            old_qx_prev[:] = old_qx_cur
            if i == ny - 1:  # the southern boundary faces
                for j in range(nx):
                    q_at_yface[ny, j] = _boundary_flux(
                        h[i, j], z[i, j], fric[i, j], active[i, j], q_at_yface[ny, j],
                        1, bc_type[1], bc_value[1], dt, dx, g, h_min,
                    )
        # ---- B: outflow limiter of row i - 1 ----------------------------------------------
        r = it - 1
        if 0 <= r < ny:
            count = _limiter_row(h[r], q_at_xface[r], q_at_yface[r], q_at_yface[r + 1], fac, c,
                                 col0, col1)
            if row0 <= r < row1:
                limited += count
        # ---- C: continuity, rain, losses and statistics of row r = i - 2 ------------------
        r = it - 2
        if 0 <= r < ny:
            _continuity_row(h[r], q_at_xface[r], q_at_yface[r], q_at_yface[r + 1], active[r],
                            rain_grid[r] if gridded_rain else rain_row, c)
            k0 = np.searchsorted(loss_cells, r * nx)
            k1 = np.searchsorted(loss_cells, (r + 1) * nx)
            if k1 > k0:
                for k in range(k0, k1):
                    cols[k - k0] = loss_cells[k] - r * nx
                _losses_row(h[r], cols[:k1 - k0], ks[k0:k1], suction[k0:k1], infiltrated[k0:k1],
                            drain_rate[k0:k1], store_capacity[k0:k1], stored[k0:k1],
                            drained[k0:k1], water, dt)
            _statistics_row(h[r], q_at_xface[r], q_at_yface[r], q_at_yface[r + 1], depth_max[r],
                            time_of_max[r], duration_above[r], speed_max[r], dt, t_end,
                            duration_threshold, speed_min_depth)
            if row0 <= r < row1:
                for j in range(col0, col1):
                    hn = h[r, j]
                    h_max = hn if hn > h_max else h_max
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
def cell_losses(water, k, ks, suction, infiltrated, drain_rate, store_capacity, stored, dt):
    """Depths (m) removed from ``water`` (m) in lossy cell ``k`` during a step ``dt`` (s).

    Order: green-roof retention fills first (its substrate takes the water before anything
    runs off), then Green-Ampt infiltration, then the drainage inlets. The infiltration
    capacity over the step is Green & Ampt (1911): f = Ks (1 + psi * dtheta / F) (m/s),
    evaluated explicitly at the cumulative depth F (m) of the start of the step (infinite at
    F = 0: a dry soil takes all ponded water). The depths are removed exactly: the sum of what
    is returned never exceeds ``water``.

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
        if f0 > 0.0:
            cap = ks[k] * dt * (1.0 + suction[k] / f0)
            inf = water if water < cap else cap
        else:
            inf = water
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
    h <= ``min_depth`` (m). Written into ``out``."""
    ny, nx = h.shape
    for i in range(ny):
        for j in range(nx):
            d = h[i, j]
            if d > min_depth:
                ux = 0.5 * (q_at_xface[i, j] + q_at_xface[i, j + 1])
                uy = 0.5 * (q_at_yface[i, j] + q_at_yface[i + 1, j])
                out[i, j] = np.sqrt(ux * ux + uy * uy) / d
            else:
                out[i, j] = 0.0
