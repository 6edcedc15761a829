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
Green, W. H., Ampt, G. A. (1911). Studies on soil physics, 1. The flow of air and water
    through soils. J. Agric. Sci. 4, 1-24. doi:10.1017/S0021859600001441
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir  # numba's own code generator: used for two bit casts below
from numba import njit, types
from numba.extending import intrinsic

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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _face_flux(q_mag, q_theta, eta_a, eta_b, h_face, fric, dt, dx, g):
    """Unit discharge (m2/s) across a face after one step: de Almeida et al. (2012) eq. 13
    (Bates et al. 2010 eq. 11 with the theta-weighted explicit part), friction semi-implicit.

    ``q_mag`` is the magnitude of the old unit-discharge vector at the face (m2/s; the
    orthogonal component interpolated from the four surrounding faces, as in LISFLOOD-FP's
    2-D ACC solver); ``eta_a``/``eta_b`` the water-surface elevations (m) behind/ahead in the
    positive direction; ``h_face`` the flow depth at the face (m); ``fric`` = g n^2.
    """
    slope = (eta_b - eta_a) / dx
    # h^(7/3) = h^2 * h^(1/3)
    denom = 1.0 + dt * fric * q_mag / (h_face * h_face * fast_cbrt(h_face))
    return (q_theta - g * h_face * dt * slope) / denom


