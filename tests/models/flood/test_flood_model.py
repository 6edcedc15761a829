"""The flood model as the coupler drives it: mass balance, robustness, statistics,
indicators, restart, and the refusal of bad input."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pydantic import ValidationError

from metrotwin.errors import ModelError, ScenarioError
from metrotwin.city.landcover import CODE
from metrotwin.models.flood import FloodError, FloodModel
from metrotwin.models.flood.params import parameter_table
from metrotwin.physics import MM_PER_HOUR as MM_H
from metrotwin.city.network import add_network
from metrotwin.run.coupler import Coupler
from metrotwin.run.testing import make_context, make_grid, make_state

from tests.models.flood.coupled import start

G = 9.81  # gravitational acceleration (m s-2)


def _city(ny=40, nx=50, res=2.0, slope=0.01, block=5.0):
    """A sloping street grid with raised 5 m building blocks, roads, grass and green roofs."""
    grid = make_grid(ny, nx, resolution=res)
    x = np.arange(nx) * res
    z = np.tile(20.0 - slope * x, (ny, 1)) + 0.002 * np.sin(np.arange(ny))[:, None]
    bh = np.zeros((ny, nx))
    bid = np.zeros((ny, nx), "int32")
    cover = np.full((ny, nx), CODE["grass"], "int16")
    cover[::8, :] = CODE["road"]
    k = 0
    for r in range(2, ny - 4, 8):
        for c in range(3, nx - 6, 9):
            k += 1
            bh[r:r + 4, c:c + 5] = block
            bid[r:r + 4, c:c + 5] = k
            cover[r:r + 4, c:c + 5] = CODE["green_roof"] if k % 3 == 0 else CODE["roof"]
    drain = np.where(cover == CODE["road"], 20.0, 0.0)
    district = np.where(np.arange(nx)[None, :] < nx // 2, 1, 2).astype("int16") * np.ones((ny, 1), "int16")
    state = make_state(grid, surface_altitude=z, building_height=bh, building_id=bid,
                       land_cover=cover, drainage_capacity=drain, district=district)
    state.ds["district"].attrs.update(flag_values=np.array([1, 2], "int16"), flag_meanings="upper lower")
    return grid, state


def _advance(model, state, until, every):
    t = every
    depths = []
    while t <= until + 1e-9:
        model.advance(state, t)
        h = state["flood_water_thickness"]
        assert np.isfinite(h).all() and h.min() >= 0.0, f"bad depth at t={t}"
        depths.append(model.volume_balance()["relative_error"])
        t += every
    return depths


@pytest.mark.parametrize("advection", [False, True])
def test_mass_balance_long_run_with_every_source_and_sink(advection):
    """Rain, a point inflow, infiltration, drainage, green-roof retention, a free and a stage
    boundary: the volume balance closes to <= 1e-12 at every coupling time (the issue's
    requirement; float64 round-off over ~1e4 steps and 2000 cells is ~1e-14), with and
    without the advection term (it changes the discharges, never the continuity update)."""
    grid, state = _city()
    rain = [[0, 0.0], [600, 60.0], [1200, 150.0], [1800, 20.0], [3000, 0.0], [4000, 80.0], [4300, 0.0]]
    ctx = make_context(grid, duration=7200, coupling_interval=300, forcing={"rainfall": {"hyetograph": rain}})
    x0, y0 = grid.x[5], grid.y[4]
    params = FloodModel.Params(
        inflows=[{"name": "culvert", "point": [x0, y0], "hydrograph": [[0, 0], [900, 0.5], [2400, 0.0]]}],
        boundaries={"east": "free", "west": {"type": "stage", "stage": 20.05}},
        advection=advection,
    )
    model = FloodModel(params)
    start(model, state, ctx)
    errors = _advance(model, state, 7200, 300)
    bal = model.volume_balance()
    assert max(errors) <= 1e-12, errors
    # every account was exercised
    for key in ("rain", "inflow", "infiltration", "drainage", "retention"):
        assert bal[key] > 0, key
    assert bal["boundary_out"] != 0
    ind = model.indicators(state)
    assert ind["volume_balance_error"].value <= 1e-12


@pytest.mark.parametrize("advection", [False, True])
def test_cloudburst_on_raised_blocks_stays_positive_and_finite(advection):
    """A thin film draining over 5 m walls under 200 mm/h, with the step forced to 2 s (far
    above what the walls' gradients would allow without the outflow limiter); with and
    without the advection term."""
    grid, state = _city(slope=0.0)
    ctx = make_context(grid, duration=1800, coupling_interval=300,
                       forcing={"rainfall": {"hyetograph": [[0, 200.0]]}})
    model = FloodModel(FloodModel.Params(fixed_time_step=2.0, infiltration=False, drainage=False,
                                         advection=advection))
    start(model, state, ctx)
    _advance(model, state, 1800, 300)
    assert model.limited > 0  # the limiter did act
    roofs = state["building_height"] > 0
    h = state["flood_water_thickness"]
    # roofs drain: their film stays far below the ground's ponding
    assert h[roofs].mean() < 0.2 * h[~roofs].mean()
    assert model.volume_balance()["relative_error"] <= 1e-12


def test_statistics_of_a_filling_and_draining_plain():
    """Flat closed plain, 300 mm/h for 1 h, drains at 100 mm/h: depth 0.2 t/3600 m rising,
    then falling at 0.1 m/h; so max 0.2 m at 3600 s, above 0.1 m from 1800 s to 7200 s."""
    grid = make_grid(6, 6, resolution=5.0)
    state = make_state(grid, drainage_capacity=np.full(grid.shape, 100.0))
    ctx = make_context(grid, duration=9000, coupling_interval=900,
                       forcing={"rainfall": {"hyetograph": [[0, 300.0], [3600, 0.0]]}})
    model = FloodModel(FloodModel.Params(infiltration=False, max_time_step=5.0))
    start(model, state, ctx)
    _advance(model, state, 9000, 900)
    # tolerances: one step (5 s) of timing, round-off in depth
    np.testing.assert_allclose(state["flood_depth_max"], 0.2, rtol=1e-6)
    np.testing.assert_allclose(state["time_of_maximum_flood_depth"], 3600.0, atol=5.0)
    np.testing.assert_allclose(state["flood_duration_above_threshold"], 5400.0, atol=10.0)
    assert state.ds["flood_depth_max"].attrs["standard_name"] == "flood_water_thickness"
    assert state.ds["flood_duration_above_threshold"].attrs["standard_name"] == (
        "flood_water_duration_above_threshold")
    assert state.ds["time_of_maximum_flood_depth"].attrs["standard_name"] == "time_of_maximum_flood_depth"
    assert state.ds["flood_speed_max"].attrs["cell_methods"] == "time: maximum"


def test_indicators_buildings_at_the_door_and_flooded_area_by_district():
    """Closed flat plain, 150 mm/h for 1 h on a 3 m building: the ground ponds ~0.15 m
    (above 0.1 m, below 0.3 m), the roof drains; the building (in district 'lower') has water
    at its door; the peak volume equals the rain volume (closed, no losses)."""
    grid = make_grid(12, 12, resolution=2.0)
    bh = np.zeros(grid.shape)
    bid = np.zeros(grid.shape, "int32")
    bh[4:7, 7:10] = 3.0
    bid[4:7, 7:10] = 1
    district = np.ones(grid.shape, "int16")
    district[:, 6:] = 2
    state = make_state(grid, building_height=bh, building_id=bid, district=district)
    state.ds["district"].attrs.update(flag_values=np.array([1, 2], "int16"), flag_meanings="upper lower")
    ctx = make_context(grid, duration=4800, coupling_interval=600,
                       forcing={"rainfall": {"hyetograph": [[0, 150.0], [3600, 0.0]]}})
    model = FloodModel(FloodModel.Params(infiltration=False))
    start(model, state, ctx)
    _advance(model, state, 4800, 600)
    ind = model.indicators(state)
    ground = (grid.size - 9) * 4.0
    assert ind["flooded_area_10cm"].value == pytest.approx(ground)
    assert ind["flooded_area_10cm"].by_district == {"upper": 72 * 4.0, "lower": (72 - 9) * 4.0}
    assert ind["flooded_area_30cm"].value == 0.0
    assert ind["buildings_water_at_door"].value == 1
    assert ind["buildings_water_at_door"].by_district == {"upper": 0.0, "lower": 1.0}
    rain_volume = 0.15 * grid.size * 4.0
    assert ind["peak_flood_volume"].value == pytest.approx(rain_volume, rel=1e-9)
    assert sum(ind["peak_flood_volume"].by_district.values()) == pytest.approx(rain_volume, rel=1e-3)


def test_link_depths_written_for_mobility():
    grid, state = _city()
    xs, ys = grid.x, grid.y
    add_network(state, [xs[0], xs[-1], xs[-1]], [ys[8], ys[8], ys[30]], [0, 1], [1, 2],
                lanes=[1, 1], free_speed=[10.0, 10.0], capacity=[900.0, 900.0])
    ctx = make_context(grid, duration=600, coupling_interval=300,
                       forcing={"rainfall": {"hyetograph": [[0, 100.0]]}})
    model = FloodModel()
    start(model, state, ctx)
    model.advance(state, 600)
    h = state["flood_water_thickness"]
    for link in range(2):
        assert state["link_max_flood_depth"][link] == h.ravel()[state.link_cells(link)].max()
    assert state["link_max_flood_depth"].max() > 0


@pytest.mark.parametrize("advection", [False, True])
def test_restart_from_checkpoint_is_bitwise_identical(advection):
    grid, state = _city()
    forcing = {"rainfall": {"hyetograph": [[0, 80.0], [900, 10.0]]}}
    ctx = make_context(grid, duration=1800, coupling_interval=300, forcing=forcing)
    params = FloodModel.Params(boundaries={"east": "free"}, advection=advection)
    a = FloodModel(params)
    start(a, state, ctx)
    a.advance(state, 600)
    saved = a.checkpoint()
    fields = {k: state[k].copy() for k in a.writes() if k in state}
    a.advance(state, 1200)
    expected = state["flood_water_thickness"].copy()

    grid, state2 = _city()
    b = FloodModel(params)
    start(b, state2, make_context(grid, duration=1800, coupling_interval=300, forcing=forcing))
    for k, v in fields.items():
        state2[k][...] = v
    b.restore(saved)
    b.advance(state2, 1200)
    np.testing.assert_array_equal(state2["flood_water_thickness"], expected)
    assert b.volume_balance()["relative_error"] <= 1e-12


def test_steps_per_sweep_change_no_number():
    """With a fixed step the model advances several steps per sweep through memory
    (``steps_per_sweep``, temporal blocking): every field, statistic and account equals the
    run with one step per sweep, bit for bit, with rain, an inflow hydrograph, every loss, a
    free and a stage-hydrograph boundary, and coupling intervals that are no multiple of
    the sweep (a 0.7 s step: the sweeps end short at every coupling time). The default on
    an unsplit grid is 16 steps per sweep."""
    forcing = {"rainfall": {"hyetograph": [[0, 60.0], [100, 150.0], [160, 0.0]]}}
    runs = []
    for per_sweep in (1, 4, None):
        grid, state = _city()
        ctx = make_context(grid, duration=240, coupling_interval=30, forcing=forcing)
        model = FloodModel(FloodModel.Params(
            fixed_time_step=0.7, steps_per_sweep=per_sweep,
            inflows=[{"name": "culvert", "point": [grid.x[5], grid.y[4]],
                      "hydrograph": [[0, 0], [60, 0.5], [200, 0.0]]}],
            boundaries={"east": "free", "west": {"type": "stage_hydrograph",
                                                 "hydrograph": [[0, 19.9], [240, 20.1]]}},
        ))
        start(model, state, ctx)
        assert model.steps_per_sweep == (per_sweep or FloodModel.DEFAULT_SWEEP)
        for t in range(30, 241, 30):
            model.advance(state, float(t))
        runs.append((model, state))
    (a, state_a), *others = runs
    for b, state_b in others:
        assert a.steps == b.steps == 8 * 43  # 42 steps of 0.7 s and a short one per interval
        for name in FloodModel.writes():
            if name in state_a:
                np.testing.assert_array_equal(state_a[name], state_b[name], err_msg=name)
        assert a.volume_balance() == b.volume_balance()
        assert a.limited == b.limited > 0
    bal = a.volume_balance()
    for key in ("rain", "inflow", "infiltration", "drainage", "retention"):
        assert bal[key] > 0, key
    assert bal["boundary_out"] != 0 and bal["relative_error"] <= 1e-12


def test_default_steps_per_sweep_and_halo():
    """A fixed step without advection: 16 steps per sweep on an unsplit grid, 8 on tiles,
    whose halo is 2 cells per step (16); 1 step (2 cells) under the Courant condition; 3
    cells with advection. An explicit ``steps_per_sweep`` sets both."""
    params = FloodModel.Params
    assert FloodModel.DEFAULT_SWEEP == 16 and FloodModel.DEFAULT_TILE_SWEEP == 8
    assert FloodModel.tiling(params(fixed_time_step=1.0), 2.0) == (16, 1)
    assert FloodModel.tiling(params(fixed_time_step=1.0, steps_per_sweep=5), 2.0) == (10, 1)
    assert FloodModel.tiling(params(), 2.0) == (2, 1)
    assert FloodModel.tiling(params(fixed_time_step=1.0, advection=True), 2.0) == (3, 1)
    grid, state = _city()
    model = FloodModel(params(fixed_time_step=1.0))
    start(model, state, make_context(grid, duration=60, coupling_interval=60))
    assert model.steps_per_sweep == 16


def test_closed_buildings_get_no_water():
    grid, state = _city()
    ctx = make_context(grid, duration=600, coupling_interval=300,
                       forcing={"rainfall": {"hyetograph": [[0, 100.0]]}})
    model = FloodModel(FloodModel.Params(buildings="closed"))
    start(model, state, ctx)
    model.advance(state, 600)
    h = state["flood_water_thickness"]
    assert (h[state["building_height"] > 0] == 0).all()
    assert h[state["building_height"] == 0].min() > 0
    assert model.volume_balance()["relative_error"] <= 1e-12


def test_river_initial_water_and_inflow():
    """A channel of open water filled to 1 m with an inflow keeps its volume balance and
    conveys water to a free outflow."""
    grid = make_grid(10, 60, resolution=10.0)
    z = np.tile(10.0 - 0.001 * np.arange(60) * 10.0, (10, 1))
    cover = np.full(grid.shape, CODE["grass"], "int16")
    cover[4:6] = CODE["water"]
    z[4:6] -= 2.0
    state = make_state(grid, surface_altitude=z, land_cover=cover)
    ctx = make_context(grid, duration=3600, coupling_interval=600)
    params = FloodModel.Params(
        initial_water={"depth": 1.0},
        inflows=[{"name": "river", "line": [[grid.x[0], grid.y[4]], [grid.x[0], grid.y[5]]],
                  "hydrograph": [[0, 20.0], [1800, 60.0]]}],
        boundaries={"east": "free"},
    )
    model = FloodModel(params)
    start(model, state, ctx)
    assert state["flood_water_thickness"][4:6].min() == 1.0
    _advance(model, state, 3600, 600)
    bal = model.volume_balance()
    assert bal["boundary_out"] > 0 and bal["relative_error"] <= 1e-12


def test_integer_and_float_coupling_times_give_the_same_numbers():
    """The solver calls the sweep's compiled specialisation directly after its first sweep
    (``solver.compiled_entry``); the end time of a step that lands on an integer coupling
    time once made an int64 array that the float64 specialisation read as a wrong time (the
    time of maximum depth of the last step was that of the step before). Integer and float
    coupling times give bit-identical fields."""
    fields = []
    for until in ((60, 120), (60.0, 120.0)):
        grid, state = _city(ny=12, nx=14)
        ctx = make_context(grid, duration=120, coupling_interval=60,
                           forcing={"rainfall": {"hyetograph": [[0, 200.0]]}})
        model = start(FloodModel(FloodModel.Params(boundaries={"east": "free"})), state, ctx)
        for t in until:
            model.advance(state, t)
        assert model.steps > 10  # (steps under the Courant condition: one per sweep)
        fields.append({k: state.ds[k].values.copy() for k in state.ds.data_vars})
    for key in fields[0]:
        np.testing.assert_array_equal(fields[0][key], fields[1][key], err_msg=key)
    assert np.nanmax(fields[0]["time_of_maximum_flood_depth"]) == 120.0


# -- bad input -------------------------------------------------------------------------------
def test_the_model_allocates_nothing_the_coupler_has_not():
    """The coupler alone allocates the variables a model declares (Coupler.allocate): on a
    state without them the model refuses to start, naming what is missing, and adds no
    variable of its own; with them allocated it starts and adds nothing either."""
    grid = make_grid(4, 5, resolution=10.0)
    state = make_state(grid)
    before = set(state.ds.data_vars)
    ctx = make_context(grid, duration=60)
    with pytest.raises(FloodError, match=r"lacks .*flood_water_thickness.*Coupler\.allocate"):
        FloodModel().initialize(state, ctx)
    assert set(state.ds.data_vars) == before
    state = make_state(grid)
    model = FloodModel()
    Coupler([model], state, ctx).allocate()
    allocated = set(state.ds.data_vars)
    model.initialize(state, ctx)
    assert set(state.ds.data_vars) == allocated
    assert {n for n, spec in FloodModel.variables.items() if spec.mapping == "grid"} <= allocated | {
        "closed_cell"}  # (an optional input)


def test_the_params_class_is_named_params():
    """The same names in every model package: ``Params`` and ``<Model>Error(ModelError)``."""
    import metrotwin.models.flood as package

    assert package.Params is FloodModel.Params and issubclass(FloodError, ModelError)
    assert not hasattr(package, "FloodParams")


def test_inflow_outside_the_domain_is_refused_naming_it():
    grid = make_grid(5, 5, resolution=10.0)
    state = make_state(grid)
    ctx = make_context(grid, duration=60)
    model = FloodModel(FloodModel.Params(
        inflows=[{"name": "culvert-7", "point": [0.0, 0.0], "hydrograph": [[0, 1.0]]}]))
    with pytest.raises(FloodError, match=r"culvert-7.*outside the domain x 500000\.\.500050") as err:
        start(model, state, ctx)
    assert isinstance(err.value, ModelError)


def test_negative_rain_rate_is_refused_at_scenario_load():
    grid = make_grid(5, 5)
    with pytest.raises(ScenarioError, match="rain intensity must be >= 0"):
        make_context(grid, forcing={"rainfall": {"hyetograph": [[0, -5.0]]}})


@pytest.mark.parametrize(
    "params, message",
    [
        ({"boundaries": {"up": "free"}}, "unknown boundary 'up'; valid boundaries: north, south, west, east"),
        ({"boundaries": {"east": "open"}}, "unknown boundary type 'open'; valid types: closed, free"),
        ({"boundaries": {"east": {"type": "stage"}}}, "needs 'stage'"),
        ({"manning_uniform": 0.0}, "greater than 0"),
        ({"manning": {"road": 0.0}}, r"manning\[road\] must be in \(0, 1\]"),
        ({"manning": {"lava": 0.03}}, "unknown land-cover class 'lava'"),
        ({"inflows": [{"name": "a", "point": [0, 0], "hydrograph": [[0, -1.0]]}]}, "must be >= 0"),
        ({"theta": 1.5}, "less than or equal to 1"),
        ({"max_time_stepp": 3}, "Extra inputs"),
    ],
)
def test_bad_parameters_are_refused_with_the_valid_options(params, message):
    with pytest.raises(ValidationError, match=message):
        FloodModel.Params.model_validate(params)


def test_bad_parameters_reach_the_user_as_a_scenario_error():
    grid = make_grid(5, 5)
    with pytest.raises(ScenarioError, match="flood.boundaries"):
        make_context(grid, models={"flood": {"boundaries": {"up": "free"}}})


def test_dem_holes_are_closed_with_a_warning(caplog):
    grid = make_grid(8, 8, resolution=5.0)
    z = np.zeros(grid.shape)
    z[2:4, 2:5] = np.nan
    state = make_state(grid, surface_altitude=z)
    ctx = make_context(grid, duration=600, coupling_interval=300,
                       forcing={"rainfall": {"hyetograph": [[0, 50.0]]}})
    model = FloodModel(FloodModel.Params(infiltration=False))
    with caplog.at_level(logging.WARNING, logger="metrotwin"):
        start(model, state, ctx)
    assert "6 no-data cells" in caplog.text
    model.advance(state, 600)
    h = state["flood_water_thickness"]
    assert (h[2:4, 2:5] == 0).all() and np.isfinite(h).all()
    assert model.volume_balance()["relative_error"] <= 1e-12


def _lake(level=21.0, seed=3, ny=30, nx=40, res=2.0):
    """A closed basin of rough, uneven ground (random relief of +-1 m around 20.5 m, and a
    ridge of high ground that stays dry) filled with still water up to ``level`` (m)."""
    rng = np.random.default_rng(seed)
    grid = make_grid(ny, nx, resolution=res)
    z = 20.5 + rng.uniform(-1.0, 1.0, (ny, nx)) + 0.3 * np.sin(np.arange(nx) / 3.0)[None, :]
    z[10:14, 5:30] += 2.0  # an island poking out of the lake, its cells dry
    cover = np.full((ny, nx), CODE["water"], "int16")  # initial_water fills this class
    state = make_state(grid, surface_altitude=z, land_cover=cover)
    return grid, state, z


@pytest.mark.parametrize("fixed_step", [None, 0.25])  # 0.25 s: Courant 0.5 at 1.9 m
def test_lake_at_rest_stays_at_rest_over_an_uneven_bed(fixed_step):
    """Well-balancedness: still water over a rough bed with dry high ground poking out
    keeps zero discharge and an unchanged level for 2000 steps, under the Courant condition
    and with the default 16 steps per sweep. The surface slope is formed in float64 and
    rounded once, so a flat surface gives exactly 0; the tolerances below are the issue's
    round-off level (|q| <= 1e-12 m2/s, level to 1e-12 m: a few float64 ulp of 21 m are
    4e-15 m). With the slope formed in float32 from separately rounded depths and bed steps
    (2^-24 (|dz| + h) ~ 1e-7 m), currents of 1.2e-6 m2/s and level changes of 1.7e-6 m
    appeared in this test."""
    level = 21.0
    grid, state, z = _lake(level)
    ctx = make_context(grid, duration=3600, coupling_interval=300)
    model = FloodModel(FloodModel.Params(
        initial_water={"level": level}, fixed_time_step=fixed_step, infiltration=False,
        drainage=False))
    start(model, state, ctx)
    h0 = state["flood_water_thickness"].copy()
    wet = h0 > 0
    assert wet.mean() > 0.5 and (~wet).sum() > 100  # a lake with dry ground in it
    t = 0.0
    while model.steps < 2000:
        t += 60.0
        model.advance(state, t)
    h = state["flood_water_thickness"]
    assert np.abs(model.qx).max() <= 1e-12 and np.abs(model.qy).max() <= 1e-12
    assert np.abs((z + h)[wet] - level).max() <= 1e-12
    assert np.abs(h - h0).max() <= 1e-12
    assert np.abs(state["flood_water_speed"]).max() == 0.0
    assert model.volume_balance()["relative_error"] <= 1e-12


def _soil_plot(n=4, res=5.0):
    """A flat, closed plot of grass (loam: Ks 3.4 mm/h, S = psi dtheta = 88.9 mm x 0.217)."""
    grid = make_grid(n, n, resolution=res)
    cover = np.full((n, n), CODE["grass"], "int16")
    state = make_state(grid, land_cover=cover)
    row = parameter_table()["grass"]
    return grid, state, row["ks"] * MM_H, row["suction"] / 1000.0 * row["moisture_deficit"]


def _green_ampt_ponded(t, ks, s):
    """F (m) at t (s) from the root of F - S ln(1 + F/S) = Ks t (Green & Ampt 1911)."""
    from scipy.optimize import brentq

    c = ks * t
    return brentq(lambda f: f - s * np.log1p(f / s) - c, 0.0, c + np.sqrt(2 * c * s) + 1e-12,
                  xtol=1e-16, rtol=1e-14)


def test_green_ampt_under_ponding_follows_the_analytic_curve():
    """0.2 m of water standing on dry loam for 3 h: the cumulative infiltration follows the
    ponded Green-Ampt solution F - S ln(1 + F/S) = Ks t within 1 % at every coupling time
    (the issue asks 5 %; the explicit integration over the model's 10 s steps, tau = Ks dt
    / S = 5e-4, is within 0.1 %, its error largest in the first step). Before, a dry soil
    (F = 0) took all ponded water in the first step: F = 0.2 m at 10 s."""
    grid, state, ks, s = _soil_plot()
    ctx = make_context(grid, duration=3 * 3600, coupling_interval=600)
    model = FloodModel(FloodModel.Params(
        initial_water={"land_cover": "grass", "depth": 0.2}, drainage=False))
    start(model, state, ctx)
    area = grid.nx * grid.ny * grid.resolution**2
    for t in range(600, 3 * 3600 + 1, 600):
        model.advance(state, float(t))
        infiltrated = model.volume_balance()["infiltration"] / area
        exact = _green_ampt_ponded(t, ks, s)
        assert abs(infiltrated - exact) <= 0.01 * exact, (t, infiltrated, exact)
    assert state["flood_water_thickness"].min() > 0.1  # ponded throughout
    assert model.volume_balance()["relative_error"] <= 1e-12


def test_green_ampt_under_rain_follows_mein_and_larson():
    """20 mm/h of rain on dry loam for 3 h (rate i > Ks = 3.4 mm/h): everything infiltrates
    until the ponding time tp = S Ks / (i (i - Ks)) (F_p = S Ks / (i - Ks) = 3.95 mm at
    711 s), then the ponded curve shifted in time, Ks (t - tp + t'p) = F - S ln(1 + F/S)
    with Ks t'p = F_p - S ln(1 + F_p/S) (Mein & Larson 1973, WRR 9:384,
    doi:10.1029/WR009i002p00384). Within 1 % at every coupling time (the issue asks 5 %;
    the explicit integration is within 0.1 % at tau = 5e-4 per step, and the step in
    which ponding starts mixes the two regimes for at most 10 s: < 0.3 % of F there)."""
    grid, state, ks, s = _soil_plot()
    rain = 20.0
    i = rain * 1e-3 / 3600.0
    ctx = make_context(grid, duration=3 * 3600, coupling_interval=300,
                       forcing={"rainfall": {"hyetograph": [[0, rain]]}})
    model = FloodModel(FloodModel.Params(drainage=False))
    start(model, state, ctx)
    area = grid.nx * grid.ny * grid.resolution**2
    f_p = s * ks / (i - ks)
    t_p = f_p / i
    t_equiv = (f_p - s * np.log1p(f_p / s)) / ks
    assert 600 < t_p < 800
    ponded_at = None
    for t in range(300, 3 * 3600 + 1, 300):
        model.advance(state, float(t))
        infiltrated = model.volume_balance()["infiltration"] / area
        exact = i * t if t <= t_p else _green_ampt_ponded(t - t_p + t_equiv, ks, s)
        assert abs(infiltrated - exact) <= 0.01 * exact, (t, infiltrated, exact)
        if ponded_at is None and state["flood_water_thickness"].max() > 0.0:
            ponded_at = t
    assert ponded_at == 900  # water stands from the first coupling time after t_p
    assert model.volume_balance()["relative_error"] <= 1e-12


def test_reported_speeds_are_physical_and_the_maximum_bounds_every_snapshot():
    """A river (2 m3/s along the west edge) and 50 mm/h of rain on the sloping town (2 %,
    roads, grass, 5 m blocks): no cell reports a speed above Fr_max sqrt(g h_max), h_max its
    maximum depth, with Fr_max = 3: normal flow has Fr = h^(1/6) S^(1/2) / (n g^(1/2)) <= 2.8
    for h <= 1 m on a 2 % slope with the smoothest class here (road, n = 0.016), and the
    local-inertial scheme has no mechanism for faster flow. Before, the speed of the 1-5 cm
    films running down the steps of the terrain was reported (|q|/h with q carried by the
    deeper face upstream): 3.8 m/s on 13 cm of water, Fr 3.6. And the running maximum is
    never below a snapshot (the same float32 arithmetic, where it once was float64)."""
    grid, state = _city(slope=0.02)
    ctx = make_context(grid, duration=1800, coupling_interval=60,
                       forcing={"rainfall": {"hyetograph": [[0, 50.0]]}})
    model = FloodModel(FloodModel.Params(boundaries={"east": "free"}, inflows=[
        {"name": "river", "line": [[grid.x[0], grid.y[10]], [grid.x[0], grid.y[30]]],
         "hydrograph": [[0, 2.0]]}]))
    start(model, state, ctx)
    threshold = model.params.speed_min_depth
    fastest = 0.0
    for t in range(60, 1801, 60):
        model.advance(state, float(t))
        speed, h = state["flood_water_speed"], state["flood_water_thickness"]
        assert (speed <= state["flood_speed_max"]).all(), t
        assert not speed[h <= threshold].any()  # only where deeper than the threshold
        fastest = max(fastest, float(speed.max()))
    speed_max, depth_max = state["flood_speed_max"], state["flood_depth_max"]
    assert fastest > 1.0  # the water did run (not a vacuous bound)
    assert (speed_max <= 3.0 * np.sqrt(G * depth_max)).all(), (
        (speed_max / np.sqrt(G * np.maximum(depth_max, 1e-12))).max())


def _steep_channel(cfl, slope=0.014, n=0.02, q=0.25, ny=3, nx=120, res=2.0, until=1200):
    """Uniform flow down a straight channel (closed sides, free outflow at the bed slope),
    fed q (m2/s) across its west edge, with the advection term: the depths of the middle row
    every 10 s (snapshots x nx) and the model."""
    grid = make_grid(ny, nx, resolution=res)
    z = np.tile(50.0 - slope * np.arange(nx) * res, (ny, 1))
    state = make_state(grid, surface_altitude=z,
                       land_cover=np.full((ny, nx), CODE["road"], "int16"))
    ctx = make_context(grid, duration=until, coupling_interval=10)
    model = FloodModel(FloodModel.Params(
        advection=True, cfl=cfl, manning_uniform=n, infiltration=False, drainage=False,
        boundaries={"east": {"type": "free", "slope": slope}},
        inflows=[{"name": "in", "line": [[grid.x[0], grid.y[0]], [grid.x[0], grid.y[-1]]],
                  "hydrograph": [[0, q * ny * res]]}]))
    start(model, state, ctx)
    depths = []
    for t in range(10, until + 1, 10):
        model.advance(state, float(t))
        depths.append(state["flood_water_thickness"][ny // 2].copy())
    return np.array(depths), model


def test_supercritical_flow_with_advection_is_stable_at_the_default_courant_number():
    """Uniform flow at Froude 1.38 (0.25 m2/s, 0.15 m deep, 1.7 m/s on a 1.4 % slope with
    n = 0.02; below Fr 1.5, where roll waves would make uniform Manning flow physically
    unstable) with the advection term, at the default Courant number 0.6 and at 0.3: steady
    along the middle of the channel to 0.1 mm in space and 1e-5 m between snapshots, and the
    two steps agree to 0.3 mm (first order in time). Before, with the half-centred advective
    flux and the Courant condition on |u| + sqrt(g h), the default step let the round-off
    grow into 12 cm jumps between snapshots and a 13 cm range along the channel; half the
    step gave other numbers (9 cm apart)."""
    mid = slice(20, 100)
    results = {}
    for cfl in (0.6, 0.3):
        depths, model = _steep_channel(cfl)
        last = depths[-30:, mid]  # the last 300 s
        assert np.abs(np.diff(last, axis=0)).max() <= 1e-5, cfl
        assert np.ptp(last[-1]) <= 1e-3, cfl
        assert model.volume_balance()["relative_error"] <= 1e-12
        results[cfl] = last[-1]
    h = results[0.6].mean()
    u = 0.25 / h
    assert 1.2 < u / np.sqrt(G * h) < 1.5  # supercritical, no roll waves
    assert np.abs(results[0.6] - results[0.3]).max() <= 3e-4
