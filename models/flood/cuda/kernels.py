"""The flood step of ``metrotwin.models.flood.kernels.local_inertial_steps`` as CUDA kernels
(numba.cuda): one launch sequence per step, each kernel a plain function on device arrays
(grouped in tuples) with one thread per face pair or per cell.

A step is five launches, in the order of the CPU sweep's stages:

1. ``add_inflows``: one thread per cell an inflow feeds, adding its entries' depths in their
   order (only when there are inflows);
2. ``momentum``: one thread per cell, the x face west of it and the y face north of it,
   from the old discharges into ``qx_new``/``qy_new`` (the CPU updates them in place row by
   row, always from old values: the same numbers); ``edge_faces``: one thread per
   domain-edge face, the boundary conditions (the CPU's ``_boundary_flux``);
3. ``limiter``: one thread per cell, its outflow-limiter factor (float32) from the new
   discharges and its depth at the start of the step, and the count of limited owned cells;
4. ``continuity``: one thread per cell, which scales its four faces by the factor of the cell
   their water leaves (what the CPU limiter stores), writes back its west and north faces
   (and the east or south one at the domain edge) into ``qx``/``qy``, then the continuity
   update with rain, the losses of a lossy cell, the statistics, the boundary outflow
   account and the deepest owned cell (an atomic maximum: numba's compares with the value
   stored before it swaps, so only the threads that raise the maximum write; no
   per-block reduction, which would need a synchronisation the simulator runs 5x slower).

Each kernel loops over its index space with the grid's stride, so that any launch covers it
(one thread per element on a GPU; a few threads under the simulator, which runs every thread
as a Python thread).

Arithmetic: the CPU kernel's, operation for operation (float32 momentum, limiter and
statistics; float64 depths, continuity, losses and accounts; the well-balanced depth
differences formed in float64 and rounded once). The CPU keeps a float32 copy ``h32`` of the
depths; here each thread rounds the float64 depth it reads anyway (the same value). The GPU
compiler fuses multiplies and adds (NVVM's default ``fma``), as LLVM does on the CPU in the
momentum rows (``fastmath={"contract"}``) but not elsewhere: the results agree to float32
round-off, not bit for bit; under the simulator (no fusion) they agree to the few
operations the CPU fuses.

No shared-memory tiles: a face reads the depths of its two cells and the discharges of six
neighbouring faces, a cell its four faces and four neighbour factors; each value is reused by
at most four threads of neighbouring indices, which the L1/L2 caches serve, so staging them
in shared memory would add synchronisation for no saved DRAM traffic (the kernels are
bandwidth-bound: ~140 B moved per cell-update over the three per-cell kernels).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from metrotwin.models.flood.cuda.devmath import green_ampt_capacity, maxnum, sqrt32
from metrotwin.models.flood.fastmath import pow_minus_seven_thirds32
from metrotwin.models.flood.kernels import BC_CLOSED, LIMITER_MARGIN, Q_TINY, _boundary_flux

_ZERO32 = np.float32(0.0)
_ONE32 = np.float32(1.0)
_HALF32 = np.float32(0.5)
_QUARTER32 = np.float32(0.25)
_Q_TINY32 = np.float32(Q_TINY)
_MARGIN32 = LIMITER_MARGIN


@cuda.jit(device=True)
def face_momentum(q0, q_theta, q_orth, ha, hb, dh, rise, drop, friction, co):
    """``kernels._momentum`` (float32): the new unit discharge of an interior face; ``co``
    the step's float32 coefficients (theta, w_side, dt, g dt / dx, h_min)."""
    depth_a = ha - rise
    depth_b = hb + drop
    h_face = depth_a if depth_a > depth_b else depth_b
    flows = h_face > co[4]
    hf = h_face if flows else _ONE32
    mag = sqrt32(q0 * q0 + q_orth * q_orth)
    qn = (q_theta - co[3] * hf * (dh + (rise + drop))) / (
        _ONE32 + friction * mag * pow_minus_seven_thirds32(hf, co[2]))
    return qn if flows and abs(qn) > _Q_TINY32 else _ZERO32


@cuda.jit(device=True)
def _x_face(flow, faces, i, f, co):
    """The new discharge of interior x face ``f`` of row ``i`` (``kernels._x_faces_row``)."""
    h, qx, qy = flow[0], flow[1], flow[2]
    q0 = qx[i, f]
    q_theta = co[0] * q0 + co[1] * (qx[i, f - 1] + qx[i, f + 1])
    q_orth = _QUARTER32 * (qy[i, f - 1] + qy[i, f] + qy[i + 1, f - 1] + qy[i + 1, f])
    dh = np.float32(h[i, f] - h[i, f - 1])
    return face_momentum(q0, q_theta, q_orth, np.float32(h[i, f - 1]), np.float32(h[i, f]),
                         dh, faces[0][i, f], faces[1][i, f], faces[4][i, f], co)


