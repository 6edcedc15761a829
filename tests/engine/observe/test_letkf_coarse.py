"""The LETKF with its transform interpolated from a coarser grid (transform_step > 1) against
the exact LETKF (transform at every cell)."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.observe.letkf import letkf_update
from metrotwin.observe.letkf_coarse import coarse_lines


def _grid_problem(ny=61, nx=57, m=12, p=10, res=20.0, seed=4):
    """A smooth random ensemble on a ny x nx grid of ``res`` m cells (white noise smoothed by a
    Gaussian of 200 m along each axis, scaled to a spread ~0.3 about 1) and p sensors at
    random cells, error std 0.1."""
    rng = np.random.default_rng(seed)
    taps = np.exp(-0.5 * (np.arange(-30, 31) * res / 200.0) ** 2)
    taps /= np.sqrt(np.sum(taps**2))
    noise = rng.standard_normal((m, ny + 60, nx + 60))
    smooth = np.apply_along_axis(np.convolve, 1, noise, taps, mode="valid")
    smooth = np.apply_along_axis(np.convolve, 2, smooth, taps, mode="valid")
    ens = np.ascontiguousarray((1.0 + 0.3 * smooth).reshape(m, ny * nx))
    yy, xx = np.meshgrid(np.arange(ny) * res, np.arange(nx) * res, indexing="ij")
    cells = rng.choice(ny * nx, size=p, replace=False)
    values = 1.0 + 0.3 * rng.standard_normal(p)
    return ens, xx.ravel(), yy.ravel(), cells, values, np.full(p, 0.1), (ny, nx)


def _analyse(step, radius=600.0, **options):
    ens, x, y, cells, values, std, shape = _grid_problem()
    before = ens.copy()
    extra = {"transform_step": step, "grid_shape": shape} if step > 1 else {}
    updated = letkf_update(ens, cells, values, std, x, y, radius, **extra, **options)
    return before, ens, updated, shape


@pytest.mark.parametrize("options", [{}, {"inflation": 1.2, "rtps": 0.4}])
def test_exact_at_the_coarse_points(options):
    _, exact, n_exact, (ny, nx) = _analyse(1, **options)
    _, interp, n_interp, _ = _analyse(4, **options)
    assert n_interp == n_exact  # the same cells updated: those with an observation in reach
    rows, cols = coarse_lines(ny, 4), coarse_lines(nx, 4)
    points = (rows[:, None] * nx + cols[None, :]).ravel()
    # at a coarse point the interpolation weight of its own transform is 1: the same analysis
    # by the G, g form (module letkf_coarse), to rounding of O(1) numbers
    np.testing.assert_allclose(interp[:, points], exact[:, points], rtol=0, atol=1e-10)


def test_interpolation_error_bounded_and_second_order():
    before, exact, _, _ = _analyse(1)
    largest = np.abs(exact - before).max()
    rms = {}
    for step in (2, 4, 8):
        _, interp, _, _ = _analyse(step)
        diff = np.abs(interp - exact)
        rms[step] = np.sqrt(np.mean(diff**2)) / largest
        if step == 2:
            # 40 m between transforms against a 600 m radius: bilinear interpolation's error
            # h^2/8 max|f''| with f varying on ~ radius / 4 (the Gaspari-Cohn c = radius/2 and
            # the transform's sharper dependence near sensors) is ~ (40/150)^2 / 8 ~ 1 %
            assert diff.max() <= 0.01 * largest
    # second order: halving the step divides the error by ~4 (3 allows for the sensors' kinks)
    assert rms[4] / rms[2] > 3.0 and rms[8] / rms[4] > 3.0


def test_cells_out_of_reach_untouched_bit_for_bit():
    before, interp, _, (ny, nx) = _analyse(8, radius=150.0)
    _, exact, _, _ = _analyse(1, radius=150.0)
    untouched = np.all(exact == before, axis=0)
    assert untouched.any() and (~untouched).any()
    assert interp[:, untouched].tobytes() == before[:, untouched].tobytes()
    assert np.all(np.any(interp != before, axis=0)[~untouched])


def test_a_one_row_grid():
    ens, x, _, cells, values, std, _ = _grid_problem(ny=1, nx=200, p=4)
    exact, interp = ens.copy(), ens.copy()
    n_exact = letkf_update(exact, cells, values, std, x, np.zeros_like(x), 500.0)
    n_interp = letkf_update(interp, cells, values, std, x, np.zeros_like(x), 500.0,
                            transform_step=5, grid_shape=(1, 200))  # fmt: skip
    assert n_interp == n_exact
    points = coarse_lines(200, 5)  # every 5th cell and the last: exact there
    np.testing.assert_allclose(interp[:, points], exact[:, points], rtol=0, atol=1e-10)
    assert np.all(np.isfinite(interp))


@pytest.mark.parametrize("options, match", [
    ({"transform_step": 3}, "needs grid_shape"),
    ({"transform_step": 3, "grid_shape": (10, 10)}, "rows x columns = 3477 cells"),
    ({"transform_step": 0}, "transform_step must be >= 1, not 0"),
])  # fmt: skip
def test_bad_options_refused_before_any_change(options, match):
    ens, x, y, cells, values, std, _ = _grid_problem()
    before = ens.copy()
    with pytest.raises(ValueError, match=match):
        letkf_update(ens, cells, values, std, x, y, 300.0, **options)
    assert ens.tobytes() == before.tobytes()


def test_a_nan_cell_stays_nan_and_alone():
    ens, x, y, cells, values, std, shape = _grid_problem()
    building = next(j for j in (0, 1, 2, 3) if j not in cells)  # NaN on a building, unobserved
    plain, holed = ens.copy(), ens.copy()
    holed[:, building] = np.nan
    options = {"transform_step": 4, "grid_shape": shape}
    letkf_update(plain, cells, values, std, x, y, 600.0, **options)
    letkf_update(holed, cells, values, std, x, y, 600.0, **options)
    assert np.all(np.isnan(holed[:, building]))
    others = np.arange(ens.shape[1]) != building
    assert holed[:, others].tobytes() == plain[:, others].tobytes()


def test_a_window_of_the_grid_analysed_as_in_the_whole_grid():
    ens, x, y, _, _, std, (ny, nx) = _grid_problem()
    rng = np.random.default_rng(7)
    rows, cols = rng.integers(15, 46, 10), rng.integers(10, 46, 10)  # sensors inside the window
    values = 1.0 + 0.3 * rng.standard_normal(10)
    whole = ens.copy()
    letkf_update(whole, rows * nx + cols, values, std, x, y, 600.0, transform_step=4,
                 grid_shape=(ny, nx))  # fmt: skip
    # the window: rows 7-52, columns 3-50 (not on the coarse lines of step 4), as a rank holds it
    r0, c0, wy, wx = 7, 3, 46, 48
    inside = ((np.arange(ny)[:, None] >= r0) & (np.arange(ny)[:, None] < r0 + wy)
              & (np.arange(nx)[None, :] >= c0) & (np.arange(nx)[None, :] < c0 + wx)).ravel()
    part = np.ascontiguousarray(ens[:, inside])
    local = (rows - r0) * wx + cols - c0
    alone = part.copy()
    letkf_update(part, local, values, std, x[inside], y[inside], 600.0, transform_step=4,
                 grid_shape=(wy, wx), grid_window=(r0, c0, y[::nx], x[:nx]))  # fmt: skip
    assert part.tobytes() == np.ascontiguousarray(whole[:, inside]).tobytes()
    # without the window the coarse lines are the part's own: another (nearby) analysis
    letkf_update(alone, local, values, std, x[inside], y[inside], 600.0, transform_step=4,
                 grid_shape=(wy, wx))  # fmt: skip
    assert not np.array_equal(alone, part)


def test_a_window_that_does_not_fit_refused():
    ens, x, y, cells, values, std, (ny, nx) = _grid_problem()
    with pytest.raises(ValueError, match="does not fit the whole grid's 61 rows x 57 columns"):
        letkf_update(ens, cells, values, std, x, y, 300.0, transform_step=2, grid_shape=(ny, nx),
                     grid_window=(1, 0, y[::nx], x[:nx]))  # fmt: skip
