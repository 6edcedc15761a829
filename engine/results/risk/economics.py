"""Cost-benefit of a variant against the baseline, per sample of the uncertain inputs.

Benefit of sample ``k`` (EUR per year, of ``economics.price_year``):

    B_k = (EAD_base,k - EAD_variant,k) * prices(damage year)
        + (deaths_base,k - deaths_variant,k) * life years lost per death * value per life year

with the expected annual damage (EUR/yr) and the expected annual attributable heat deaths
(deaths/yr) of the same sample ``k`` in both (common random numbers: the difference has less
noise than either). The benefit is taken as the same every year of the horizon (no growth of
exposure, no climate trend: stated, not modelled), from year 1 to year ``n``:

    PV(B_k) = B_k * a(r, n),    a(r, n) = (1 - (1 + r)^-n) / r    (n when r = 0)
    NPV_k = PV(B_k) - PV(costs),    BCR_k = PV(B_k) / PV(costs)

The costs (``metrotwin.results.risk.costs``) do not depend on the sample. Bands are the 5 %,
50 % and 95 % quantiles over the samples (each sample weighted equally) with their mean.
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.risk import RiskInputError
from metrotwin.scenario.economics import Economics

#: the quantiles of a band, and their names in the results
BAND = {"p05": 0.05, "p50": 0.5, "p95": 0.95}


def annuity_factor(rate: float, years: float) -> float:
    """Present value (-) of 1 a year paid at the end of years 1..``years`` at ``rate`` (1/yr).

    >>> round(annuity_factor(0.03, 30), 4), annuity_factor(0.0, 30)
    (19.6004, 30.0)
    """
    if rate == 0:
        return float(years)
    return (1.0 - (1.0 + rate) ** -years) / rate


def renewal_factor(rate: float, lifetime: float, horizon: float) -> float:
    """Present value (-) of renewing, at the capital cost 1, at each end of a ``lifetime``
    (years) that falls before ``horizon`` (years): sum of (1 + rate)^-t for t = L, 2L, ... < n.

    >>> round(renewal_factor(0.03, 10, 30), 6) == round(1.03**-10 + 1.03**-20, 6)
    True
    """
    if not lifetime > 0:
        raise RiskInputError(f"lifetime must be > 0 years, got {lifetime!r}")
    times = np.arange(lifetime, horizon - 1e-9, lifetime)
    return float(np.sum((1.0 + rate) ** -times))


def price_factor(from_year: int, economics: Economics) -> float:
    """Factor (-) bringing EUR of ``from_year`` to EUR of ``economics.price_year`` at the
    constant ``economics.inflation_rate``."""
    return (1.0 + economics.inflation_rate) ** (economics.price_year - from_year)


def band(values) -> dict[str, float]:
    """``{"mean", "p05", "p50", "p95"}`` of ``values`` over samples (equal weights)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise RiskInputError("a band needs at least one finite value per sample")
    out = {"mean": float(values.mean())}
    out.update({k: float(np.quantile(values, q)) for k, q in BAND.items()})
    return out


def _per_sample(base, variant, what: str) -> tuple[np.ndarray, np.ndarray]:
    base, variant = np.asarray(base, dtype=float), np.asarray(variant, dtype=float)
    if base.shape != variant.shape or base.ndim != 1:
        raise RiskInputError(
            f"{what}: the baseline has {base.shape} samples and the variant {variant.shape}; "
            f"both need one value per sample k of the same design"
        )
    return base, variant


def annual_benefits(
    base_ead, variant_ead, base_deaths, variant_deaths, economics: Economics, *,
    damage_price_year: int,
) -> np.ndarray:  # fmt: skip
    """Benefit B_k (EUR/yr of ``economics.price_year``) of each sample ``k``; EAD in EUR/yr of
    ``damage_price_year``, heat deaths in deaths/yr (either pair may be None: no such part)."""
    parts = []
    if base_ead is not None and variant_ead is not None:
        b, v = _per_sample(base_ead, variant_ead, "expected annual damage")
        parts.append((b - v) * price_factor(damage_price_year, economics))
    if base_deaths is not None and variant_deaths is not None:
        b, v = _per_sample(base_deaths, variant_deaths, "heat deaths")
        voly = economics.value_per_life_year * price_factor(
            economics.life_year_price_year, economics
        )
        parts.append((b - v) * economics.life_years_lost_per_death * voly)
    if not parts:
        raise RiskInputError("no benefit to value: neither damage nor heat deaths per sample")
    if len(parts) == 2 and parts[0].shape != parts[1].shape:
        raise RiskInputError(
            f"damage has {parts[0].size} samples and heat deaths {parts[1].size}; give both "
            f"for the same samples"
        )
    return np.sum(parts, axis=0)


def cost_benefit(benefits, present_cost: float, economics: Economics) -> dict:
    """NPV and BCR per sample and their bands, from the yearly benefit of each sample
    (EUR/yr) and the present value of the costs (EUR). BCR is None (not infinite) when
    nothing is spent."""
    benefits = np.asarray(benefits, dtype=float)
    present_benefit = benefits * annuity_factor(economics.discount_rate, economics.horizon_years)
    npv = present_benefit - present_cost
    out = {
        "annual_benefit": band(benefits),
        "present_benefit": band(present_benefit),
        "present_cost": float(present_cost),
        "npv": band(npv),
        "npv_per_sample": npv.tolist(),
        "bcr": None,
        "bcr_per_sample": None,
    }
    if present_cost > 0:
        bcr = present_benefit / present_cost
        out["bcr"], out["bcr_per_sample"] = band(bcr), bcr.tolist()
    return out


def benefit_per_resident(base_by_district: dict, variant_by_district: dict,
                         residents: dict) -> dict[str, float]:  # fmt: skip
    """District -> avoided mean loss per resident (units of the inputs per resident), for the
    districts with residents in both; districts without residents are left out."""
    out = {}
    for district, base in base_by_district.items():
        people = float(residents.get(district, 0) or 0)
        if district in variant_by_district and people > 0:
            out[district] = (base - variant_by_district[district]) / people
    return out


def gains_most(per_resident: dict[str, float]) -> str | None:
    """The district with the largest positive benefit per resident (None if none gains)."""
    best = max(per_resident.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    return best[0] if best is not None and best[1] > 0 else None
