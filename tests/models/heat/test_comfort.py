"""UTCI and the Tmrt flux step against their references."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from metrotwin.models.heat.kernels import comfort, radiation
from metrotwin.physics import STEFAN_BOLTZMANN


def _utci(ta, tr, v, rh):
    ta, tr, v, rh = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (ta, tr, v, rh))
    out = np.empty(ta.shape)
    comfort.utci_at_cell(ta, tr, v, rh, where=np.ones(ta.shape, bool), out=out)
    return out


def test_utci_reference_table(refdata):
    # validation-data-comfort-models ts_utci.json: 13 cases, tolerance 0.1 degC (the table's);
    # cases in IP units are converted, list cases are checked element by element, cases whose
    # reference is null lie outside the polynomial's domain (we clip instead of failing).
    cases = json.loads((refdata / "heat" / "utci_reference" / "ts_utci.json").read_text())
    checked = 0
    for case in cases["data"]:
        inp, expected = case["inputs"], case["outputs"].get("utci")
        ta, tr, v, rh = (np.atleast_1d(np.asarray(inp[k], dtype=float))
                         for k in ("tdb", "tr", "v", "rh"))
        expected = np.atleast_1d(np.asarray(expected, dtype=object))
        ip = inp.get("units", "si").lower() == "ip"
        if ip:  # degF, ft/s
            ta, tr, v = (ta - 32) / 1.8, (tr - 32) / 1.8, v * 0.3048
        got = _utci(*np.broadcast_arrays(ta, tr, v, rh))
        for g, e in zip(got, expected):
            if e is None:
                continue
            e = (float(e) - 32) / 1.8 if ip else float(e)
            assert g == pytest.approx(e, abs=0.1), inp
            checked += 1
    assert checked >= 15


def test_utci_matches_pythermalcomfort_to_001(refdata):
    # 2000 random points generated with pythermalcomfort 4.8.1 (unrounded): the compiled
    # polynomial must agree to 0.01 degC (the bound for a compiled version)
    import pandas as pd

    table = pd.read_csv(refdata / "heat" / "utci_reference" / "pythermalcomfort_4.8.1_utci_random2000.csv")
    table = table.dropna(subset=["utci_C"])
    assert len(table) > 1500
    got = _utci(table["tdb_C"], table["tr_C"], table["v10_ms"], table["rh_pct"])
    assert np.abs(got - table["utci_C"].to_numpy()).max() < 0.01


def test_utci_matches_installed_pythermalcomfort():
    from pythermalcomfort.models import utci

    rng = np.random.default_rng(3)
    ta = rng.uniform(0, 45, 500)
    tr = ta + rng.uniform(-5, 40, 500)
    v = rng.uniform(0.5, 10, 500)
    rh = rng.uniform(10, 60, 500)
    ref = utci(ta, tr, v, rh, round_output=False).utci
    ok = np.isfinite(ref)
    assert np.abs(_utci(ta, tr, v, rh)[ok] - ref[ok]).max() < 0.01


def test_tmrt_of_an_isotropic_enclosure_is_its_temperature():
    # a person surrounded by black surfaces at T and no sunshine has Tmrt = T (S = a_l sigma T^4)
    n = 3
    t = 300.0
    lw = STEFAN_BOLTZMANN * t**4
    out = np.empty(n)
    sky = radiation.Sky(direct_normal=0.0, diffuse=0.0, sin_alt=0.0, cos_alt=1.0, longwave=lw)
    around = radiation.Surroundings(wall_shortwave=np.zeros(4), wall_longwave=np.full(4, lw),
                                  leaf_longwave=lw, wall_albedo=0.2)
    radiation.mean_radiant_temperature_at_cell(
        np.zeros(n), np.full((4, n), 0.3), np.full((4, n), 0.6), np.zeros(n), np.full(n, lw),
        np.zeros(n), np.full(n, lw), sky, around,
        abs_k=0.7, abs_l=0.97, f_up=0.06, f_side=0.22, f_cyl=0.28, out=out)
    np.testing.assert_allclose(out, t, rtol=1e-12)


def test_ground_view_mean_against_numpy_box_mean():
    # the separable box sums must equal a direct (2k+1)^2 mean over ground cells, roofs left out
    rng = np.random.default_rng(5)
    values = rng.uniform(300, 600, (23, 17))
    ground = rng.uniform(size=values.shape) > 0.3
    out = np.empty_like(values)
    k = 2
    radiation.ground_view_mean(values, ground, radius=k, out=out)
    for r in range(values.shape[0]):
        for c in range(values.shape[1]):
            sl = (slice(max(r - k, 0), r + k + 1), slice(max(c - k, 0), c + k + 1))
            g = ground[sl]
            ref = values[sl][g].mean() if g.any() else values[r, c]
            assert out[r, c] == pytest.approx(ref, rel=1e-12)


def test_utci_is_nan_where_not_asked():
    ta = np.full(4, 30.0)
    out = np.empty(4)
    where = np.array([True, False, True, False])
    comfort.utci_at_cell(ta, ta + 20, np.full(4, 2.0), np.full(4, 50.0), where=where, out=out)
    assert np.isfinite(out[where]).all() and np.isnan(out[~where]).all()


@pytest.mark.parametrize("v, pa", [(0.5, 0.8), (2.0, 1.5), (6.5, 3.0), (12.0, 4.0)])
def test_uniform_wind_utci_matches_the_full_polynomial_and_pythermalcomfort(v, pa):
    # the heat model's path for one wind and one vapour pressure collapses the polynomial to
    # 28 coefficients in (Ta, Tmrt - Ta): the same polynomial, so equal to rounding (1e-9 degC)
    # to the 210-term kernel, and to pythermalcomfort to its 0.01 degC (the bound)
    from pythermalcomfort.models import utci

    rng = np.random.default_rng(11)
    n = 400
    ta = rng.uniform(-10, 46, n)
    tr = ta + rng.uniform(-10, 60, n)
    where = rng.uniform(size=n) > 0.2
    fast = np.empty(n)
    comfort.utci_uniform_at_cell(ta, tr, v, pa, where=where, out=fast)
    full = np.empty(n)
    comfort.utci_from_vapour_pressure(ta, tr, np.full(n, v), np.full(n, pa), where=where, out=full)
    assert np.array_equal(np.isnan(fast), ~where)
    assert np.abs(fast[where] - full[where]).max() < 1e-9
    es = np.array([comfort.saturation_vapour_pressure_kpa(t) for t in ta])
    rh = 100.0 * pa / es
    ok = where & (rh <= 100.0)
    ref = utci(ta[ok], tr[ok], v, rh[ok], round_output=False, limit_inputs=False).utci
    fin = np.isfinite(ref)
    assert fin.sum() > 50
    assert np.abs(fast[ok][fin] - ref[fin]).max() < 0.01


#: run in a fresh interpreter with an empty numba cache: UTCI from relative humidity compiled
#: first, then the saturation vapour pressure the model calls from Python at -50..50 degC
FIRST_UTCI = """
import numpy as np
from metrotwin.models.heat.kernels import comfort, radiation
one = np.ones(1)
comfort.utci_at_cell(20 * one, 30 * one, 2 * one, 50 * one, where=one > 0, out=np.empty(1))
from numba import njit
alone = njit(comfort.saturation_vapour_pressure_kpa.py_func)  # compiled by itself, no cache
t = np.linspace(-50.0, 50.0, 401)
print(sum(comfort.saturation_vapour_pressure_kpa(x) != alone(x) for x in t))
"""


def test_saturation_pressure_does_not_depend_on_what_compiled_first(tmp_path):
    # numba compiled a kernel first reached from a fastmath kernel (utci_at_cell) with fast
    # math and cached it so: the vapour pressure the model takes from it moved in the last bits
    # with the order in which earlier runs or tests compiled the kernels. The reference: the
    # same function compiled on its own.
    proc = subprocess.run([sys.executable, "-c", FIRST_UTCI], capture_output=True, text=True,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == "0", "values that differ from the formula: " + proc.stdout
