"""The flood kernels against plain numpy references written from the papers' equations."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.models.flood import advection, kernels, losses
from metrotwin.models.flood.solver import compiled_entry
from metrotwin.models.flood.groups import (
    Advection,
    Boundaries,
    Flow,
    Ground,
    Inflows,
    Losses,
    Parameters,
    Sweep,
    no_inflows,
    no_losses,
    zero_statistics,
)

G = 9.81


def _cbrt(x):
    return np.cbrt(x)


def reference_step(h, z, fric, active, qx, qy, *, dt, dx, theta, h_min, rain, bc_type, bc_value):
    """One local-inertial step in three separate numpy passes (momentum, limiter, continuity):
    de Almeida et al. (2012) eq. 13 with the vector-magnitude friction, the outflow limiter,
    and Bates et al. (2010) eq. 4."""
    ny, nx = h.shape
    eta = z + h
    qx0, qy0 = qx.copy(), qy.copy()
    qx1, qy1 = np.zeros_like(qx), np.zeros_like(qy)
    # interior x faces
    for i in range(ny):
        for f in range(1, nx):
            a, b = (i, f - 1), (i, f)
            if not (active[a] and active[b]) or (h[a] <= 0 and h[b] <= 0):
                continue
            zf = max(z[a], z[b])
            hf = max(eta[a], eta[b]) - zf
            if hf <= h_min:
                continue
            right = qx0[i, f + 1] if f < nx else qx0[i, f]
            qt = theta * qx0[i, f] + 0.5 * (1 - theta) * (qx0[i, f - 1] + right)
            orth = 0.25 * (qy0[i, f - 1] + qy0[i, f] + qy0[i + 1, f - 1] + qy0[i + 1, f])
            mag = np.hypot(qx0[i, f], orth)
            fr = 0.5 * (fric[a] + fric[b])
            qx1[i, f] = (qt - G * hf * dt * (eta[b] - eta[a]) / dx) / (1 + dt * fr * mag / hf ** (7 / 3))
    for i in range(1, ny):
        for j in range(nx):
            a, b = (i - 1, j), (i, j)
            if not (active[a] and active[b]) or (h[a] <= 0 and h[b] <= 0):
                continue
            zf = max(z[a], z[b])
            hf = max(eta[a], eta[b]) - zf
            if hf <= h_min:
                continue
            qt = theta * qy0[i, j] + 0.5 * (1 - theta) * (qy0[i - 1, j] + qy0[i + 1, j])
            orth = 0.25 * (qx0[i - 1, j] + qx0[i - 1, j + 1] + qx0[i, j] + qx0[i, j + 1])
            mag = np.hypot(qy0[i, j], orth)
            fr = 0.5 * (fric[a] + fric[b])
            qy1[i, j] = (qt - G * hf * dt * (eta[b] - eta[a]) / dx) / (1 + dt * fr * mag / hf ** (7 / 3))
    # boundary faces: free outflow (normal depth for the slope) on the east side only
    assert list(bc_type[:3]) == [0, 0, 0] and bc_type[3] in (0, 1)
    if bc_type[3] == 1:
        for i in range(ny):
            hh = h[i, -1]
            if active[i, -1] and hh > h_min:
                q = (qx0[i, nx] + G * hh * dt * bc_value[3]) / (
                    1 + dt * fric[i, -1] * abs(qx0[i, nx]) / hh ** (7 / 3)
                )
                qx1[i, nx] = max(q, 0.0)
    # limiter: scale the outgoing discharges of a cell that would give more than it holds
    out = (
        np.maximum(-qx1[:, :-1], 0) + np.maximum(qx1[:, 1:], 0)
        + np.maximum(-qy1[:-1], 0) + np.maximum(qy1[1:], 0)
    ) * dt / dx
    factor = np.where(out > h, h / np.where(out > 0, out, 1), 1.0)
    left, right = np.zeros_like(qx1), np.zeros_like(qx1)
    qx1 = np.where(qx1 > 0, qx1 * np.pad(factor, ((0, 0), (1, 0)), constant_values=1)[:, :],
                   qx1 * np.pad(factor, ((0, 0), (0, 1)), constant_values=1))
    qy1 = np.where(qy1 > 0, qy1 * np.pad(factor, ((1, 0), (0, 0)), constant_values=1),
                   qy1 * np.pad(factor, ((0, 1), (0, 0)), constant_values=1))
    del left, right
    hn = h + dt / dx * (qx1[:, :-1] - qx1[:, 1:] + qy1[:-1] - qy1[1:]) + rain * (active > 0)
    return np.maximum(hn, 0.0), qx1, qy1


def _stats(shape):
    return zero_statistics(shape)


def _numbers(theta=0.9, h_min=1e-6, dx=2.0):
    """The kernels' ``Parameters``: the statistics' thresholds 0.1 m (duration) and 0.01 m
    (speed)."""
    return Parameters(dx=dx, theta=theta, g=G, h_min=h_min, duration_threshold=0.1,
                      speed_min_depth=0.01)


@pytest.mark.parametrize("seed", range(6))
def test_step_matches_reference(seed):
    """The fused, lagged sweep equals the three-pass reference to round-off, on random
    terrain with buildings, dry cells, closed cells and a free outflow boundary."""
    rng = np.random.default_rng(seed)
    ny, nx = rng.integers(3, 9, size=2)
    z = rng.uniform(0, 2, (ny, nx)) + 5.0 * (rng.random((ny, nx)) < 0.2)  # some 5 m blocks
    h = np.where(rng.random((ny, nx)) < 0.3, 0.0, rng.uniform(0, 0.5, (ny, nx)))
    h[rng.random((ny, nx)) < 0.1] = 1e-4  # thin films: the limiter must act somewhere
    active = (rng.random((ny, nx)) > 0.1).astype(np.uint8)
    h[active == 0] = 0.0
    fric = G * rng.uniform(0.01, 0.1, (ny, nx)) ** 2
    qx = rng.normal(0, 0.05, (ny, nx + 1)).astype(np.float32)  # the solver's discharges
    qy = rng.normal(0, 0.05, (ny + 1, nx)).astype(np.float32)
    qx[:, 0] = qx[:, -1] = qy[0] = qy[-1] = 0.0
    bc_type, bc_value = np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0.01])
    kw = dict(dt=0.5, dx=2.0, theta=0.7, h_min=1e-6, rain=1e-5)
    h_ref, qx_ref, qy_ref = reference_step(
        h, z, fric, active, qx.astype(float), qy.astype(float), bc_type=bc_type, bc_value=bc_value,
        **kw,
    )
    boundary_out = np.zeros((ny, nx))
    h_max, limited = kernels.local_inertial_step(
        Flow(h, qx, qy), Ground(z, fric, active), _stats((ny, nx)),
        _numbers(theta=kw["theta"], h_min=kw["h_min"], dx=kw["dx"]), dt=kw["dt"], t_end=0.5,
        rain=kw["rain"], bc_type=bc_type, bc_value=bc_value, boundary_out=boundary_out,
    )
    # round-off only, that of the float32 face arithmetic: ~10 roundings of 6e-8 relative
    # (rtol 1e-5), and the water-surface slope (hb - ha) + dz carries the rounding of the
    # bed step and the depths, 2^-24 (|dz| + h) <= 4e-7 m here, times g dt/dx h_face
    # (9.81 * 0.25 * 0.5): 5e-7 m2/s per face (atol 2e-6 with a 4x margin); a depth gets
    # dt/dx times four faces of that (the same 2e-6 m), or keeps LIMITER_MARGIN's 2^-20 of
    # its depth (< 5e-7 m) where the limiter acts. A wrong sign or a missed face is 1e-2.
    np.testing.assert_allclose(qx, qx_ref, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(qy, qy_ref, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=2e-6)
    assert h_max == h.max()
    # the outflow through the east faces, as depths of the edge cells (q dt / dx)
    np.testing.assert_allclose(boundary_out[:, -1], qx[:, -1] * 0.5 / 2.0, rtol=1e-15, atol=0)
    assert not boundary_out[:, :-1].any()


def test_a_misordered_call_is_refused():
    """The sweep takes named groups, not 28 positional arrays: groups passed in the wrong
    order fail to compile (numba finds no field ``h`` in a ``Ground``), where two swapped
    arrays of the same shape used to run and give wrong numbers without a word."""
    from numba.core.errors import TypingError

    n = 4
    flow = Flow(np.zeros((n, n)), np.zeros((n, n + 1), np.float32),
                np.zeros((n + 1, n), np.float32))
    ground = Ground(np.zeros((n, n)), np.zeros((n, n)), np.ones((n, n), np.uint8))
    rest = (_stats((n, n)), no_losses(), no_inflows(1),
            Boundaries(np.zeros(4, np.int64), np.zeros((1, 4)), np.zeros((n, n))),
            Sweep(np.ones(1), np.ones(1), np.zeros(1), np.zeros((1, 1, 1)), False), _numbers(),
            np.array([0, n, 0, n]), None)
    faces = kernels.face_coefficients(*ground)
    kernels.local_inertial_steps(flow, ground, faces, *rest)  # in order: runs
    with pytest.raises(TypingError):
        kernels.local_inertial_steps(ground, flow, faces, *rest)


def test_the_compiled_entry_gives_the_dispatchers_numbers():
    """The solver calls the sweep's compiled specialisation directly after its first call
    (``solver.compiled_entry``: the typing of ~35 arrays in groups cost ~20 us a call): the
    same numbers as through the dispatcher, step after step."""
    rng = np.random.default_rng(2)
    n = 6
    z = rng.uniform(0, 1, (n, n))
    ground = Ground(z, G * np.full((n, n), 0.03**2), np.ones((n, n), np.uint8))
    runs = []
    for direct in (False, True):
        flow = Flow(rng.uniform(0, 0.2, (n, n)) if not runs else runs[0][0].copy(),
                    np.zeros((n, n + 1), np.float32), np.zeros((n + 1, n), np.float32))
        start_h = flow.h.copy()
        args = (flow, ground, kernels.face_coefficients(*ground), _stats((n, n)), no_losses(),
                no_inflows(1), Boundaries(np.zeros(4, np.int64), np.zeros((1, 4)),
                                          np.zeros((n, n))),
                Sweep(np.full(1, 0.1), np.full(1, 0.1), np.zeros(1), np.zeros((1, 1, 1)), False),
                _numbers(), np.array([0, n, 0, n]), None)
        kernel = kernels.local_inertial_steps
        kernel(*args)
        if direct:
            kernel = compiled_entry(kernels.local_inertial_steps, args)
            assert kernel is not None and kernel is not kernels.local_inertial_steps
        for _ in range(20):
            kernel(*args)
        runs.append((start_h, flow))
    np.testing.assert_array_equal(runs[0][1].h, runs[1][1].h)
    np.testing.assert_array_equal(runs[0][1].q_at_xface, runs[1][1].q_at_xface)


def test_fast_cbrt_accuracy():
    x = np.logspace(-12, 6, 100_001)
    approx = np.array([kernels.fast_cbrt(v) for v in x[::97]])
    np.testing.assert_allclose(approx, np.cbrt(x[::97]), rtol=1e-14)


def test_inv_cbrt_accuracy():
    """The branch-free x^(-1/3) of the face friction against numpy over the depths a face can
    have (1e-12 m .. 1e6 m): relative error < 1e-15 (a few ulp), so that h^(-7/3) = r^7 is
    good to < 1e-14."""
    x = np.logspace(-12, 6, 200_001)
    approx = np.array([kernels.inv_cbrt(v) for v in x[::7]])
    np.testing.assert_allclose(approx, 1.0 / np.cbrt(x[::7]), rtol=1e-15)


def test_pow_minus_seven_thirds32_accuracy():
    """The float32 dt h^(-7/3) of the face friction over the depths a face can have (1e-12 m
    .. 1e6 m): relative error < 7e-7 (the degree-7 series leaves < 4e-7 at |d| = 0.11, plus
    float32 rounding, of the dt-scaled coefficients too: 6.2e-7 measured), far inside the
    uncertainty of Manning's n. A wrong coefficient or magic constant gives > 1e-4."""
    from metrotwin.models.flood.fastmath import pow_minus_seven_thirds32

    x = np.logspace(-12, 6, 200_001).astype(np.float32)[::7]
    for dt in (1.0, 0.37):
        approx = np.array([pow_minus_seven_thirds32(v, np.float32(dt)) for v in x], np.float64)
        exact = np.float32(dt) * x.astype(np.float64) ** (-7.0 / 3.0)
        np.testing.assert_allclose(approx, exact, rtol=7e-7)


