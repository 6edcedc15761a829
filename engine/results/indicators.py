"""Indicators: numbers a planner reads, totals and per district, with units."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


#: which direction of change of an indicator is an improvement
BETTER_CHOICES = ("lower", "higher", "neither")


@dataclass
class Indicator:
    """One indicator of a run.

    value : the total over the domain.
    units : UDUNITS string.
    description : one sentence a planner understands.
    by_district : district name -> value, where the indicator splits by jurisdiction.
    by_group : population group -> value (mobility exposure).
    better : "lower", "higher" or "neither": which direction of change is an improvement
        (comparisons colour it green or red; "neither" for budget terms and model checks).
    """

    value: float
    units: str
    description: str
    by_district: dict[str, float] | None = None
    by_group: dict[str, float] | None = None
    better: str = "lower"

    def __post_init__(self):
        if self.better not in BETTER_CHOICES:
            raise ValueError(f"Indicator better={self.better!r}: give one of "
                             f"{', '.join(BETTER_CHOICES)}")  # fmt: skip

    def to_json(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["value"] = _finite(self.value)
        for key in ("by_district", "by_group"):
            if key in out:
                out[key] = {k: _finite(v) for k, v in out[key].items()}
        return out


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def sum_by_district(values: np.ndarray, district: np.ndarray, names: dict[int, str]) -> dict:
    """Sum of a per-cell quantity within each district, keyed by district name."""
    sums = np.bincount(district.ravel(), weights=values.ravel(), minlength=max(names) + 1)
    return {name: float(sums[code]) for code, name in names.items()}


def reduce_by_district(values: np.ndarray, district: np.ndarray, names: dict[int, str], how):
    """``how`` (np.max, np.mean, ...) of a per-cell quantity within each district."""
    out = {}
    for code, name in names.items():
        cells = values[district == code]
        out[name] = float(how(cells)) if cells.size else float("nan")
    return out


@dataclass
class IndicatorSeries:
    """Totals of every indicator at each output time (for time-series plots)."""

    time: list[float] = field(default_factory=list)
    values: dict[str, list] = field(default_factory=dict)

    def append(self, t: float, indicators: dict[str, dict[str, Indicator]]) -> None:
        self.time.append(t)
        for model, inds in indicators.items():
            for key, ind in inds.items():
                series = self.values.setdefault(f"{model}.{key}", [None] * (len(self.time) - 1))
                series.append(_finite(ind.value))
        for series in self.values.values():
            if len(series) < len(self.time):
                series.append(None)

    def to_json(self) -> dict:
        """The series as plain JSON (a checkpoint keeps it): times (s) and totals (or None
        where an indicator was not finite or not yet defined)."""
        return {"time": [float(t) for t in self.time],
                "values": {key: [None if v is None else float(v) for v in series]
                           for key, series in self.values.items()}}

    @classmethod
    def from_json(cls, data) -> IndicatorSeries:
        """Undo ``to_json``, refusing anything else (``ValueError`` saying what is wrong):
        finite times in increasing order, and for each indicator one finite number or None
        per time."""
        if not isinstance(data, dict) or set(data) != {"time", "values"}:
            raise ValueError("the indicator series must be an object with 'time' and 'values'")
        time, values = data["time"], data["values"]
        if not isinstance(time, list) or not all(_is_finite_number(t) for t in time):
            raise ValueError("the series' times must be a list of finite numbers")
        if any(b <= a for a, b in zip(time, time[1:])):
            raise ValueError("the series' times must increase")
        if not isinstance(values, dict):
            raise ValueError("the series' values must map indicator names to lists")
        for key, series in values.items():
            if not isinstance(series, list) or len(series) != len(time):
                raise ValueError(f"the series of {key!r} must be a list of {len(time)} values")
            if not all(v is None or _is_finite_number(v) for v in series):
                raise ValueError(f"the series of {key!r} holds a value that is neither a "
                                 "finite number nor null")
        return cls([float(t) for t in time],
                   {k: [None if v is None else float(v) for v in s] for k, s in values.items()})


def _is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