@cuda.jit(device=True)
def _y_face(flow, faces, r, j, co):
    """The new discharge of interior y face ``j`` between rows r - 1 and r
    (``kernels._y_faces_row``)."""
    h, qx, qy = flow[0], flow[1], flow[2]
    q0 = qy[r, j]
    q_theta = co[0] * q0 + co[1] * (qy[r - 1, j] + qy[r + 1, j])
    q_orth = _QUARTER32 * (qx[r - 1, j] + qx[r - 1, j + 1] + qx[r, j] + qx[r, j + 1])
    dh = np.float32(h[r, j] - h[r - 1, j])
    return face_momentum(q0, q_theta, q_orth, np.float32(h[r - 1, j]), np.float32(h[r, j]),
                         dh, faces[2][r, j], faces[3][r, j], faces[5][r, j], co)


@cuda.jit(device=True)
def _edge_flux(flow, ground, bc, i, j, face, side, c64):
    """The CPU's ``kernels._boundary_flux`` (float64; numba compiles the ``@njit`` function
    for the GPU) of the domain-edge face ``face`` (its old discharge) of cell (``i``, ``j``)
    on ``side`` (0 north, 1 south, 2 west, 3 east); ``c64`` the step's float64 (dt, dx, g,
    h_min)."""
    kinds, values = bc
    return _boundary_flux(flow[0][i, j], ground[0][i, j], ground[1][i, j], ground[2][i, j],
                          face, side, kinds[side], values[side], c64[0], c64[1], c64[2],
                          c64[3])


@cuda.jit
def momentum(flow, faces, co):
    """Stage 1 of a step: the new discharges of the interior faces into ``flow[3]`` (x) and
    ``flow[4]`` (y), from the depths ``flow[0]`` (m, float64, after the inflows) and the old
    discharges ``flow[1]``/``flow[2]``. Thread (i, j) of the ny x nx grid takes x face
    (i, j) (j >= 1) and y face (i, j) (i >= 1). ``faces`` the static float32 face
    coefficients (``kernels.face_coefficients``), ``co`` the step's float32 coefficients.
    The domain-edge faces are ``edge_faces``' (a kernel of their own: their float64 code
    inlined here took 96 registers a thread instead of ~50)."""
    h, qx_new, qy_new = flow[0], flow[3], flow[4]
    ny, nx = h.shape
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, ny, si):
        for j in range(j0, nx, sj):
            if j > 0:
                qx_new[i, j] = _x_face(flow, faces, i, j, co)
            if i > 0:
                qy_new[i, j] = _y_face(flow, faces, i, j, co)


@cuda.jit
def edge_faces(flow, ground, bc, c64):
    """Stage 1 on the domain-edge faces: thread k of 2 (ny + nx) takes the west (k < ny),
    east, north and south faces in turn, with the boundary conditions ``bc`` (kinds,
    values) of the step and its float64 coefficients ``c64``; ``ground`` the cells' (z,
    g n^2, active)."""
    h, qx, qy, qx_new, qy_new = flow
    ny, nx = h.shape
    for k in range(cuda.grid(1), 2 * (ny + nx), cuda.gridsize(1)):
        if k < ny:
            qx_new[k, 0] = _edge_flux(flow, ground, bc, k, 0, qx[k, 0], 2, c64)
        elif k < 2 * ny:
            i = k - ny
            qx_new[i, nx] = _edge_flux(flow, ground, bc, i, nx - 1, qx[i, nx], 3, c64)
        elif k < 2 * ny + nx:
            j = k - 2 * ny
            qy_new[0, j] = _edge_flux(flow, ground, bc, 0, j, qy[0, j], 0, c64)
        else:
            j = k - 2 * ny - nx
            qy_new[ny, j] = _edge_flux(flow, ground, bc, ny - 1, j, qy[ny, j], 1, c64)


