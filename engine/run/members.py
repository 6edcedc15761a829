"""The members of an assimilation ensemble: each one's forcing, perturbed from the variant's
by seeded random draws (its prior), and the forcing parameters the filter then estimates.

A member's rain is the variant's rain times a lognormal multiplier field with spatially
correlated noise (white noise smoothed by a Gaussian kernel), its air temperature the
variant's weather shifted by an offset (K), its travel demand scaled by a factor. The draws
come from ``numpy.random.SeedSequence([seed, assimilation seed]).spawn(members)``, on the
whole grid: the same numbers whatever the ranks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from metrotwin.run.forcing import Forcing


@dataclass
class MemberPrior:
    """One member's draws: ``log_rain`` (ny, nx) log of the rain multiplier (1),
    ``air_temperature_offset`` (K) and ``log_demand`` (log of the demand scale, 1)."""

    log_rain: np.ndarray
    air_temperature_offset: float
    log_demand: float


def correlated_field(rng: np.random.Generator, shape: tuple[int, int], length_cells: float) -> np.ndarray:
    """Gaussian noise of unit variance at every cell, correlated over ``length_cells`` (the
    std of the smoothing kernel, in cells): white noise smoothed, divided by the kernel's
    root sum of squares (the std the smoothing leaves a cell away from the edges)."""
    white = rng.standard_normal(shape)
    if length_cells <= 0.0:
        return white
    smooth = gaussian_filter(white, length_cells, mode="reflect")
    delta = np.zeros((2 * int(4 * length_cells) + 1,) * 2)
    delta[delta.shape[0] // 2, delta.shape[1] // 2] = 1.0
    kernel = gaussian_filter(delta, length_cells, mode="constant")
    return smooth / np.sqrt(np.sum(kernel * kernel))


def draw_priors(settings, shape: tuple[int, int], resolution: float, seed: int) -> list[MemberPrior]:
    """The priors of ``settings.members`` members (``settings``: an ``AssimilationSection``)
    on a grid of ``shape`` cells of ``resolution`` m, from the scenario ``seed``."""
    p = settings.perturbations
    streams = np.random.SeedSequence([seed, settings.seed, 0xA551]).spawn(settings.members)
    priors = []
    for stream in streams:
        rng = np.random.default_rng(stream)
        z = correlated_field(rng, shape, p.rain_correlation_length / resolution)
        # median-1 lognormal made mean-1: E[exp(s z - s^2 / 2)] = 1
        log_rain = p.rain_log_std * z - 0.5 * p.rain_log_std**2
        offset = float(p.air_temperature_std * rng.standard_normal())
        log_demand = float(p.demand_log_std * rng.standard_normal() - 0.5 * p.demand_log_std**2)
        priors.append(MemberPrior(log_rain, offset, log_demand))
    return priors


class ShiftedWeather:
    """A weather series with its air temperature shifted by ``owner.air_temperature_offset``
    (K, read at every call: the filter's update acts from the next step on)."""

    def __init__(self, weather, owner: MemberForcing):
        self._weather, self._owner = weather, owner

    def at(self, t: float):
        w = self._weather.at(t)
        return dataclasses.replace(w, air_temperature=w.air_temperature
                                   + self._owner.air_temperature_offset)  # fmt: skip

    @property
    def mean_air_temperature(self) -> float:
        return self._weather.mean_air_temperature + self._owner.air_temperature_offset

    def __getattr__(self, name):
        return getattr(self._weather, name)


class MemberForcing:
    """A member's forcing: the variant's ``base`` forcing with the rain multiplied by
    ``exp(log_rain)`` (a local (ny, nx) field the filter may update) and by ``rain_bias`` (the
    gauges' mean field bias, shared by the members), and the weather shifted by
    ``air_temperature_offset`` (K). Rain is always gridded (m/s, (ny, nx))."""

    def __init__(self, base: Forcing, prior: MemberPrior, window: tuple[slice, slice]):
        self.base = base
        self.scenario, self.grid, self.global_grid = base.scenario, base.grid, base.global_grid
        self.spec = base.spec
        self.log_rain = np.ascontiguousarray(prior.log_rain[window])
        self.air_temperature_offset = prior.air_temperature_offset
        self.log_demand = prior.log_demand
        self.rain_bias = 1.0
        self._weather = None

    @property
    def has_rain(self) -> bool:
        return self.base.has_rain

    @property
    def rain_is_gridded(self) -> bool:
        return self.base.has_rain

    def multiplier(self) -> np.ndarray:
        """The factor on the variant's rain at every cell (1)."""
        return self.rain_bias * np.exp(self.log_rain)

    def rain_rate(self, t: float) -> np.ndarray:
        """Rain intensity (m/s) at time ``t`` (s), (ny, nx)."""
        return self.base.rain_rate(t) * self.multiplier()

    def rain_depth(self, t0: float, t1: float) -> np.ndarray:
        """Rain depth (m) between ``t0`` and ``t1`` (s), (ny, nx)."""
        return self.base.rain_depth(t0, t1) * self.multiplier()

    def next_rain_change(self, t: float) -> float:
        return self.base.next_rain_change(t)

    @property
    def weather(self):
        if self._weather is None and self.base.weather is not None:
            self._weather = ShiftedWeather(self.base.weather, self)
        return self._weather
