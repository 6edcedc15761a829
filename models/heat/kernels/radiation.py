"""Kernels of radiation: the irradiance of each cell's surface, what the ground sends back
up, the mean of what a person sees of it, and the mean radiant temperature.

Units and argument conventions: see ``metrotwin.models.heat.kernels``.

References
----------
.. [2] Lindberg, F., Holmer, B. & Thorsson, S. (2008) SOLWEIG 1.0 -- modelling spatial variations
   of 3D radiant fluxes and mean radiant temperature in complex urban settings. Int J
   Biometeorol 52:697-713, doi:10.1007/s00484-008-0162-7 (six-direction Tmrt, section 2).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from metrotwin.physics import STEFAN_BOLTZMANN

#: the sky at one time (W m-2 but for the sines): direct normal and horizontal diffuse
#: irradiance, sine and cosine of the sun's altitude, longwave down
Sky = namedtuple("Sky", ["direct_normal", "diffuse", "sin_alt", "cos_alt", "longwave"])
#: what walls and crowns send (W m-2): shortwave irradiance and longwave exitance (4,) of walls
#: FACING N, E, S, W, the longwave exitance of crowns; and the walls' albedo (1)
Surroundings = namedtuple("Surroundings",
                          ["wall_shortwave", "wall_longwave", "leaf_longwave", "wall_albedo"])


@njit(cache=True)
def irradiance_at_surface(sunlit, svf, svf_side, svf_building, sky, surroundings, *,
                          out_shortwave, out_longwave):
    """Shortwave and longwave irradiance (W m-2) of the horizontal surface of each cell.

    K_down = I sin(alt) s + D SVF + (1 - SVF) sum_d w_d alpha_w E_wall,d ; L_down = SVF L_sky
    + (1 - SVF_b) sum_d w_d L_wall,d + (SVF_b - SVF) L_leaf, where the obstructed part is split
    between the walls seen towards N, E, S, W in proportion to their obstruction 1 - SVF_d
    ([2]_, with the wall fluxes per orientation instead of one wall temperature); the part
    hidden by crowns only (SVF_b - SVF, SVF_b of the buildings alone) emits as leaves at air
    temperature, as in SOLWEIG (Lindberg & Grimmond 2011, doi:10.1007/s00704-010-0382-8);
    crowns reflect shortwave like walls, as there.

    Parameters
    ----------
    sunlit, svf : (n,) share of direct sun; sky view factor.
    svf_side : (4, n) normalised SVF of vertical faces towards N, E, S, W.
    svf_building : (n,) SVF of the buildings alone (>= svf).
    sky : ``Sky`` (direct normal, diffuse, sin_alt and longwave are used).
    surroundings : ``Surroundings``, the walls facing N, E, S, W and the crowns.
    """
    direct_normal, diffuse, sin_alt, sky_longwave = sky.direct_normal, sky.diffuse, \
        sky.sin_alt, sky.longwave
    wall_shortwave, wall_longwave, leaf_longwave, wall_albedo = surroundings
    n = svf.shape[0]
    direct = direct_normal * max(sin_alt, 0.0)
    for i in range(n):
        obs_sum = 0.0
        for d in range(4):
            obs_sum += max(1.0 - svf_side[d, i], 0.0)
        ksum = 0.0
        lsum = 0.0
        for d in range(4):
            w = max(1.0 - svf_side[d, i], 0.0) / obs_sum if obs_sum > 1e-9 else 0.25
            opp = (d + 2) % 4  # a wall seen towards north faces south
            ksum += w * wall_albedo * wall_shortwave[opp]
            lsum += w * wall_longwave[opp]
        obstructed = 1.0 - svf[i]
        walls = 1.0 - svf_building[i]
        out_shortwave[i] = direct * sunlit[i] + diffuse * svf[i] + obstructed * ksum
        out_longwave[i] = (svf[i] * sky_longwave + walls * lsum
                           + (obstructed - walls) * leaf_longwave)
    return out_shortwave


@njit(cache=True)
def ground_exitance_at_cell(albedo, emissivity, t_surface, k_down, l_down, *, out_k, out_l):
    """Reflected shortwave alpha K_down and emitted + reflected longwave
    eps sigma Ts^4 + (1 - eps) L_down (W m-2) of each cell's surface."""
    for i in range(k_down.shape[0]):
        out_k[i] = albedo[i] * k_down[i]
        t2 = t_surface[i] * t_surface[i]
        out_l[i] = emissivity[i] * STEFAN_BOLTZMANN * t2 * t2 + (1.0 - emissivity[i]) * l_down[i]
    return out_l


@njit(cache=True)
def fixed_point_sum(values, mask, *, scale):
    """Sum of round(``values`` x ``scale``) over the cells where ``mask`` (1-D arrays), as an
    integer: exact, so that the parts of a domain add up to the same total in any order."""
    total = 0
    for i in range(values.size):
        if mask[i]:
            total += np.int64(np.rint(values[i] * scale))
    return total


