"""Global sensitivity (metrotwin.results.risk.sensitivity) on functions whose indices are known."""

import numpy as np
import pytest

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.sensitivity import Sensitivity, sensitivity, to_unit
from metrotwin.run.sampling import to_range, unit_design
from metrotwin.scenario.hazards import Sampling, UncertainParameter

NAMES = ["x1", "x2", "x3"]


def ishigami(u: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami function on inputs uniform on [-pi, pi], from their quantiles ``u``."""
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


# Analytic Sobol' indices of Ishigami (a = 7, b = 0.1): Saltelli et al. 2008, Global
# Sensitivity Analysis: The Primer, Wiley, section 4.9 (and Ishigami & Homma 1990):
# V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2; V1 = (1 + b pi^4/5)^2 / 2; V2 = a^2/8;
# VT3 = 8 b^2 pi^8 / 225.
_V = 7**2 / 8 + 0.1 * np.pi**4 / 5 + 0.1**2 * np.pi**8 / 18 + 0.5
_V1 = 0.5 * (1 + 0.1 * np.pi**4 / 5) ** 2
_V13 = 0.1**2 * np.pi**8 * (1 / 18 - 1 / 50)
S1_TRUE = np.array([_V1, 7**2 / 8, 0.0]) / _V
ST_TRUE = np.array([_V1 + _V13, 7**2 / 8, _V13]) / _V


def test_ishigami_reference_values():
    # the closed forms above give the Primer's published values (0.3139, 0.4424, 0; 0.5576,
    # 0.4424, 0.2437)
    np.testing.assert_allclose(S1_TRUE, [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(ST_TRUE, [0.5576, 0.4424, 0.2437], atol=1e-4)


def test_sobol_indices_of_ishigami_from_a_saltelli_design():
    sampling = Sampling(method="saltelli", members=1024, seed=3)
    x = unit_design(sampling, 3)
    assert len(x) == 1024 * (3 + 2)
    result = sensitivity("y", sampling, NAMES, x, ishigami(x))
    assert result.method == "sobol" and not result.note
    # N = 1024 base samples: the estimators' standard error is about 0.03 here (the
    # bootstrap 95 % half-width is ~0.055, checked below); 0.1 is ~3 standard errors
    assert max(result.main_conf) < 0.1 and max(result.total_conf) < 0.12
    np.testing.assert_allclose(result.main, S1_TRUE, atol=0.1)
    np.testing.assert_allclose(result.total, ST_TRUE, atol=0.1)
    # the ranking a planner reads is right: x2 alone matters most, x1 most with interactions
    assert np.argmax(result.main) == 1 and np.argmax(result.total) == 0


def test_rbd_fast_on_a_latin_hypercube_of_ishigami():
    sampling = Sampling(method="lhs", members=2048, seed=3)
    x = unit_design(sampling, 3)
    result = sensitivity("y", sampling, NAMES, x, ishigami(x))
    assert result.method == "rbd_fast" and result.total is None
    # 2048 samples: bootstrap 95 % half-widths ~0.02-0.05; 0.08 allows ~3 standard errors
    # plus the small remaining bias of RBD-FAST (Tissot & Prieur 2012)
    np.testing.assert_allclose(result.main, S1_TRUE, atol=0.08)


def test_morris_elementary_effects_of_a_linear_function_are_its_slopes():
    sampling = Sampling(method="morris", members=10, levels=4, seed=5)
    x = unit_design(sampling, 3)
    slopes = np.array([1.0, -2.0, 3.0])
    result = sensitivity("y", sampling, NAMES, x, x @ slopes)
    # on quantiles, an elementary effect of a linear function is exactly its slope; no
    # interaction or curvature, so sigma is 0 (round-off only)
    np.testing.assert_allclose(result.main, np.abs(slopes), rtol=1e-12)
    np.testing.assert_allclose(result.total, 0.0, atol=1e-12)


def test_constant_indicator_gives_a_note_not_numbers():
    sampling = Sampling(method="lhs", members=32, seed=1)
    x = unit_design(sampling, 3)
    result = sensitivity("y", sampling, NAMES, x, np.ones(32))
    assert result.main == [] and "same in every sample" in result.note


def test_a_result_count_that_does_not_fit_the_design_is_refused():
    sampling = Sampling(method="saltelli", members=8, seed=1)
    with pytest.raises(RiskInputError, match="40"):
        sensitivity("EAD", sampling, NAMES, np.zeros((39, 3)), np.arange(39.0))


@pytest.mark.parametrize("param", [
    UncertainParameter(name="a", low=0.01, high=0.1),
    UncertainParameter(name="b", distribution="loguniform", low=1.0, high=100.0),
    UncertainParameter(name="c", distribution="normal", low=0.0, high=10.0, mean=4.0, std=2.0),
])  # fmt: skip
def test_to_unit_inverts_the_draw(param):
    u = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(to_unit(param, to_range(param, u)), u, atol=1e-9)


def test_json_has_no_nan():
    result = Sensitivity("y", "sobol", ["a", "b"], [0.5, float("nan")], [0.1, 0.1])
    assert result.to_json()["main"] == [0.5, None]
