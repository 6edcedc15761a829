"""The advective (convective) acceleration of the flood model's face discharges, for the
optional advection term (``advection: true``): computed between two steps from the state
after the halo exchange, and added explicitly to the momentum of the next step
(``kernels.local_inertial_steps`` with an ``Advection`` group).

References
----------
Stelling, G. S., Duinmeijer, S. P. A. (2003). A staggered conservative scheme for every
    Froude number in rapidly varied shallow water flows. Int. J. Numer. Meth. Fluids 43,
    1329-1354. doi:10.1002/fld.537
de Almeida, G. A. M., Bates, P. (2013). Applicability of the local inertial approximation of
    the shallow water equations to flood modeling. Water Resour. Res. 49, 4833-4844.
    doi:10.1002/wrcr.20366
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
