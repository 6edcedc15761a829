"""Inflow hydrographs and domain boundaries of the flood model: their scenario schema and the
exact time integrals the solver uses (so that the volume balance closes to round-off).

A hydrograph is a list of ``[time, value]`` pairs (time since the start of the period: seconds
or a duration such as ``"1 h"``), linear in between, holding its first value before the first
time and its last value after the last one.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator, model_validator

from metrotwin.scenario.schema import StrictModel
from metrotwin.scenario.units import Duration

SIDES = ("north", "south", "west", "east")
BOUNDARY_TYPES = ("closed", "free", "stage", "stage_hydrograph")


class Strict(StrictModel):
    model_config = ConfigDict(extra="forbid")


def _check_series(value, what: str, *, nonnegative: bool):
    if not value:
        raise ValueError(f"{what} is empty; give [time, value] pairs")
    times = [t for t, _ in value]
    if any(t < 0 for t in times):
        raise ValueError(f"{what} times must be >= 0 s, got {times}")
    if any(b <= a for a, b in zip(times, times[1:])):
        raise ValueError(f"{what} times must increase strictly, got {times}")
    if nonnegative:
        for t, v in value:
            if v < 0:
                raise ValueError(f"{what} values must be >= 0, got {v:g} at t={t:g} s")
    for t, v in value:
        if not np.isfinite(v):
            raise ValueError(f"{what} values must be finite, got {v!r} at t={t:g} s")
    return value


class Inflow(Strict):
    """Water entering the domain at a point or spread along a line (a river, a culvert)."""

    name: str = Field(min_length=1, description="a name for messages and reports")
    point: tuple[float, float] | None = Field(None, description="[x, y] in the grid CRS (m)")
    line: list[tuple[float, float]] | None = Field(
        None, description="[[x, y], ...] in the grid CRS (m); the discharge is spread over its cells"
    )
    hydrograph: list[tuple[Duration, float]] = Field(
        description="[time, discharge (m3/s)] pairs, linear in between"
    )

    @field_validator("hydrograph")
    @classmethod
    def _hydrograph(cls, value):
        return _check_series(value, "inflow hydrograph", nonnegative=True)

    @model_validator(mode="after")
    def _one_place(self):
        if (self.point is None) == (self.line is None):
            raise ValueError(f"inflow {self.name!r}: give exactly one of 'point' or 'line'")
        if self.line is not None and len(self.line) < 2:
            raise ValueError(f"inflow {self.name!r}: a line needs at least 2 points")
        return self


class Boundary(Strict):
    """The condition on one side of the domain.

    closed: no flow (default). free: outflow at normal depth for the water-surface slope
    ``slope`` (default: the mean outward bed slope along the side, at least 0.001).
    stage: a fixed water-surface elevation ``stage`` (m) beyond the edge (water may flow
    in or out). stage_hydrograph: a stage that varies, ``hydrograph`` [time, stage (m)].
    """

    type: str = "closed"
    slope: float | None = Field(None, gt=0, le=1, description="free outflow: slope (m/m)")
    stage: float | None = Field(None, description="fixed water-surface elevation (m)")
    hydrograph: list[tuple[Duration, float]] | None = Field(
        None, description="[time, stage (m)] pairs, linear in between"
    )

    @field_validator("type")
    @classmethod
    def _type(cls, value):
        if value not in BOUNDARY_TYPES:
            raise ValueError(
                f"unknown boundary type {value!r}; valid types: {', '.join(BOUNDARY_TYPES)}"
            )
        return value

    @field_validator("hydrograph")
    @classmethod
    def _hydrograph(cls, value):
        return None if value is None else _check_series(value, "stage hydrograph", nonnegative=False)

    @model_validator(mode="after")
    def _fields(self):
        need = {"stage": "stage", "stage_hydrograph": "hydrograph"}.get(self.type)
        if need and getattr(self, need) is None:
            raise ValueError(f"a '{self.type}' boundary needs '{need}'")
        extra = [
            k for k, allowed in (("slope", "free"), ("stage", "stage"), ("hydrograph", "stage_hydrograph"))
            if getattr(self, k) is not None and self.type != allowed
        ]
        if extra:
            raise ValueError(f"a '{self.type}' boundary takes no {', '.join(extra)}")
        return self


def parse_boundaries(value) -> dict[str, Boundary]:
    """Side name -> Boundary; a bare string is the type (``east: free``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"boundaries map sides ({', '.join(SIDES)}) to conditions")
    out = {}
    for side, cond in value.items():
        if side not in SIDES:
            raise ValueError(f"unknown boundary {side!r}; valid boundaries: {', '.join(SIDES)}")
        out[side] = Boundary(type=cond) if isinstance(cond, str) else Boundary.model_validate(cond)
    return out


def _interp(times, values, t: float) -> float:
    """np.interp for one point, in plain Python (the solver calls it every step on short
    series, where numpy's call overhead dominates)."""
    if t <= times[0]:
        return float(values[0])
    if t >= times[-1]:
        return float(values[-1])
    k = bisect_right(times, t)
    t_a, t_b, v_a, v_b = times[k - 1], times[k], values[k - 1], values[k]
    return float(v_a + (v_b - v_a) * ((t - t_a) / (t_b - t_a)))


def series_at(series, t: float) -> float:
    """Value of a piecewise-linear series at time ``t`` (s)."""
    return _interp([float(p[0]) for p in series], [float(p[1]) for p in series], t)


def series_integral(series, t0: float, t1: float) -> float:
    """Exact integral of a piecewise-linear series from ``t0`` to ``t1`` (value x s), constant
    beyond its ends."""
    times = [float(p[0]) for p in series]
    values = [float(p[1]) for p in series]
    knots = [t0, *(t for t in times if t0 < t < t1), t1]
    v = [_interp(times, values, t) for t in knots]
    total = 0.0
    for k in range(len(knots) - 1):
        total += 0.5 * (v[k] + v[k + 1]) * (knots[k + 1] - knots[k])
    return total
