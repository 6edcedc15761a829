"""The LETKF analysis against the Kalman filter, and its local behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.observe.letkf import clip_negative, gaspari_cohn, letkf_update


def _problem(m=10, n=40, p=6, seed=1):
    rng = np.random.default_rng(seed)
    # correlated prior: a smooth truth plus smooth random perturbations on a 1-D line of cells
    xs = np.arange(n, dtype=float) * 10.0
    base = np.exp(-((xs[:, None] - xs[None, :]) / 60.0) ** 2)
    chol = np.linalg.cholesky(base + 1e-8 * np.eye(n))
    ens = (1.0 + rng.standard_normal((m, n)) @ chol.T).copy()
    cells = np.sort(rng.choice(n, size=p, replace=False))
    values = 1.0 + rng.standard_normal(p)
    std = 0.2 + 0.3 * rng.random(p)
    return ens, xs, np.zeros(n), cells, values, std


def _kalman(ens, cells, values, std, rho=1.0):
    """Kalman filter analysis with the ensemble's (inflated) sample covariance."""
    m = ens.shape[0]
    mean = ens.mean(axis=0)
    xp = ens - mean
    pb = rho * xp.T @ xp / (m - 1)
    h = np.zeros((cells.size, ens.shape[1]))
    h[np.arange(cells.size), cells] = 1.0
    gain = pb @ h.T @ np.linalg.inv(h @ pb @ h.T + np.diag(std**2))
    return mean + gain @ (values - h @ mean), (np.eye(ens.shape[1]) - gain @ h) @ pb


@pytest.mark.parametrize("max_obs_space", [0, None])  # ensemble space / observation space
@pytest.mark.parametrize("rho", [1.0, 1.3])
def test_infinite_radius_equals_kalman_filter(max_obs_space, rho):
    ens, x, y, cells, values, std = _problem()
    mean_kf, cov_kf = _kalman(ens, cells, values, std, rho)
    updated = letkf_update(ens, cells, values, std, x, y, np.inf, inflation=rho,
                           max_obs_space=max_obs_space)
    assert updated == ens.shape[1]
    # linear Gaussian case: the ETKF's analysis mean and covariance are the Kalman filter's
    # (Hunt et al. 2007 sect. 2.2); the difference is rounding of O(1) numbers
    np.testing.assert_allclose(ens.mean(axis=0), mean_kf, rtol=0, atol=1e-10)
    xp = ens - ens.mean(axis=0)
    np.testing.assert_allclose(xp.T @ xp / (ens.shape[0] - 1), cov_kf, rtol=0, atol=1e-10)


def test_observation_and_ensemble_space_agree_with_localisation():
    ens, x, y, cells, values, std = _problem(m=8, n=60, p=5, seed=3)
    a, b = ens.copy(), ens.copy()
    letkf_update(a, cells, values, std, x, y, 150.0, max_obs_space=0)
    letkf_update(b, cells, values, std, x, y, 150.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-11)  # same algebra, other rounding


def test_no_observations_leaves_ensemble_bit_for_bit():
    ens, x, y, *_ = _problem()
    before = ens.copy()
    assert letkf_update(ens, np.zeros(0, int), np.zeros(0), np.zeros(0), x, y, 100.0) == 0
    assert np.array_equal(ens, before) and ens.tobytes() == before.tobytes()


def test_cells_out_of_range_untouched_bit_for_bit():
    ens, x, y, _, _, _ = _problem(n=40)
    before = ens.copy()
    radius = 55.0
    letkf_update(ens, np.array([5]), np.array([3.0]), np.array([0.1]), x, y, radius,
                 rtps=0.5)  # fmt: skip
    far = np.abs(x - x[5]) >= radius
    assert ens[:, far].tobytes() == before[:, far].tobytes()
    near = ~far
    assert np.all(ens[:, near] != before[:, near])


