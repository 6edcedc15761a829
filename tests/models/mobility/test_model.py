"""The mobility model on a city state: flood closes and slows roads, walkers stop before
dangerous water, heat exposure, traffic heat, interventions, Mesa agents, checkpoints."""

import numpy as np
import pytest

from metrotwin.city.interventions import apply_interventions, parse_interventions
from metrotwin.models.mobility import MobilityModel, TrafficModel, kernels
from metrotwin.models.mobility.agents import Driver
from metrotwin.models.mobility.demand import Trips, synthetic_population
from metrotwin.models.mobility.network import Network
from metrotwin.run.testing import make_context, make_grid, make_state

RES = 10.0


def street_state(**layers):
    """A 20 x 60 grid (10 m) with a street of 5 nodes (100 m apart) both ways along row 10
    and a parallel street along row 3, joined at both ends."""
    grid = make_grid(20, 60, resolution=RES)
    state = make_state(grid, **layers)
    xs = grid.x[5] + 100.0 * np.arange(5)
    y1, y2 = grid.y[10], grid.y[3]
    x = np.concatenate([xs, xs[[0, -1]]])
    y = np.concatenate([np.full(5, y1), [y2, y2]])
    a, b = [], []
    for i in range(4):
        a += [i, i + 1]
        b += [i + 1, i]
    a += [0, 5, 5, 6, 6, 4]
    b += [5, 0, 6, 5, 4, 6]
    n = len(a)
    Network(x, y, a, b, np.hypot(x[b] - x[a], y[b] - y[a]), [1] * n,
            [10.0] * n, [1800.0] * n).add_to_state(state)
    return state


def setup(state, params, duration=3600.0):
    ctx = make_context(state.grid, duration=duration, coupling_interval=60.0)
    model = MobilityModel(MobilityModel.Params(**params))
    for name, spec in MobilityModel.variables.items():
        if spec.writes:
            state.add_variable(name, spec)
    model.initialize(state, ctx)
    return model, ctx


def test_pregnolato_speeds_and_closure():
    depth = np.array([0.0, 0.05, 0.1, 0.2, 0.29, 0.3, 0.5])
    free = np.full(depth.size, 30.0)
    out = np.empty(depth.size)
    kernels.speed_in_flood(depth, free, 0.3, out)
    w = depth * 1000
    expected = (0.0009 * w**2 - 0.5529 * w + 86.9448) / 3.6  # Pregnolato et al. 2017
    assert out[0] == 30.0  # a dry road keeps its free speed
    np.testing.assert_allclose(out[1:5], np.minimum(expected[1:5], 30.0))
    assert (out[5:] == 0).all()


def test_flooded_link_closes_and_cars_reroute_through_the_state():
    state = street_state()
    model, _ = setup(state, {"demand": "od", "od": [[0, 4, 0.0, 1800.0, 0.05]]})
    model.advance(state, 300.0)
    sim = model.traffic.sim
    direct = 2 * 1 + 0  # link 1->2
    assert sim.entries[direct] > 0
    state.ds["link_max_flood_depth"] = ("link", np.where(np.arange(sim.net.n_links) == direct,
                                                         0.45, 0.0))
    model.advance(state, 360.0)
    assert state["link_closed"][direct] == 1 and state["link_speed"][direct] == 0
    entries = sim.entries[direct]
    model.advance(state, 1800.0)
    assert sim.entries[direct] == entries
    c = sim.counts()
    assert c["departed"] == c["arrived"] + c["en_route"] + c["stranded"]
    ind = model.indicators(state)
    assert ind["trips_completed"].value > 0.9 * c["departed"] - ind["trips_stranded"].value - 10