def _step(h, z, fric, active, qx, qy, stats, *, t_end, dt=0.5, rain=0.0, h_min=1e-6,
          bc_type=(0, 0, 0, 0), bc_value=(0, 0, 0, 0), boundary_out=None):
    ny, nx = h.shape
    boundary_out = np.zeros((ny, nx)) if boundary_out is None else boundary_out
    return kernels.local_inertial_step(
        Flow(h, qx, qy), Ground(z, fric, active), stats, _numbers(h_min=h_min), dt=dt,
        t_end=t_end, rain=rain, bc_type=bc_type, bc_value=bc_value, boundary_out=boundary_out,
    )


@pytest.mark.parametrize("seed", range(4))
def test_float32_discharges_conserve_volume_on_thin_films(seed):
    """Rain on 5 m blocks and thin films everywhere, then 200 steps of draining without rain,
    so that the outflow limiter acts on thousands of cells and empties many of them: with
    float32 discharges the volume still balances to float64 round-off (relative error
    < 1e-13, the issue asks 1e-12 of the model) and no depth goes negative. Without the
    limiter's margin (LIMITER_MARGIN = 1) the float32 rounding of what an emptied cell gives
    makes thousands of tiny negative depths, clipped to 0, and this error is 3e-12..1e-11."""
    rng = np.random.default_rng(seed)
    ny, nx = 40, 50
    z = rng.uniform(0, 0.5, (ny, nx)) + 5.0 * (rng.random((ny, nx)) < 0.3)
    h = rng.uniform(0, 2e-5, (ny, nx))
    active = (rng.random((ny, nx)) > 0.05).astype(np.uint8)
    h[active == 0] = 0.0
    fric = G * rng.uniform(0.01, 0.05, (ny, nx)) ** 2
    qx = np.zeros((ny, nx + 1), np.float32)
    qy = np.zeros((ny + 1, nx), np.float32)
    stats = _stats((ny, nx))
    boundary_out = np.zeros((ny, nx))
    volume0 = h[active > 0].sum()
    rain, limited = 2e-5, 0
    for k in range(300):
        limited += _step(h, z, fric, active, qx, qy, stats, t_end=0.5 * (k + 1),
                         rain=rain if k < 100 else 0.0, bc_type=(0, 1, 0, 1),
                         bc_value=(0, 0.01, 0, 0.01), boundary_out=boundary_out)[1]
        assert h.min() >= 0.0
    assert limited > 3000  # the limiter did act, on many cells
    assert boundary_out.sum() > 0  # and water left through the free boundaries
    budget = volume0 + 100 * rain * (active > 0).sum() - boundary_out.sum()
    assert abs(h[active > 0].sum() - budget) <= 1e-13 * budget


