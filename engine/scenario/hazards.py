"""The ``hazards:`` section of a scenario: what a probabilistic what-if draws its forcing from.

- ``design_storms``: an IDF relation (intensity-duration-frequency: a user table of intensity
  per duration per return period, or the parametric form ``i = a / (d + b)^c`` per return
  period, ``d`` in minutes and ``i`` in mm/h) turned into hyetographs (Chicago after Keifer &
  Chu 1957, or alternating block) for a list of return periods (years, > 1);
- ``heatwaves``: design days from a return-period table of the daily maximum air temperature
  (°C);
- ``uncertain``: parameters with ranges, sampled by Latin hypercube or scrambled Sobol
  sequences, or by the sensitivity designs ``saltelli`` and ``morris`` (``sampling``), so
  that members span the uncertainty;
- ``economics``: discounting, valuation and unit-cost overrides of the cost-benefit
  (``metrotwin.scenario.economics``).

The hyetographs and samples themselves are made in ``metrotwin.run.design_storm`` and
``metrotwin.run.sampling``; this module only validates what the user wrote. Every error names
the field, the value and what would be valid.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, field_validator, model_validator

from metrotwin.scenario.economics import Economics
from metrotwin.scenario.impacts import Impacts
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.schema import MAX_RAIN, StrictModel
from metrotwin.scenario.units import Duration

#: longest return period accepted (years): beyond 1e5 years an IDF curve is extrapolation
MAX_RETURN_PERIOD = 100_000.0
#: most return periods, members or uncertain parameters: a design ensemble, not a catalogue
MAX_ITEMS = 4096


def check_return_period(value) -> float:
    """``value`` (years) if it is a number > 1 and <= MAX_RETURN_PERIOD; else ValueError.

    A return period of 1 year or less has an annual exceedance probability of 1 or more: it
    is no design event."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a return period is a number of years > 1, got {short_repr(value)}")
    try:
        years = float(value)
    except ValueError:
        raise ValueError(
            f"a return period is a number of years > 1, got {short_repr(value)}"
        ) from None
    if not (math.isfinite(years) and 1.0 < years <= MAX_RETURN_PERIOD):
        raise ValueError(
            f"return period {short_repr(value)} is not valid: give a number of years > 1 and "
            f"<= {MAX_RETURN_PERIOD:g} (an annual exceedance probability 1/T below 1)"
        )
    return years


#: a return period (years), > 1
ReturnPeriod = Annotated[float, BeforeValidator(check_return_period)]


def _check_curve(intensity: np.ndarray, durations_min: np.ndarray, what: str) -> None:
    """ValueError unless the intensities (mm/h) at ``durations_min`` are finite, > 0, at most
    MAX_RAIN, not increasing with duration, and the depths ``i * d`` not decreasing."""
    for d, i in zip(durations_min, intensity):
        if not (np.isfinite(i) and 0.0 < i <= MAX_RAIN):
            raise ValueError(
                f"{what} gives intensity {i:g} mm/h at duration {d:g} min; intensities must be "
                f"finite, > 0 and <= {MAX_RAIN:g} mm/h"
            )
    depth = intensity * durations_min
    for k in range(1, len(durations_min)):
        if intensity[k] > intensity[k - 1] * (1 + 1e-12):
            raise ValueError(
                f"{what}: intensity rises from {intensity[k - 1]:g} mm/h at "
                f"{durations_min[k - 1]:g} min to {intensity[k]:g} mm/h at {durations_min[k]:g} "
                f"min; an IDF intensity must not increase with duration"
            )
        if depth[k] < depth[k - 1] * (1 - 1e-12):
            raise ValueError(
                f"{what}: depth i*d falls from {depth[k - 1] / 60:g} mm at "
                f"{durations_min[k - 1]:g} min to {depth[k] / 60:g} mm at {durations_min[k]:g} "
                f"min; the depth of a longer storm must not be smaller"
            )


