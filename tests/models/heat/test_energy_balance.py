"""Surface energy balance: force-restore against the analytic periodic solution, and the
neighbourhood energy balance of London KCL against the SUEWS reference run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrotwin.models.heat.kernels import energy


def _periodic_response(mu, amplitude, dt, days=6):
    """Run the implicit force-restore step under a sinusoidal ground heat flux G."""
    omega = 2 * math.pi / 86400.0
    c = mu / math.sqrt(2 * omega)
    t_deep = 290.0
    t_s = np.array([t_deep])
    one, zero = np.ones(1), np.zeros(1)
    times, temps = [], []
    n = int(days * 86400 / dt)
    for k in range(n):
        t_mid = (k + 0.5) * dt
        g = amplitude * math.sin(omega * t_mid)
        energy.surface_temperature_step(
            t_s, g * one, zero, t_deep * one, c * one, zero, zero, zero, t_deep * one, zero,
            q_air=0.0, pressure=1e5, dt=dt, omega=omega, theta=0.5,
            out_qh=np.empty(1), out_qe=np.empty(1), out_qg=np.empty(1))
        times.append((k + 1) * dt)
        temps.append(t_s[0] - t_deep)
    times, temps = np.array(times), np.array(temps)
    last = times > (days - 1) * 86400  # the last (periodic) day
    # harmonic fit of the last day: T = a sin(wt) + b cos(wt)
    s, co = np.sin(omega * times[last]), np.cos(omega * times[last])
    a, b = np.linalg.lstsq(np.c_[s, co], temps[last], rcond=None)[0]
    amp = math.hypot(a, b)
    lag = -math.atan2(b, a) / omega  # seconds the temperature wave lags the flux wave
    return amp, lag


@pytest.mark.parametrize("mu, dt", [(1205.0, 300.0), (1545.0, 600.0), (600.0, 900.0)])
def test_force_restore_amplitude_and_three_hour_lag(mu, dt):
    # A semi-infinite medium of admittance mu under G = G0 sin(wt) has a surface wave of
    # amplitude G0 / (mu sqrt(w)) lagging G by 1/8 day = 3 h (Carslaw & Jaeger; Deardorff
    # 1978). The force-restore equation reproduces both exactly; the Crank-Nicolson step adds
    # O((w dt)^2) < 1e-4 errors, so 1 % (the tolerance) is a real check.
    amplitude = 200.0
    amp, lag = _periodic_response(mu, amplitude, dt)
    omega = 2 * math.pi / 86400.0
    assert amp == pytest.approx(amplitude / (mu * math.sqrt(omega)), rel=0.01)
    assert lag == pytest.approx(3 * 3600.0, rel=0.01)


def test_kcl_energy_balance_against_suews(refdata):
    """Sensible and latent heat of the London KCL neighbourhood, July 2012, against SuPy."""
    from .suews import run_kcl

    d = refdata / "heat" / "suews_kcl"
    if not d.is_dir():
        pytest.skip(f"{d} missing")
    errors = run_kcl(d)
    for flux, e in errors.items():
        print(f"KCL July 2012 {flux}: MAE {e['mae']:.1f} W m-2, RMSE {e['rmse']:.1f}, bias "
              f"{e['bias']:+.1f}, r {e['r']:.2f} (SUEWS vs observations, MAE: {e['suews_mae']})")
    # SUEWS's own published MAE against the KCL observations (benchmark 2026.6.5) is QH 39.5
    # and QE 14.6 W m-2. Our model differs from SUEWS by construction (no OHM storage, one
    # bulk conductance), so we require agreement with the SUEWS run at twice SUEWS's own error
    # against reality: the model must at least follow the diurnal partitioning.
    assert errors["QH"]["mae"] <= 2 * 39.5
    assert errors["QE"]["mae"] <= 2 * 14.6 + 10.0
    assert errors["QH"]["r"] > 0.7