def test_time_of_maximum_stays_nan_where_never_wet():
    """A cell that never holds water keeps its time of maximum depth NaN (the model's
    'never flooded'), one that gets deeper takes the step's end time, and one that
    drains keeps the time of its peak."""
    h = np.array([[0.0, 0.2, 0.0, 0.0]])
    z = np.array([[5.0, 0.0, 0.0, 5.0]])  # the water spreads to cell 2, never onto the walls
    active = np.ones(h.shape, np.uint8)
    stats = _stats(h.shape)
    depth_max, time_of_max = stats[0], stats[1]
    depth_max[...] = h
    time_of_max[...] = np.where(h > 0, 0.0, np.nan)
    qx, qy = np.zeros((1, 5), np.float32), np.zeros((2, 4), np.float32)
    for k in range(40):
        _step(h, z, G * np.full(h.shape, 0.03**2), active, qx, qy, stats, t_end=0.5 * (k + 1))
    assert np.isnan(time_of_max[0, [0, 3]]).all() and (depth_max[0, [0, 3]] == 0).all()
    assert 0.0 < time_of_max[0, 2] and depth_max[0, 2] > 0.05
    assert time_of_max[0, 1] == 0.0  # cell 1 was deepest at the start
    assert depth_max[0, 1] == np.float32(0.2)


