"""metrotwin.physics: the shared constants and moist-air formulas, their numba twins, and that
nothing else in the package defines them again."""

from __future__ import annotations

import ast
import doctest
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.constants

from metrotwin import physics

REPO = Path(__file__).resolve().parents[2]


def test_physics_is_a_leaf_module():
    # every stage and model may import it only if it imports nothing of metrotwin itself
    tree = ast.parse((REPO / "engine" / "physics.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "math", "numpy", "numba"}, imported


def test_docstring_examples():
    result = doctest.testmod(physics)
    assert result.attempted >= 2 and result.failed == 0


def test_constants_against_scipy():
    # CODATA 2018 gives sigma to 10 significant digits (scipy computes it from h, c, k_B)
    assert physics.STEFAN_BOLTZMANN == pytest.approx(scipy.constants.Stefan_Boltzmann, rel=1e-9)
    assert physics.KELVIN_OFFSET == scipy.constants.zero_Celsius
    assert physics.STANDARD_PRESSURE == scipy.constants.atm
    # 9.81, not standard gravity 9.80665: the flood solver's value, kept so its numbers stay
    # bit for bit; 0.03 % off, far inside the solver's other uncertainties
    assert physics.GRAVITY == pytest.approx(scipy.constants.g, rel=5e-4)


@pytest.mark.parametrize("t_c, steam_table_pa", [
    (10.0, 1228.2), (20.0, 2339.2), (25.0, 3169.9), (30.0, 4247.0),
])  # fmt: skip
def test_bolton_against_the_steam_tables(t_c, steam_table_pa):
    # saturation pressure of water, IAPWS-95 (Wagner & Pruss 2002, J Phys Chem Ref Data 31:387,
    # doi:10.1063/1.1461829); Bolton (1980) states 0.1 % from -30 to 35 degC for eq. 10
    e = physics.saturation_vapour_pressure(physics.KELVIN_OFFSET + t_c)
    assert e == pytest.approx(steam_table_pa, rel=1e-3)


def test_bolton_on_arrays_is_the_scalar_formula_per_element():
    t = np.linspace(240.0, 320.0, 81)
    each = [physics.saturation_vapour_pressure(float(x)) for x in t]
    np.testing.assert_array_equal(physics.saturation_vapour_pressure(t), each)


def test_dew_point_inverts_bolton():
    t = np.linspace(250.0, 320.0, 15)
    back = [physics.dew_point(float(physics.saturation_vapour_pressure(x))) for x in t]
    # log and exp of a value near 1e3 Pa lose ~1e-13 relative: 1e-9 K is far above that
    np.testing.assert_allclose(back, t, rtol=0, atol=1e-9)


def test_slope_is_the_derivative():
    t = np.linspace(250.0, 320.0, 15)
    h = 1e-3  # K: the central difference errs by ~h^2 e''' / 6, < 1e-8 of the slope here
    es = physics.saturation_vapour_pressure(t)
    fd = (physics.saturation_vapour_pressure(t + h) - physics.saturation_vapour_pressure(t - h))
    np.testing.assert_allclose(physics.saturation_vapour_pressure_slope(t, es), fd / (2 * h),
                               rtol=1e-7)


def test_specific_humidity_from_the_mixing_ratio():
    # q = w / (1 + w) with the mixing ratio w = 0.622 e / (p - e): an independent route
    e = np.linspace(100.0, 6000.0, 20)
    p = 90000.0
    w = 0.622 * e / (p - e)
    np.testing.assert_allclose(physics.specific_humidity(e, p), w / (1 + w), rtol=1e-12)


def test_kernel_twins_compute_the_python_formulas():
    # numba's scalar exp is libm's, numpy's may be its own SIMD one: equal to a few ulp
    for t in np.linspace(250.0, 320.0, 8):
        es = physics.saturation_vapour_pressure_kernel(t)
        assert es == pytest.approx(physics.saturation_vapour_pressure(t), rel=1e-14)
        assert physics.saturation_vapour_pressure_slope_kernel(t, es) == pytest.approx(
            physics.saturation_vapour_pressure_slope(t, es), rel=1e-14)
        qs, dqs = physics.saturation_specific_humidity_kernel(t, 95000.0)
        assert qs == pytest.approx(physics.specific_humidity(es, 95000.0), rel=1e-14)
        h = 1e-3  # K, as in test_slope_is_the_derivative
        up = physics.specific_humidity(physics.saturation_vapour_pressure(t + h), 95000.0)
        down = physics.specific_humidity(physics.saturation_vapour_pressure(t - h), 95000.0)
        assert dqs == pytest.approx((up - down) / (2 * h), rel=1e-7)


#: literals of the shared constants and of Bolton's formula that must appear in physics.py only
ONCE = {"Stefan-Boltzmann": r"5\.670374419e-0?8", "Bolton": r"\b611\.2\b|\b17\.67\b|\b243\.5\b",
        "latent heat": r"\b2\.45e6\b", "specific heat of air": r"\b1005\.0?\b"}


def test_the_constants_are_defined_once():
    found = []
    for folder in ("engine", "models", "hpc", "viz"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "physics.py" and path.parent.name == "engine":
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(REPO)}: {what}" for what, pattern in ONCE.items()
                      if re.search(pattern, text)]
    assert not found, "use metrotwin.physics instead:\n" + "\n".join(found)