def test_perfect_observations_are_matched_at_sensor_cells():
    ens, x, y, cells, values, _ = _problem(m=20, p=5)
    letkf_update(ens, cells, values, np.full(cells.size, 1e-7), x, y, 200.0)
    # error std 1e-7 against a prior spread ~1: the analysis mean sits on the observation to
    # within a few times the error std, and the spread there collapses to ~ the error std
    np.testing.assert_allclose(ens.mean(axis=0)[cells], values, atol=1e-6)
    assert np.all(ens[:, cells].std(axis=0) < 1e-6)


def test_rtps_restores_part_of_the_prior_spread():
    ens, x, y, cells, values, std = _problem()
    plain, relaxed = ens.copy(), ens.copy()
    letkf_update(plain, cells, values, std, x, y, 100.0)
    letkf_update(relaxed, cells, values, std, x, y, 100.0, rtps=0.5)
    sb, sa = ens.std(axis=0), plain.std(axis=0)
    # Whitaker & Hamill (2012) eq. 3: sigma_a <- (1 - alpha) sigma_a + alpha sigma_b
    np.testing.assert_allclose(relaxed.std(axis=0), 0.5 * sa + 0.5 * sb, rtol=1e-12)
    np.testing.assert_allclose(relaxed.mean(axis=0), plain.mean(axis=0), atol=1e-13)


def test_gaspari_cohn_values():
    # eq. (4.10): 1 at 0, 5/8 * ... : at z = c the two branches meet at 5/24 (exact)
    assert gaspari_cohn(0.0, 100.0) == 1.0
    assert gaspari_cohn(50.0, 100.0) == pytest.approx(5.0 / 24.0, abs=1e-15)
    assert gaspari_cohn(100.0, 100.0) == 0.0
    assert gaspari_cohn(1e9, np.inf) == 1.0


def test_clip_negative_returns_added_volume():
    ens = np.array([[0.5, -0.1, 0.0], [-0.2, -0.3, 1.0]])
    added = clip_negative(ens, 4.0)
    np.testing.assert_allclose(added, [0.4, 2.0])  # 0.1 m x 4 m2; (0.2 + 0.3) x 4
    assert ens.min() == 0.0


@pytest.mark.parametrize("n", [1, 2, 3, 6, 17])
def test_symmetric_eigh_matches_numpy(n):
    from metrotwin.observe.letkf import symmetric_eigh

    rng = np.random.default_rng(n)
    g = rng.standard_normal((n, max(n - 2, 1)))
    cases = [g @ g.T, np.eye(n), np.zeros((n, n)), np.diag(np.arange(n, dtype=float))]
    for a in cases:  # rank-deficient, repeated, zero and already diagonal matrices
        vec, val, work = np.empty((n, n)), np.empty(n), np.empty(n)
        symmetric_eigh(a.copy(), vec, val, work, n)
        # V diag(val) V^T = A and V orthogonal, to rounding of O(1) entries
        np.testing.assert_allclose(vec @ np.diag(val) @ vec.T, a, atol=1e-12)
        np.testing.assert_allclose(vec.T @ vec, np.eye(n), atol=1e-12)
        np.testing.assert_allclose(np.sort(val), np.linalg.eigvalsh(a), atol=1e-12)


def test_nan_at_an_observed_cell_refused_before_any_change():
    ens, x, y, cells, values, std = _problem()
    ens[3, cells[0]] = np.nan
    before = ens.copy()
    with pytest.raises(ValueError, match="not finite at an observed cell"):
        letkf_update(ens, cells, values, std, x, y, 100.0)
    np.testing.assert_array_equal(ens, before)


def test_transform_kept_for_cells_with_the_same_local_observations():
    # cells in pairs at one position (two layers of one column, say): the second of each pair
    # has the first's local observations and weights and takes its transform as computed
    ens, x, y, cells, values, std = _problem(m=8, n=60, p=5, seed=3)
    x = np.repeat(x[::2], 2)
    kept, ens_space = ens.copy(), ens.copy()
    letkf_update(kept, cells, values, std, x, y, 150.0)
    letkf_update(ens_space, cells, values, std, x, y, 150.0, max_obs_space=0)  # never kept
    np.testing.assert_allclose(kept, ens_space, rtol=0, atol=1e-11)  # same algebra, rounding