def _green_ampt_exact(t, ks, suction):
    """Cumulative infiltration F (m) at time t (s) under ponding from a dry start: the root of
    F - S ln(1 + F / S) = Ks t (Green & Ampt 1911), S = psi dtheta (m)."""
    from scipy.optimize import brentq

    if t <= 0:
        return 0.0
    c = ks * t
    return brentq(lambda f: f - suction * np.log1p(f / suction) - c, 0.0,
                  c + np.sqrt(2 * c * suction) + 1e-12, xtol=1e-16, rtol=1e-14)


def test_losses_order_and_green_ampt():
    """Retention fills first, then Green-Ampt infiltration at its capacity over the step
    (Green & Ampt 1911 integrated from the cumulative depth F of the step's start), then
    the drainage inlets."""
    h = np.array([[0.010, 0.010, 0.010, 0.0]])
    cells = np.array([0, 1, 2, 3])
    ks = np.array([0.0, 1e-5, 1e-5, 1e-5])
    suction = np.array([0.0, 0.02, 0.02, 0.02])
    infiltrated = np.array([0.0, 0.0, 0.004, 0.0])
    drain = np.array([2e-5, 0.0, 1e-5, 0.0])
    cap = np.array([0.004, 0.0, 0.0, 0.0])
    stored = np.array([0.001, 0.0, 0.0, 0.0])
    inf, drained, kept = losses.apply_losses(
        h, cells, ks, suction, infiltrated, drain, cap, stored, dt=100.0
    )
    # cell 0: 3 mm of room retained, then 2 mm drained of the 7 mm left
    # cell 1: a dry soil takes what Green-Ampt gives in 100 s, ~sqrt(2 Ks S dt) = 6.3 mm,
    # not all of the 10 mm ponded on it
    # cell 2: from F = 4 mm, the ponded curve advanced by 100 s (the time-compression
    # form): ~ Ks dt (1 + S / F) = 6 mm at the step's start rate, a little less over it
    exact1 = _green_ampt_exact(100.0, 1e-5, 0.02)
    t_equiv = (0.004 - 0.02 * np.log1p(0.004 / 0.02)) / 1e-5  # time to reach F = 4 mm
    exact2 = _green_ampt_exact(t_equiv + 100.0, 1e-5, 0.02) - 0.004
    assert 6e-3 < exact1 < 8e-3 and 4e-3 < exact2 < 6e-3
    # tau = Ks dt / S = 0.05 here, a large step: the explicit integration is within 1 %
    # of the exact increment (green_ampt_capacity's docstring; the table below)
    np.testing.assert_allclose(h[0], [0.005, 0.010 - exact1, 0.010 - exact2 - 0.001, 0.0],
                               rtol=0, atol=1e-2 * exact1)
    np.testing.assert_allclose(stored, [0.004, 0, 0, 0])
    np.testing.assert_allclose(infiltrated, [0.0, exact1, 0.004 + exact2, 0.0], rtol=1e-2)
    assert kept == pytest.approx(0.003) and drained == pytest.approx(0.003)
    assert inf == pytest.approx(infiltrated[1] + infiltrated[2] - 0.004, rel=1e-12)


