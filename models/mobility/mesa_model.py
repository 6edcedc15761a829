"""The Mesa model of the mobility model: one agent per traveller (``agents.py``) over the
traffic simulation (``simulation.TrafficSim``), told at the end of each step what happened
to them, with Mesa's data collector counting departures, arrivals and strandings."""

from __future__ import annotations

import mesa
import numpy as np

from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.agents import Cyclist, Driver, Pedestrian
from metrotwin.models.mobility.demand import Trips
from metrotwin.models.mobility.network import Network
from metrotwin.models.mobility.simulation import REASONS, TrafficSim


class TrafficModel(mesa.Model):
    """Travellers on a road network, as a Mesa model.

    Args:
        network: the road network (``network.Network``).
        trips: the trips (``demand.Trips``), one agent each.
        step_length: simulated seconds per Mesa ``step()``.
        rng: seed or generator (Mesa's ``rng``); also seeds the route choice.
        agent_classes: {"car": cls, "walk": cls, "bike": cls} to replace the agent types.
        **options: passed on to ``simulation.TrafficSim`` (dt, route_interval, ...).
    """

    def __init__(self, network: Network, trips: Trips, *, step_length: float = 60.0,
                 rng=None, agent_classes: dict | None = None, own: np.ndarray | None = None,
                 **options):
        super().__init__(rng=rng)
        self.step_length = float(step_length)
        #: the trips this rank holds as agents (all in serial; see ``parallel.py``)
        self.own = np.ones(len(trips), bool) if own is None else np.asarray(own, bool)
        self.sim = TrafficSim(network, trips, seed=int(self.rng.integers(2**31)), own=self.own,
                              **options)
        classes = {"car": Driver, "walk": Pedestrian, "bike": Cyclist, **(agent_classes or {})}
        sim = self.sim
        self.agent_of = np.empty(len(trips), object)
        rows = np.flatnonzero(self.own[sim.car])
        if rows.size:
            made = classes["car"].create_agents(self, rows.size, index=sim.car[rows], row=rows)
            self.agent_of[sim.car[rows]] = list(made)
        for code, name in ((1, "walk"), (2, "bike")):
            rows = np.flatnonzero(trips.mode[sim.active] == code)
            if rows.size:
                made = classes[name].create_agents(self, rows.size, index=sim.active[rows],
                                                   row=rows)
                self.agent_of[sim.active[rows]] = list(made)
        self._last_status = sim.status()
        self.datacollector = mesa.DataCollector(model_reporters={
            "time": lambda m: m.sim.time,
            "departed": lambda m: m.sim.counts()["departed"],
            "arrived": lambda m: m.sim.counts()["arrived"],
            "en_route": lambda m: m.sim.counts()["en_route"],
            "stranded": lambda m: m.sim.counts()["stranded"],
        })
        self.datacollector.collect(self)

    def step(self):
        """Advance the traffic by ``step_length`` seconds."""
        self.advance(self.sim.time + self.step_length)

    def advance(self, until: float) -> None:
        """Advance to ``until`` (s), tell the agents what happened, collect the data."""
        self.sim.advance(until)
        self._notify()
        self.datacollector.collect(self)

    def _notify(self) -> None:
        status = self.sim.status()
        changed = np.flatnonzero(status != self._last_status)
        self._last_status = status
        reasons = self.sim.reasons()
        for i in changed:
            agent = self.agent_of[i]
            if agent is None:  # a trip of another rank (its car runs here too)
                continue
            if status[i] == kernels.ARRIVED:
                agent.on_arrival()
            elif status[i] in (kernels.STRANDED, kernels.STOPPED):
                agent.on_stranded(REASONS.get(int(reasons[i]), "unknown"))