@cuda.jit
def limiter(h, qx_new, qy_new, fac, c32, owned, tally):
    """Stage 2: the outflow-limiter factor of every cell (``kernels._limiter_row``) into
    ``fac`` (float32): the fraction of its outgoing discharges a cell of depth ``h`` (m) can
    give in the step (``c32`` = dt / dx), 1 where it has enough; ``tally[1]`` counts the
    limited cells of the ``owned`` block (row0, row1, col0, col1)."""
    ny, nx = h.shape
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, ny, si):
        for j in range(j0, nx, sj):
            qw = qx_new[i, j]
            qe = qx_new[i, j + 1]
            qn = qy_new[i, j]
            qs = qy_new[i + 1, j]
            out = (((_ZERO32 - (qw if qw < _ZERO32 else _ZERO32))
                    + (qe if qe > _ZERO32 else _ZERO32))
                   - (qn if qn < _ZERO32 else _ZERO32)) + (qs if qs > _ZERO32 else _ZERO32)
            give = out * c32
            avail = np.float32(h[i, j]) * _MARGIN32
            factor = avail / give if give > avail else _ONE32
            fac[i, j] = factor
            if (factor < _ONE32 and owned[0] <= i < owned[1]
                    and owned[2] <= j < owned[3]):
                cuda.atomic.add(tally, 1, 1.0)


@cuda.jit(device=True)
def _factor(fac, i, j):
    """The limiter factor of cell (i, j), 1 beyond the grid."""
    ny, nx = fac.shape
    if i < 0 or i >= ny or j < 0 or j >= nx:
        return _ONE32
    return fac[i, j]


@cuda.jit(device=True)
def limited_faces(flow, fac, i, j):
    """The four faces of cell (i, j) (west, east, north, south, float32) scaled by the
    limiter factor of the cell their water leaves, as ``kernels._limiter_row`` stores them:
    an x face by its west cell's factor when positive, else its east cell's; a y face by
    the north cell's factor when positive (southwards), by the south cell's when negative."""
    qx_new, qy_new = flow[3], flow[4]
    qw = qx_new[i, j]
    qe = qx_new[i, j + 1]
    qn = qy_new[i, j]
    qs = qy_new[i + 1, j]
    qw = qw * (_factor(fac, i, j - 1) if qw > _ZERO32 else _factor(fac, i, j))
    qe = qe * (_factor(fac, i, j) if qe > _ZERO32 else _factor(fac, i, j + 1))
    qn = qn * (_factor(fac, i - 1, j) if qn > _ZERO32 else _ONE32)
    qn = qn * (_factor(fac, i, j) if qn < _ZERO32 else _ONE32)
    qs = qs * (_factor(fac, i, j) if qs > _ZERO32 else _ONE32)
    qs = qs * (_factor(fac, i + 1, j) if qs < _ZERO32 else _ONE32)
    return qw, qe, qn, qs


@cuda.jit(device=True)
def cell_losses(water, k, losses, dt):
    """``losses.losses_row`` on lossy cell ``k`` holding ``water`` (m) in a step ``dt`` (s):
    ``losses`` the per-lossy-cell (ks, suction, infiltrated, drain_rate, store_capacity,
    stored, drained), the last three and ``infiltrated`` updated. Returns the new depth."""
    ks, suction, infiltrated, drain_rate, store_capacity, stored, drained = losses
    w = water
    room = store_capacity[k] - stored[k]
    ret = (w if w < room else room) if room > 0.0 else 0.0
    stored[k] = stored[k] + ret
    w1 = w - ret
    f0 = infiltrated[k]
    soaks = (ks[k] > 0.0) and (w1 > 0.0)
    cap = green_ampt_capacity(f0, ks[k], suction[k], dt)
    inf = (w1 if w1 < cap else cap) if soaks else 0.0
    infiltrated[k] = f0 + inf if soaks else f0
    w2 = w1 - inf
    cap = drain_rate[k] * dt
    out = (w2 if w2 < cap else cap) if (drain_rate[k] > 0.0) and (w2 > 0.0) else 0.0
    drained[k] = drained[k] + out
    hn = w - (inf + out + ret)
    return hn if hn > 0.0 else 0.0


@cuda.jit(device=True)
def cell_statistics(stats, i, j, hn, q4, st):
    """``kernels._statistics_row`` for cell (i, j) of new float32 depth ``hn``: ``stats``
    (depth_max, time_of_max, duration_above, speed_max), ``q4`` its limited faces, ``st``
    the float32 (dt, t_end, fill, duration threshold, speed minimum depth)."""
    depth_max, time_of_max, duration_above, speed_max = stats
    dm = depth_max[i, j]
    depth_max[i, j] = dm if dm > hn else hn
    time_of_max[i, j] = maxnum(time_of_max[i, j], st[1] if hn > dm else st[2])
    duration_above[i, j] = duration_above[i, j] + (st[0] if hn > st[3] else _ZERO32)
    ux = _HALF32 * (q4[0] + q4[1])
    uy = _HALF32 * (q4[2] + q4[3])
    fast = hn > st[4]
    inv_h = (_ONE32 if fast else _ZERO32) / (hn if fast else _ONE32)
    speed_max[i, j] = maxnum(speed_max[i, j], sqrt32(ux * ux + uy * uy) * inv_h)