@pytest.mark.parametrize("tau, tolerance", [(1e-5, 1e-4), (1e-3, 1e-3), (1e-2, 3e-3),
                                            (1e-1, 1.1e-2)])
def test_green_ampt_capacity_follows_the_ponded_solution(tau, tolerance):
    """Cumulative infiltration under ponding, step after step with ``green_ampt_capacity``,
    against the exact Green-Ampt solution F - S ln(1 + F/S) = Ks t at the first step and at
    200 later times. The tolerances are the explicit integration's own error with a small
    margin (measured 8e-5, 8e-4, 2.8e-3, 1.0e-2), largest at the first step from a dry soil
    and growing with tau = Ks dt / S; the model's steps (<= 10 s) have tau <= 5e-4 on loam
    and <= 0.03 on the most permeable class (permeable paving)."""
    ks, suction = 1e-6, 0.02
    dt = tau * suction / ks
    f, worst = 0.0, 0.0
    for k in range(1, 2001):
        f += losses.green_ampt_capacity(f, ks, suction, dt)
        if k <= 3 or k % 10 == 0:
            exact = _green_ampt_exact(k * dt, ks, suction)
            worst = max(worst, abs(f - exact) / exact)
    assert worst <= tolerance


@pytest.mark.parametrize("theta, cfl", [(0.9, 0.6), (0.7, 0.5)])
def test_checkerboard_decays_at_the_default_courant_number(theta, cfl):
    """A 2-D checkerboard of depths (the mode that grows in the Bates 2010 scheme) must decay
    at the model's default (theta, alpha) and the alternative 0.7/0.5; growth appears at
    alpha ~0.65 (theta 0.9) and ~0.55 (theta 0.7) in this very test, hence the defaults."""
    n, dx = 16, 2.0
    h = 0.05 + 1e-4 * (np.add.outer(np.arange(n), np.arange(n)) % 2 * 2 - 1)
    z, fric, active = np.zeros((n, n)), np.zeros((n, n)), np.ones((n, n), np.uint8)
    qx, qy = np.zeros((n, n + 1), np.float32), np.zeros((n + 1, n), np.float32)
    for _ in range(200):
        dt = cfl * dx / np.sqrt(G * h.max())
        kernels.local_inertial_step(
            Flow(h, qx, qy), Ground(z, fric, active), _stats((n, n)),
            _numbers(theta=theta, h_min=1e-9, dx=dx), dt=dt, t_end=0.0,
        )
    assert h.max() - h.min() < 2e-4 * 0.1  # amplitude down by 10x at least


