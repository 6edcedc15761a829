"""The queue model against analytic solutions: free flow, a bottleneck with spillback,
conservation of trips, rerouting around closures."""

import numpy as np
import pytest
from numba.core.errors import TypingError

from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.demand import Trips, trips_from_rows
from metrotwin.models.mobility.network import Network
from metrotwin.models.mobility.simulation import TrafficSim


def line_network(lengths, speeds, capacities, lanes=None):
    n = len(lengths)
    return Network(np.arange(n + 1) * 100.0, np.zeros(n + 1), np.arange(n), np.arange(1, n + 1),
                   lengths, lanes or [1] * n, speeds, capacities)


def test_free_flow_travel_time_is_length_over_speed():
    net = line_network([1234.5], [13.7], [1800.0])
    departures = np.array([0.0, 3.25, 100.0, 250.5])  # spaced wider than the headway
    trips = Trips(np.zeros(4), np.ones(4), departures)
    sim = TrafficSim(net, trips)
    sim.advance(400.0)
    tt, free = sim.travel_times()
    # exact: the queue model keeps continuous entry and exit times (rounding only)
    np.testing.assert_allclose(tt, 1234.5 / 13.7, rtol=0, atol=1e-9)
    np.testing.assert_allclose(free, 1234.5 / 13.7, rtol=0, atol=1e-9)


def test_free_flow_along_a_route():
    net = line_network([500.0, 731.0, 90.0], [10.0, 17.0, 5.0], [3600.0] * 3)
    sim = TrafficSim(net, Trips([0], [3], [7.5]))
    sim.advance(300.0)
    assert sim.travel_times()[0][0] == pytest.approx(50.0 + 731.0 / 17.0 + 18.0, abs=1e-9)
    assert sim.c_distance[0] == pytest.approx(1321.0)


def test_argument_groups_given_in_the_wrong_order_are_refused():
    """The kernels take named groups (issue 17): two groups swapped fail to compile, where
    two of the 35 arrays swapped ran on, silently wrong."""
    sim = TrafficSim(line_network([100.0], [10.0], [1800.0]), Trips([0], [1], [0.0]))
    with pytest.raises(TypingError):
        kernels.strand_on_links(np.ones(1, bool), 0.0, sim._cars(), sim._queues())


def bottleneck(demand=0.5, capacity_c=900.0, t_end=1200.0):
    """Upstream link A (2 lanes, 7200 veh/h), link B (1 lane, 3600 veh/h, 500 m, storage
    100 vehicles), and the bottleneck C (``capacity_c``) that B's queue waits to enter."""
    net = line_network([1000.0, 500.0, 1000.0], [20.0, 20.0, 20.0],
                       [7200.0, 3600.0, capacity_c], lanes=[2, 1, 1])
    rows = np.array([[0, 3, 0.0, t_end, demand]])
    return net, trips_from_rows(net, rows)


def test_bottleneck_discharges_at_capacity_and_matches_the_point_queue():
    net, trips = bottleneck()
    sim = TrafficSim(net, trips)
    c = 900.0 / 3600.0
    times = np.arange(10.0, 4000.0, 10.0)
    out_b, occ_a, occ_b = [], [], []
    for t in times:
        sim.advance(t)
        out_b.append(sim.exits[1])
        occ_a.append(sim.queue_count[0])
        occ_b.append(sim.queue_count[1])
    out_b, occ_a, occ_b = map(np.asarray, (out_b, occ_a, occ_b))
    # analytic point queue at B's exit (Newell 1982): arrivals A(s) shifted by the free-speed
    # time of A and B; departures D(t) = min over s <= t of A(s) + c (t - s)
    free = 1000.0 / 20.0 + 500.0 / 20.0
    arrivals = lambda t: np.searchsorted(trips.depart + free, t, side="right")  # noqa: E731
    grid_s = np.arange(0.0, 4000.0, 1.0)
    a_s = arrivals(grid_s)
    d_exact = np.array([np.min(a_s[grid_s <= t] + c * (t - grid_s[grid_s <= t])) for t in times])
    # the model moves whole vehicles once per 1-s step and banks at most one vehicle of
    # capacity: counts agree within 1.5 vehicles at every time
    assert np.max(np.abs(out_b - d_exact)) <= 1.5, np.max(np.abs(out_b - d_exact))
    # discharge into the bottleneck over the saturated period equals its capacity
    sat = (times >= 500) & (times <= 2300)  # the queue clears at 75 + 600 / 0.25 s
    rate = (out_b[sat][-1] - out_b[sat][0]) / (times[sat][-1] - times[sat][0])
    assert rate == pytest.approx(c, rel=0.01)
    # spillback: B fills to its storage (0.2 veh/m x 500 m = 100) and the queue grows into A
    assert occ_b.max() == 100
    # once B is full the queue on A grows at demand - capacity = 0.25 veh/s (vertical queue)
    grow = (times >= 700) & (times <= 1200)
    slope = np.polyfit(times[grow], occ_a[grow], 1)[0]
    assert slope == pytest.approx(0.5 - c, rel=0.03)
    print(f"\nbottleneck: discharge {rate * 3600:.1f} veh/h (capacity 900), max |N - N_analytic| "
          f"= {np.max(np.abs(out_b - d_exact)):.2f} veh, max queue on A {occ_a.max()} veh")