@njit(cache=True)
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
    loss_index,
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
):
    """Advance depths and face discharges by one step ``dt`` (s), in one fused sweep.

    The momentum update of every face is de Almeida et al. (2012) eq. 13 (theta-weighting of
    the explicit discharge) with the semi-implicit Manning friction of Bates et al. (2010)
    eq. 11. The flow depth of a face is max(eta) - max(z) (Bates et al. 2010, sec. 2.2). An
    outflow limiter then scales, cell by cell, the outgoing discharges of any cell that would
    give more water than it holds (so depths never go negative, e.g. thin films running off
    raised building blocks). The continuity update (Bates et al. 2010 eq. 4) adds rain and
    updates the in-solver statistics.

    The sweep runs row by row with a lag (momentum of row i, limiter of row i-1, continuity of
    row i-2) so that every array is streamed through memory once per step.

    Parameters
    ----------
    h : (ny, nx) water depth (m), updated in place.
    z : (ny, nx) bed elevation the water sees (m): ground, plus buildings when raised.
    fric : (ny, nx) g * n^2 with Manning's n of the cell (m s-2 s2 m-2/3 = m^(1/3) s-2 ... ).
    active : (ny, nx) uint8, 0 for cells excluded from flow (no rain, closed faces).
    q_at_xface, q_at_yface : unit discharges (m2/s), updated in place (see module doc).
    depth_max, time_of_max, duration_above, speed_max : (ny, nx) float32 statistics,
        updated in place: maximum depth (m), its time (s), time above
        ``duration_threshold`` (s), maximum speed (m/s, where h > ``speed_min_depth``).
    rain_grid : (ny, nx) rain depth of this step (m) when ``gridded_rain``, else unused.
    loss_index : (ny, nx) int32, index into the loss arrays of cells with losses, -1 if none.
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

    Returns
    -------
    (h_max, limited) : deepest owned cell after the step (m); number of owned cells whose
    outflow was limited.
    """
    ny, nx = h.shape
    c = dt / dx
    w_side = 0.5 * (1.0 - theta)
    old_prev_row = np.empty(nx)  # old q_at_yface of the row above the one being updated
    old_qx_prev = np.zeros(nx + 1)  # old q_at_xface of row i - 1
    old_qx_cur = np.empty(nx + 1)  # old q_at_xface of row i
    for j in range(nx):
        old_prev_row[j] = q_at_yface[0, j]
    h_max = 0.0
    row0, row1, col0, col1 = owned[0], owned[1], owned[2], owned[3]
    limited = 0
    for it in range(ny + 2):
        # ---- A: momentum of the faces of row i --------------------------------------------
        i = it
        if i < ny:
            # x faces of row i (old values kept in a row buffer for the y faces)
            for f in range(nx + 1):
                old_qx_cur[f] = q_at_xface[i, f]
            for f in range(nx + 1):
                q0 = old_qx_cur[f]
                qn = 0.0
                if f == 0 or f == nx:
                    side = 2 if f == 0 else 3
                    col = 0 if f == 0 else nx - 1
                    qn = _boundary_flux(
                        h[i, col], z[i, col], fric[i, col], active[i, col], q0,
                        side, bc_type[side], bc_value[side], dt, dx, g, h_min,
                    )
                elif active[i, f - 1] != 0 and active[i, f] != 0:
                    ha = h[i, f - 1]
                    hb = h[i, f]
                    if ha > 0.0 or hb > 0.0:
                        za = z[i, f - 1]
                        zb = z[i, f]
                        eta_a = za + ha
                        eta_b = zb + hb
                        z_face = za if za > zb else zb
                        h_face = (eta_a if eta_a > eta_b else eta_b) - z_face
                        if h_face > h_min:
                            q_theta = theta * q0 + w_side * (old_qx_cur[f - 1] + old_qx_cur[f + 1])
                            q_orth = 0.25 * (q_at_yface[i, f - 1] + q_at_yface[i, f]
                                             + q_at_yface[i + 1, f - 1] + q_at_yface[i + 1, f])
                            qn = _face_flux(
                                np.sqrt(q0 * q0 + q_orth * q_orth), q_theta, eta_a, eta_b,
                                h_face, 0.5 * (fric[i, f - 1] + fric[i, f]), dt, dx, g,
                            )
                q_at_xface[i, f] = qn
            # y faces above row i (north face of row i)
            for j in range(nx):
                q0 = q_at_yface[i, j]
                old_up = old_prev_row[j] if i > 0 else q0
                old_down = q_at_yface[i + 1, j]
                qn = 0.0
                if i == 0:
                    qn = _boundary_flux(
                        h[0, j], z[0, j], fric[0, j], active[0, j], q0,
                        0, bc_type[0], bc_value[0], dt, dx, g, h_min,
                    )
                elif active[i - 1, j] != 0 and active[i, j] != 0:
                    ha = h[i - 1, j]
                    hb = h[i, j]
                    if ha > 0.0 or hb > 0.0:
                        za = z[i - 1, j]
                        zb = z[i, j]
                        eta_a = za + ha
                        eta_b = zb + hb
                        z_face = za if za > zb else zb
                        h_face = (eta_a if eta_a > eta_b else eta_b) - z_face
                        if h_face > h_min:
                            q_theta = theta * q0 + w_side * (old_up + old_down)
                            q_orth = 0.25 * (old_qx_prev[j] + old_qx_prev[j + 1]
                                             + old_qx_cur[j] + old_qx_cur[j + 1])
                            qn = _face_flux(
                                np.sqrt(q0 * q0 + q_orth * q_orth), q_theta, eta_a, eta_b,
                                h_face, 0.5 * (fric[i - 1, j] + fric[i, j]), dt, dx, g,
                            )
                q_at_yface[i, j] = qn
                old_prev_row[j] = q0
            for f in range(nx + 1):
                old_qx_prev[f] = old_qx_cur[f]
            if i == ny - 1:  # the southern boundary faces
                for j in range(nx):
                    q_at_yface[ny, j] = _boundary_flux(
                        h[i, j], z[i, j], fric[i, j], active[i, j], q_at_yface[ny, j],
                        1, bc_type[1], bc_value[1], dt, dx, g, h_min,
                    )
        # ---- B: outflow limiter of row i - 1 ----------------------------------------------
        r = it - 1
        if 0 <= r < ny:
            for j in range(nx):
                qw = q_at_xface[r, j]
                qe = q_at_xface[r, j + 1]
                qn_ = q_at_yface[r, j]
                qs = q_at_yface[r + 1, j]
                out = 0.0
                if qw < 0.0:
                    out -= qw
                if qe > 0.0:
                    out += qe
                if qn_ < 0.0:
                    out -= qn_
                if qs > 0.0:
                    out += qs
                if out > 0.0:
                    avail = h[r, j]
                    if out * c > avail:
                        factor = avail / (out * c)
                        if row0 <= r < row1 and col0 <= j < col1:
                            limited += 1
                        if qw < 0.0:
                            q_at_xface[r, j] = qw * factor
                        if qe > 0.0:
                            q_at_xface[r, j + 1] = qe * factor
                        if qn_ < 0.0:
                            q_at_yface[r, j] = qn_ * factor
                        if qs > 0.0:
                            q_at_yface[r + 1, j] = qs * factor
        # ---- C: continuity, rain and statistics of row i - 2 ------------------------------
        r = it - 2
        if 0 <= r < ny:
            mine_row = row0 <= r < row1
            for j in range(nx):
                qw = q_at_xface[r, j]
                qe = q_at_xface[r, j + 1]
                qn_ = q_at_yface[r, j]
                qs = q_at_yface[r + 1, j]
                hn = h[r, j] + c * ((qw - qe) + (qn_ - qs))
                if active[r, j] != 0:
                    if gridded_rain:
                        rr = rain_grid[r, j]
                    else:
                        rr = rain
                    hn += rr
                if hn < 0.0:  # round-off only: the limiter keeps outflow <= content
                    hn = 0.0
                k = loss_index[r, j]
                if k >= 0 and hn > 0.0:
                    a_inf, a_drain, a_ret = cell_losses(
                        hn, k, ks, suction, infiltrated, drain_rate, store_capacity, stored, dt
                    )
                    hn -= a_inf + a_drain + a_ret
                    if hn < 0.0:
                        hn = 0.0
                    drained[k] += a_drain
                h[r, j] = hn
                if hn > h_max and mine_row and col0 <= j < col1:
                    h_max = hn
                if hn > 0.0:
                    if hn > depth_max[r, j]:
                        depth_max[r, j] = hn
                        time_of_max[r, j] = t_end
                    if hn > duration_threshold:
                        duration_above[r, j] += dt
                    if hn > speed_min_depth:
                        ux = 0.5 * (qw + qe)
                        uy = 0.5 * (qn_ + qs)
                        speed = np.sqrt(ux * ux + uy * uy) / hn
                        if speed > speed_max[r, j]:
                            speed_max[r, j] = speed
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True)
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


@njit(cache=True)
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
