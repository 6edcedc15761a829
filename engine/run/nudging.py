"""The nudging coupler: one deterministic run relaxed towards the sensors (observation
nudging, ``metrotwin.observe.nudging``), a cheap alternative to the ensemble filter.

It is the assimilating coupler with one member on the variant's own forcing and the LETKF
replaced by the relaxation: at each coupling time the readings since the last one pull the
water depth (kept >= 0, its volume change booked in the increment account so that the volume
balance still closes), the air temperature and the link flows within ``localisation_radius``
towards them, by the fraction ``1 - exp(-dt / time_scale)`` of the weighted innovation. The
free-run control is kept, for the free-run values in ``observations.nc``.
"""

from __future__ import annotations

import numpy as np

from metrotwin.observe.nudging import nudging_increment, relaxation_fraction
from metrotwin.run.ensemble_coupler import AssimilatingCoupler


class NudgingCoupler(AssimilatingCoupler):
    """An ``AssimilatingCoupler`` of one member, nudged: no spread, no parameters estimated."""

    def spread_fields(self) -> dict:
        """None: one run has no spread."""
        return {}

    def _nudged(self, name: str, points, hx, at, values) -> np.ndarray:
        """The member's field ``name`` (flat, at ``points``: x, y in m) plus its nudging
        increment from ``values`` read at ``at`` (x, y in m) where the member gives ``hx``
        (1, readings); a (1, n) array."""
        before = np.asarray(self.members[0].state[name], float).ravel()
        increment = nudging_increment(*points, *at, values - hx[0],
                                      self.settings.localisation_radius,
                                      relaxation_fraction(self.window, self.settings.time_scale))
        return (before + increment)[None, :]

    def _analyse_depth(self, hx, at, values, std) -> None:
        before = self._stack("flood_water_thickness")
        depth = self._nudged("flood_water_thickness", (self.cell_x, self.cell_y), hx, at, values)
        self._store_depth(depth, before)

    def _analyse_air(self, hx, at, values, std) -> None:
        air = self._nudged("air_temperature", (self.cell_x, self.cell_y), hx, at, values)
        ta = self.members[0].state["air_temperature"]
        ta[...] = air[0].reshape(ta.shape)

    def _analyse_links(self, hx, at, values, std) -> None:
        flow = self._nudged("link_flow", self.link_midpoints, hx, at, values)
        self.members[0].state["link_flow"][...] = np.maximum(flow[0], 0.0)
