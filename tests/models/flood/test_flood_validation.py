"""Validation of the flood model against analytic solutions and the Environment Agency
benchmark (Néelz & Pender 2013, Test 4), with the tolerances justified case by case."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.city.grid import Grid
from metrotwin.models.flood import FloodModel, advection, kernels
from metrotwin.models.flood.groups import Advection, Flow, Ground, Parameters, zero_statistics
from metrotwin.run.testing import make_context, make_grid, make_state

from tests.models.flood.coupled import start

G = 9.81


# -- Hunter et al. (2005) / Bates et al. (2010) moving front ---------------------------------
def test_moving_front_over_a_flat_plane():
    """landlab's test_deAlm_analytical set-up: 32 x 240 cells of 25 m, n = 0.01, front speed
    u = 0.4 m/s, depth h(0, t) = (7/3 n^2 u^3 t)^(3/7) imposed upstream, t = 500 s; the
    analytic profile is h = (-7/3 n^2 u^2 (x - u t))^(3/7). The upstream depth is imposed as
    a stage hydrograph one cell beyond the west edge (x = 0 there). Tolerance: RMSE <= 3 mm
    along the centre row (the issue's figure; landlab's own component gives 4-7 mm)."""
    n, u, t_end = 0.01, 0.4, 500.0
    grid = make_grid(32, 240, resolution=25.0)
    state = make_state(grid)
    ctx = make_context(grid, duration=t_end, coupling_interval=t_end)
    times = np.linspace(0.0, 600.0, 1201)
    stage = ((7 / 3) * n**2 * u**3 * times) ** (3 / 7)
    model = FloodModel(FloodModel.Params(
        infiltration=False, manning_uniform=n,
        boundaries={"west": {"type": "stage_hydrograph", "hydrograph": np.c_[times, stage].tolist()}},
    ))
    start(model, state, ctx)
    model.advance(state, t_end)
    x = 25.0 * (np.arange(240) + 1)
    exact = np.clip(-(7 / 3) * n**2 * u**2 * (x - u * t_end), 0, None) ** (3 / 7)
    h = state["flood_water_thickness"][16]
    rmse = np.sqrt(np.mean((h - exact) ** 2))
    assert rmse <= 3e-3, rmse
    wet = x < u * t_end
    assert np.sqrt(np.mean((h[wet] - exact[wet]) ** 2)) <= 1.5e-3  # behind the front: 1.0 mm measured


# -- MacDonald (1997) long channels (SWASHES, rasters from itzi) -----------------------------
def _asc(path):
    return np.loadtxt(path, skiprows=5)


@pytest.mark.parametrize(
    "case, csv, q0, rain, advection, tolerance",
    [
        # itzi (also a local-inertial solver) asserts MAE < 0.03 m and < 0.035 m on these
        # same cases; the local-inertial equations lack the advective term, which matters at
        # the Froude numbers ~1 of these channels, so an exact steady state is not expected
        # (measured 0.022 m and 0.034 m).
        ("McDonald_long_channel_wo_rain", "mcdo_norain.csv", 2.0, 0.0, False, 0.03),
        ("McDonald_long_channel_rain", "mcdo_rain.csv", 1.0, 0.001, False, 0.035),
        # With the advection term the rain case comes within 5 mm (measured 4.8 mm; 10 mm
        # asked); the case without rain stays at 21 mm (not investigated further: possibly
        # the inflow, which enters as a volume without momentum, or the diffusion of the
        # first-order upwind advection at 5 m cells), so it keeps itzi's tolerance.
        ("McDonald_long_channel_wo_rain", "mcdo_norain.csv", 2.0, 0.0, True, 0.03),
        ("McDonald_long_channel_rain", "mcdo_rain.csv", 1.0, 0.001, True, 0.01),
    ],
)
def test_macdonald_long_channel(refdata, case, csv, q0, rain, advection, tolerance):
    folder = refdata / "flood" / "macdonald_1d" / case
    dem = _asc(folder / "dem.asc")
    ref = np.genfromtxt(folder / csv, delimiter=",", names=True)
    ny, nx = dem.shape
    grid = make_grid(ny, nx, resolution=5.0)
    state = make_state(grid, surface_altitude=dem)
    duration = 3600.0  # steady after ~20 min (the travel time is ~8 min)
    forcing = {"rainfall": {"hyetograph": [[0, rain * 3.6e6]]}} if rain else {}
    ctx = make_context(grid, duration=duration, coupling_interval=duration, forcing=forcing)
    x0 = float(grid.x[0])
    model = FloodModel(FloodModel.Params(
        infiltration=False, manning_uniform=0.033,
        inflows=[{"name": "upstream", "line": [[x0, grid.y[0]], [x0, grid.y[-1]]],
                  "hydrograph": [[0, q0 * 5.0 * ny]]}],
        # the analytic outlet depth 0.748324 m (SWASHES header) beyond the last cell
        boundaries={"east": {"type": "stage", "stage": float(dem[0, -1] + 0.748324)}},
        advection=advection,
    ))
    start(model, state, ctx)
    model.advance(state, duration)
    wse = state["flood_water_thickness"][1] + dem[1]
    mae = np.mean(np.abs(wse - ref["wse"]))
    assert mae < tolerance, mae
    assert model.volume_balance()["relative_error"] <= 1e-12


# -- SWASHES frictionless benchmarks ----------------------------------------------------------
def _run_kernel(h, z, dx, t_end, *, qy0=None, theta=0.9, cfl=0.5, advection_min_depth=None):
    """Frictionless, closed-box runs straight on the kernel (n = 0 is refused by the model's
    parameters, rightly: a zero roughness is a user error for a city). With
    ``advection_min_depth`` (m) the advection term is on, as the model does it with
    ``advection: true`` (accelerations before each step, Courant number on |u| + sqrt(g h))."""
    ny, nx = h.shape
    fric = np.zeros_like(h)
    active = np.ones(h.shape, np.uint8)
    qx = np.zeros((ny, nx + 1), kernels.DISCHARGE_DTYPE)
    qy = np.zeros((ny + 1, nx), kernels.DISCHARGE_DTYPE)
    if qy0 is not None:
        qy[...] = qy0
    stats = zero_statistics(h.shape)
    numbers = Parameters(dx=dx, theta=theta, g=G, h_min=1e-9, duration_threshold=0.1,
                         speed_min_depth=0.01)
    owned = np.array([0, ny, 0, nx])
    adv = advection_min_depth is not None
    adv_x, adv_y = (np.zeros(qx.shape), np.zeros(qy.shape)) if adv else (None, None)
    u, v = np.zeros(qx.shape), np.zeros(qy.shape)
    t, h_max = 0.0, h.max()
    while t < t_end:
        if adv:
            speed = advection.advection_at_faces(h, z, qx, qy, u, v, adv_x, adv_y, owned, dx=dx,
                                               g=G, h_min=advection_min_depth)
        else:
            speed = np.sqrt(G * h_max)
        dt = min(cfl * dx / speed, t_end - t)
        h_max, *_ = kernels.local_inertial_step(
            Flow(h, qx, qy), Ground(z, fric, active), stats, numbers, dt=dt, t_end=t + dt,
            owned=owned, advection=Advection(adv_x, adv_y) if adv else None,
        )
        t += dt
        assert h.min() >= 0 and np.isfinite(h).all()
    return h


def _dambreak_errors(refdata, name, h_right, advection_min_depth=None):
    ref = np.loadtxt(refdata / "flood" / "swashes_reference" / name, comments="#", usecols=(0, 1))
    errors = []
    for n in (100, 200, 400):
        dx = 10.0 / n
        x = (np.arange(n) + 0.5) * dx
        h = np.tile(np.where(x < 5.0, 0.005, h_right), (3, 1))
        h = _run_kernel(h, np.zeros_like(h), dx, 6.0, advection_min_depth=advection_min_depth)[1]
        errors.append(np.mean(np.abs(h - np.interp(x, ref[:, 0], ref[:, 1]))))
    return np.array(errors)


@pytest.mark.parametrize("name, h_right", [("ritter_dambreak_dry_1d_N1000.txt", 0.0),
                                          ("stoker_dambreak_wet_1d_N1000.txt", 0.001)])
def test_dambreak_error_is_bounded(refdata, name, h_right):
    """Ritter (dry) and Stoker (wet) dam breaks, h0 = 5 mm, t = 6 s: mean absolute error below
    6 % of the initial depth at every resolution (measured: 5.1-5.5 % Ritter, 3.8 % Stoker),
    no negative depth."""
    errors = _dambreak_errors(refdata, name, h_right)
    assert (errors < 0.06 * 0.005).all(), errors


@pytest.mark.parametrize("name, h_right, min_order", [
    ("ritter_dambreak_dry_1d_N1000.txt", 0.0, 0.3),
    ("stoker_dambreak_wet_1d_N1000.txt", 0.001, 0.5),
])
def test_dambreak_error_shrinks_under_refinement_with_advection(refdata, name, h_right,
                                                                min_order):
    """With the advection term (``advection: true``) the scheme solves the full shallow-water
    momentum equation, so it converges to Ritter's and Stoker's solutions; without it the
    local-inertial equations converge to a solution of their own (de Almeida & Bates 2013,
    WRR 49, doi:10.1002/wrcr.20366), their error stalls at 5 % (measured ratios 0.97-0.99
    per halving of dx).

    Dx = 0.1, 0.05, 0.025 m (100-400 cells on the 10 m channel: enough for the asymptotic
    regime, a fraction of a second each). Advection on faces deeper than 1 % of h0 = 5 mm
    (the model's 1 mm default is for metre-deep urban flows). Measured L1 errors (m):
    Ritter 7.03e-5, 5.45e-5, 4.06e-5 (order 0.40), Stoker 4.05e-5, 2.21e-5, 1.28e-5 (order
    0.83). Expected order: the scheme is first order, and in L1 a monotone first-order scheme
    converges at no less than O(dx^1/2) across a shock (Kuznetsov 1976, USSR Comput. Math.
    Math. Phys. 16(6):105) and near O(dx) in practice (LeVeque 2002, Finite Volume Methods
    for Hyperbolic Problems, Cambridge University Press): hence order
    >= 0.5 for Stoker (shock, rarefaction); Ritter's dry front (the depth vanishes, so does
    the face depth of the velocity q/h) lowers it, >= 0.3 asked (measured 0.40). Errors
    must also fall at each refinement and stay below 2 % of h0 at every resolution."""
    errors = _dambreak_errors(refdata, name, h_right, advection_min_depth=0.01 * 0.005)
    assert errors[1] < errors[0] and errors[2] < errors[1], errors
    order = np.log2(errors[0] / errors[2]) / 2
    assert order >= min_order, (order, errors)
    assert (errors < 0.02 * 0.005).all(), errors


def _thacker(n, t):
    h0, a, L, eta = 0.1, 1.0, 4.0, 0.5
    omega = np.sqrt(2 * G * h0) / a
    c = (np.arange(n) + 0.5) * L / n
    X, Y = np.meshgrid(c, c)
    z = h0 * (((X - L / 2) ** 2 + (Y - L / 2) ** 2) / a**2 - 1)
    h = eta * h0 / a**2 * (2 * (X - L / 2) * np.cos(omega * t) + 2 * (Y - L / 2) * np.sin(omega * t) - eta) - z
    return np.maximum(h, 0.0), z, eta * omega


def _thacker_errors(refdata, sizes, advection_min_depth=None):
    ref = np.loadtxt(refdata / "flood" / "swashes_reference" / "thacker_paraboloid_planar_2d_100x100.txt",
                     comments="#")
    t_end = 13.4571  # three periods (SWASHES header)
    exact_ref, _, _ = _thacker(100, t_end)
    # our analytic expression reproduces the SWASHES file (x outer, y inner) to 1e-6 m
    assert np.abs(exact_ref.T.ravel() - ref[:, 2]).max() < 1e-5
    errors = []
    for n in sizes:
        h, z, v0 = _thacker(n, 0.0)
        hp = np.pad(h, ((1, 1), (0, 0)))
        qy0 = v0 * 0.5 * (hp[1:] + hp[:-1])  # initial velocity (0, eta omega): rows run +y here
        qy0[0] = qy0[-1] = 0.0
        h = _run_kernel(h, z, 4.0 / n, t_end, qy0=qy0, advection_min_depth=advection_min_depth)
        errors.append(np.mean(np.abs(h - _thacker(n, t_end)[0])))
    return np.array(errors)


def test_thacker_planar_surface_error_is_bounded(refdata):
    """Thacker's planar surface in a paraboloid after three periods, 50 x 50 cells: mean
    absolute depth error below 10 % of h0 = 0.1 m (measured ~6-7 %), no negative depth."""
    errors = _thacker_errors(refdata, (50,))
    assert errors[0] < 0.01, errors


def test_thacker_planar_surface_error_shrinks_under_refinement_with_advection(refdata):
    """The velocity of Thacker's planar solution is uniform in space, but the advective term
    of the momentum in conservative form (u.grad(h) u) is not zero: without it the error
    stalls (measured 6.7e-3, 6.4e-3, 6.3e-3 m on 25, 50, 100 cells); with it the scheme
    converges. 25, 50, 100 cells (dx = 0.16-0.04 m, the 100 x 100 of SWASHES the finest: a
    few seconds in all). Advection on faces deeper than 1 % of h0 = 0.1 m: thinner films at
    the moving shoreline get no advective acceleration (with 0.1 % they do, and their
    q/h velocities stall the error at 5.8e-3 m and shrink the step). Measured mean absolute
    errors 7.69e-3, 5.42e-3, 3.19e-3 m (order 0.63). A first-order scheme with a moving
    wet/dry shoreline converges below order 1 (the shoreline cell is only partly wet);
    order >= 0.4 asked, errors falling at each refinement."""
    errors = _thacker_errors(refdata, (25, 50, 100), advection_min_depth=0.01 * 0.1)
    assert errors[1] < errors[0] and errors[2] < errors[1], errors
    order = np.log2(errors[0] / errors[2]) / 2
    assert order >= 0.4, (order, errors)


# -- Environment Agency Test 4 ----------------------------------------------------------------
def _bilinear(h, grid, x, y):
    c = (x - grid.west) / grid.resolution - 0.5
    r = (grid.north - y) / grid.resolution - 0.5
    c0, r0 = int(np.floor(c)), int(np.floor(r))
    fc, fr = c - c0, r - r0
    return (h[r0, c0] * (1 - fc) * (1 - fr) + h[r0, c0 + 1] * fc * (1 - fr)
            + h[r0 + 1, c0] * (1 - fc) * fr + h[r0 + 1, c0 + 1] * fc * fr)


def _arrival(times, depths, threshold):
    k = int(np.argmax(depths > threshold))
    if depths[k] <= threshold:
        return np.nan
    return float(np.interp(threshold, [depths[k - 1], depths[k]], [times[k - 1], times[k]]))


def test_ea_test4_flood_propagation_over_a_floodplain(refdata):
    """EA Test 4 (flat 1000 m x 2000 m floodplain, n = 0.05, 20 m³/s through a 20 m line on
    the west edge, 5 h) at 20 m against the LISFLOOD-FP 8.0 ACC run at 1 m (Shaw et al. 2021,
    CC-BY-4.0). Tolerances from the issue: depths within 0.05 m at the six points at every
    reference time; arrival of the front within 10 %. Arrival is taken at 0.05 m: the
    reference series is sampled every ~100 s, so at a 1 cm threshold its arrival at point 1
    (between 600 s and 700 s) is itself uncertain by ~15 %, and the 1 cm toe of a diffusive
    front moves with the grid size (measured at 20 m: -17 % to -2 % at 1 cm)."""
    folder = refdata / "flood" / "ea_test4"
    ref = np.loadtxt(folder / "reference_lisfloodfp8" / "ea4-1m-acc.stage", skiprows=12)
    points = np.loadtxt(folder / "ea4.stage", skiprows=1)
    res = 20.0
    grid = Grid(ny=100, nx=50, resolution=res, west=0.0, north=2000.0, crs="EPSG:27700")
    state = make_state(grid)
    t_end, every = 18000.0, 100.0
    ctx = make_context(grid, duration=t_end, coupling_interval=every)
    # ea4.bdy: unit discharge 0 (0-300 s) -> 1 m²/s (3600-14400 s) -> 0 (18000 s), on 20 m
    hydrograph = [[0, 0.0], [300, 0.0], [3600, 20.0], [14400, 20.0], [18000, 0.0]]
    model = FloodModel(FloodModel.Params(
        infiltration=False, manning_uniform=0.05,
        inflows=[{"name": "ea4", "line": [[res / 2, 990.0], [res / 2, 1010.0]], "hydrograph": hydrograph}],
    ))
    start(model, state, ctx)
    times = np.arange(every, t_end + 1, every)
    series = []
    for t in times:
        model.advance(state, t)
        series.append([_bilinear(state["flood_water_thickness"], grid, x, y) for x, y in points])
    series = np.array(series)
    reference = np.array([np.interp(times, ref[:, 0], ref[:, k + 1]) for k in range(6)]).T
    assert np.abs(series - reference).max() < 0.05, np.abs(series - reference).max(0)
    for k in range(6):
        ours, theirs = _arrival(times, series[:, k], 0.05), _arrival(ref[:, 0], ref[:, k + 1], 0.05)
        assert abs(ours - theirs) <= 0.10 * theirs, (k + 1, ours, theirs)
    assert model.volume_balance()["relative_error"] <= 1e-12
