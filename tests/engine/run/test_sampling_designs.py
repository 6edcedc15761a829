"""The sensitivity designs of hazards.sampling (saltelli, morris): sizes, determinism, checks."""

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import qmc

from metrotwin.run.sampling import sample_parameters, unit_design
from metrotwin.scenario.hazards import Hazards, Sampling, UncertainParameter

PARAMS = [
    UncertainParameter(name="models.flood.manning_n", low=0.01, high=0.1),
    UncertainParameter(name="drain", distribution="loguniform", low=5.0, high=50.0),
]


@pytest.mark.parametrize("sampling, rows", [
    (Sampling(method="saltelli", members=8), 8 * (2 + 2)),
    (Sampling(method="saltelli", members=8, second_order=True), 8 * (2 * 2 + 2)),
    (Sampling(method="morris", members=6, levels=4), 6 * (2 + 1)),
    (Sampling(method="lhs", members=7), 7),
])  # fmt: skip
def test_design_sizes_and_ranges(sampling, rows):
    values = sample_parameters(PARAMS, sampling)
    assert sampling.sample_count(len(PARAMS)) == rows
    assert all(len(v) == rows for v in values.values())
    assert np.all((values["drain"] >= 5.0) & (values["drain"] <= 50.0))
    again = sample_parameters(PARAMS, sampling)
    assert all(np.array_equal(values[k], again[k]) for k in values)  # same seed, same draw


def test_morris_rows_differ_in_one_input_along_a_trajectory():
    x = unit_design(Sampling(method="morris", members=4, levels=4, seed=2), 3)
    for t in range(4):
        steps = np.diff(x[t * 4:(t + 1) * 4], axis=0)
        assert np.all(np.count_nonzero(steps, axis=1) == 1)


def test_lhs_draw_is_unchanged_by_the_new_designs():
    # the lhs/sobol draws must stay bit-identical: the same scipy generators from the seed
    expected = qmc.LatinHypercube(d=2, rng=np.random.default_rng(11)).random(5)
    np.testing.assert_array_equal(unit_design(Sampling(members=5, seed=11), 2), expected)


@pytest.mark.parametrize("data, message", [
    ({"method": "saltelli", "members": 12}, "power of 2"),
    ({"method": "morris", "members": 4, "levels": 5}, "even number of levels"),
    ({"method": "lhs", "second_order": True}, "second_order applies to method: saltelli"),
])  # fmt: skip
def test_bad_designs_are_refused_with_one_message(data, message):
    with pytest.raises(ValidationError, match=message):
        Hazards.model_validate({"sampling": data})


def test_hazards_has_an_economics_section_with_defaults():
    h = Hazards.model_validate({"economics": {"discount_rate": 0.04}})
    assert h.economics.discount_rate == 0.04 and h.economics.horizon_years == 30
    with pytest.raises(ValidationError, match="horizon_years"):
        Hazards.model_validate({"economics": {"horizon_years": 0}})