def test_advection_vanishes_for_uniform_flow():
    """Uniform depth and discharges: every momentum flux equals its neighbour, so the
    advective acceleration is exactly 0 away from the walls (a steady uniform flow stays
    steady), and it does not vanish where the flow slows down: the upwind flux q u of a
    face whose discharge drops (0.3 -> 0.1 m2/s) decelerates the faces downstream."""
    ny, nx = 8, 9
    h, z = np.full((ny, nx), 0.5), np.zeros((ny, nx))
    qx, qy = np.full((ny, nx + 1), 0.3), np.full((ny + 1, nx), -0.1)
    qx[:, [0, -1]] = 0.0
    qy[[0, -1], :] = 0.0
    ax, ay = np.full_like(qx, np.nan), np.full_like(qy, np.nan)
    u, v = np.zeros_like(qx), np.zeros_like(qy)
    speed = advection.advection_at_faces(h, z, qx, qy, u, v, ax, ay, np.array([0, ny, 0, nx]),
                                       dx=2.0, g=G, h_min=1e-3)
    # the Courant speed: sqrt(g h) plus 1.5 times the larger of |u| = 0.3 m2/s / 0.5 m and
    # |v| = 0.1 m2/s / 0.5 m (advection.ADVECTION_SPEED_WEIGHT)
    assert speed == pytest.approx(np.sqrt(G * 0.5) + 1.5 * 0.3 / 0.5, rel=1e-15)
    assert not ax[2:-2, 2:-2].any() and not ay[2:-2, 2:-2].any()
    assert np.isfinite(ax).all() and np.isfinite(ay).all()
    qx[:, 5] = 0.1
    advection.advection_at_faces(h, z, qx, qy, u, v, ax, ay, np.array([0, ny, 0, nx]), dx=2.0,
                               g=G, h_min=1e-3)
    # face 5 takes in the momentum of face 4 (0.3 x 0.6) and passes on its own (0.1 x 0.2):
    # it accelerates; face 6 receives less than it passes on: it decelerates
    assert (ax[2:-2, 5] > 0).all() and (ax[2:-2, 6] < 0).all()


@pytest.mark.parametrize("axis", [0, 1])
def test_advective_step_on_a_tile_needs_exactly_the_model_halo(axis):
    """One advective step on a tile that owns the middle third of the domain, with the
    model's halo of ghost cells (closed sides facing the other tiles, as the model sets
    them), gives bit-identical owned depths to the step on the whole domain, on random
    terrain with dry cells and thin films (so that the outflow limiter acts next to the tile
    edges: the halo cells' limiter is what the owned cells see beyond their own faces). One
    cell less of halo must give different depths in some of the cases: the test can tell."""
    from metrotwin.models.flood import FloodModel

    def step(h, z, fric, qx, qy):
        h, qx, qy = h.copy(), qx.astype(np.float32), qy.astype(np.float32)
        ax, ay = np.zeros(qx.shape), np.zeros(qy.shape)
        n = h.shape
        advection.advection_at_faces(h, z, qx, qy, np.zeros(qx.shape), np.zeros(qy.shape), ax, ay,
                                   np.array([0, n[0], 0, n[1]]), dx=2.0, g=G, h_min=1e-3)
        active = np.ones(n, np.uint8)
        limited = kernels.local_inertial_step(
            Flow(h, qx, qy), Ground(z, fric, active), _stats(n), _numbers(), dt=0.5, t_end=0.5,
            advection=Advection(ax, ay),
        )[1]
        limited_counts.append(limited)
        return h

    limited_counts = []
    same = [_owned_on_tiles(step, _random_tile_case(seed, axis, 24, 27),
                            (FloodModel.halo, FloodModel.halo - 1)) for seed in range(6)]
    assert all(s[FloodModel.halo] for s in same)
    assert not all(s[FloodModel.halo - 1] for s in same), same
    assert min(limited_counts[::3]) > 0  # the limiter acted in every whole-domain step


