"""The headline numbers of a risk variant from its members' impacts: bands over the samples
(mean and the 5/50/95 % quantiles, ``exceedance.weighted_quantiles``, equal weights), per
return period, and the expected annual values (``annual``: EAD of each sample k over the
return periods, then its band).

Arrays here have the return periods on the first axis and the samples k on the second
(``(periods, samples, ...)``), in sorted order.
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.risk.annual import ead_band, expected_annual_damage
from metrotwin.results.risk.exceedance import weighted_quantiles

BAND = (0.05, 0.5, 0.95)
BAND_KEYS = ("p05", "p50", "p95")


def band(values) -> dict:
    """Mean and 5/50/95 % quantiles of ``values`` (one per sample)."""
    values = np.asarray(values, float)
    q = weighted_quantiles(values, BAND)
    return {"mean": float(np.mean(values)), **{k: float(v) for k, v in zip(BAND_KEYS, q)}}


def by_return_period(periods, values) -> list[dict]:
    """One entry per return period: its band over the samples and the per-sample values."""
    values = np.asarray(values, float)
    return [{"return_period": float(t), **band(values[i]),
             "per_sample": [float(v) for v in values[i]]}
            for i, t in enumerate(periods)]  # fmt: skip


def annual(periods, values) -> dict:
    """Expected annual value (per year) of each sample k (over the return periods, trapezoid
    and tails of ``annual``), with its band: ``values`` (periods, samples)."""
    values = np.asarray(values, float)
    per_sample = expected_annual_damage(periods, values)
    q = ead_band(periods, np.swapaxes(values, 0, 1), BAND)
    return {"mean": float(np.mean(per_sample)), **{k: float(v) for k, v in zip(BAND_KEYS, q)},
            "per_sample": [float(v) for v in per_sample]}  # fmt: skip


def annual_by_district(periods, values, names: list[str]) -> dict:
    """``annual`` per district: ``values`` (periods, samples, districts)."""
    values = np.asarray(values, float)
    return {name: annual(periods, values[:, :, j]) for j, name in enumerate(names)}


def by_return_period_by_key(periods, values: dict) -> dict:
    """``by_return_period`` of each key of ``values`` (key -> (periods, samples))."""
    return {key: by_return_period(periods, v) for key, v in sorted(values.items())}