def test_walker_stops_before_dangerous_water_and_goes_on_when_it_recedes():
    state = street_state()
    model, _ = setup(state, {"demand": "od", "od": [[0, 4, 0.0, 1.0, 1.0]]})
    sim = model.traffic.sim
    # make the trip a walk (the OD demand is cars; mode_shift does this in scenarios)
    model.traffic = TrafficModel(sim.net, Trips([0], [4], [0.0], mode=[1]), rng=1)
    sim = model.traffic.sim
    water = np.zeros(state.grid.shape)
    water[8:13, 24:26] = 0.5  # across the street between nodes 1 and 2 (x = 150..250 m)
    state.ds["flood_water_thickness"] = (("y", "x"), water)
    state.ds["flood_water_speed"] = (("y", "x"), np.zeros(state.grid.shape))
    model.advance(state, 600.0)
    # hazard 0.5 (0 + 0.5) + 1 = 1.25 >= 0.75: stopped at the start of that link (100 m)
    assert sim.a_status[0] == kernels.STOPPED and sim.a_position[0] == pytest.approx(100.0)
    assert model.indicators(state)["trips_stranded_flood_hazard"].value == 1
    state["flood_water_thickness"][:] = 0.0
    model.advance(state, 1200.0)
    assert sim.a_status[0] == kernels.ARRIVED


def test_heat_exposure_of_a_walker():
    state = street_state()
    state.ds["universal_thermal_comfort_index"] = (("y", "x"), np.full(state.grid.shape, 35.0))
    model, _ = setup(state, {"demand": "od", "od": [[0, 4, 0.0, 1.0, 1.0]]})
    model.traffic = TrafficModel(model.net, Trips([0], [4], [30.0], mode=[1]), rng=1)
    model.advance(state, 1200.0)
    sim = model.traffic.sim
    minutes = 400.0 / 1.3 / 60.0  # 400 m at 1.3 m/s, outdoors at UTCI 35 degC
    assert sim.a_outdoor[0] == pytest.approx(minutes)
    assert sim.a_minutes[0, 0] == pytest.approx(minutes) and sim.a_minutes[0, 1] == 0
    assert sim.a_degree_minutes[0] == pytest.approx(3.0 * minutes)


def test_traffic_heat_is_the_energy_of_the_vehicle_km():
    state = street_state()
    model, _ = setup(state, {"demand": "od", "od": [[0, 4, 0.0, 600.0, 0.2]]})
    model.advance(state, 300.0)
    sim = model.traffic.sim
    before = sim.exits.copy()
    model.advance(state, 600.0)
    vkm = np.sum((sim.exits - before) * sim.net.length)
    watts = state["traffic_heat_flux"].sum() * state.grid.cell_area
    assert watts == pytest.approx(vkm * 3975.0 / 300.0)  # Sailor & Lu 2004, J per vehicle-m
    assert state["link_flow"].max() > 0


def test_road_closure_and_demand_interventions():
    state = street_state()
    items = parse_interventions([
        {"type": "road_closure", "links": [2]},
        {"type": "capacity_change", "links": [3], "factor": 2.0},
        {"type": "demand_change", "work_from_home": 0.5},
    ])
    apply_interventions(state, items, np.random.default_rng(0))
    assert state["link_capacity"][3] == 3600.0
    model, _ = setup(state, {"demand": "od", "od": [[0, 4, 0.0, 1800.0, 0.5]]})
    sim = model.traffic.sim
    assert sim.closed[2] == 1
    assert 0.4 * 900 < len(sim.trips) < 0.6 * 900  # half work from home
    model.advance(state, 1800.0)
    assert sim.entries[2] == 0


def test_a_road_closure_makes_link_closed_as_the_model_declares_it():
    """The closure runs before the coupler allocates the model's outputs, and the coupler
    keeps a variable that exists: it must carry the declared units and flag meanings."""
    state = street_state()
    apply_interventions(state, parse_interventions([{"type": "road_closure", "links": [2]}]),
                        np.random.default_rng(0))
    spec = MobilityModel.variables["link_closed"]
    made = state.ds["link_closed"]
    assert made.dtype == np.dtype(spec.dtype)
    assert made.attrs == spec.cf_attrs()
    assert made.values.tolist() == [0, 0, 1] + [0] * (made.size - 3)


