"""Flood damage per building: metrotwin's ``building_damage`` against Delft-FIAT 0.4.0 (run in
its own venv, see tests/_support/fiat_peer.py) on the same exposure and the same depth map.

Both use the JRC Europe curves and the same maximum damage per building (JRC EUR/m² of its use
in NLD x footprint x min(storeys, 3)), ground floor height 0 and the depth of the cell holding
the building's point (FIAT's ``centroid`` extraction).

Tolerance: 0.005 EUR per building. FIAT rounds each damage to 0.01 EUR
(fiat/methods/flood.py, calculate_damage); everything else is the same arithmetic (its
curves are numpy.interp onto a 0.01 m step, read at that step, times the maximum damage).

Where the two differ, by design: FIAT reads its curves at the depth rounded to 0.01 m and
takes depths <= 0.0001 m as dry; metrotwin interpolates at the depth itself. On depths that
are multiples of 0.01 m they agree; on any depths, FIAT equals metrotwin at the rounded depth.
"""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.results.risk.damage import building_damage
from metrotwin.results.risk.exposure import depth_at_points, read_fiat_damage, write_fiat_model

from tests._support.fiat_peer import fiat_python, run_fiat, synthetic_case

PYTHON, WHY_NOT = fiat_python()
pytestmark = pytest.mark.skipif(PYTHON is None, reason=WHY_NOT)

COUNTRY, STOREYS_COUNTED = "NLD", 3
CENT = 0.005  # EUR: FIAT rounds each building's damage to 0.01 EUR
RTOL = 1e-12  # a half-cent tie rounded differs by 0.005 EUR plus the float error of ~1e6 EUR


def _both(tmp_path, grid, depth, exposure, name):
    settings = write_fiat_model(tmp_path / name, depth, grid, exposure, country=COUNTRY,
                                storeys_counted=STOREYS_COUNTED)  # fmt: skip
    run_fiat(PYTHON, settings, timeout=300)
    fiat = read_fiat_damage(settings, len(exposure))
    at = depth_at_points(depth, grid, exposure.x, exposure.y)
    return fiat, at


def _ours(depth_m, exposure):
    return building_damage(depth_m, exposure.uses, exposure.footprint_m2, exposure.storeys,
                           country=COUNTRY, storeys_counted=STOREYS_COUNTED)  # fmt: skip


def test_damage_per_building_equals_fiat_on_the_same_exposure_and_depths(tmp_path):
    grid, depth, exposure = synthetic_case(400, seed=19, on_step=True)
    fiat, at = _both(tmp_path, grid, depth, exposure, "on_step")
    ours = _ours(at, exposure)
    # the case covers dry buildings, the curves' inside and beyond their last point (6 m)
    assert (at <= 0).sum() >= 5 and ((at > 0) & (at < 6)).sum() >= 100 and (at > 6).sum() >= 5
    assert (ours > 0).sum() >= 300
    np.testing.assert_allclose(fiat, ours, rtol=RTOL, atol=CENT)
    np.testing.assert_array_equal(fiat[at <= 0], 0.0)


def test_off_step_depths_fiat_reads_its_curves_at_the_depth_rounded_to_a_centimetre(tmp_path):
    grid, depth, exposure = synthetic_case(400, seed=7, on_step=False)
    depth[:3, :3] = [[1e-5, 5e-5, 1e-4], [0.004, 0.0049, 0.006], [0.011, 6.004, 5.996]]
    exposure.x[:9] = grid.west + (np.arange(9) % 3 + 0.5) * grid.resolution
    exposure.y[:9] = grid.north - (np.arange(9) // 3 + 0.5) * grid.resolution
    fiat, at = _both(tmp_path, grid, depth, exposure, "off_step")
    rounded = np.array([round(float(d), 2) for d in at])  # as FIAT rounds (Python's round)
    np.testing.assert_allclose(fiat, _ours(rounded, exposure), rtol=RTOL, atol=CENT)
    # metrotwin at the depth itself differs by more than FIAT's cent rounding: the difference
    # is the centimetre step, not noise
    exact = _ours(at, exposure)
    assert np.max(np.abs(fiat - exact)) > 100 * CENT
    # the shallowest: FIAT dry (<= 0.0001 m, and < 0.005 m rounds to 0), metrotwin a little
    np.testing.assert_array_equal(at[:5], [1e-5, 5e-5, 1e-4, 0.004, 0.0049])
    np.testing.assert_array_equal(fiat[:5], 0.0)
    assert np.all(exact[:5] > 0)
