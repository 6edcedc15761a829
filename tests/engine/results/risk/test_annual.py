"""Expected annual damage: the trapezoid over annual exceedance probability, with the tails as
the module states them, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.annual import ead_band, expected_annual_damage


def test_ead_by_hand_exact_in_binary_fractions():
    """T = 2, 4, 8 yr: p = 0.5, 0.25, 0.125 (exact in binary). Damages 0, 100, 400:
    trapezoids (0 + 100)/2 * 0.25 = 12.5 and (100 + 400)/2 * 0.125 = 31.25, so 43.75 with no
    rare tail, plus 400 * 0.125 = 50 held constant to p = 0: 93.75. Exact, not approximate."""
    assert expected_annual_damage([2, 4, 8], [0.0, 100.0, 400.0], rare_tail="none") == 43.75
    assert expected_annual_damage([8, 2, 4], [400.0, 0.0, 100.0]) == 93.75  # any order


def test_ead_by_hand_decimal_periods():
    """T = 10, 100, 1000 yr, damages 1e5, 1e6, 5e6 EUR: (1e5 + 1e6)/2 * 0.09 = 49 500,
    (1e6 + 5e6)/2 * 0.009 = 27 000, tail 5e6 * 0.001 = 5 000; 81 500 EUR/yr (round-off of the
    decimal probabilities only: relative 1e-15)."""
    got = expected_annual_damage([10, 100, 1000], [1e5, 1e6, 5e6])
    assert got == pytest.approx(81_500.0, rel=1e-14)
    assert expected_annual_damage([10, 100, 1000], [1e5, 1e6, 5e6], rare_tail="none") == (
        pytest.approx(76_500.0, rel=1e-14)
    )


def test_ead_per_district_is_the_ead_of_each_column():
    damages = np.array([[0.0, 10.0], [100.0, 20.0], [400.0, 20.0]])  # 3 events x 2 districts
    got = expected_annual_damage([2, 4, 8], damages)
    assert got.shape == (2,)
    assert got[0] == 93.75
    assert got[1] == (10 + 20) / 2 * 0.25 + 20 * 0.125 + 20 * 0.125


def test_a_single_event_has_only_the_tail():
    assert expected_annual_damage([50], [1000.0]) == 20.0
    assert expected_annual_damage([50], [1000.0], rare_tail="none") == 0.0


@pytest.mark.parametrize(
    ("periods", "damages", "expected"),
    [([1, 10], [0.0, 1.0], "must be > 1 year"), ([10, 10], [0.0, 1.0], "repeat"),
     ([2, 10], [0.0], "2 return periods but damages for"),
     ([2, 10], [0.0, -1.0], "finite and >= 0")],
)  # fmt: skip
def test_bad_input_is_refused(periods, damages, expected):
    with pytest.raises(RiskInputError, match=expected):
        expected_annual_damage(periods, damages)


def test_ead_band_over_members_by_hand():
    """Three members scale the T = 2, 4, 8 damages (0, 100, 400) by 1, 2 and 4: EADs 93.75,
    187.5 and 375; their 5/50/95 % quantiles (inverted CDF of thirds) are the three EADs."""
    base = np.array([0.0, 100.0, 400.0])
    members = np.stack([base, 2 * base, 4 * base])
    np.testing.assert_array_equal(ead_band([2, 4, 8], members), [93.75, 187.5, 375.0])
    weighted = ead_band([2, 4, 8], members, [0.5], weights=[0.6, 0.2, 0.2])
    np.testing.assert_array_equal(weighted, [93.75])