def _check_order_across_periods(curves: dict[float, np.ndarray], what: str) -> None:
    """ValueError unless, at every duration, a rarer event is at least as intense."""
    periods = sorted(curves)
    for lo, hi in zip(periods, periods[1:]):
        lower = np.flatnonzero(curves[hi] < curves[lo] * (1 - 1e-12))
        if lower.size:
            raise ValueError(
                f"{what}: the {hi:g}-year intensity is below the {lo:g}-year one (entry "
                f"{lower[0]}); a rarer storm must not be weaker"
            )


class Strict(StrictModel):
    """Base of the hazards section's parts (unknown keys and NaN/inf refused)."""


class IdfTable(Strict):
    """An IDF table: intensity (mm/h) per duration, one row per return period (years)."""

    form: Literal["table"] = "table"
    durations: list[Duration] = Field(description="storm durations (s), strictly increasing")
    intensities: dict[ReturnPeriod, list[float]] = Field(
        description="return period (years) -> mean intensity (mm/h) at each duration"
    )

    @field_validator("durations")
    @classmethod
    def _durations(cls, value):
        if not 2 <= len(value) <= MAX_ITEMS:
            raise ValueError(f"give 2 to {MAX_ITEMS} durations, got {len(value)}")
        if value[0] <= 0:
            raise ValueError(f"durations must be > 0 s, got {value[0]:g} s")
        for k in range(1, len(value)):
            if value[k] <= value[k - 1]:
                raise ValueError(
                    f"durations must increase strictly; entry {k} ({value[k]:g} s) is not "
                    f"after entry {k - 1} ({value[k - 1]:g} s)"
                )
        return value

    @model_validator(mode="after")
    def _curves(self):
        if not self.intensities:
            raise ValueError("intensities is empty; give return period (years): [mm/h, ...]")
        minutes = np.asarray(self.durations) / 60.0
        curves = {}
        for period, row in self.intensities.items():
            what = f"intensities.{period:g}"
            if len(row) != len(self.durations):
                raise ValueError(
                    f"{what} has {len(row)} intensities for {len(self.durations)} durations; "
                    f"give one per duration"
                )
            curves[period] = np.asarray(row, dtype=float)
            _check_curve(curves[period], minutes, what)
        _check_order_across_periods(curves, "intensities")
        return self


class IdfCoefficients(Strict):
    """``i = a / (d + b)^c``: ``i`` in mm/h, ``d`` in minutes (e.g. Chow, Maidment & Mays
    1988, Applied Hydrology, eq. 15.1.1)."""

    a: float = Field(gt=0, description="scale (mm/h min^c)")
    b: float = Field(0.0, description="duration offset (min); d + b must stay > 0")
    c: float = Field(gt=0, le=1, description="exponent (-): c <= 1 keeps depth rising with d")


class IdfParametric(Strict):
    """The parametric IDF form per return period, checked on durations from 1 min to
    ``max_duration``."""

    form: Literal["parametric"] = "parametric"
    coefficients: dict[ReturnPeriod, IdfCoefficients] = Field(
        description="return period (years) -> a, b, c of i = a / (d + b)^c"
    )
    max_duration: Duration = Field(
        86400.0, gt=0, description="longest duration the relation holds for (s)"
    )

    def intensity(self, period: float, minutes) -> np.ndarray:
        """Intensity (mm/h) of the ``period``-year storm lasting ``minutes`` (min)."""
        k = self.coefficients[period]
        with np.errstate(all="ignore"):  # a bad b gives NaN, refused by the validator
            return k.a / np.power(np.asarray(minutes, dtype=float) + k.b, k.c)

    @model_validator(mode="after")
    def _curves(self):
        if not self.coefficients:
            raise ValueError("coefficients is empty; give return period (years): {a, b, c}")
        minutes = np.geomspace(1.0, max(self.max_duration / 60.0, 1.0), 200)
        curves = {}
        for period, k in self.coefficients.items():
            if k.b <= -1.0:
                raise ValueError(
                    f"coefficients.{period:g}.b = {k.b:g} min makes d + b <= 0 for a 1-min "
                    f"storm (negative or infinite intensity); give b > -1"
                )
            curves[period] = self.intensity(period, minutes)
            _check_curve(curves[period], minutes, f"coefficients.{period:g} (a, b, c)")
        _check_order_across_periods(curves, "coefficients")
        return self