def _random_tile_case(seed, axis, ny, nx):
    """Random terrain, depths with 40 % thin films, and random discharges (closed domain
    edges), transposed for ``axis`` 1 (tiles split along the rows)."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0, 1, (ny, nx))
    h = np.where(rng.random((ny, nx)) < 0.4, 1e-4, rng.uniform(0, 0.4, (ny, nx)))
    fric = G * rng.uniform(0.01, 0.05, (ny, nx)) ** 2
    qx = rng.normal(0, 0.3, (ny, nx + 1))
    qy = rng.normal(0, 0.3, (ny + 1, nx))
    qx[:, [0, -1]] = 0.0
    qy[[0, -1], :] = 0.0
    if axis == 1:
        return z.T.copy(), h.T.copy(), fric.T.copy(), qy.T.copy(), qx.T.copy()
    return z, h, fric, qx, qy


def _owned_on_tiles(run, case, widths):
    """Whether ``run(h, z, fric, qx, qy)`` (new depths) on a tile owning the middle third of
    the columns, with each of ``widths`` cells of halo (closed sides, as the model sets the
    sides facing other tiles), gives the owned depths of the run on the whole domain."""
    z, h, fric, qx, qy = case
    whole = run(h, z, fric, qx, qy)
    nx = h.shape[1]
    c0, c1 = nx // 3, 2 * nx // 3
    same = {}
    for width in widths:
        w0, w1 = c0 - width, c1 + width
        tile = run(h[:, w0:w1], z[:, w0:w1], fric[:, w0:w1], qx[:, w0:w1 + 1], qy[:, w0:w1])
        same[width] = np.array_equal(tile[:, width:width + c1 - c0], whole[:, c0:c1])
    return same


def _sweep(h, z, fric, active, qx, qy, stats, *, dt, t_end, rain, rain_grid=None,
           inflow_cells=None, inflow_depth=None, losses=None, boundary_out=None,
           bc_type=(0, 0, 0, 0), bc_value=None, owned=None):
    """``local_inertial_steps`` for ``len(dt)`` steps in one sweep; returns (h_max, limited)."""
    steps, (ny, nx) = len(dt), h.shape
    ground = Ground(z, fric, active)
    return kernels.local_inertial_steps(
        Flow(h, qx, qy), ground, kernels.face_coefficients(*ground), stats,
        no_losses() if losses is None else Losses(*losses),
        no_inflows(steps) if inflow_cells is None else Inflows(inflow_cells, inflow_depth),
        Boundaries(np.array(bc_type, np.int64),
                   np.zeros((steps, 4)) if bc_value is None else bc_value,
                   np.zeros((ny, nx)) if boundary_out is None else boundary_out),
        Sweep(np.asarray(dt, float), np.asarray(t_end, float), np.asarray(rain, float),
              np.zeros((1, 1, 1)) if rain_grid is None else rain_grid, rain_grid is not None),
        _numbers(), np.array([0, ny, 0, nx]) if owned is None else np.asarray(owned), None,
    )


@pytest.mark.parametrize("gridded", [False, True])
def test_steps_in_one_sweep_equal_one_step_per_sweep(gridded):
    """Temporal blocking (several steps in one sweep, each two rows behind the one before)
    changes no number: 5 steps of unequal length in one sweep and 5 sweeps of one step give
    bit-identical depths, discharges, statistics, loss accounts and boundary outflow, on
    terrain with 5 m blocks, thin films, closed cells, point inflows (one cell fed twice),
    Green-Ampt/drainage/green-roof cells, a stage boundary whose stage changes every step
    and two free ones, with uniform or gridded rain. Every feature does act (checked)."""
    rng = np.random.default_rng(11)
    ny, nx, steps = 23, 17, 5
    z = rng.uniform(0, 0.5, (ny, nx)) + 5.0 * (rng.random((ny, nx)) < 0.25)
    active = (rng.random((ny, nx)) > 0.05).astype(np.uint8)
    h = np.where(rng.random((ny, nx)) < 0.5, rng.uniform(0, 2e-5, (ny, nx)),
                 rng.uniform(0, 0.3, (ny, nx))) * active
    fric = G * rng.uniform(0.01, 0.05, (ny, nx)) ** 2
    dt = np.array([0.3, 0.5, 0.4, 0.5, 0.2])
    t_end = 10.0 + np.cumsum(dt)
    rain = rng.uniform(0, 1e-4, steps)
    rain_grid = rng.uniform(0, 1e-4, (steps, ny, nx)) if gridded else None
    open_cells = np.flatnonzero(active.ravel())
    inflow_cells = np.sort(np.r_[open_cells[[3, 3, 40, 200]], open_cells[-1]]).astype(np.int64)
    inflow_depth = rng.uniform(0, 0.01, (steps, inflow_cells.size))
    lossy = np.sort(rng.choice(open_cells, 60, replace=False)).astype(np.int64)
    bc_value = np.zeros((steps, 4))
    bc_value[:, 0] = z[0].max() + rng.uniform(0.0, 0.2, steps)  # north: a changing stage
    bc_value[:, 1] = bc_value[:, 3] = 0.01  # south, east: free outflow
    bc_type = (kernels.BC_STAGE, kernels.BC_FREE, kernels.BC_CLOSED, kernels.BC_FREE)

    def fresh(rng_l):
        losses = (lossy, rng_l.uniform(0, 1e-5, lossy.size), rng_l.uniform(0, 0.1, lossy.size),
                  np.zeros(lossy.size), rng_l.uniform(0, 1e-5, lossy.size),
                  rng_l.uniform(0, 2e-3, lossy.size), np.zeros(lossy.size), np.zeros(lossy.size))
        return {"h": h.copy(), "qx": np.zeros((ny, nx + 1), np.float32),
                "qy": np.zeros((ny + 1, nx), np.float32), "stats": _stats((ny, nx)),
                "losses": losses, "boundary_out": np.zeros((ny, nx))}

    runs = []
    for per_sweep in (steps, 1):
        r = fresh(np.random.default_rng(5))  # the same loss parameters for both runs
        limited, h_max = 0, 0.0
        for s in range(0, steps, per_sweep):
            part = slice(s, s + per_sweep)
            h_max, count = _sweep(
                r["h"], z, fric, active, r["qx"], r["qy"], r["stats"], dt=dt[part],
                t_end=t_end[part], rain=rain[part],
                rain_grid=None if rain_grid is None else rain_grid[part],
                inflow_cells=inflow_cells, inflow_depth=inflow_depth[part], losses=r["losses"],
                boundary_out=r["boundary_out"], bc_type=bc_type, bc_value=bc_value[part],
            )
            limited += count
        runs.append((r, limited, h_max))
    (a, limited_a, h_max_a), (b, limited_b, h_max_b) = runs
    for key in ("h", "qx", "qy", "boundary_out"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for x, y in zip(list(a["stats"]) + list(a["losses"][1:]),
                    list(b["stats"]) + list(b["losses"][1:])):
        np.testing.assert_array_equal(x, y)
    assert (limited_a, h_max_a) == (limited_b, h_max_b)
    # every feature acted: the limiter, both kinds of boundary, each loss, the inflows
    assert limited_a > 0
    assert (a["boundary_out"][0] < 0).any() and (a["boundary_out"][:, -1] > 0).any()
    infiltrated, drained, stored = a["losses"][3], a["losses"][7], a["losses"][6]
    assert (infiltrated > 0).any() and (drained > 0).any() and (stored > 0).any()
    assert (a["h"].ravel()[inflow_cells] > inflow_depth.sum(axis=0)).any()


@pytest.mark.parametrize("axis", [0, 1])
def test_sweep_on_a_tile_needs_two_cells_of_halo_per_step(axis):
    """Three steps in one sweep on a tile owning the middle third of the domain, with the
    halo the model gives a sweep of 3 steps (2 cells per step), give bit-identical owned
    depths to the same sweep on the whole domain. The 2 cells of one step are the worst
    case: the closed tile edge corrupts the outermost halo cell in the first step, and the
    limiter can carry an error 2 cells further in each step after. That worst case needs
    the limiter to act at the right cells in every step, which random terrain rarely lines
    up; the halo of a single step must, though, give different depths in some cases (the
    test can tell that the halo has to grow with the steps of a sweep)."""
    from metrotwin.models.flood import FloodModel

    steps = 3
    halo = FloodModel.tiling(FloodModel.Params(fixed_time_step=0.5, steps_per_sweep=steps),
                             2.0)[0]
    assert halo == 2 * steps

    def run(h, z, fric, qx, qy):
        h, qx, qy = h.copy(), qx.astype(np.float32), qy.astype(np.float32)
        active = np.ones(h.shape, np.uint8)
        _sweep(h, z, fric, active, qx, qy, _stats(h.shape), dt=[0.5] * steps,
               t_end=[0.5, 1.0, 1.5], rain=[1e-5] * steps)
        return h

    same = [_owned_on_tiles(run, _random_tile_case(seed, axis, 24, 36), (halo, 2))
            for seed in range(6)]
    assert all(s[halo] for s in same)
    assert not all(s[2] for s in same), same
