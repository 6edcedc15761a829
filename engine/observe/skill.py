"""How good the assimilation is, measured at the sensors: per observed variable, the RMSE and
bias of the free run and of the analysis mean at the assimilated (``good``) and at the held-back
(``withheld``) readings, the RMSE reduction and the spread-skill ratio.

Definitions (over the readings of one variable and one kind, where every value used is finite):

- bias = mean(model - observed) (positive: the model is too high), RMSE = sqrt(mean((model -
  observed)^2)), both in the variable's model units;
- RMSE reduction = 1 - RMSE(analysis mean) / RMSE(free run), on the readings where both exist
  (1: the analysis matches the readings, 0: no better than the free run, < 0: worse);
- spread-skill ratio of the forecast (background) ensemble, the usual choice at held-back
  sensors, where it is an independent check: Fortin, Abaza, Anctil & Turcotte (2014)
  J. Hydrometeor. 15:1708-1713, doi:10.1175/JHM-D-14-0008.1, eq. (4): for a reliable ensemble
  of M members, sqrt((M + 1) / M) * sqrt(mean(s^2)) = RMSE of the ensemble mean, with s^2 the
  ensemble variance (M - 1 denominator, i.e. ``background_spread`` squared); the ratio of the
  two sides is 1 for a reliable ensemble, < 1 under-dispersive, > 1 over-dispersive. The
  correction is left out when the number of members is not given. That equality holds
  against the truth; the readings carry an error of their own, which is in the RMSE against
  them, so ``spread_skill`` adds the observation error variance to the spread (the total
  spread, Houtekamer et al. 2005 MWR 133:604, sect. 4; Candille, Cote, Houtekamer & Pellerin
  2007 MWR 135:2688): the ratio a reliable ensemble verified against noisy sensors gives 1
  on. ``spread_skill_ensemble`` leaves the observation error out (the ratio against error-
  free values; against readings it is < 1 even for a perfect ensemble, e.g. 0.7 where the
  spread and the observation error are equal). Both are over the cycled forecasts: the
  readings of a variable after the first time it was analysed. The first forecast is the
  prior itself, not a product of the filter; its error is one draw of the prior (of a single
  number where the prior is a global offset, as the air temperature's), and its squares,
  the largest of the run, made the demo twin's pooled ratio anywhere from 0.6 to 1.7 with
  the ensemble's seed alone (issue 18, measured 2026-12-06); the RMSE and bias keep it.
"""

from __future__ import annotations

import numpy as np

from metrotwin.observe.flags import GOOD, WITHHELD
from metrotwin.observe.table import ObservationSet

#: the two sets of readings the indicators are computed on, by flag
SETS = {"assimilated": GOOD, "withheld": WITHHELD}


def skill_indicators(obs: ObservationSet, model_values: dict[str, np.ndarray], *,
                     members: int | None = None) -> dict[str, float]:  # fmt: skip
    """Indicators keyed ``"<variable>.<set>.<indicator>"`` (set: ``assimilated`` or
    ``withheld``): ``n`` (readings), ``rmse_free``, ``bias_free``, ``rmse_analysis``,
    ``bias_analysis``, ``rmse_reduction``, ``spread_skill``, ``spread_skill_ensemble`` (see
    the module); an indicator whose values are missing (no such model value, no reading) is
    left out. ``model_values``: as given to ``write_observations`` (arrays in read order, NaN
    where not sampled); ``members``: the ensemble size M, for the finite-ensemble correction."""
    out: dict[str, float] = {}
    var_of = obs.variable[obs.station] if obs.n_obs else np.zeros(0, object)
    error_var = obs.error_std[obs.station] ** 2 if obs.n_obs else np.zeros(0)
    for name in dict.fromkeys(obs.variable):
        cycled = _after_first_forecast(obs, model_values, var_of == name)
        for where, flag in SETS.items():
            rows = (var_of == name) & (obs.flag == flag) & np.isfinite(obs.value)
            if not rows.any():
                continue
            key = f"{name}.{where}."
            out[key + "n"] = float(rows.sum())
            found = _errors(obs.value, model_values, rows)
            out.update({key + k: v for k, v in found.items()})
            out.update({key + k: v for k, v in spread_skill(
                obs.value, model_values, rows & cycled, error_var, members).items()})  # fmt: skip
    return out


def _after_first_forecast(obs: ObservationSet, model_values, of_variable) -> np.ndarray:
    """The readings later than the first one of ``of_variable`` (a reading mask) with a
    forecast value: the first analysis time's readings were forecast by the prior alone."""
    if "background_mean" not in model_values:
        return np.zeros(obs.n_obs, bool)
    forecast = of_variable & np.isfinite(model_values["background_mean"]) & ~np.isnat(obs.time)
    if not forecast.any():
        return np.zeros(obs.n_obs, bool)
    return obs.time > obs.time[forecast].min()


def _errors(value, model_values, rows) -> dict[str, float]:
    """RMSE and bias of the free run and the analysis mean, and the RMSE reduction."""
    found = {k: model_values[k] for k in ("free_run", "analysis_mean") if k in model_values}
    both = rows.copy()
    for array in found.values():
        both &= np.isfinite(array)
    if not both.any():
        return {}
    out = {}
    for kind, short in (("free_run", "free"), ("analysis_mean", "analysis")):
        if kind in found:
            diff = found[kind][both] - value[both]
            out[f"rmse_{short}"] = float(np.sqrt(np.mean(diff**2)))
            out[f"bias_{short}"] = float(np.mean(diff))
    if len(found) == 2 and out["rmse_free"] > 0:
        out["rmse_reduction"] = 1.0 - out["rmse_analysis"] / out["rmse_free"]
    return out


def spread_skill(value, model_values, rows, error_var, members: int | None) -> dict[str, float]:
    """The forecast ensemble's spread-skill ratio on ``rows`` against the readings (Fortin et
    al. 2014 eq. 4 with the observation error variance ``error_var``, per reading, in the
    spread), and the ensemble's alone (without it)."""
    if "background_mean" not in model_values or "background_spread" not in model_values:
        return {}
    mean, spread = model_values["background_mean"], model_values["background_spread"]
    use = rows & np.isfinite(mean) & np.isfinite(spread)
    if not use.any():
        return {}
    rmse = float(np.sqrt(np.mean((mean[use] - value[use]) ** 2)))
    if rmse == 0.0:
        return {}
    factor = 1.0 if members is None else (members + 1) / members
    ens_var = factor * np.mean(spread[use] ** 2)
    return {"spread_skill": float(np.sqrt(ens_var + np.mean(error_var[use])) / rmse),
            "spread_skill_ensemble": float(np.sqrt(ens_var) / rmse)}