class HyetographShape(Strict):
    """How a design storm is laid out in time."""

    method: Literal["chicago", "alternating_block"] = "chicago"
    duration: Duration = Field(7200.0, description="storm duration (s)")
    time_step: Duration = Field(300.0, description="length of each block (s)")
    peak_position: float = Field(
        0.4, ge=0, le=1, description="time of the peak as a fraction r of the duration"
    )

    @model_validator(mode="after")
    def _steps(self):
        if not self.time_step > 0:
            raise ValueError(f"time_step must be > 0 s, got {self.time_step:g}")
        steps = self.duration / self.time_step
        if not (1 <= round(steps) <= 100_000 and abs(steps - round(steps)) < 1e-9 * steps):
            raise ValueError(
                f"duration ({self.duration:g} s) must be a whole number (1 to 100000) of "
                f"time_step ({self.time_step:g} s), got {steps:g}"
            )
        return self


#: (low, high, half open?) and unit of the numbers of ``spatial``: (low, high] or [low, high);
#: a storm slower than 0.1 m/s takes over 27 h to cross 10 km (see moving_cell.MAX_STEPS)
SPATIAL_BOUNDS = {
    "radius": ((0.0, 1e6, False), "m"),
    "direction": ((0.0, 360.0, True), "°"),
    "speed": ((0.1, 100.0, True), "m/s"),
    "coefficient_of_variation": ((0.0, 2.0, False), "(-)"),
    "correlation_length": ((0.0, 1e6, False), "m"),
}


def _check_within(value: float, what: str, bounds: tuple[float, float, bool], unit: str):
    """``value`` if ``low < value <= high`` (``low <= value < high`` if the flag is set); else
    ValueError naming ``what``, the value and the range."""
    low, high, half_open = bounds
    inside = low <= value < high if half_open else low < value <= high
    if not inside:
        span = f">= {low:g} and < {high:g}" if half_open else f"> {low:g} and <= {high:g}"
        raise ValueError(f"{what} {value:g} {unit} is not valid: give a value {span} {unit}")
    return value


class MovingCell(Strict):
    """A storm moving along a straight track at constant velocity (``metrotwin.run.rain``).

    Every point of the track's centreline receives the design hyetograph, delayed by the time
    the storm takes to reach it (the storm's rain pattern is translated, frozen, along the
    track: Taylor's hypothesis, as in the moving design storms of Niemczynowicz 1991), so its
    depth is the IDF depth; across the track the depth falls off as ``exp(-(n / radius)^2)``
    with the distance ``n`` (m) from the centreline."""

    radius: float = Field(description="distance across the track at which rain falls to 1/e (m)")
    direction: float = Field(
        description="bearing the storm moves towards, clockwise from grid north (°)"
    )
    speed: float = Field(description="speed of the storm along its track (m/s)")
    start: tuple[float, float] | None = Field(
        None,
        description="[x, y] (m, scenario CRS) the storm's front crosses at time 0; default: "
        "the domain's upstream edge on a track through the domain centre",
    )

    @field_validator("radius", "direction", "speed")
    @classmethod
    def _within(cls, value, info):
        bounds, unit = SPATIAL_BOUNDS[info.field_name]
        return _check_within(value, info.field_name, bounds, unit)


class RandomField(Strict):
    """A stationary, spatially correlated lognormal multiplier of the rain with mean 1.

    ``log`` of the multiplier is a Gaussian field whose correlation at lag ``h`` (m) is
    ``exp(-h / L)`` (exponential) or ``exp(-(h / L)^2)`` (gaussian), ``L`` the
    ``correlation_length``. In time it is frozen (no ``decorrelation_time``), independent per
    hyetograph block (0), or an AR(1) process with correlation ``exp(-dt / decorrelation_time)``
    between blocks ``dt`` apart."""

    coefficient_of_variation: float = Field(
        description="standard deviation / mean of the multiplier (-), > 0 and <= 2"
    )
    correlation_length: float = Field(description="correlation length L (m)")
    covariance: Literal["exponential", "gaussian"] = "exponential"
    decorrelation_time: Duration | None = Field(
        None, description="e-folding time of the field's correlation in time (s); 0: independent"
    )

    @field_validator("coefficient_of_variation", "correlation_length")
    @classmethod
    def _within(cls, value, info):
        bounds, unit = SPATIAL_BOUNDS[info.field_name]
        return _check_within(value, info.field_name, bounds, unit)

    @field_validator("decorrelation_time")
    @classmethod
    def _time(cls, value):
        if value is not None and not 0 <= value <= 1e7:
            raise ValueError(
                f"decorrelation_time must be >= 0 s and <= 1e7 s (0: a new field each block; "
                f"leave it out for one field for the whole storm), got {value:g} s"
            )
        return value


