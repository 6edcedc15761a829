"""Expected annual damage (EAD): damage integrated over annual exceedance probability.

For design events of return periods ``T_i`` (years) with damages ``D_i``, the annual
exceedance probability is taken as ``p_i = 1 / T_i`` (the return period's definition; the
Poisson form ``1 - exp(-1/T)`` differs by less than 0.5 % for T >= 100 yr and is not used).
EAD is the area under the damage-probability curve, by the trapezoid rule between the events
(e.g. Olsen et al. 2015, Water 7:255; Ward et al. 2011, Nat. Hazards 56:1045):

    EAD = sum_i (D_i + D_(i+1)) / 2 * (p_i - p_(i+1))      (p sorted decreasing)

and two tails, stated because they change the number:

- frequent side (p above the most frequent event's ``p_1``): damage 0. Events more frequent
  than the smallest return period are assumed harmless (the drainage design level); a caller
  that knows better adds its own most-frequent event with its damage.
- rare side (p below the rarest event's ``p_n``): ``rare_tail="constant"`` holds the rarest
  damage down to p = 0 (adds ``D_n * p_n``, an upper-side choice: damage keeps growing in
  reality, but no event says how much); ``rare_tail="none"`` adds nothing (a lower bound).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.exceedance import weighted_quantiles


def annual_exceedance_probability(return_periods) -> np.ndarray:
    """``1 / T`` (per year) for return periods ``T`` (years, each > 1)."""
    periods = np.asarray(return_periods, dtype=float)
    if periods.ndim != 1 or periods.size == 0 or not np.all(np.isfinite(periods)):
        raise RiskInputError("return periods must be a non-empty list of finite years")
    if np.any(periods <= 1):
        raise RiskInputError(
            f"return periods must be > 1 year, got {periods[periods <= 1].tolist()}"
        )
    if np.unique(periods).size != periods.size:
        raise RiskInputError(f"return periods repeat a value: {periods.tolist()}")
    return 1.0 / periods


def expected_annual_damage(
    return_periods, damages, *, rare_tail: Literal["constant", "none"] = "constant"
) -> np.ndarray:
    """EAD (damage units per year) from the damage of each return period's event.

    ``damages`` has the return periods on its first axis (``(n, ...)``: a number, or a value
    per building or district, per event); the result has the remaining shape. The periods may
    come in any order. See the module docstring for the tails."""
    p = annual_exceedance_probability(return_periods)
    damages = np.asarray(damages, dtype=float)
    if damages.shape[:1] != p.shape:
        raise RiskInputError(
            f"{p.size} return periods but damages for {damages.shape[:1] or 'no'} events"
        )
    if not np.all(np.isfinite(damages)) or np.any(damages < 0):
        raise RiskInputError("damages must be finite and >= 0")
    if rare_tail not in ("constant", "none"):
        raise RiskInputError(f"rare_tail must be 'constant' or 'none', got {rare_tail!r}")
    order = np.argsort(-p, kind="stable")  # most frequent first
    p, damages = p[order], damages[order]
    widths = (p[:-1] - p[1:]).reshape((-1,) + (1,) * (damages.ndim - 1))
    ead = np.sum(0.5 * (damages[:-1] + damages[1:]) * widths, axis=0)
    if rare_tail == "constant":
        ead = ead + damages[-1] * p[-1]
    return ead


def ead_band(
    return_periods, member_damages, quantiles=(0.05, 0.5, 0.95), *, weights=None,
    rare_tail: Literal["constant", "none"] = "constant",
) -> np.ndarray:  # fmt: skip
    """Quantiles of EAD over an ensemble's members: ``member_damages`` is ``(members, n, ...)``
    (each member's damage for each of the ``n`` return periods); the result is
    ``(len(quantiles), ...)``, e.g. the 90 % band and the median with the default quantiles."""
    member_damages = np.asarray(member_damages, dtype=float)
    per_member = expected_annual_damage(
        return_periods, np.moveaxis(member_damages, 0, 1), rare_tail=rare_tail
    )
    return weighted_quantiles(per_member, quantiles, weights)