@cuda.jit(device=True)
def _edge_outflow(out, kinds, q4, i, j, c):
    """What left the domain through the boundary faces of edge cell (i, j) in the step, as
    depth (m; ``c`` = dt / dx), added to ``out`` in the CPU's order (west, east, north,
    south)."""
    ny, nx = out.shape
    if j == 0 and kinds[2] != BC_CLOSED:
        out[i, j] -= q4[0] * c
    if j == nx - 1 and kinds[3] != BC_CLOSED:
        out[i, j] += q4[1] * c
    if i == 0 and kinds[0] != BC_CLOSED:
        out[i, j] -= q4[2] * c
    if i == ny - 1 and kinds[1] != BC_CLOSED:
        out[i, j] += q4[3] * c


@cuda.jit(device=True)
def _store_faces(flow, i, j, q4):
    """Write the limited faces of cell (i, j): its west and north ones, and its east or south
    one at the domain edge (each face by one thread)."""
    qx, qy = flow[1], flow[2]
    ny, nx = flow[0].shape
    qx[i, j] = q4[0]
    qy[i, j] = q4[2]
    if j == nx - 1:
        qx[i, j + 1] = q4[1]
    if i == ny - 1:
        qy[i + 1, j] = q4[3]


@cuda.jit
def continuity(flow, fac, cells, losses, stats, forcing, st, tally):
    """Stage 3: per cell, the limited faces (``limited_faces``, stored back into
    ``flow[1]``/``flow[2]``), the continuity update of Bates et al. (2010) eq. 4 in float64
    with the rain (``forcing``: (uniform depth (m), gridded depths (ny, nx) m, gridded?,
    c = dt / dx, dt (s))), the losses of a lossy cell, the ``stats`` and the boundary outflow
    account; the deepest cell of the owned block into ``tally[0]`` (an atomic maximum).
    ``cells`` (active, loss index (-1: none), boundary kinds, boundary outflow, owned block).
    """
    h = flow[0]
    active, loss_index, kinds, out, owned = cells
    rain_uniform, rain_grid, gridded, c, dt = forcing
    ny, nx = h.shape
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, ny, si):
        for j in range(j0, nx, sj):
            q4 = limited_faces(flow, fac, i, j)
            _store_faces(flow, i, j, q4)
            west, east = np.float64(q4[0]), np.float64(q4[1])
            north, south = np.float64(q4[2]), np.float64(q4[3])
            hn = h[i, j] + c * ((west - east) + (north - south))
            rain_j = (rain_grid[i, j] if gridded else 0.0) + rain_uniform
            hn = hn + (rain_j if active[i, j] != 0 else 0.0)
            hn = hn if hn > 0.0 else 0.0
            k = loss_index[i, j]
            if k >= 0:
                hn = cell_losses(hn, k, losses, dt)
            h[i, j] = hn
            cell_statistics(stats, i, j, np.float32(hn), q4, st)
            _edge_outflow(out, kinds, q4, i, j, c)
            if owned[0] <= i < owned[1] and owned[2] <= j < owned[3] and hn > 0.0:
                cuda.atomic.max(tally, 0, hn)


@cuda.jit
def add_inflows(h, cells, starts, depth):
    """Stage 0: into each cell ``cells[k]`` (flat index) fed by inflows, the depths (m)
    ``depth[starts[k]:starts[k + 1]]`` of its entries, in their order (as the CPU sweep
    adds them one after the other)."""
    nx = h.shape[1]
    k0 = cuda.grid(1)
    for k in range(k0, cells.size, cuda.gridsize(1)):
        i = cells[k] // nx
        j = cells[k] - i * nx
        value = h[i, j]
        for e in range(starts[k], starts[k + 1]):
            value += depth[e]
        h[i, j] = value


@cuda.jit
def copy_block(src, r0, c0, dst, d0, e0):
    """``dst[d0:d0 + n, e0:e0 + m] = src[r0:r0 + n, c0:c0 + m]`` with (n, m) the smaller of
    what fits in both: packs a halo strip into a contiguous buffer and back."""
    n, m = src.shape[0] - r0, src.shape[1] - c0
    n = n if n < dst.shape[0] - d0 else dst.shape[0] - d0
    m = m if m < dst.shape[1] - e0 else dst.shape[1] - e0
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, n, si):
        for j in range(j0, m, sj):
            dst[d0 + i, e0 + j] = src[r0 + i, c0 + j]
