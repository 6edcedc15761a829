"""Mobility interventions: road closures, capacity changes, working from home, a shift from
car to walking or cycling, and a shaded walking route.

They edit the state before the models start (``metrotwin.city.interventions``): the network's
link variables, the tree canopy, or demand layers (``mobility_work_from_home``,
``mobility_shift_to_walk``, ``mobility_shift_to_bike``: shares by home cell) that the
mobility model reads when it draws its trips.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from metrotwin.city.geometry import Area, Line
from metrotwin.city.interventions import Intervention, register_intervention
from metrotwin.models.mobility.variables import VARIABLES


def select_links(state, where: Area | None, links: list[int] | None) -> np.ndarray:
    """Links chosen by index, or whose midpoint lies in ``where`` (both: either)."""
    n = state.n_links
    chosen = np.zeros(n, bool)
    if links:
        bad = [i for i in links if not 0 <= i < n]
        if bad:
            raise ValueError(f"link index(es) {bad} out of range; the network has links 0..{n - 1}")
        chosen[links] = True
    if where is not None:
        a, b = state["link_from"], state["link_to"]
        mx = 0.5 * (state["node_x"][a] + state["node_x"][b])
        my = 0.5 * (state["node_y"][a] + state["node_y"][b])
        row, col = state.grid.index_of(mx, my)
        inside = state.grid.contains(mx, my)
        # on a decomposed grid the rank owning the midpoint's cell decides (the link
        # variables are the same on every rank, so the choice must be too)
        dec = state.decomposition
        rows, cols = dec.local_window
        mine = inside & dec.owns(row + rows.start, col + cols.start)
        mask = where.mask(state)
        hit = np.zeros(n, "int8")
        hit[mine] = mask[row[mine], col[mine]]
        chosen |= np.asarray(dec.allreduce_max(hit)) > 0
    return chosen


class _LinkIntervention(Intervention):
    where: Area | None = Field(None, description="links whose midpoint is in this area")
    links: list[int] | None = Field(None, description="link indices")
    edits: ClassVar[tuple[str, ...]] = ("link_from",)

    @model_validator(mode="after")
    def _some(self):
        if self.where is None and not self.links:
            raise ValueError("give 'where' (an area) or 'links' (indices)")
        return self


@register_intervention
class RoadClosure(_LinkIntervention):
    """Close roads for the whole run (works, an event): no car enters them."""

    type: Literal["road_closure"] = "road_closure"

    def apply(self, state, rng):
        chosen = select_links(state, self.where, self.links)
        # the model's own declaration (int8, its flag meanings), as the coupler would make it
        # (it keeps a variable that exists, so this one must not differ)
        state.add_variable("link_closed", VARIABLES["link_closed"])
        state["link_closed"][chosen] = 1
        return int(chosen.sum())


@register_intervention
class CapacityChange(_LinkIntervention):
    """Change the flow capacity (a factor) and optionally the lanes of roads."""

    type: Literal["capacity_change"] = "capacity_change"
    factor: float = Field(1.0, gt=0, le=10, description="capacity multiplier")
    lanes: int | None = Field(None, ge=1, le=10, description="new number of lanes")
    edits: ClassVar[tuple[str, ...]] = ("link_capacity", "link_lanes")

    def apply(self, state, rng):
        chosen = select_links(state, self.where, self.links)
        state["link_capacity"][chosen] *= self.factor
        if self.lanes is not None:
            old = state["link_lanes"][chosen].astype(float)
            state["link_capacity"][chosen] *= self.lanes / old
            state["link_lanes"][chosen] = self.lanes
        return int(chosen.sum())


def _share_layer(state, name: str, where: Area, share: float) -> int:
    if name not in state:
        state.add_layer(name, np.zeros(state.grid.shape), {"units": "1", "long_name": name})
    cells = where.mask(state)
    layer = state[name]
    layer[cells] = 1.0 - (1.0 - layer[cells]) * (1.0 - share)  # shares combine
    return int(cells.sum())


@register_intervention
class DemandChange(Intervention):
    """A share of the commuters living in an area works from home (no trip)."""

    type: Literal["demand_change"] = "demand_change"
    where: Area = Field(default_factory=Area, description="home locations affected")
    work_from_home: float = Field(gt=0, le=1, description="share of trips not made")

    def apply(self, state, rng):
        return _share_layer(state, "mobility_work_from_home", self.where, self.work_from_home)


@register_intervention
class ModeShift(Intervention):
    """A share of the car trips from homes in an area walk or cycle instead."""

    type: Literal["mode_shift"] = "mode_shift"
    where: Area = Field(default_factory=Area, description="home locations affected")
    to: Literal["walk", "bike"] = Field(description="the new mode")
    share: float = Field(gt=0, le=1, description="share of car trips that switch")

    def apply(self, state, rng):
        return _share_layer(state, f"mobility_shift_to_{self.to}", self.where, self.share)


@register_intervention
class ShadedRoute(Intervention):
    """A shaded walking route: street trees along a line. The heat model sees the canopy;
    walkers prefer shaded links (``shade_preference``)."""

    type: Literal["shaded_route"] = "shaded_route"
    line: list[tuple[float, float]] = Field(description="[[x, y], ...] in the grid CRS (m)")
    width: float = Field(10.0, ge=0, description="width of the planted strip (m)")
    height: float = Field(8.0, gt=0, le=60, description="canopy top above ground (m)")
    edits: ClassVar[tuple[str, ...]] = ("tree_canopy_height", "building_height")

    @model_validator(mode="after")
    def _line(self):
        Line(line=self.line, width=self.width)
        return self

    def apply(self, state, rng):
        cells = Line(line=self.line, width=self.width).mask(state) & (state["building_height"] <= 0)
        canopy = state["tree_canopy_height"]
        canopy[cells] = np.maximum(canopy[cells], self.height)
        return int(cells.sum())
