"""Building an assimilated variant: the members' demand perturbation reaches the demand the
mobility model draws."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.models.mobility import MobilityModel
from metrotwin.run.assimilation import member_models


def test_a_synthetic_population_scales_with_the_members_demand_factor():
    # demand_scale multiplies OD volumes only; a synthetic population's size is set by the
    # commuters' share, so that is what a member's factor must scale
    synthetic = MobilityModel.Params(demand="synthetic", commuter_share=0.4)
    od = MobilityModel.Params(demand="od", od=[[0, 1, 0.0, 60.0, 0.1]], demand_scale=2.0)

    class Variant:
        models = {"mobility": synthetic}

    (model,) = member_models(Variant, float(np.log(1.5)))
    assert model.params.commuter_share == pytest.approx(0.4 * 1.5, rel=1e-15)
    assert model.params.demand_scale == 1.0
    Variant.models = {"mobility": od}
    (model,) = member_models(Variant, float(np.log(1.5)))
    assert model.params.demand_scale == pytest.approx(2.0 * 1.5, rel=1e-15)
    # a share never exceeds everyone
    Variant.models = {"mobility": synthetic}
    (model,) = member_models(Variant, float(np.log(4.0)))
    assert model.params.commuter_share == 1.0
