"""The comparison of a run's variants as data: indicator rows across the variants, summary
maps, where each variant changes the city, and the verdicts a reader looks for first (the
largest changes of a variant, the municipality that gains most). Built by
``metrotwin.results.compare``; drawn by ``metrotwin.viz.report``; written to files by
``compare_csv`` and ``compare_netcdf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from metrotwin.results.fields import verdict
from metrotwin.results.indicators import change, is_ratio_scale

#: the "model" name of the indicators the comparison derives from the fields
DERIVED = "maps"


@dataclass
class IndicatorRow:
    """One indicator across the variants (values in the indicator's own units)."""

    model: str
    name: str
    units: str
    description: str
    better: str
    values: dict[str, float | None] = field(default_factory=dict)
    by_district: dict[str, dict[str, float | None]] = field(default_factory=dict)
    by_group: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.model}.{self.name}"

    @property
    def ratio(self) -> bool:
        """Whether its changes may be given in percent (not for temperatures)."""
        return is_ratio_scale(self.units)

    def best_district(self, variant: str, baseline: str) -> tuple[str, float, float] | None:
        """(municipality, relative improvement, absolute improvement) of the municipality that
        gains most from ``variant``: relative in % of its own baseline value (a difference in
        K for a temperature); None when no municipality improves or neither direction is an
        improvement."""
        if variant not in self.by_district or baseline not in self.by_district:
            return None
        best = None
        for d, v in self.by_district[variant].items():
            b = self.by_district[baseline].get(d)
            if v is None or b is None:
                continue
            if self.better not in ("lower", "higher"):
                return None
            gain = (b - v) if self.better == "lower" else (v - b)
            if not self.ratio:  # a temperature: ranked by its difference in K, no percent
                rel = gain
            else:
                rel = 100 * gain / abs(b) if b else (np.inf if gain > 0 else 0.0)
            if gain > 1e-12 and (best is None or (rel, gain) > (best[1], best[2])):
                best = (d, rel, gain)
        return best


@dataclass
class MapSummary:
    """A field summarised over the run for every variant (display units), on the grid or
    on the road links."""

    name: str  # the fields.nc variable
    label: str  # "Peak water depth"
    units: str
    better: str
    summary: str  # "max" / "min"
    values: dict[str, np.ndarray]  # variant -> (y, x) or (link,)
    on_links: bool = False

    def change(self, variant: str, baseline: str) -> np.ndarray:
        return self.values[variant] - self.values[baseline]


@dataclass
class Comparison:
    """Everything the report shows; built by ``metrotwin.results.compare.compare``. It keeps
    the variants open (``runs``, for the 3D views): close it, or use it in a ``with``."""

    scenario: str
    description: str
    baseline: str
    variants: list[str]
    descriptions: dict[str, str]
    interventions: dict[str, list[str]]
    models: list[str]
    period: str
    rows: list[IndicatorRow]
    districts: list[str]
    groups: list[str]
    series_time: dict[str, np.ndarray]  # variant -> datetime64 times of the indicator series
    series: dict[str, dict[str, list]]  # "model.indicator" -> variant -> values
    maps: list[MapSummary]
    changes: dict[str, np.ndarray]  # variant -> (y, x) int8 category (0 = unchanged)
    change_labels: list[str]
    change_area: dict[str, dict[str, dict[str, float]]]  # variant -> label -> district -> ha
    grid: xr.Dataset  # static layers of the baseline (x, y, district, land cover...)
    run_paths: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    #: variant -> intervention types it adds to the baseline's ("cool_roof", "trees"...)
    intervention_types: dict[str, list[str]] = field(default_factory=dict)
    #: "day" / "night": the parts of the day the run covers (sun above / below the horizon)
    parts_of_day: set[str] = field(default_factory=lambda: {"day", "night"})
    #: the baseline's road links as (link, 2 ends, x/y) segments (m); None without a network
    road_segments: np.ndarray | None = None
    #: the opened variants (``metrotwin.results.rundata.VariantRun``), baseline first
    runs: list = field(default_factory=list)

    @property
    def others(self) -> list[str]:
        """The variants compared with the baseline."""
        return [v for v in self.variants if v != self.baseline]

    def is_main(self, row: IndicatorRow) -> bool:
        """Indicators a planner reads first: those split by municipality or group (the
        others, such as volume budgets and solver counters, are technical)."""
        if not any(r.by_district or r.by_group for r in self.rows):
            return True
        return bool(row.by_district or row.by_group) or row.model == DERIVED

    def largest_changes(self, variant: str, count: int = 4) -> list[tuple]:
        """(row, change, percent) of the main indicators ``variant`` makes better or worse,
        the largest relative changes first (those without a percent last), at most
        ``count``."""
        items = []
        for row in self.rows:
            if not self.is_main(row):
                continue
            diff, pct = change(row.values.get(variant), row.values.get(self.baseline),
                               ratio=row.ratio)  # fmt: skip
            if diff is None or verdict(diff, row.better) in ("same", "changed"):
                continue
            items.append((abs(pct) if pct is not None else 0.0, row, diff, pct))
        items.sort(key=lambda t: -t[0])
        return [(row, diff, pct) for _, row, diff, pct in items[:count]]

    def gains_most(self, variant: str) -> tuple[str, int, int] | None:
        """(municipality, on how many main indicators it gains most, how many main indicators
        improve in some municipality) for ``variant``; None when none improves."""
        winners: dict[str, list[float]] = {}
        for row in self.rows:
            if not self.is_main(row):
                continue
            best = row.best_district(variant, self.baseline)
            if best:
                winners.setdefault(best[0], []).append(best[1])
        if not winners:
            return None
        top = max(winners, key=lambda d: (len(winners[d]), np.mean(winners[d])))
        return top, len(winners[top]), sum(len(v) for v in winners.values())

    def close(self) -> None:
        """Close the variants' files."""
        for run in self.runs:
            run.close()

    def __enter__(self) -> Comparison:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
