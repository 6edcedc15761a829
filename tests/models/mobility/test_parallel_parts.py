"""The pieces of the mobility model's decomposition that can be checked in one process:
walkers and cyclists split over two holders (as over two ranks) move and are exposed
exactly as when one holder has them all, and the building summary the synthetic population
is drawn from is the plain per-building one. (The MPI runs themselves are in
test_mobility_mpi.py.)"""

import numpy as np

from metrotwin.models.mobility.demand import Trips, building_table
from metrotwin.models.mobility.parallel import ACTIVE_ARRAYS, LinkCells
from metrotwin.models.mobility.simulation import TrafficSim

from .test_model import street_state


def _walkers_sim(state, trips, own=None):
    from metrotwin.models.mobility.network import Network

    net = Network.from_state(state)
    cells = LinkCells(state, None, state.grid)
    net.cell_start, net.cell_index = cells.start, np.arange(cells.n_entries)
    sim = TrafficSim(net, trips, own=own, exposure_interval=60.0)
    utci = 30.0 + 0.02 * np.arange(state.grid.size, dtype=float).reshape(state.grid.shape)
    sim.set_utci(cells.entry_values(utci))
    hazard = np.zeros(net.n_links)
    hazard[3] = 1.0  # walkers stop before link 3 until it clears
    sim.set_hazard(hazard)
    sim.advance(600.0)
    sim.set_hazard(np.zeros(net.n_links))
    sim.advance(1800.0)
    return sim


def test_walkers_split_over_two_holders_match_one_holder():
    state = street_state()
    rng = np.random.default_rng(3)
    n = 40
    origin = rng.integers(0, 7, n)
    dest = (origin + rng.integers(1, 7, n)) % 7
    trips = Trips(origin, dest, rng.uniform(0, 900, n).round(), mode=rng.integers(0, 3, n))
    whole = _walkers_sim(state, trips)
    first = rng.random(n) < 0.5
    parts = [_walkers_sim(state, trips, own) for own in (first, ~first)]
    assert whole.active.size > 10 and all(p.active.size > 0 for p in parts)
    assert (whole.a_status == 3).any() and (whole.a_minutes > 0).any()  # arrivals, exposure
    for name in ACTIVE_ARRAYS:
        merged = np.zeros((len(trips), *getattr(whole, name).shape[1:]))
        for p in parts:
            merged[p.active] = getattr(p, name)
        assert np.array_equal(merged[whole.active], getattr(whole, name), equal_nan=True), name
    # the cars are not split: every holder runs all of them, identically
    for p in parts:
        assert np.array_equal(p.c_status, whole.c_status)
        assert np.array_equal(p.c_arrive, whole.c_arrive, equal_nan=True)


def test_building_table_is_the_plain_per_building_summary():
    state = street_state()
    rng = np.random.default_rng(0)
    ids = np.zeros(state.grid.shape, "int32")
    ids[2:6, 3:9], ids[12:15, 20:30], ids[16:19, 40:41] = 5, 2, 9
    height = np.where(ids > 0, rng.uniform(3, 30, ids.shape), 0.0)
    use = np.where(ids == 2, 1, np.where(ids > 0, 2, 0)).astype("int8")
    state.add_layer("building_id", ids)
    state.add_layer("building_height", height)
    state.add_layer("building_use", use)
    got_ids, cells, cx, cy, mean_h, b_use = building_table(state, state.grid)
    assert got_ids.tolist() == [2, 5, 9]
    g = state.grid
    for k, b in enumerate(got_ids):
        r, c = np.nonzero(ids == b)
        assert cells[k] == r.size
        assert np.isclose(mean_h[k], height[ids == b].mean(), rtol=1e-14)
        assert np.isclose(cx[k], g.x[c].mean()) and np.isclose(cy[k], g.y[r].mean())
        assert b_use[k] == use[ids == b][-1]
