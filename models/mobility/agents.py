"""Mesa agents of the mobility model: one per traveller.

The traffic state lives in the arrays of ``TrafficSim`` that numba kernels advance; an agent
is a view on its row (``status``, ``travel_time``, ``exposure`` read the arrays live) and the
place where behaviour rules live: ``choose_modes`` (mode by distance band), and hooks the
model calls when something happens to a traveller (``on_arrival``, ``on_stranded``) at the
end of each Mesa step, never inside the traffic kernels. Subclass them and pass your classes
to the model to change behaviour, the Mesa way.
"""

from __future__ import annotations

import mesa
import numpy as np

from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.kernels import REASONS

STATUS = {kernels.SCHEDULED: "scheduled", kernels.ON_LINK: "en_route",
          kernels.ARRIVED: "arrived", kernels.STRANDED: "stranded",
          kernels.STOPPED: "stranded"}


class Traveller(mesa.Agent):
    """A person making one trip (row ``index`` of the model's trip arrays)."""

    mode = "car"

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    # -- the view on the arrays ----------------------------------------------------------
    @property
    def trips(self):
        return self.model.sim.trips

    @property
    def group(self) -> str:
        return self.trips.group_names[self.trips.group[self.index]]

    @property
    def home_district(self) -> str:
        code = int(self.trips.district[self.index])
        return self.trips.district_names.get(code, str(code))

    @property
    def departure_time(self) -> float:
        """Departure (s since the start of the run)."""
        return float(self.trips.depart[self.index])

    @property
    def status(self) -> str:
        """scheduled, en_route, arrived or stranded."""
        code = self._status_code()
        if code == kernels.SCHEDULED and self.departure_time < self.model.sim.time:
            return "en_route"  # departed, waiting to enter its first link
        return STATUS[code]

    @property
    def stranded_reason(self) -> str | None:
        code = int(self._reason_code())
        return REASONS.get(code) if self.status == "stranded" else None

    @property
    def travel_time(self) -> float:
        """Door-to-door time (s) once arrived, else nan."""
        return float(self.model.sim.travel_times()[0][self.index])

    def _status_code(self) -> int:
        raise NotImplementedError

    def _reason_code(self) -> int:
        raise NotImplementedError

    # -- behaviour hooks -----------------------------------------------------------------
    def on_arrival(self) -> None:
        """Called once, at the end of the Mesa step in which the traveller arrived."""

    def on_stranded(self, reason: str) -> None:
        """Called once, at the end of the Mesa step in which the trip became stranded."""


class Driver(Traveller):
    """A car driver: moves through the link queues; reroutes at every node on the current
    travel times (the routing tables); stranded where no open route is left or where the
    road floods under it."""

    mode = "car"

    def __init__(self, model, index: int, row: int):
        super().__init__(model, index)
        self.row = int(row)

    def _status_code(self) -> int:
        return int(self.model.sim.c_status[self.row])

    def _reason_code(self) -> int:
        return int(self.model.sim.c_reason[self.row])

    @property
    def link(self) -> int | None:
        """The link the car is on (index), or None."""
        link = int(self.model.sim.c_link[self.row])
        return link if link >= 0 else None

    @property
    def distance(self) -> float:
        """Distance driven so far (m)."""
        return float(self.model.sim.c_distance[self.row])


class ActiveTraveller(Traveller):
    """A walker or cyclist: follows a fixed path, stops before a flood that is dangerous to
    people (and goes on when it recedes), and is exposed to the heat while outdoors."""

    def __init__(self, model, index: int, row: int):
        super().__init__(model, index)
        self.row = int(row)

    def _status_code(self) -> int:
        return int(self.model.sim.a_status[self.row])

    def _reason_code(self) -> int:
        return int(self.model.sim.a_reason[self.row])

    @property
    def minutes_above(self) -> dict[str, float]:
        """Minutes outdoors above each UTCI threshold ({"32": ..., "38": ...})."""
        sim = self.model.sim
        return {f"{t:g}": float(m) for t, m in zip(sim.thresholds, sim.a_minutes[self.row])}

    @property
    def degree_minutes(self) -> float:
        """UTCI degree-minutes above the first threshold (K min)."""
        return float(self.model.sim.a_degree_minutes[self.row])


class Pedestrian(ActiveTraveller):
    mode = "walk"


class Cyclist(ActiveTraveller):
    mode = "bike"


def choose_modes(distance_km: np.ndarray, bands, rng: np.random.Generator) -> np.ndarray:
    """Mode codes (0 car, 1 walk, 2 bike) drawn by distance band: ``bands`` is a sequence
    of objects with ``max_km``, ``walk`` and ``bike`` shares (the rest drive)."""
    mode = np.zeros(distance_km.size, "int8")
    u = rng.random(distance_km.size)
    lower = 0.0
    for band in bands:
        inband = (distance_km >= lower) & (distance_km < band.max_km)
        mode[inband & (u < band.walk)] = 1
        mode[inband & (u >= band.walk) & (u < band.walk + band.bike)] = 2
        lower = band.max_km
    return mode
