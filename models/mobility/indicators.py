"""The mobility model's indicators: trips completed, stranded (and why), departed, travel
time and delay, vehicle-km, and the walkers' and cyclists' heat exposure, by home district
and population group.

Each rank counts its own trips (``own``) and the totals go through ``ctx.global_sum`` of
per-trip values (exact), so that they are the same on any number of ranks.
"""

from __future__ import annotations

import numpy as np

from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.simulation import REASONS, TrafficSim
from metrotwin.results.indicators import Indicator


class Breakdown:
    """Per-trip values reduced over the trips of a mask, in all and by home district and
    population group, summed over the ranks with ``gsum``."""

    def __init__(self, trips, gsum):
        self.trips, self.gsum = trips, gsum
        self.districts = {c: n for c, n in trips.district_names.items()
                          if (trips.district == c).any()}
        self.groups = list(enumerate(trips.group_names))

    def split(self, values, mask, how):
        """(all, {district: ...}, {group: ...}) of ``how`` over ``values[mask]``."""
        trips = self.trips
        by_d = {n: how(values[mask & (trips.district == c)]) for c, n in self.districts.items()}
        by_g = {n: how(values[mask & (trips.group == g)]) for g, n in self.groups}
        return how(values[mask]), by_d, by_g

    def count(self, x) -> float:
        return float(self.gsum(np.ones(x.size)))

    def mean(self, x) -> float:
        n = self.gsum(np.ones(x.size))
        total = self.gsum(x)
        return float(total / n) if n else float("nan")


def trip_indicators(sim: TrafficSim, own: np.ndarray, gsum) -> dict[str, Indicator]:
    """All the indicators of the trips ``own`` (bool per trip) of this rank."""
    trips = sim.trips
    status = sim.status()
    departed = (trips.depart < sim.time) & own
    arrived = (status == kernels.ARRIVED) & own
    stranded = ((status == kernels.STRANDED) | (status == kernels.STOPPED)) & own
    b = Breakdown(trips, gsum)
    out = _trip_counts(sim, b, departed, arrived, stranded)
    out.update(_travel_times(sim, b, arrived, own))
    out.update(_heat_exposure(sim, b, departed))
    return out


def _trip_counts(sim, b: Breakdown, departed, arrived, stranded) -> dict[str, Indicator]:
    ones = np.ones(len(sim.trips))
    out = {}
    for key, mask, desc, better in (
            ("trips_completed", arrived, "trips that reached their destination", "higher"),
            ("trips_stranded", stranded, "trips that cannot finish (roads closed, flood "
             "dangerous to walkers or cyclists)", "lower"),
            ("trips_departed", departed, "trips that have set off", "higher")):
        v, d, g = b.split(ones, mask, b.count)
        out[key] = Indicator(v, "1", desc, by_district=d, by_group=g, better=better)
    reasons = sim.reasons()
    for code, reason in REASONS.items():
        out[f"trips_stranded_{reason}"] = Indicator(
            b.count(ones[stranded & (reasons == code)]), "1", f"trips stranded: {reason}")
    return out


def _travel_times(sim, b: Breakdown, arrived, own) -> dict[str, Indicator]:
    tt, free = sim.travel_times()
    out = {}
    v, d, g = b.split(tt, arrived, b.mean)
    out["mean_travel_time"] = Indicator(v, "s", "mean door-to-door time of completed trips",
                                        by_district=d, by_group=g)
    # a trip is never faster than free flow: a difference below 0 is the round-off of
    # two equal sums (it printed as "-1.87e-13 s" in a report), so it is 0
    v, d, g = b.split(np.maximum(tt - free, 0.0), arrived, b.mean)
    out["mean_delay"] = Indicator(v, "s", "mean travel time above free flow, completed trips",
                                  by_district=d, by_group=g)
    out["vehicle_km"] = Indicator(b.gsum(sim.c_distance[own[sim.car]]) / 1000.0,
                                  "km", "distance driven by cars", better="lower")
    return out


def _heat_exposure(sim, b: Breakdown, departed) -> dict[str, Indicator]:
    n = len(sim.trips)
    active = np.zeros(n, bool)
    active[sim.active] = True
    out = {}
    for k, t in enumerate(sim.thresholds):
        minutes = np.zeros(n)
        minutes[sim.active] = sim.a_minutes[:, k]
        v, d, g = b.split(minutes, active & departed, b.mean)
        out[f"heat_exposure_minutes_above_{t:g}"] = Indicator(
            v, "min", f"mean minutes a walker or cyclist spends outdoors above UTCI {t:g} degC",
            by_district=d, by_group=g)
    dm = np.zeros(n)
    dm[sim.active] = sim.a_degree_minutes
    v, d, g = b.split(dm, active & departed, b.mean)
    out["heat_exposure_degree_minutes"] = Indicator(
        v, "K min", f"mean UTCI degree-minutes above {sim.thresholds[0]:g} degC per walker "
        "or cyclist", by_district=d, by_group=g)
    return out