class SpatialRain(Strict):
    """Rain varying in space: a moving storm, a random multiplier, or both (the moving storm's
    rain times the multiplier)."""

    moving_cell: MovingCell | None = None
    random_field: RandomField | None = None

    @model_validator(mode="after")
    def _something(self):
        if self.moving_cell is None and self.random_field is None:
            raise ValueError(
                "spatial is empty; give moving_cell, random_field or both (or leave spatial "
                "out for rain uniform in space)"
            )
        return self


class DesignStorms(Strict):
    """Design storms for a list of return periods from one IDF relation."""

    idf: IdfTable | IdfParametric = Field(discriminator="form")
    hyetograph: HyetographShape = Field(default_factory=HyetographShape)
    return_periods: list[ReturnPeriod] = Field(description="years, each > 1")
    spatial: SpatialRain | None = None

    @field_validator("return_periods")
    @classmethod
    def _periods(cls, value):
        if not 1 <= len(value) <= MAX_ITEMS:
            raise ValueError(f"give 1 to {MAX_ITEMS} return periods, got {len(value)}")
        if len(set(value)) != len(value):
            raise ValueError(f"return periods {short_repr(value)} repeat a value")
        return sorted(value)

    @model_validator(mode="after")
    def _covered(self):
        known = self.idf.intensities if isinstance(self.idf, IdfTable) else self.idf.coefficients
        missing = [t for t in self.return_periods if t not in known]
        if missing:
            raise ValueError(
                f"return periods {', '.join(f'{t:g}' for t in missing)} years have no IDF "
                f"curve; the IDF relation has {', '.join(f'{t:g}' for t in sorted(known))}"
            )
        longest = self.idf.durations[-1] if isinstance(self.idf, IdfTable) else (
            self.idf.max_duration
        )
        if self.hyetograph.duration > longest * (1 + 1e-12):
            raise ValueError(
                f"hyetograph.duration ({self.hyetograph.duration:g} s) is longer than the IDF "
                f"relation's longest duration ({longest:g} s); shorten it or extend the IDF"
            )
        return self


class Heatwaves(Strict):
    """Heatwave design days: the daily maximum air temperature (°C) per return period."""

    daily_max_temperature: dict[ReturnPeriod, float] = Field(
        description="return period (years) -> daily maximum air temperature (°C)"
    )
    days: int = Field(3, ge=1, le=60, description="length of the heatwave (days)")
    diurnal_range: float = Field(12.0, gt=0, le=30, description="Tmax - Tmin (°C)")

    @field_validator("daily_max_temperature")
    @classmethod
    def _table(cls, value):
        if not value:
            raise ValueError("daily_max_temperature is empty; give years: °C pairs")
        periods = sorted(value)
        for t in periods:
            if not -60 <= value[t] <= 60:
                raise ValueError(
                    f"daily_max_temperature.{t:g} = {value[t]:g} °C; give -60 to 60 °C"
                )
        for lo, hi in zip(periods, periods[1:]):
            if value[hi] < value[lo]:
                raise ValueError(
                    f"daily_max_temperature: the {hi:g}-year value ({value[hi]:g} °C) is below "
                    f"the {lo:g}-year one ({value[lo]:g} °C); a rarer heatwave must not be "
                    f"cooler"
                )
        return value


