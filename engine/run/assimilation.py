"""An assimilated variant's coupler, built from its scenario: the readings loaded and checked,
the members (each on its own copy of the variant's state, with forcing perturbed by its
prior, ``metrotwin.run.members``) and the free-run control; an ensemble filter
(``method: letkf``, ``metrotwin.run.ensemble_coupler``) or one nudged run
(``method: nudging``, ``metrotwin.run.nudging``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from metrotwin.observe.load import load_observations
from metrotwin.observe.qc import require_usable
from metrotwin.run.coupler import Coupler
from metrotwin.run.ensemble_coupler import AssimilatingCoupler
from metrotwin.run.members import MemberForcing, MemberPrior, draw_priors
from metrotwin.run.nudging import NudgingCoupler
from metrotwin.run.registry import get_model


def scaled_demand(params, factor: float) -> dict:
    """The parameter changes that scale a mobility model's travel demand by ``factor``: the
    OD volumes' ``demand_scale`` (at most 100), or for a synthetic population the share of
    residents commuting (``commuter_share``, at most 1), which ``demand_scale`` does not
    touch."""
    if getattr(params, "demand", None) == "synthetic":
        return {"commuter_share": min(params.commuter_share * factor, 1.0)}
    return {"demand_scale": min(params.demand_scale * factor, 100.0)}


def member_models(scenario, log_demand: float) -> list:
    """A member's model instances: the variant's parameters, with the travel demand scaled
    by ``exp(log_demand)`` where the mobility model has a demand scale."""
    models = []
    for name, params in scenario.models.items():
        if hasattr(params, "demand_scale") and log_demand:
            params = params.model_copy(update=scaled_demand(params, float(np.exp(log_demand))))
        models.append(get_model(name)(params))
    return models


def _members(scenario, state, ctx, priors: list[MemberPrior], *, own_seed: bool = False):
    """The member couplers of ``priors`` and their forcings; each member's random stream
    from the scenario seed and its index (``own_seed``: the variant's own, for one run that
    must equal the plain run where nothing is assimilated)."""
    members, forcings = [], []
    for i, prior in enumerate(priors):
        forcing = MemberForcing(ctx.forcing, prior, state.decomposition.local_window)
        seed = (ctx.seed if own_seed else
                int(np.random.SeedSequence([scenario.seed, i, 0x3E3B]).generate_state(1)[0]))
        member_ctx = dataclasses.replace(ctx, forcing=forcing, seed=seed,
                                         logger=ctx.logger.getChild(f"member{i}"))  # fmt: skip
        members.append(Coupler(member_models(scenario, prior.log_demand), state.copy(),
                               member_ctx))  # fmt: skip
        forcings.append(forcing)
    return members, forcings


def assimilating_coupler(scenario, state, ctx, observations=None) -> AssimilatingCoupler:
    """The assimilating coupler of the (resolved) variant ``scenario`` on ``state``
    (interventions applied) and ``ctx``: its observations read and checked (all unusable:
    refused), or ``observations`` (an ``ObservationSet``: a live twin's readings so far, which
    may be none yet); the control on the variant's own forcing; for ``letkf`` the members'
    priors drawn, for ``nudging`` one member on the variant's forcing."""
    settings = scenario.assimilation
    obs = observations
    if obs is None:
        obs = load_observations(scenario.observations, state, Path("."))
        require_usable(obs)
    ctx.logger.info("observations: %s", obs.summary())
    control = Coupler([get_model(n)(p) for n, p in scenario.models.items()], state.copy(), ctx)
    dec = state.decomposition
    if settings.method == "nudging":
        unperturbed = MemberPrior(np.zeros(dec.global_shape), 0.0, 0.0)
        members, forcings = _members(scenario, state, ctx, [unperturbed], own_seed=True)
        return NudgingCoupler(members, forcings, control, state, ctx, settings, obs)
    priors = draw_priors(settings, dec.global_shape, state.grid.resolution, scenario.seed)
    members, forcings = _members(scenario, state, ctx, priors)
    return AssimilatingCoupler(members, forcings, control, state, ctx, settings, obs)
