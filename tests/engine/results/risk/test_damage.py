"""Flood damage per building from the JRC curves: the curves give the published table points,
the maximum damages follow the report's method, and a building's damage is fraction(depth) *
maximum damage per m² * footprint * storeys counted."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.damage import (
    DepthDamageCurve,
    building_damage,
    implied_gdp,
    jrc_curves,
    jrc_max_damage_from_gdp,
    jrc_max_damage_table,
    max_damage_per_m2,
)

#: Huizinga et al. (2017), workbook sheet "Damage functions", column EUROPE (data/README.md)
PUBLISHED = {
    "residential": [0.00, 0.25, 0.40, 0.50, 0.60, 0.75, 0.85, 0.95, 1.00],
    "commercial": [0.00, 0.15, 0.30, 0.45, 0.55, 0.75, 0.90, 1.00, 1.00],
    "industrial": [0.00, 0.15, 0.27, 0.40, 0.52, 0.70, 0.85, 1.00, 1.00],
}
DEPTHS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0]


@pytest.mark.parametrize("damage_class", sorted(PUBLISHED))
def test_the_jrc_curves_reproduce_the_published_points(damage_class):
    curve = jrc_curves()[damage_class]
    np.testing.assert_array_equal(curve(DEPTHS), PUBLISHED[damage_class])


def test_the_curves_interpolate_linearly_and_hold_beyond_their_ends():
    res = jrc_curves()["residential"]
    assert res(0.25) == pytest.approx(0.125, rel=1e-15)
    assert res(2.5) == pytest.approx(0.675, rel=1e-15)
    assert res(12.0) == 1.0 and res(-0.3) == 0.0 and res(0.0) == 0.0


def test_the_max_damage_table_follows_the_reports_method():
    """The report's method (cost = a GDP^b, 0.6 depreciated, 0.4 undamageable, content
    factor) gives the commercial value from the GDP that the residential value implies, for
    every country, within the workbook's rounding: both values are rounded to 0.005 EUR, and
    the residential one's rounding reaches the commercial value scaled by (b_com / b_res) *
    com / res (the elasticity of com to res through GDP), so the bound is
    0.005 * (1 + 0.3574 / 0.3852 * com / res), about a cent."""
    table = jrc_max_damage_table()
    assert {"CZE", "DEU", "NLD", "GBR"} <= set(table)
    for iso, row in table.items():
        res, com = row["residential"], row["commercial"]
        gdp = implied_gdp(res)
        assert jrc_max_damage_from_gdp(gdp, "residential") == pytest.approx(res, rel=1e-12)
        bound = 0.005 * (1 + 0.3574 / 0.3852 * com / res)
        assert abs(jrc_max_damage_from_gdp(gdp, "commercial") - com) < bound, iso


def test_the_netherlands_structure_value_matches_a_second_transcription():
    """keesvanginkel's copy of the workbook: NL residential structure 561 EUR/m² (total 842)."""
    nl = jrc_max_damage_table()["NLD"]["residential"]
    assert round(nl / 1.5) == 561 and round(nl) == 842


def test_max_damage_per_use_and_country():
    assert max_damage_per_m2("DEU", "residential") == 783.04
    assert max_damage_per_m2("DEU", "public") == 1085.27  # schools, hospitals: commercial
    industrial = max_damage_per_m2("CZE", "industrial")
    gdp = implied_gdp(587.20)
    assert industrial == pytest.approx(30.824 * gdp**0.3249 * 0.6 * 0.6 * 2.5, rel=1e-12)
    with pytest.raises(RiskInputError, match=r"no JRC maximum damage for country 'XYZ'.*CZE"):
        max_damage_per_m2("XYZ", "residential")


def test_building_damage_by_hand():
    """Residential in Germany, 1.0 m: 0.40 * 783.04 EUR/m² * 120 m² = 37585.92 EUR; an
    industrial building at 0.5 m: 0.15 * its maximum * 400 m²; a dry one: 0."""
    got = building_damage([1.0, 0.5, 0.0], ["residential", "industrial", "commercial"],
                          [120.0, 400.0, 80.0], [3, 1, 2], country="DEU")  # fmt: skip
    assert got[0] == pytest.approx(0.40 * 783.04 * 120.0, rel=1e-14)
    assert got[1] == pytest.approx(0.15 * max_damage_per_m2("DEU", "industrial") * 400, rel=1e-14)
    assert got[2] == 0.0


def test_storeys_counted_up_to_the_limit():
    one = building_damage([2.0], ["residential"], [100.0], [5], country="NLD")
    three = building_damage([2.0], ["residential"], [100.0], [5], country="NLD", storeys_counted=3)
    two_storeys = building_damage([2.0], ["residential"], [100.0], [2], country="NLD",
                                  storeys_counted=3)  # fmt: skip
    assert three[0] == pytest.approx(3 * one[0], rel=1e-15)
    assert two_storeys[0] == pytest.approx(2 * one[0], rel=1e-15)


def test_an_unknown_use_is_refused_with_the_valid_ones():
    with pytest.raises(RiskInputError, match=r"building use 'barn' has no depth-damage curve; "
                                              r"uses with a curve: commercial, industrial"):
        building_damage([1.0], ["barn"], [100.0], [1], country="DEU")


@pytest.mark.parametrize(
    ("depths", "fractions", "expected"),
    [([0, 1], [0.0, 1.2], "fractions must be in"), ([1, 0], [0.0, 1.0], "increase strictly"),
     ([0, 1, 2], [0.0, 0.6, 0.5], "not decrease")],
)  # fmt: skip
def test_a_bad_user_curve_is_refused(depths, fractions, expected):
    with pytest.raises(RiskInputError, match=expected):
        DepthDamageCurve(np.array(depths, float), np.array(fractions, float))
