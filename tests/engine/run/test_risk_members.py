"""The members of a risk run: events x samples with common random numbers (sample k has the
same parameters and rain seed at every return period), ids and order as the summarizer gets
them, and each member's scenario (rain = the design hyetograph, the heatwave's daily
extremes, the sampled parameters, the variant's interventions); rain made in memory."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from metrotwin.city.grid import Grid
from metrotwin.physics import MM_PER_HOUR
from metrotwin.run.design_storm import design_hyetograph
from metrotwin.run.forcing import Forcing
from metrotwin.run.heatwave import design_day_maximum
from metrotwin.run.risk_members import (
    RiskPlan,
    events,
    members_line,
    rain_seed,
    risk_members,
    samples,
    set_field,
    unit_name,
)
from metrotwin.run.sampling import sample_parameters
from metrotwin.run.scenario import parse_scenario

from tests.engine.scenario.test_hazards_fit import BASE


def scenario(**hazards):
    data = copy.deepcopy(BASE)
    data["seed"] = 11
    data["models"]["flood"]["cfl"] = 0.5
    data["hazards"]["uncertain"].append(
        {"name": "models.flood.max_time_step", "low": 2, "high": 8})
    data["hazards"]["sampling"]["members"] = 3
    data["hazards"].update(hazards)
    data["forcing"] = {"weather": {"design_day": {"relative_humidity": 40, "wind_speed": 3}}}
    return parse_scenario(data)


def test_members_are_events_times_samples_in_sorted_order():
    s = scenario()
    members = risk_members(s, Path("out/baseline"))
    assert [m.id for m in members] == ["T2-s000", "T2-s001", "T2-s002",
                                       "T10-s000", "T10-s001", "T10-s002"]  # fmt: skip
    assert [(m.return_period, m.sample) for m in members[:4]] == [(2, 0), (2, 1), (2, 2), (10, 0)]
    assert members[4].folder == Path("out/baseline/members/T10-s001")
    drawn = sample_parameters(s.hazards.uncertain, s.hazards.sampling)
    for m in members:  # common random numbers: row k at every return period
        assert m.parameters == {name: float(v[m.sample]) for name, v in drawn.items()}
    assert members[1].parameters != members[2].parameters
    assert unit_name("baseline", "T2-s001") == "baseline/members/T2-s001"


def test_sample_seeds_depend_on_the_scenario_seed_and_sample_only():
    s = scenario()
    seeds = [x.rain_seed for x in samples(s)]
    assert seeds == [rain_seed(11, k) for k in range(3)]
    assert len(set(seeds)) == 3 and rain_seed(12, 0) != seeds[0]
    assert samples(s) == samples(scenario())  # drawn again: the same


def test_without_uncertain_parameters_the_sample_count_is_sampling_members():
    s = scenario(uncertain=[], sampling={"members": 4})
    members = risk_members(s, Path("v"))
    assert len(members) == 8 and all(m.parameters == {} for m in members)
    assert events(s.hazards) == [2.0, 10.0]


def test_heatwaves_alone_give_the_events():
    s = scenario(design_storms=None, heatwaves={"daily_max_temperature": {5: 32, 50: 36}})
    assert events(s.hazards) == [5.0, 50.0]


def test_a_members_scenario():
    heat = {"daily_max_temperature": {2: 31.0, 20: 36.0}}
    s = scenario(heatwaves=heat)
    plan = RiskPlan(s, ["baseline", "drained"])
    assert plan.units[:2] == ["baseline/members/T2-s000", "baseline/members/T2-s001"]
    assert len(plan.units) == 12 and plan.units[6] == "drained/members/T2-s000"
    member = plan.members_of("drained", Path("OUT/drained"))[4]  # T10-s001
    assert member.folder == Path("OUT/drained/members/T10-s001")
    run = plan.scenario_of("drained/members/T10-s001")
    assert run.hazards is None and run.variants == {}
    expected = design_hyetograph(s.hazards.design_storms, 10.0)
    assert run.forcing.rainfall.hyetograph == expected
    day = run.forcing.weather.design_day
    assert day.air_temperature_max == design_day_maximum(s.hazards.heatwaves, 10.0)
    assert day.air_temperature_min == day.air_temperature_max - s.hazards.heatwaves.diurnal_range
    assert (day.relative_humidity, day.wind_speed) == (40, 3)  # the design day's others kept
    flood = run.models["flood"]
    assert flood.manning_uniform == member.parameters["models.flood.manning_uniform"]
    assert flood.max_time_step == member.parameters["models.flood.max_time_step"]
    assert flood.cfl == 0.5  # the rest of the model's parameters as the variant has them
    assert [i.type for i in run.interventions] == ["drainage_upgrade"]
    baseline = plan.scenario_of("baseline/members/T10-s001")
    assert baseline.interventions == [] and baseline.variants == {} and baseline.hazards is None


def test_set_field_never_creates_a_field():
    data = {"models": {"flood": {"manning": {}, "n": None}}, "interventions": [{"c": 1}]}
    set_field(data, "models.flood.n", 0.03)
    set_field(data, "interventions.0.c", 2)
    assert data["models"]["flood"]["n"] == 0.03 and data["interventions"][0]["c"] == 2
    missing_parts = [("models.heat.x", "models.heat"), ("interventions.1.c", "interventions.1"),
                     ("models.flood.n.deeper", "models.flood.n.deeper")]
    for dotted, missing in missing_parts:
        with pytest.raises(KeyError) as info:
            set_field(data, dotted, 1.0)
        assert info.value.args[0] == missing


@pytest.fixture
def rain_setup():
    s = parse_scenario({**copy.deepcopy(BASE), "hazards": None,
                        "forcing": {"rainfall": {"hyetograph": [[0, 12], [600, 30], [900, 0]]}}})
    grid = Grid(ny=3, nx=4, resolution=40.0, west=0.0, north=120.0, crs="EPSG:32632")
    return s, grid


def test_rain_in_memory_is_the_same_as_the_scenarios(rain_setup):
    s, grid = rain_setup
    written = Forcing(s, grid)
    dry = s.model_copy(update={"forcing": s.forcing.model_copy(update={"rainfall": None})})
    # the scenario's hyetograph (mm/h), in m/s as the forcing takes it
    rain = (np.array([0, 600, 900.0]), np.array([12, 30, 0.0]) * MM_PER_HOUR)
    in_memory = Forcing(dry, grid, rain=rain)
    assert in_memory.has_rain and not in_memory.rain_is_gridded
    for t in (0, 300, 600, 899, 900, 2000):
        assert in_memory.rain_rate(t) == written.rain_rate(t)
    assert in_memory.rain_depth(100, 1000) == written.rain_depth(100, 1000)
    assert in_memory.next_rain_change(650) == 900.0


def test_gridded_rain_in_memory(rain_setup):
    s, grid = rain_setup
    rates = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) * MM_PER_HOUR  # m/s
    forcing = Forcing(s, grid, rain=(np.array([0.0, 600.0]), rates))
    assert forcing.rain_is_gridded
    assert np.array_equal(forcing.rain_rate(700), rates[1])
    depth = forcing.rain_depth(300, 900)  # 300 s of the first field, 300 of the second
    assert np.allclose(depth, (rates[0] + rates[1]) * 300, rtol=1e-15, atol=0)  # sums
    with pytest.raises(ValueError, match=r"rates of shape \(2, 2, 4\)"):
        Forcing(s, grid, rain=(np.array([0.0, 600.0]), rates[:, :2]))
    with pytest.raises(ValueError, match="times must increase strictly"):
        Forcing(s, grid, rain=(np.array([600.0, 0.0]), rates))


def test_validate_says_what_a_risk_run_runs():
    assert members_line(scenario()) == ("risk run: 2 return periods (2, 10 years) x 3 samples = "
                                        "6 members per variant, 12 member runs in all")