@njit(cache=True)
def ground_view_mean(values, ground, *, radius, out):
    """Mean of ``values`` over the ground cells (``ground`` true) of the (2 radius + 1)^2 box
    around each cell: what a person's downward-looking half sees of the ground (W m-2).

    A horizontal sensor at height h sees a ground disc of radius r with view factor
    r^2 / (r^2 + h^2) (Howell's catalogue of configuration factors, case B-12): at the
    SOLWEIG centre of gravity h = 1.1 m a disc of 2.5-3 m radius gives 0.84-0.88 of the
    view, so ``radius`` ~ 3 m / cell size; SOLWEIG's ground view factor plays this role
    (Lindberg et al. 2008, doi:10.1007/s00484-008-0162-7, section 2.4). Roofs are not
    ground; a cell with no ground in its box keeps its own value; ``out`` may be ``values``.

    Separable running box sums, O(n), in fixed point (values rounded to 2^-32 W m-2, |values|
    below 1e6): integer sums are exact, so they do not depend on where the running sum
    started, and a tile with a halo of ``radius`` gets the serial numbers bit for bit.
    """
    ny, nx = values.shape
    k = radius
    scale = 2.0**32
    row_v = np.empty((ny, nx), np.int64)
    row_n = np.empty((ny, nx), np.int64)
    for r in range(ny):
        sv = 0
        sn = 0
        for c in range(min(k, nx)):
            if ground[r, c]:
                sv += np.int64(np.rint(values[r, c] * scale))
                sn += 1
        for c in range(nx):
            ca = c + k
            if ca < nx and ground[r, ca]:
                sv += np.int64(np.rint(values[r, ca] * scale))
                sn += 1
            cr = c - k - 1
            if cr >= 0 and ground[r, cr]:
                sv -= np.int64(np.rint(values[r, cr] * scale))
                sn -= 1
            row_v[r, c] = sv
            row_n[r, c] = sn
    box_v = np.zeros(nx, np.int64)
    box_n = np.zeros(nx, np.int64)
    for r in range(min(k, ny)):
        for c in range(nx):
            box_v[c] += row_v[r, c]
            box_n[c] += row_n[r, c]
    for r in range(ny):
        ra = r + k
        if ra < ny:
            for c in range(nx):
                box_v[c] += row_v[ra, c]
                box_n[c] += row_n[ra, c]
        rr = r - k - 1
        if rr >= 0:
            for c in range(nx):
                box_v[c] -= row_v[rr, c]
                box_n[c] -= row_n[rr, c]
        for c in range(nx):
            out[r, c] = box_v[c] / scale / box_n[c] if box_n[c] > 0 else values[r, c]
    return out


@njit(cache=True)
def mean_radiant_temperature_at_cell(sunlit, svf_side, side_building, k_down, l_down, k_up,
                                     l_up, sky, surroundings, *, abs_k, abs_l, f_up, f_side,
                                     f_cyl, out):
    """Mean radiant temperature (K) of a standing person, six-direction method ([2]_, section 2).

    S_str = a_k (f_cyl I cos(alt) s + f_up (K_down + K_up) + f_side sum K_d)
          + a_l (f_up (L_down + L_up) + f_side sum L_d) ;  Tmrt = (S_str / (a_l sigma))^(1/4),
    with K_up, L_up the reflected and emitted radiation of the ground the person sees
    (``ground_view_mean`` of alpha K_down and eps sigma Ts^4 + (1 - eps) L_down), and each
    lateral flux half from the sky/walls/crowns seen that way (crowns, the part of the view
    hidden by them only, 1 - side_building of it by walls, at ``leaf_longwave``) and half from
    the ground (the cylinder option of SOLWEIG 2015a for the direct beam, f_cyl = 0.28).
    ``sky`` is a ``Sky`` (direct normal, diffuse, cos_alt and longwave are used),
    ``surroundings`` the ``Surroundings``; the person absorbs ``abs_k`` and ``abs_l`` and sees
    the directions with the weights ``f_up``, ``f_side``, ``f_cyl``.
    """
    direct_normal, diffuse, cos_alt, sky_longwave = sky.direct_normal, sky.diffuse, \
        sky.cos_alt, sky.longwave
    wall_shortwave, wall_longwave, leaf_longwave, wall_albedo = surroundings
    n = k_down.shape[0]
    beam = abs_k * f_cyl * direct_normal * max(cos_alt, 0.0)
    # per direction d (seen towards N, E, S, W): the wall seen faces the opposite way
    wk = np.empty(4)
    wl = np.empty(4)
    for d in range(4):
        wk[d] = wall_albedo * wall_shortwave[(d + 2) % 4]
        wl[d] = wall_longwave[(d + 2) % 4]
    ak_side = 0.5 * abs_k * f_side
    al_side = 0.5 * abs_l * f_side
    ak_up = abs_k * f_up
    al_up = abs_l * f_up
    inv = 1.0 / (abs_l * STEFAN_BOLTZMANN)
    for i in range(n):
        ks = 0.0
        ls = 0.0
        for d in range(4):
            sv = min(max(svf_side[d, i], 0.0), 1.0)
            sb = min(max(side_building[d, i], sv), 1.0)
            ks += diffuse * sv + (1.0 - sv) * wk[d]
            ls += sv * sky_longwave + (1.0 - sb) * wl[d] + (sb - sv) * leaf_longwave
        # the ground's half of the four lateral fluxes: 4 x 0.5 K_up, 4 x 0.5 L_up
        s_str = (beam * sunlit[i] + ak_up * (k_down[i] + k_up[i])
                 + ak_side * (ks + 4.0 * k_up[i])
                 + al_up * (l_down[i] + l_up[i]) + al_side * (ls + 4.0 * l_up[i]))
        out[i] = math.sqrt(math.sqrt(s_str * inv))
    return out