def test_checkpoint_restore_reproduces_the_run():
    state = street_state()
    model, _ = setup(state, {"demand": "od", "od": [[0, 4, 0.0, 1800.0, 0.3], [4, 0, 0, 900, 0.2]]})
    model.advance(state, 600.0)
    saved = model.checkpoint()
    model.advance(state, 1500.0)
    first = model.traffic.sim.c_arrive.copy()
    model.restore(saved)
    model.advance(state, 1500.0)
    np.testing.assert_array_equal(model.traffic.sim.c_arrive, first)


def city_with_buildings():
    grid = make_grid(20, 60, resolution=RES)
    bid = np.zeros(grid.shape, "int32")
    use = np.zeros(grid.shape, "int8")
    height = np.zeros(grid.shape)
    k = 1
    for c0 in range(2, 58, 4):
        for r0 in (1, 14):
            bid[r0:r0 + 3, c0:c0 + 3] = k
            use[r0:r0 + 3, c0:c0 + 3] = 1 if c0 < 30 else 2
            height[r0:r0 + 3, c0:c0 + 3] = 9.0 + 3 * (k % 3)
            k += 1
    return street_state(building_id=bid, building_use=use, building_height=height)


def test_synthetic_population_is_deterministic_and_uses_land_use():
    state = city_with_buildings()
    params = MobilityModel.Params(sample_fraction=1.0)
    net = Network.from_state(state)
    a = synthetic_population(state, net, params, np.random.default_rng(7), start_hour=6.0)
    b = synthetic_population(state, net, params, np.random.default_rng(7), start_hour=6.0)
    c = synthetic_population(state, net, params, np.random.default_rng(8), start_hour=6.0)
    for name in ("origin", "dest", "depart", "mode", "group"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.depart, c.depart)
    # residential floor area: 14 buildings x 2 rows, 9 cells x 100 m2 x storeys (3, 4 or 5)
    homes = state["building_use"] == 1
    floor = sum((state["building_id"] == i).sum() * 100.0 * round(h / 3.0)
                for i, h in {int(i): state["building_height"][state["building_id"] == i][0]
                             for i in np.unique(state["building_id"][homes])}.items())
    expected = floor / 45.0 * 0.45
    assert abs(len(a) - expected) < 4 * np.sqrt(expected) + 10
    # homes are in the west (residential), jobs in the east
    assert np.median(net.node_x[a.origin]) < np.median(net.node_x[a.dest])
    assert set(np.unique(a.mode)) <= {0, 1, 2}


def test_demand_scale_scales_the_synthetic_population_too():
    # a risk run samples models.mobility.demand_scale: it must not be a no-op for a city
    # without OD tables (it was: the factor reached only OD volumes)
    state = city_with_buildings()
    net = Network.from_state(state)
    sizes = [len(synthetic_population(state, net, MobilityModel.Params(sample_fraction=0.5,
                                                                       demand_scale=scale),
                                      np.random.default_rng(7), start_hour=6.0))
             for scale in (1.0, 2.0)]  # fmt: skip
    assert abs(sizes[1] - 2 * sizes[0]) < 4 * np.sqrt(2 * sizes[0]) + 10, sizes


def test_mesa_model_standalone_with_agents_and_hooks():
    class Counting(Driver):
        stranded = 0

        def on_stranded(self, reason):
            type(self).stranded += 1
            assert reason == "flooded_link"

    state = street_state()
    net = Network.from_state(state)
    trips = Trips(np.zeros(50), np.full(50, 4), np.arange(50) * 10.0)
    model = TrafficModel(net, trips, rng=42, agent_classes={"car": Counting})
    assert len(model.agents) == 50
    for _ in range(3):
        model.step()
    model.sim.set_speeds(net.free_speed, np.isin(np.arange(net.n_links), [2, 4]))
    model.step()
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 5 and df["departed"].iloc[-1] > 0
    assert Counting.stranded == df["stranded"].iloc[-1] > 0
    statuses = {a.status for a in model.agents}
    assert statuses <= {"scheduled", "en_route", "arrived", "stranded"}
