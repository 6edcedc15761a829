"""A fake but realistic risk run folder (issue 19): three variants, each with the ``risk.json``
and probabilistic ``fields.nc`` that ``metrotwin.results.risk.summary`` writes, and a member's
``scenario.resolved.yaml`` (interventions, grid, hazards, cells changed).

The numbers are made from the samples' inputs by known formulas, so a test can compute what the
report must show: EAD_k = EAD0 * (1 + 3 u1 + 0.5 u2^2) * factor, deaths_k = (3 + 2 u2) * factor,
with u the quantiles of the two uncertain inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from metrotwin.results.risk.economics import band
from metrotwin.results.risk.members import member_id
from metrotwin.run.sampling import sample_parameters, unit_design
from metrotwin.scenario.hazards import Hazards

RETURN_PERIODS = [2.0, 10.0, 50.0, 100.0]
THRESHOLDS = [0.1, 0.3, 0.5]
DISTRICTS = {"Oldtown": 4000, "Eastfield": 2500, "Riverside": 1500}
RESOLUTION = 10.0
EAD0 = 2.0e6
HAZARDS = {
    "uncertain": [
        {"name": "models.flood.manning_n", "low": 0.01, "high": 0.05},
        {"name": "models.flood.drainage_factor", "distribution": "loguniform", "low": 0.5,
         "high": 2.0},
    ],
    "sampling": {"method": "saltelli", "members": 32, "seed": 4},
    "economics": {"discount_rate": 0.03, "horizon_years": 30, "inflation_rate": 0.0},
}  # fmt: skip
#: variant -> (EAD factor, deaths factor, district EAD shares, own interventions, cells changed)
VARIANTS = {
    "baseline": (1.0, 1.0, {"Oldtown": 0.6, "Eastfield": 0.3, "Riverside": 0.1}, [], []),
    "green_blue": (0.55, 0.95, {"Oldtown": 0.5, "Eastfield": 0.35, "Riverside": 0.15},
                   [{"type": "green_roof", "where": {"district": "Oldtown"}},
                    {"type": "drainage_upgrade", "where": {"district": "Oldtown"},
                     "capacity": 30}], [1200, 3000]),
    "cool_city": (0.97, 0.7, {"Oldtown": 0.6, "Eastfield": 0.3, "Riverside": 0.1},
                  [{"type": "cool_roof"}, {"type": "trees", "where": {"district": "Oldtown"},
                                           "fraction": 0.3, "height": 12}], [5000, 900]),
}  # fmt: skip


def unit_inputs(hazards: dict = HAZARDS) -> np.ndarray:
    """The samples' quantiles (k, input) of ``hazards``' design."""
    h = Hazards.model_validate(hazards)
    return unit_design(h.sampling, len(h.uncertain))


def per_sample(factor_ead: float, factor_deaths: float,
               hazards: dict = HAZARDS) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    u = unit_inputs(hazards)
    return (EAD0 * (1 + 3 * u[:, 0] + 0.5 * u[:, 1] ** 2) * factor_ead,
            (3 + 2 * u[:, 1]) * factor_deaths)  # fmt: skip


def _members(hazards) -> list[dict]:
    values = sample_parameters(hazards.uncertain, hazards.sampling)
    samples = len(next(iter(values.values())))
    return [{"id": member_id(t, k), "return_period": t, "sample": k,
             "parameters": {name: float(v[k]) for name, v in values.items()}}
            for t in RETURN_PERIODS for k in range(samples)]  # fmt: skip


def _fields(folder: Path, factor: float, shape=(30, 40)) -> None:
    """fields.nc: P(depth > threshold) per return period, a valley flooding from its middle."""
    ny, nx = shape
    y = 5_000_000.0 - RESOLUTION * (np.arange(ny) + 0.5)
    x = 690_000.0 + RESOLUTION * (np.arange(nx) + 0.5)
    dist = np.abs(np.arange(ny)[:, None] - ny / 2) + 0.1 * np.arange(nx)[None, :]
    p = np.empty((len(RETURN_PERIODS), len(THRESHOLDS), ny, nx))
    for i, t in enumerate(RETURN_PERIODS):
        for j, d in enumerate(THRESHOLDS):
            reach = 3 + 8 * np.log10(t) * factor - 10 * d
            p[i, j] = np.clip((reach - dist) / 4, 0, 1)
    ds = xr.Dataset(
        {"flood_depth_exceedance_probability": (("return_period", "depth_threshold", "y", "x"), p,
                                                {"units": "1"})},
        coords={"return_period": ("return_period", RETURN_PERIODS, {"units": "year"}),
                "depth_threshold": ("depth_threshold", THRESHOLDS, {"units": "m"}),
                "y": ("y", y, {"units": "m"}), "x": ("x", x, {"units": "m"})},
    )  # fmt: skip
    ds.to_netcdf(folder / "fields.nc")


def make_risk_run(root: Path, sampling: dict | None = None) -> Path:
    """Write the fake risk run under ``root`` (with another ``sampling`` design if given);
    returns ``root``."""
    spec = {**HAZARDS, "sampling": sampling or HAZARDS["sampling"]}
    hazards = Hazards.model_validate(spec)
    members = _members(hazards)
    for name, (f_ead, f_deaths, shares, own, changed) in VARIANTS.items():
        folder = root / name
        folder.mkdir(parents=True)
        ead, deaths = per_sample(f_ead, f_deaths, spec)
        risk = {
            "ead": band(ead), "ead_per_sample": ead.tolist(),
            "ead_by_district": {d: {k: s * v for k, v in band(ead).items()}
                                for d, s in shares.items()},
            "heat_deaths": band(deaths), "heat_deaths_per_sample": deaths.tolist(),
            "residents_by_district": DISTRICTS, "members": members, "price_year": 2010,
        }  # fmt: skip
        (folder / "risk.json").write_text(json.dumps(risk), encoding="utf-8")
        _fields(folder, f_ead)
        labels = {f"{i + 1}:{item['type']}": c for i, (item, c) in enumerate(zip(own, changed))}
        resolved = {
            "scenario": {"name": "demo_risk", "seed": 7, "interventions": own,
                         "domain": {"generated": {"resolution": RESOLUTION}}, "hazards": spec},
            "run": {"variant": name, "interventions_cells_changed": labels},
        }  # fmt: skip
        member = folder / "members" / members[0]["id"]
        member.mkdir(parents=True)
        (member / "scenario.resolved.yaml").write_text(yaml.safe_dump(resolved), "utf-8")
    return root
