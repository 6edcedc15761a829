"""The trips of a run: drawn from the demand source the parameters name (a synthetic
population from land use, OD rows, an OD CSV or a TNTP trips file), then changed by the
demand interventions (working from home, a shift from car to walking or cycling)."""

from __future__ import annotations

import numpy as np

from metrotwin.models.mobility.demand import (
    CAR,
    Trips,
    read_od_csv,
    read_tntp_trips,
    synthetic_population,
    trips_from_od,
    trips_from_rows,
)
from metrotwin.models.mobility.network import Network
from metrotwin.models.mobility.parallel import global_cells, values_at


def draw_trips(params, state, net: Network, rng, start_hour: float, grid) -> Trips:
    """The trips of ``params.demand``, with the demand layers of the state applied.
    ``start_hour`` is the hour of day of the run's start; ``grid`` the whole grid."""
    trips = _from_source(params, state, net, rng, start_hour, grid)
    return apply_demand_layers(state, grid, net, trips, rng)


def _from_source(p, state, net, rng, start_hour, grid) -> Trips:
    if p.demand == "synthetic":
        return synthetic_population(state, net, p, rng, start_hour=start_hour, grid=grid)
    if p.demand == "od":
        rows = np.array(p.od, float).reshape(-1, 5)
        rows[:, 4] *= p.demand_scale
        return trips_from_rows(net, rows, dt=p.dt)
    if p.demand == "od_csv":
        rows = read_od_csv(p.od_file)
        rows[:, 4] *= p.demand_scale
        return trips_from_rows(net, rows, dt=p.dt)
    o, d, vol = read_tntp_trips(p.tntp_trips)
    return trips_from_od(net, o, d, vol, t_start=p.departure_window[0],
                         t_end=p.departure_window[1], scale=p.demand_scale, dt=p.dt)


def apply_demand_layers(state, grid, net: Network, trips: Trips, rng) -> Trips:
    """Apply the demand interventions (layers written by ``demand_change`` and
    ``mode_shift``) at each trip's origin: drop the share working from home, move a share
    of car trips to walking or cycling. ``grid`` is the whole grid; the layers are read at
    the nodes' cells by the ranks owning them."""
    if len(trips) == 0:
        return trips
    r, c, inside = global_cells(grid, net.node_x, net.node_y)

    def share_at_origins(name):
        at_node = np.where(inside, values_at(state, state[name], r, c), 0.0)
        return at_node[trips.origin]

    if "mobility_work_from_home" in state:
        trips = trips.subset(rng.random(len(trips)) >= share_at_origins("mobility_work_from_home"))
    for name, code in (("mobility_shift_to_walk", 1), ("mobility_shift_to_bike", 2)):
        if name in state:
            move = (trips.mode == CAR) & (rng.random(len(trips)) < share_at_origins(name))
            trips.mode[move] = code
    return trips
