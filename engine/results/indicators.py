"""Indicators: numbers a planner reads, totals and per district, with units; which direction
of their change is an improvement, and how a change is given (percent, or a difference in K)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


#: which direction of change of an indicator is an improvement
BETTER_CHOICES = ("lower", "higher", "neither")

#: Which direction of change is an improvement, for the shipped models' indicators whose own
#: declaration (``Indicator.better``, "lower" unless a model says otherwise) would mislead:
#: more water infiltrated, drained or held on green roofs is water off the streets; budget
#: terms, model checks and counts the variants do not act on are "neither" (no colour).
BETTER = {
    "flood.volume_infiltration": "higher",
    "flood.volume_drainage": "higher",
    "flood.volume_retention": "higher",
    "flood.volume_rain": "neither",
    "flood.volume_inflow": "neither",
    "flood.volume_boundary_out": "neither",
    "flood.volume_balance_error": "neither",
    "flood.limited_cell_steps": "neither",
    "mobility.trips_departed": "neither",
    "mobility.vehicle_km": "neither",
}

#: units of temperatures: an interval scale (0 °C is no "zero temperature"), so their changes
#: are differences in K, never percent
TEMPERATURE_UNITS = {"degree_C", "degree_Celsius", "degC", "celsius", "°C", "K", "degree_K"}


def direction(key: str, declared) -> str:
    """"lower", "higher" or "neither": which change of indicator ``key`` ("model.name") is
    an improvement; ``BETTER`` first, then what the model declared (default "lower")."""
    if key in BETTER:
        return BETTER[key]
    return declared if declared in BETTER_CHOICES else "lower"


def is_ratio_scale(units: str) -> bool:
    """Whether a change of a quantity in ``units`` may be given in percent (a true zero)."""
    return str(units).strip() not in TEMPERATURE_UNITS


def change_units(units: str) -> str:
    """The units of a change (difference) of a quantity shown in ``units``: K for
    temperatures, the same units otherwise."""
    return "K" if str(units).strip() in TEMPERATURE_UNITS else units


def change(value: float | None, base: float | None, *,
           ratio: bool = True) -> tuple[float | None, float | None]:  # fmt: skip
    """(absolute, percent) change of ``value`` from ``base``; percent is None when the
    baseline is zero or missing, and for a quantity on an interval scale (``ratio=False``:
    a temperature, whose change is a difference in K)."""
    if value is None or base is None:
        return None, None
    diff = value - base
    if not ratio:
        return diff, None
    pct = 100.0 * diff / abs(base) if base != 0 else (0.0 if diff == 0 else None)
    return diff, pct


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
