"""Kernel of the surface energy balance: one implicit force-restore step of the surface
temperature.

Units and argument conventions: see ``metrotwin.models.heat.kernels``.

References
----------
.. [3] Deardorff, J.W. (1978) Efficient prediction of ground surface temperature and moisture,
   with inclusion of a layer of vegetation. JGR 83(C4):1889-1903, doi:10.1029/JC083iC04p01889
   (force-restore).
"""

from __future__ import annotations

from numba import njit

from metrotwin.physics import (AIR_SPECIFIC_HEAT, LATENT_HEAT_VAPORISATION, STEFAN_BOLTZMANN,
                               saturation_specific_humidity_kernel)


@njit(cache=True)
def surface_temperature_step(t_surface, k_absorbed, l_absorbed, t_air, heat_capacity, emissivity,
                             evaporation, anthropogenic, t_deep, h_conv, *, q_air, pressure, dt,
                             omega, theta, out_qh, out_qe, out_qg):
    """One implicit force-restore step of the surface temperature (K), in place.

    C dTs/dt = K_abs + L_abs - eps sigma Ts^4 - Q_H - Q_E + Q_F - C omega (Ts - T_deep)
    ([3]_ with C = mu / sqrt(2 omega), mu the thermal admittance, which gives the exact
    amplitude mu^-1 omega^-1/2 and 3 h lag of a semi-infinite medium under a daily flux wave).
    Q_H = h (Ts - Ta); Q_E = beta (h L_v / c_p) (q_sat(Ts) - q_a) >= 0 (Lewis analogy,
    beta the evaporation efficiency). Time stepping: theta-method (theta = 0.5: Crank-Nicolson)
    on the fluxes linearised about Ts.

    Parameters
    ----------
    t_surface : (n,) K, updated in place. k_absorbed, l_absorbed : (n,) absorbed short- and
        longwave (W m-2) at mid-step. t_air : (n,) K. heat_capacity : (n,) C (J m-2 K-1).
    emissivity, evaporation : (n,) eps, beta. anthropogenic : (n,) Q_F (W m-2).
    t_deep : (n,) restoring temperature (K). h_conv : (n,) heat transfer coefficient
        (W m-2 K-1). q_air (kg kg-1), pressure (Pa), dt (s), omega (s-1): scalars.
    out_qh, out_qe, out_qg : (n,) step-mean sensible, latent and storage fluxes (W m-2).
    """
    n = t_surface.shape[0]
    for i in range(n):
        t0 = t_surface[i]
        c = heat_capacity[i]
        eps = emissivity[i]
        h = h_conv[i]
        qe = 0.0
        dqe = 0.0
        if evaporation[i] > 0.0:  # sealed surfaces (beta = 0) skip the saturation humidity
            qs, dqs = saturation_specific_humidity_kernel(t0, pressure)
            ke = evaporation[i] * h * LATENT_HEAT_VAPORISATION / AIR_SPECIFIC_HEAT
            qe = ke * (qs - q_air)
            dqe = ke * dqs
            if qe < 0.0:
                qe = 0.0
                dqe = 0.0
        f0 = (k_absorbed[i] + l_absorbed[i] - eps * STEFAN_BOLTZMANN * t0 ** 4 - h * (t0 - t_air[i]) - qe
              + anthropogenic[i] - c * omega * (t0 - t_deep[i]))
        df = -4.0 * eps * STEFAN_BOLTZMANN * t0 ** 3 - h - dqe - c * omega
        dtemp = f0 / (c / dt - theta * df)
        t1 = t0 + dtemp
        tm = t0 + theta * dtemp
        t_surface[i] = t1
        out_qh[i] = h * (tm - t_air[i])
        out_qe[i] = max(qe + dqe * theta * dtemp, 0.0)
        out_qg[i] = c * dtemp / dt + c * omega * (tm - t_deep[i])
    return t_surface
