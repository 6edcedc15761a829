"""The heat model in a city: declarations, interventions, day/night statistics, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.city.landcover import CODE
from metrotwin.models.heat import HeatModel, HeatError
from metrotwin.run.testing import make_context, make_grid, make_state

from .cities import block_city, run_heat

REQUIRED = {"intent", "units", "doc", "mapping", "dtype", "optional"}


def test_variables_are_declared_with_cf_attributes():
    for name, spec in HeatModel.variables.items():
        assert spec.units and spec.doc, name
    writes = HeatModel.writes()
    for name, std in [("universal_thermal_comfort_index", "universal_thermal_comfort_index"),
                      ("air_temperature", "air_temperature"),
                      ("surface_temperature", "surface_temperature")]:
        assert writes[name].standard_name == std
    assert writes["universal_thermal_comfort_index"].units == "degree_C"
    assert writes["mean_radiant_temperature"].units == "K"
    assert HeatModel.reads()["traffic_heat_flux"].optional


@pytest.fixture(scope="module")
def noon_runs():
    """Baseline, cool roofs and street trees on a 60x60 block city, 10:00-14:00."""
    bh, cover = block_city(60, 60)
    base = run_heat(bh, cover, start="2026-07-01T10:00:00", duration=4 * 3600.0)
    cool = cover.copy()
    cool[cover == CODE["roof"]] = CODE["cool_roof"]
    cooled = run_heat(bh, cool, start="2026-07-01T10:00:00", duration=4 * 3600.0)
    canopy = np.zeros_like(bh)
    streets = (cover == CODE["road"])
    canopy[streets & (np.arange(60)[None, :] % 9 == 1)] = 12.0
    treed = run_heat(bh, cover, canopy=canopy, start="2026-07-01T10:00:00", duration=4 * 3600.0)
    return bh, cover, canopy, base, cooled, treed


def test_cool_roofs_lower_surface_and_air_temperature(noon_runs):
    bh, cover, _, (_, s0), (_, s1), _ = noon_runs
    roof = cover == CODE["roof"]
    d_surface = s0["surface_temperature"][roof].mean() - s1["surface_temperature"][roof].mean()
    d_air = s0["air_temperature"].mean() - s1["air_temperature"].mean()
    # albedo 0.15 -> 0.65 takes ~400 W m-2 off the roofs' absorbed sunshine at noon: they
    # must be cooler by many kelvin, and the air above the city by a measurable amount.
    assert d_surface > 5.0
    assert d_air > 0.05


def test_trees_lower_tmrt_in_their_shade(noon_runs):
    _, cover, canopy, (_, s0), _, (_, s2) = noon_runs
    shade = canopy > 0
    d = s0["mean_radiant_temperature"][shade] - s2["mean_radiant_temperature"][shade]
    # a crown passes 3 % of the beam: Tmrt under it drops by well over 10 K at noon
    assert d.mean() > 10.0
    assert (s2["universal_thermal_comfort_index"][shade].mean()
            < s0["universal_thermal_comfort_index"][shade].mean())


def test_statistics_split_day_and_night():
    bh, cover = block_city(30, 30)
    model, state = run_heat(bh, cover, start="2026-07-01T18:00:00", duration=6 * 3600.0,
                            coupling=1800.0, params={"time_step": 900.0})
    day = state["utci_hours_above_32_day"]
    night = state["utci_hours_above_32_night"]
    assert day.max() <= 3.5 + 1e-9 and night.max() <= 2.5 + 1e-9  # sunset ~20:15 local
    utci = state["universal_thermal_comfort_index"]
    # UTCI is a pedestrian's: defined off the buildings, NaN on them
    assert np.isnan(utci[bh > 0]).all() and np.isfinite(utci[bh == 0]).all()
    assert np.all(state["utci_daily_max"][bh == 0] >= utci[bh == 0] - 1e-12)
    ind = model.indicators(state)
    assert np.isfinite(ind["air_temperature_night"].value)
    assert set(ind["strong_heat_stress_area"].by_district) == {"all"}


def _model_on(**layers):
    grid = make_grid(10, 10, resolution=2.0)
    state = make_state(grid, **layers)
    ctx = make_context(grid, duration=600.0, forcing={"weather": {"design_day": {}}})
    model = HeatModel()
    for name, spec in model.variables.items():
        if spec.writes:
            state.add_variable(name, spec)
    return model, state, ctx


def test_dsm_below_dem_is_refused():
    bh = np.zeros((10, 10))
    bh[3, 3] = -2.0
    model, state, ctx = _model_on(building_height=bh)
    with pytest.raises(HeatError, match="DSM lower than DEM"):
        model.initialize(state, ctx)


def test_land_cover_without_parameters_is_refused():
    cover = np.full((10, 10), CODE["grass"], dtype="int16")
    cover[0, 0] = 42
    model, state, ctx = _model_on(land_cover=cover)
    with pytest.raises(HeatError, match="code 42"):
        model.initialize(state, ctx)


def test_bad_parameters_are_refused_at_load():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown land-cover class"):
        HeatModel.Params(surface={"lava": {"albedo": 0.1}})
    with pytest.raises(ValidationError, match="outside"):
        HeatModel.Params(surface={"roof": {"albedo": 1.5}})
    with pytest.raises(ValidationError):
        HeatModel.Params(time_stepp=10)


def test_missing_weather_is_refused():
    grid = make_grid(10, 10)
    state = make_state(grid)
    ctx = make_context(grid)
    with pytest.raises(HeatError, match="forcing.weather"):
        HeatModel().initialize(state, ctx)


def test_circumsolar_diffuse_is_conserved_in_the_open_and_shaded_with_the_sun():
    # Hay & Davies (1980): the circumsolar share A = I / I0 of the diffuse comes from the
    # sun's direction. On open flat ground K_down must still be the weather's global
    # radiation (the split conserves it, to rounding); in a building's shade that share goes
    # with the beam: on a clear noon A > 0.5, so K_down there stays below 0.7 D SVF plus what
    # the walls reflect (isotropic diffuse alone would give D SVF).
    bh = np.zeros((30, 30))
    bh[12:18, 12:18] = 20.0
    cover = np.where(bh > 0, CODE["roof"], CODE["paved"]).astype("int16")
    model, _ = run_heat(bh, cover, resolution=2.0, start="2026-07-01T11:00:00",
                        duration=1800.0)
    w = model.weather.at(model.time)
    assert w.shortwave_diffuse > 50.0 and w.sun_altitude > 50.0
    flat, _ = run_heat(np.zeros_like(bh), np.full_like(cover, CODE["paved"]), resolution=2.0,
                       start="2026-07-01T11:00:00", duration=1800.0)
    np.testing.assert_allclose(flat._buf["kd"], w.shortwave_global, rtol=1e-9)
    kd = model._buf["kd"].reshape(bh.shape)
    sun = model._buf["sun"].reshape(bh.shape)
    svf = model.geometry.svf
    rows, cols = np.nonzero((sun == 0.0) & (bh == 0.0) & (svf > 0.6))
    assert rows.size > 5
    walls = (1.0 - svf[rows, cols]) * model.params.wall_albedo * w.shortwave_global
    assert (kd[rows, cols] < 0.7 * w.shortwave_diffuse * svf[rows, cols] + walls).all()


def test_indicators_from_one_pass_equal_the_district_by_district_reductions(monkeypatch):
    """The indicators reduce every district in one pass over the cells (exact sums per
    district); they must equal, bit for bit, the reductions made district by district, also
    with a threshold mask, an empty district and cells outside every district."""
    bh, cover = block_city(40, 40)
    district = np.where(np.arange(40)[None, :] < 15, 1, 2) * np.ones((40, 1), int)
    district[:5, :5] = 0  # outside every named district
    district = district.astype("int16")
    model, state = run_heat(bh, cover, duration=3600.0, coupling=1800.0, district=district)
    assert model.ctx.global_group_sums(state["air_temperature"], model._groups, 3) is not None
    one_pass = model.indicators(state)
    hot = state["utci_daily_max"] > np.nanmedian(state["utci_daily_max"])
    first = {how: model._reduce(state["air_temperature"], how, hot) for how in ("sum", "mean", "max")}
    monkeypatch.setattr(model.ctx, "global_group_sums", lambda *a: None)  # the old path
    by_district = model.indicators(state)
    assert one_pass.keys() == by_district.keys()
    for key, ind in one_pass.items():
        old = by_district[key]
        assert np.array_equal(ind.value, old.value, equal_nan=True), key
        assert (ind.by_district is None) == (old.by_district is None), key
        for name, value in (ind.by_district or {}).items():
            assert np.array_equal(value, old.by_district[name], equal_nan=True), (key, name)
    for how, result in first.items():
        assert model._reduce(state["air_temperature"], how, hot) == result, how
    empty = np.zeros_like(hot)
    monkeypatch.undo()
    total, by = model._reduce(state["air_temperature"], "max", empty)
    assert np.isnan(total) and all(np.isnan(v) for v in by.values())
