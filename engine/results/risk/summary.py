"""The summary of a risk run's variant, from its members' run folders (issue 19).

``summarize_variant(variant_dir, members, hazards)`` reads each member's folder (through
``metrotwin.results.rundata``), reduces it (``member_fields``), applies it to the exposed
city (``member_impacts``) and writes, into ``variant_dir``:

- ``fields.nc``: the probabilistic CF fields (``probabilistic``);
- ``risk_districts.csv``: one row per district (residents, buildings, facilities, EAD band,
  median damage, people exposed and heat deaths per return period);
- ``risk.json``: the headline numbers (``headline``): EAD in total and per district with its
  band and its value per sample k, damage, people and buildings exposed, facilities cut off
  and heat deaths per return period (band and per sample), the expected annual heat deaths,
  hours of very strong heat stress, the settings used and the member table.

Each file is written atomically, ``risk.json`` last (its presence marks a risk variant
folder); nothing is written when any number would be NaN or infinite. The result does not
depend on the order of ``members``: they are sorted by (return period, sample).

Flood damage is counted per event, the EAD integrates it over the annual exceedance
probability 1/T (``annual``: damage 0 more often than the most frequent event, the rarest
event's damage held down to p = 0). A heatwave event is ``hazards.heatwaves.days`` days, each
as hot as the member's simulated design day (``member_fields``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from metrotwin.errors import MetrotwinError
from metrotwin.results.layout import FIELDS_FILE
from metrotwin.results.output import write_json
from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.districts import write_district_table
from metrotwin.results.risk.heat_health import (
    BASELINE_DEATHS_PER_1000_PER_YEAR,
    RR_PER_DEGREE,
    THRESHOLD_MAX_APPARENT,
)
from metrotwin.results.risk.members import RiskMember, member_id
from metrotwin.results.risk.probabilistic import probabilistic_fields, write_fields
from metrotwin.results.risk.summary_tables import MemberGrid, collect, risk_document
from metrotwin.results.rundata import VariantRun

RISK_FILE = "risk.json"
DISTRICTS_FILE = "risk_districts.csv"


class RiskOutputError(MetrotwinError):
    """A risk summary would publish a number that is not finite; nothing is written."""


def _keys(ordered: list[RiskMember]) -> dict[tuple[float, int], str]:
    """(return period, sample) -> member id; RiskInputError for a repeat or a negative k."""
    seen: dict[tuple[float, int], str] = {}
    for m in ordered:
        key = (float(m.return_period), int(m.sample))
        if key in seen:
            raise RiskInputError(
                f"members {seen[key]!r} and {m.id!r} are both return period {key[0]:g}, "
                f"sample {key[1]}; give each (return period, sample) once"
            )
        if key[1] < 0:
            raise RiskInputError(f"member {m.id!r}: sample {key[1]} is negative; k is 0..S-1")
        seen[key] = m.id
    return seen


def ordered_members(members: list[RiskMember]) -> tuple[list[RiskMember], list[float], int]:
    """The members sorted by (return period, sample), the return periods and the number of
    samples; RiskInputError unless every return period has the same samples 0..S-1 once."""
    if not members:
        raise RiskInputError("a risk summary needs at least one member")
    ordered = sorted(members, key=lambda m: (float(m.return_period), int(m.sample), m.id))
    seen = _keys(ordered)
    periods = sorted({t for t, _ in seen})
    samples = max(k for _, k in seen) + 1
    missing = [member_id(t, k) for t in periods for k in range(samples) if (t, k) not in seen]
    if missing:
        raise RiskInputError(
            f"the members do not cover every sample at every return period: missing "
            f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''} (common random "
            f"numbers: sample k must run at each of {', '.join(f'{t:g}' for t in periods)} yr)"
        )
    return ordered, periods, samples


def heat_health_settings(hazards) -> dict:
    """The heat-health relation on the daily maximum apparent temperature: the scenario's
    values, else the defaults of ``heat_health``."""
    given = hazards.impacts.heat_health
    pick = (lambda value, default: float(default if value is None else value))
    return {
        "metric": "daily maximum apparent temperature (degree_C)",
        "threshold": pick(given.threshold, THRESHOLD_MAX_APPARENT),
        "rr_per_degree": pick(given.rr_per_degree, RR_PER_DEGREE),
        "baseline_deaths_per_1000_per_year": pick(
            given.baseline_deaths_per_1000_per_year, BASELINE_DEATHS_PER_1000_PER_YEAR),
    }  # fmt: skip


def non_finite(data, path: str = "risk") -> list[str]:
    """Paths of the NaN or infinite numbers in ``data`` (nested dicts and lists)."""
    if isinstance(data, float):
        return [] if math.isfinite(data) else [path]
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in non_finite(v, f"{path}.{k}")]
    if isinstance(data, (list, tuple)):
        return [p for i, v in enumerate(data) for p in non_finite(v, f"{path}[{i}]")]
    return []


def summarize_variant(variant_dir: Path, members: list[RiskMember], hazards) -> dict:
    """Write the variant's ``fields.nc``, ``risk_districts.csv`` and ``risk.json`` (see the
    module docstring) and return the ``risk.json`` document."""
    variant_dir = Path(variant_dir)
    ordered, periods, samples = ordered_members(members)
    health = heat_health_settings(hazards)
    days = hazards.heatwaves.days if hazards.heatwaves is not None else None
    grid = MemberGrid(periods=periods, samples=samples)
    runs = [VariantRun(m.folder) for m in ordered]
    try:
        collected = collect(runs, grid, hazards.impacts, days, health)
        fields = probabilistic_fields(collected.template, periods, collected.peak,
                                      collected.hours, hazards.impacts,
                                      f"risk summary of variant {variant_dir.name}",
                                      peak_utci=collected.peak_utci)  # fmt: skip
    finally:
        for run in runs:
            run.close()
    document, rows = risk_document(variant_dir.name, ordered, grid, collected, hazards, health)
    bad = non_finite(document) + non_finite(rows, "risk_districts")
    if bad:
        raise RiskOutputError(
            f"{variant_dir}: the risk summary has non-finite numbers ({', '.join(bad[:5])}"
            f"{' ...' if len(bad) > 5 else ''}); nothing was written. A member's fields hold "
            f"NaN or inf where a number was expected: check the members' runs"
        )
    write_fields(fields, variant_dir / FIELDS_FILE)
    write_district_table(variant_dir / DISTRICTS_FILE, rows)
    write_json(variant_dir / RISK_FILE, document)
    return document
