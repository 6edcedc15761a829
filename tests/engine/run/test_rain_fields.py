"""A member's rain varying in space (``metrotwin.run.rain_fields.member_rain``): the moving
storm carries the IDF depth along its track at its speed and direction; the random
multiplier has mean 1, the given coefficient of variation and correlation; a tile's rain does
not depend on the split; a seed gives one rain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrotwin.city.grid import Grid
from metrotwin.errors import ScenarioError
from metrotwin.physics import MM_PER_HOUR
from metrotwin.run.design_storm import design_hyetograph
from metrotwin.run.rain_fields import member_rain
from metrotwin.scenario.hazards import DesignStorms

IDF = {"form": "parametric", "coefficients": {10: {"a": 1200.0, "b": 8.0, "c": 0.75}}}


def storms(spatial=None, duration="10 min", step="1 min") -> DesignStorms:
    return DesignStorms.model_validate({
        "idf": IDF, "return_periods": [10], "spatial": spatial,
        "hyetograph": {"duration": duration, "time_step": step, "peak_position": 0.4},
    })  # fmt: skip


def grid(ny=100, nx=100, resolution=50.0) -> Grid:
    return Grid(ny, nx, resolution, west=0.0, north=ny * resolution, crs="EPSG:32632")


def whole(g: Grid) -> tuple[slice, slice]:
    return slice(0, g.ny), slice(0, g.nx)


def hyetograph_depth(design: DesignStorms) -> float:
    """Depth (m) of the 10-year design storm."""
    pairs = design_hyetograph(design, 10)
    return sum(r * (b[0] - a[0]) for (a, b), r in
               zip(zip(pairs, pairs[1:]), (r for _, r in pairs))) * MM_PER_HOUR  # fmt: skip


def depth(times, rates) -> np.ndarray:
    """Depth (m) fallen on each cell: the last step (the end of the rain) must be dry."""
    assert not rates[-1].any()
    return np.einsum("k,kij->ij", np.diff(times), rates[:-1])


def test_without_spatial_the_rain_is_the_hyetograph_everywhere():
    design = storms()
    times, rates = member_rain(design, 10, 0, grid(6, 7), whole(grid(6, 7)))
    pairs = design_hyetograph(design, 10)
    assert times.tolist() == [t for t, _ in pairs]
    expected = np.array([r for _, r in pairs]) * MM_PER_HOUR
    assert rates.shape == (len(pairs), 6, 7)
    assert (rates == expected[:, None, None]).all()


def test_the_moving_storm_gives_the_idf_depth_on_its_centreline():
    cell = {"radius": 400.0, "direction": 90.0, "speed": 6.0}
    g = grid(60, 80)
    design = storms({"moving_cell": dict(cell, start=[0.0, float(g.y[40])])})  # along row 40
    times, rates = member_rain(design, 10, 0, g, whole(g))
    fallen = depth(times, rates)
    expected = hyetograph_depth(design)
    # the centreline's points receive the whole delayed hyetograph: its depth to round-off
    np.testing.assert_allclose(fallen[40], expected, rtol=1e-12)
    # across the track the depth falls as exp(-(n / R)^2), n the distance from the centreline
    across = np.abs(g.y - g.y[40])[:, None]
    np.testing.assert_allclose(fallen, expected * np.exp(-((across / 400.0) ** 2))
                               * np.ones_like(fallen), rtol=1e-12, atol=1e-18)  # fmt: skip


def test_the_default_start_gives_the_whole_domain_the_whole_storm():
    """Moving north-east from the south-west corner: the diagonal through the centre (rows +
    columns = n - 1) is the centreline."""
    g = grid(40, 40)
    design = storms({"moving_cell": {"radius": 300.0, "direction": 45.0, "speed": 3.0}})
    fallen = depth(*member_rain(design, 10, 0, g, whole(g)))
    diagonal = fallen[np.arange(40), 39 - np.arange(40)]
    np.testing.assert_allclose(diagonal, hyetograph_depth(design), rtol=1e-12)


@pytest.mark.parametrize("direction", [120.0, 33.0, 270.0])
def test_the_storm_moves_at_its_speed_and_direction(direction):
    g = grid()
    design = storms({"moving_cell": {"radius": 300.0, "direction": direction, "speed": 4.0}})
    times, rates = member_rain(design, 10, 0, g, whole(g))
    x, y = np.meshgrid(g.x, g.y)
    centres = []
    for k in range(times.size - 1):
        edge = sum(rates[k][side].sum() for side in (0, -1, (slice(None), 0),
                                                     (slice(None), -1)))  # fmt: skip
        total = rates[k].sum()
        if total > 0 and edge < 1e-9 * total:  # the storm is all inside the domain
            centres.append([(x * rates[k]).sum() / total, (y * rates[k]).sum() / total])
    assert len(centres) >= 5
    moved = np.diff(centres, axis=0)
    heading = np.array([math.sin(math.radians(direction)), math.cos(math.radians(direction))])
    # each step's rain is the last one's moved by v dt = 240 m; the rate-weighted centroid of
    # the sampled rain is off the exact one by a small fraction of a cell (measured <= 0.93 m
    # along a grid axis, where the kinks of the piecewise-linear profile fall between cell
    # centres): 5 % of the 50-m cell
    np.testing.assert_allclose(moved, np.broadcast_to(4.0 * 60.0 * heading, moved.shape),
                               atol=0.05 * g.resolution)  # fmt: skip


def test_a_storm_too_slow_to_cross_the_domain_is_refused():
    design = storms({"moving_cell": {"radius": 300.0, "direction": 90.0, "speed": 0.1}})
    # 99 km from the first cell centre to the last: 990000 s to cross, then the 600-s storm
    wide = grid(100, 100, resolution=1000.0)
    with pytest.raises(ScenarioError, match=r"moving_cell.speed = 0.1 m/s takes 990000 s to "
                                            r"cross the domain: 16510 steps of 60 s, more than "
                                            r"10000"):  # fmt: skip
        member_rain(design, 10, 0, wide, whole(wide))


BOTH = {
    "moving_cell": {"radius": 300.0, "direction": 200.0, "speed": 5.0},
    "random_field": {"coefficient_of_variation": 0.6, "correlation_length": 200.0,
                     "decorrelation_time": "3 min"},
}  # fmt: skip


def test_the_tiles_of_a_2x2_split_make_the_whole_domains_rain():
    g = grid(37, 45)
    design = storms(BOTH)
    times, rates = member_rain(design, 10, 7, g, whole(g))
    # the local windows of a 2 x 2 split with a halo of 2 cells (overlapping tiles)
    for rows in (slice(0, 21), slice(17, 37)):
        for cols in (slice(0, 25), slice(21, 45)):
            tile_times, tile = member_rain(design, 10, 7, g, (rows, cols))
            assert (tile_times == times).all()
            assert (tile == rates[:, rows, cols]).all()  # bit for bit


def test_a_seed_gives_one_rain_and_another_seed_another():
    g = grid(30, 30)
    design = storms(BOTH)
    _, first = member_rain(design, 10, 11, g, whole(g))
    _, again = member_rain(design, 10, 11, g, whole(g))
    _, other = member_rain(design, 10, 12, g, whole(g))
    assert (first == again).all()
    wet = first[:-1] > 0
    assert (first[:-1][wet] != other[:-1][wet]).all()  # a continuous draw: no value repeats


def multipliers(field: dict, seeds, ny=64, nx=64) -> np.ndarray:
    """Multipliers (fields, ny, nx) of ``field`` on a 60-block storm of uniform rain."""
    design = storms({"random_field": field}, duration="1 h", step="1 min")
    g = grid(ny, nx, resolution=10.0)
    out = []
    for seed in seeds:
        times, rates = member_rain(design, 10, seed, g, whole(g))
        uniform = np.array([r for _, r in design_hyetograph(design, 10)]) * MM_PER_HOUR
        out.append(rates[:-1] / uniform[:-1, None, None])
    return np.concatenate(out)


def within_monte_carlo_error(samples: np.ndarray, expected: float, largest_error: float):
    """The mean of independent ``samples`` is within 4 standard errors of ``expected`` (a
    chance of 6e-5 of failing if it is right), and that error is small enough to tell."""
    error = samples.std(ddof=1) / math.sqrt(samples.size)
    assert error < largest_error
    assert abs(samples.mean() - expected) < 4 * error, (samples.mean(), expected, error)


@pytest.mark.parametrize("covariance", ["exponential", "gaussian"])
def test_the_multiplier_has_mean_one_the_cv_and_the_correlation_given(covariance):
    cv, length = 0.5, 50.0  # 5 cells
    field = {"coefficient_of_variation": cv, "correlation_length": length,
             "covariance": covariance, "decorrelation_time": 0}  # fmt: skip
    m = multipliers(field, seeds=range(8))  # 480 independent fields
    # each field's spatial mean of M and of (M - 1)^2 are unbiased estimates of E[M] = 1 and
    # of var M = cv^2; the fields are independent, so their spread gives the Monte-Carlo error
    within_monte_carlo_error(m.mean(axis=(1, 2)), 1.0, 0.01)
    within_monte_carlo_error(((m - 1) ** 2).mean(axis=(1, 2)), cv**2, 0.01)
    sigma2 = math.log1p(cv**2)
    z = (np.log(m) + sigma2 / 2) / math.sqrt(sigma2)  # the Gaussian field, mean 0, variance 1
    for lag_rows, lag_cols in [(0, 5), (5, 0), (3, 4), (0, 10)]:  # lags L, L, L, 2L
        ratio = 10.0 * math.hypot(lag_rows, lag_cols) / length
        rho = math.exp(-ratio) if covariance == "exponential" else math.exp(-ratio * ratio)
        pairs = z[:, lag_rows:, lag_cols:] * z[:, :64 - lag_rows, :64 - lag_cols]
        within_monte_carlo_error(pairs.mean(axis=(1, 2)), rho, 0.02)
        # the multiplier's own correlation (Aitchison & Brown 1957, eq. 2.7)
        rho_m = math.expm1(sigma2 * rho) / math.expm1(sigma2)
        pairs = (m[:, lag_rows:, lag_cols:] - 1) * (m[:, :64 - lag_rows, :64 - lag_cols] - 1)
        within_monte_carlo_error(pairs.mean(axis=(1, 2)) / cv**2, rho_m, 0.02)


def test_the_multiplier_evolves_in_time_as_an_ar1_process():
    field = {"coefficient_of_variation": 0.4, "correlation_length": 30.0,
             "decorrelation_time": "2 min"}  # fmt: skip
    m = multipliers(field, seeds=range(10), ny=32, nx=32)
    sigma2 = math.log1p(0.4**2)
    z = ((np.log(m) + sigma2 / 2) / math.sqrt(sigma2)).reshape(10, 60, 32, 32)
    # per seed, the blocks' lag-one product averaged over the domain and the storm; seeds
    # are independent: their spread gives the Monte-Carlo error
    lag_one = (z[:, 1:] * z[:, :-1]).mean(axis=(1, 2, 3))
    within_monte_carlo_error(lag_one, math.exp(-60.0 / 120.0), 0.01)
    assert abs((z**2).mean() - 1.0) < 0.05  # each block keeps unit variance


def test_a_frozen_multiplier_is_one_field_for_the_whole_storm():
    m = multipliers({"coefficient_of_variation": 0.3, "correlation_length": 40.0}, [5], 16, 16)
    np.testing.assert_allclose(m, np.broadcast_to(m[0], m.shape), rtol=1e-14)
    assert m[0].std() > 0.1


def test_a_correlation_length_too_long_for_the_domain_is_refused():
    # padded by 3 correlation lengths, 10 + 300 cells (315, a fast FFT size), the embedding of
    # a gaussian covariance 10 times longer than the domain still has negative eigenvalues
    design = storms({"random_field": {"coefficient_of_variation": 0.3, "covariance": "gaussian",
                                      "correlation_length": 5000.0}})  # fmt: skip
    with pytest.raises(ScenarioError, match=r"correlation_length = 5000 m is too long for the "
                                            r"gaussian covariance on this 500-m domain: its "
                                            r"circulant embedding \(315 x 315 cells\) is "
                                            r"2.6 % non-positive"):  # fmt: skip
        member_rain(design, 10, 0, grid(10, 10), whole(grid(10, 10)))


def test_a_sample_has_the_same_multiplier_at_every_return_period():
    """Common random numbers: the seed of sample k, not the return period, draws the field."""
    design = DesignStorms.model_validate({
        "idf": {"form": "parametric", "coefficients": {2: {"a": 800.0, "b": 8.0, "c": 0.75},
                                                       10: IDF["coefficients"][10]}},
        "return_periods": [2, 10], "hyetograph": {"duration": "10 min", "time_step": "1 min"},
        "spatial": {"random_field": BOTH["random_field"]},
    })  # fmt: skip
    g = grid(20, 20)
    ratios = []
    for period in (2, 10):
        _, rates = member_rain(design, period, 3, g, whole(g))
        uniform = np.array([r for _, r in design_hyetograph(design, period)]) * MM_PER_HOUR
        ratios.append(rates[:-1] / uniform[:-1, None, None])
    np.testing.assert_allclose(ratios[0], ratios[1], rtol=1e-14)  # a rate times M, over a rate


@pytest.mark.parametrize("window", [(slice(0, 21), slice(0, 5)), (slice(3, 3), slice(0, 5)),
                                    (slice(-1, 4), slice(0, 5)), (slice(0, 4, 2), slice(0, 5))])
def test_a_window_that_is_not_one_of_the_grid_is_refused(window):
    with pytest.raises(ValueError, match=r"is not a window of a \(20, 20\) grid"):
        member_rain(storms(), 10, 0, grid(20, 20), window)