class UncertainParameter(Strict):
    """One uncertain input: the scenario field it sets and the distribution it is drawn from.

    ``uniform`` and ``loguniform`` span [low, high]; ``normal`` has ``mean`` and ``std`` and
    is truncated to [low, high]."""

    name: str = Field(description="the dotted field it sets, e.g. models.flood.manning_n")
    distribution: Literal["uniform", "loguniform", "normal"] = "uniform"
    low: float
    high: float
    mean: float | None = None
    std: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _range(self):
        if not self.low < self.high:
            raise ValueError(
                f"{self.name}: low ({self.low:g}) must be below high ({self.high:g})"
            )
        if self.distribution == "loguniform" and not self.low > 0:
            raise ValueError(
                f"{self.name}: a loguniform range needs low > 0, got low = {self.low:g}"
            )
        normal = self.distribution == "normal"
        if normal != (self.mean is not None and self.std is not None):
            raise ValueError(
                f"{self.name}: give mean and std for a normal distribution, and only for it"
            )
        if normal and not self.low <= self.mean <= self.high:
            raise ValueError(
                f"{self.name}: mean {self.mean:g} is outside [low, high] = "
                f"[{self.low:g}, {self.high:g}]"
            )
        return self


class Sampling(Strict):
    """How members draw the uncertain parameters.

    - ``lhs`` / ``sobol``: ``members`` samples (a Latin hypercube, or a scrambled Sobol
      sequence with ``members`` a power of 2);
    - ``saltelli``: the design of Sobol' sensitivity indices (Saltelli 2002; Saltelli et al.
      2010, Comput. Phys. Commun. 181:259): ``members`` = N base samples (a power of 2) give
      ``N * (D + 2)`` samples for D uncertain parameters, ``N * (2D + 2)`` with
      ``second_order``;
    - ``morris``: ``members`` = r trajectories of D + 1 points each on a grid of ``levels``
      levels (Morris 1991, Technometrics 33:161): ``r * (D + 1)`` samples.
    """

    method: Literal["lhs", "sobol", "saltelli", "morris"] = "lhs"
    members: int = Field(
        16, ge=1, le=MAX_ITEMS,
        description="samples (lhs, sobol); base samples N (saltelli); trajectories (morris)",
    )  # fmt: skip
    seed: int = Field(0, ge=0, lt=2**63)
    second_order: bool = Field(False, description="saltelli: also the second-order indices")
    levels: int = Field(4, ge=2, le=64, description="morris: grid levels (even)")

    @model_validator(mode="after")
    def _balance(self):
        if self.method in ("sobol", "saltelli") and self.members & (self.members - 1):
            below = 1 << (self.members.bit_length() - 1)
            raise ValueError(
                f"{self.method} sampling needs a power of 2 members to stay balanced, got "
                f"{self.members}; use {below} or {below * 2}, or method: lhs"
            )
        if self.method == "morris" and self.levels % 2:
            raise ValueError(
                f"morris sampling needs an even number of levels (the step is levels / 2 "
                f"grid steps), got {self.levels}; use {self.levels - 1} or {self.levels + 1}"
            )
        if self.second_order and self.method != "saltelli":
            raise ValueError(
                f"second_order applies to method: saltelli only, got method: {self.method}"
            )
        return self

    def sample_count(self, dimensions: int) -> int:
        """Number of samples this design draws for ``dimensions`` uncertain parameters.

        >>> Sampling(method="saltelli", members=8).sample_count(3)
        40
        >>> Sampling(method="morris", members=5).sample_count(3)
        20
        """
        if self.method == "saltelli":
            return self.members * ((2 if self.second_order else 1) * dimensions + 2)
        if self.method == "morris":
            return self.members * (dimensions + 1)
        return self.members


class Hazards(Strict):
    """The ``hazards:`` section: design storms, heatwaves, uncertain parameters."""

    design_storms: DesignStorms | None = None
    heatwaves: Heatwaves | None = None
    uncertain: list[UncertainParameter] = Field(default_factory=list)
    sampling: Sampling = Field(default_factory=Sampling)
    impacts: Impacts = Field(default_factory=Impacts)
    economics: Economics = Field(default_factory=Economics)

    @field_validator("uncertain")
    @classmethod
    def _unique(cls, value):
        if len(value) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} uncertain parameters, got {len(value)}")
        names = [p.name for p in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"uncertain parameters named twice: {', '.join(twice)}")
        return value
