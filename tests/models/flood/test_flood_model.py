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
from metrotwin.city.network import add_network
from metrotwin.run.testing import make_context, make_grid, make_state


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
    model.initialize(state, ctx)
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
    model.initialize(state, ctx)
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
    model.initialize(state, ctx)
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
    model.initialize(state, ctx)
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
    model.initialize(state, ctx)
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
    a.initialize(state, ctx)
    a.advance(state, 600)
    saved = a.checkpoint()
    fields = {k: state[k].copy() for k in a.writes() if k in state}
    a.advance(state, 1200)
    expected = state["flood_water_thickness"].copy()

    grid, state2 = _city()
    b = FloodModel(params)
    b.initialize(state2, make_context(grid, duration=1800, coupling_interval=300, forcing=forcing))
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
        model.initialize(state, ctx)
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
    model.initialize(state, make_context(grid, duration=60, coupling_interval=60))
    assert model.steps_per_sweep == 16


def test_closed_buildings_get_no_water():
    grid, state = _city()
    ctx = make_context(grid, duration=600, coupling_interval=300,
                       forcing={"rainfall": {"hyetograph": [[0, 100.0]]}})
    model = FloodModel(FloodModel.Params(buildings="closed"))
    model.initialize(state, ctx)
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
    model.initialize(state, ctx)
    assert state["flood_water_thickness"][4:6].min() == 1.0
    _advance(model, state, 3600, 600)
    bal = model.volume_balance()
    assert bal["boundary_out"] > 0 and bal["relative_error"] <= 1e-12


# -- bad input -------------------------------------------------------------------------------
def test_inflow_outside_the_domain_is_refused_naming_it():
    grid = make_grid(5, 5, resolution=10.0)
    state = make_state(grid)
    ctx = make_context(grid, duration=60)
    model = FloodModel(FloodModel.Params(
        inflows=[{"name": "culvert-7", "point": [0.0, 0.0], "hydrograph": [[0, 1.0]]}]))
    with pytest.raises(FloodError, match=r"culvert-7.*outside the domain x 500000\.\.500050") as err:
        model.initialize(state, ctx)
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
        model.initialize(state, ctx)
    assert "6 no-data cells" in caplog.text
    model.advance(state, 600)
    h = state["flood_water_thickness"]
    assert (h[2:4, 2:5] == 0).all() and np.isfinite(h).all()
    assert model.volume_balance()["relative_error"] <= 1e-12