def diamond():
    """O(0) -> A(1) -> D(3) short, O -> B(2) -> D long."""
    x, y = [0.0, 500.0, 500.0, 1000.0], [0.0, 300.0, -300.0, 0.0]
    return Network(x, y, [0, 1, 0, 2], [1, 3, 2, 3], [600.0, 600.0, 900.0, 900.0], [1] * 4,
                   [15.0] * 4, [1800.0] * 4)


def test_closed_link_is_never_entered_and_trips_reroute_then_strand():
    net = diamond()
    trips = trips_from_rows(net, np.array([[0, 3, 0.0, 1800.0, 0.1]]))
    sim = TrafficSim(net, trips)
    sim.advance(300.0)
    assert sim.entries[1] > 0 and sim.entries[3] == 0  # all on the short route
    on_closed = int(sim.queue_count[1])
    closed = np.array([0, 1, 0, 0])
    sim.set_speeds(net.free_speed, closed)
    entries_at_closure = sim.entries[1]
    counts = sim.counts()
    assert counts["stranded"] == on_closed
    assert (sim.c_reason[sim.c_status == kernels.STRANDED] == kernels.FLOODED_LINK).all()
    sim.advance(900.0)
    assert sim.entries[1] == entries_at_closure  # never entered after closure
    assert sim.entries[3] > 0
    tt, _ = sim.travel_times()
    late = (trips.depart > 400) & np.isfinite(tt)
    # the next shortest path at free flow: 900 / 15 + 900 / 15 s
    np.testing.assert_allclose(tt[late], 120.0, atol=1e-9)
    # everything closed: later departures and cars at node 1 or 2 are stranded, no route
    sim.set_speeds(net.free_speed, np.array([1, 1, 1, 1]))
    before = sim.counts()["stranded"]
    sim.advance(1800.0)
    c = sim.counts()
    assert c["stranded"] > before
    late = trips.depart >= 900.0
    assert (sim.c_status[late] == kernels.STRANDED).all()
    assert (sim.c_reason[late] == kernels.NO_ROUTE).all()
    assert c["departed"] == c["arrived"] + c["en_route"] + c["stranded"]


def test_conservation_at_every_step_with_closures(sioux_falls):
    net, trips = sioux_falls
    sim = TrafficSim(net, trips)
    closed = np.zeros(net.n_links, int)
    for t in range(60, 7201, 60):
        sim.advance(float(t))
        if t == 1800:
            closed[[10, 11, 30]] = 1  # three links flood at 30 min
            sim.set_speeds(net.free_speed, closed)
        c = sim.counts()
        assert c["departed"] == c["arrived"] + c["en_route"] + c["stranded"], (t, c)
    assert c["stranded"] > 0 and c["arrived"] > 0.8 * len(trips)


def test_order_of_moves_does_not_depend_on_link_numbering(sioux_falls):
    """Renumbering the links (as a domain split would) gives the same trips."""
    net, trips = sioux_falls
    perm = np.random.default_rng(3).permutation(net.n_links)
    renumbered = Network(net.node_x, net.node_y, net.link_from[perm], net.link_to[perm],
                         net.length[perm], net.lanes[perm], net.free_speed[perm],
                         net.capacity[perm], node_ids=net.node_ids)
    a, b = TrafficSim(net, trips, route_weight=1.0), TrafficSim(renumbered, trips, route_weight=1.0)
    a.advance(2400.0)
    b.advance(2400.0)
    # ties between equally short routes may be broken differently; the totals must agree
    ta, tb = a.travel_times()[0], b.travel_times()[0]
    assert np.isfinite(ta).sum() == pytest.approx(np.isfinite(tb).sum(), rel=0.02)
    assert np.nanmean(ta) == pytest.approx(np.nanmean(tb), rel=0.03)
