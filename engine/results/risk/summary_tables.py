"""The members' impacts gathered into (return period, sample) arrays, and the ``risk.json``
document and ``risk_districts.csv`` rows made from them (``summary`` writes them).

A section whose input some member lacks (a run without the flood model, without a road
network, without a heatwave) is ``null`` in the document, not a partial number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from metrotwin.results.risk import headline
from metrotwin.results.risk.buildings import PUBLIC
from metrotwin.results.risk.member_fields import read_member
from metrotwin.results.risk.member_impacts import (
    CityExposure,
    MemberImpacts,
    city_exposure,
    district_sums,
    member_impacts,
)

SCHEMA = "metrotwin-risk-1"
UNITS = {"damage": "EUR (2010 prices)", "expected_annual_damage": "EUR per year",
         "people": "persons", "deaths": "deaths", "hours": "h", "return_period": "year"}


@dataclass(frozen=True)
class MemberGrid:
    """The sorted return periods (years) and the number of samples k."""

    periods: list[float]
    samples: int


@dataclass
class Collected:
    """What the members gave: the grid template (first member's fields), the exposed city,
    peak depths, UTCI hours and peak UTCI as (periods, samples, y, x) (None / empty where a member
    lacks them) and each member's impacts in (period, sample) order."""

    template: xr.Dataset
    city: CityExposure
    peak: np.ndarray | None
    hours: dict
    peak_utci: np.ndarray | None
    impacts: list[MemberImpacts]


def _stack(values: list, grid: MemberGrid):
    """(periods, samples, ...) of the per-member ``values``; None if any is None."""
    if any(v is None for v in values):
        return None
    return np.asarray(values, dtype=float).reshape(len(grid.periods), grid.samples,
                                                   *np.shape(values[0]))  # fmt: skip


def collect(runs, grid: MemberGrid, settings, heatwave_days, health: dict) -> Collected:
    """Read each member's run (sorted) and compute its impacts."""
    city = city_exposure(runs[0].ds, settings)
    peaks, utci, hours, impacts = [], [], {u: [] for u in settings.utci_thresholds}, []
    for run in runs:
        fields = read_member(run, settings.utci_thresholds)
        peaks.append(fields.peak_depth)
        utci.append(fields.peak_utci)
        for u in hours:
            hours[u].append(fields.utci_hours.get(float(u)))
        impacts.append(member_impacts(city, fields, settings, heatwave_days, health))
    stacked = {u: _stack(v, grid) for u, v in hours.items()}
    if any(v is None for v in stacked.values()):
        stacked = {}
    return Collected(template=runs[0].ds, city=city, peak=_stack(peaks, grid),
                     hours=stacked, peak_utci=_stack(utci, grid), impacts=impacts)  # fmt: skip


def _per_member(collected: Collected, grid: MemberGrid, how):
    """(periods, samples, ...) of ``how(impacts)`` over the members; None if any is None."""
    return _stack([how(m) for m in collected.impacts], grid)


def _sum_or_none(values):
    return None if values is None else float(np.sum(values))


def _flood_section(c: Collected, grid: MemberGrid, names: list[str]) -> dict | None:
    damage = _per_member(c, grid, lambda m: _sum_or_none(m.damage_by_building))
    if damage is None:
        return None
    by_district = _per_member(c, grid, lambda m: district_sums(c.city, m.damage_by_building))
    people = _per_member(c, grid, lambda m: district_sums(c.city, m.exposed_people))
    periods = grid.periods
    return {
        "expected_annual_damage": {"total": headline.annual(periods, damage),
                                   "by_district": headline.annual_by_district(
                                       periods, by_district, names)},
        "damage_by_return_period": headline.by_return_period(periods, damage),
        "damage_by_return_period_by_district": {
            n: headline.by_return_period(periods, by_district[:, :, j])
            for j, n in enumerate(names)},
        "exposed_people_by_return_period": headline.by_return_period(
            periods, _per_member(c, grid, lambda m: _sum_or_none(m.exposed_people))),
        "exposed_people_by_return_period_by_district": {
            n: headline.by_return_period(periods, people[:, :, j])
            for j, n in enumerate(names)},
        "exposed_buildings_by_return_period": headline.by_return_period(
            periods, _per_member(c, grid, lambda m: _sum_or_none(m.exposed_buildings))),
    }  # fmt: skip


def _facilities_section(c: Collected, grid: MemberGrid) -> dict | None:
    cut = _per_member(c, grid, lambda m: _sum_or_none(m.cut_off))
    if cut is None:
        return None
    return {"count": int(np.sum(c.city.buildings.use_code == PUBLIC)),
            "cut_off_by_return_period": headline.by_return_period(grid.periods, cut)}


def _heat_section(c: Collected, grid: MemberGrid, names: list[str], days) -> dict | None:
    deaths = _per_member(c, grid, lambda m: _sum_or_none(m.heat_deaths))
    hours = _per_member(c, grid, lambda m: m.very_strong_heat_hours_per_resident)
    groups = sorted(set.intersection(*[set(m.very_strong_heat_hours_by_group or {})
                                       for m in c.impacts]))  # fmt: skip
    out = {"heatwave_days": days, "deaths_by_return_period": None,
           "expected_annual_deaths": None, "deaths_by_district": None,
           "very_strong_heat_stress_hours_per_resident_by_return_period":
               None if hours is None else headline.by_return_period(grid.periods, hours),
           "very_strong_heat_stress_hours_by_group_by_return_period":
               headline.by_return_period_by_key(grid.periods, {
                   g: _per_member(c, grid, lambda m, g=g: m.very_strong_heat_hours_by_group[g])
                   for g in groups}) or None}  # fmt: skip
    if deaths is not None:
        by_district = _per_member(c, grid, lambda m: district_sums(c.city, m.heat_deaths))
        out["deaths_by_return_period"] = headline.by_return_period(grid.periods, deaths)
        out["expected_annual_deaths"] = headline.annual(grid.periods, deaths)
        out["deaths_by_district"] = headline.annual_by_district(grid.periods, by_district, names)
    return out


def _district_rows(c: Collected, grid: MemberGrid, document: dict) -> list[dict]:
    city, names = c.city, list(c.city.districts.values())
    people = district_sums(city, city.people)
    counts = district_sums(city, np.ones(city.buildings.count))
    public = district_sums(city, (city.buildings.use_code == PUBLIC).astype(float))
    flood, heat = document["flood"], document["heat"]
    rows = []
    for j, name in enumerate(names):
        row = {"district": name, "residents": people[j], "buildings": counts[j],
               "facilities": public[j]}  # fmt: skip
        if flood is not None:
            ead = flood["expected_annual_damage"]["by_district"][name]
            row.update({f"ead_{k}": ead[k] for k in ("mean", *headline.BAND_KEYS)})
            for what in ("damage", "exposed_people"):
                for entry in flood[f"{what}_by_return_period_by_district"][name]:
                    row[f"{what}_p50_T{entry['return_period']:g}"] = entry["p50"]
        if heat is not None and heat["deaths_by_district"] is not None:
            deaths = heat["deaths_by_district"][name]
            row.update({f"heat_deaths_annual_{k}": deaths[k]
                        for k in ("mean", *headline.BAND_KEYS)})  # fmt: skip
        rows.append(row)
    return rows


def risk_document(variant: str, members, grid: MemberGrid, c: Collected, hazards,
                  health: dict) -> tuple[dict, list[dict]]:  # fmt: skip
    """The ``risk.json`` document and the ``risk_districts.csv`` rows."""
    names = list(c.city.districts.values())
    days = hazards.heatwaves.days if hazards.heatwaves is not None else None
    document = {
        "schema": SCHEMA,
        "variant": variant,
        "return_periods": [float(t) for t in grid.periods],
        "samples": grid.samples,
        "quantiles": list(headline.BAND),
        "units": UNITS,
        "settings": {**hazards.impacts.model_dump(mode="json"), "heat_health": health},
        "hazards": hazards.model_dump(mode="json"),
        "damage_tables": c.city.damage.sources,
        "members": [{"id": m.id, "return_period": float(m.return_period),
                     "sample": int(m.sample),
                     "parameters": {k: float(v) for k, v in sorted(m.parameters.items())}}
                    for m in members],
        "districts": names,
        "residents_by_district": dict(zip(names, map(float, district_sums(c.city, c.city.people)))),
        "flood": _flood_section(c, grid, names),
        "facilities": _facilities_section(c, grid),
        "heat": _heat_section(c, grid, names, days) if days is not None else None,
    }  # fmt: skip
    return document, _district_rows(c, grid, document)
