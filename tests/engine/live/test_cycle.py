"""The cycle of the live twin: fed the demo twin's readings in arrival order on a simulated
clock, it publishes at every coupling time the nowcast an offline assimilated run of the same
readings computes, bit for bit (issue 20, "done when")."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from metrotwin.cli import main
from metrotwin.live.clock import SimulatedClock
from metrotwin.live.cycle import LiveCycle
from metrotwin.live.forecast import run_forecast, start_from_mean
from metrotwin.live.observations import LiveObservations
from metrotwin.live.twin import LiveTwin, TwinOptions, run_live
from metrotwin.observe.load import load_observations
from metrotwin.run.coupler import Coupler
from metrotwin.run.registry import get_model

from .twin_data import CYCLES, SCENARIOS, scenario_of, small_twin_data


def nowcast_fields(folder: Path) -> tuple[float, dict[str, np.ndarray]]:
    """A published nowcast's time (s) and its time-varying fields, as stored."""
    with netCDF4.Dataset(folder / "fields.nc") as nc:
        nc.set_auto_mask(False)
        (t,) = nc["time"][:]
        return float(t), {name: np.array(var[0]) for name, var in nc.variables.items()
                          if var.dimensions[:1] == ("time",) and name != "time"}  # fmt: skip


def test_cycles_fed_in_arrival_order_publish_the_offline_analyses_bit_for_bit(
        live_folder, readings, offline):  # fmt: skip
    folder, data = live_folder
    twin = LiveTwin(scenario_of(data, folder), folder / "out", clock=SimulatedClock(),
                    options=TwinOptions(horizon=1200, keep=CYCLES))  # fmt: skip
    cycles = run_live(twin, [[r] for r in readings])  # one message at a time
    assert cycles == CYCLES >= 6
    published = sorted((folder / "out" / "cycles").iterdir())
    assert len(published) == CYCLES
    compared = 0
    for cycle in published:
        t, fields = nowcast_fields(cycle / "nowcast")
        assert {"flood_water_thickness", "air_temperature", "universal_thermal_comfort_index",
                "flood_water_thickness_spread"} <= set(fields)  # fmt: skip
        for name, values in fields.items():
            expected = offline[name][t]
            assert values.dtype == expected.dtype
            # identical: the same readings analysed in the same order (NaN on buildings)
            assert np.array_equal(values, expected, equal_nan=True), (cycle.name, name)
            compared += 1
    assert compared >= 6 * 4
    # the analyses did something: readings were assimilated and moved the members
    assert twin.cycle.coupler.assimilated > 0
    control = np.asarray(twin.cycle.coupler.control.state["flood_water_thickness"])
    assert not np.array_equal(np.asarray(twin.cycle.p.state["flood_water_thickness"]), control)


def test_the_live_observation_set_is_the_offline_one(live_folder, readings):
    """The readings of the feed give the set an offline run reads from their CSV: the same
    stations, snapping, flags (the withheld sensors too) and values."""
    folder, data = live_folder
    offline_data = small_twin_data(folder, readings)  # the same readings as the CSV
    scenario = scenario_of(offline_data, folder)
    cycle = LiveCycle(scenario_of(data, folder), folder / "state")
    cycle.add(readings)
    live = cycle.observations.observation_set()
    expected = load_observations(scenario.observations, cycle.p.state, Path("."))
    for name in ("sensor_id", "variable", "x", "y", "error_std", "cell", "link", "station",
                 "time", "value", "flag"):  # fmt: skip
        a, b = getattr(live, name), getattr(expected, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
    assert (live.flag == 1).sum() > 0  # some withheld (a fifth of the sensors)


def test_the_withheld_sensors_are_fixed_before_any_reading(live_folder, readings):
    folder, data = live_folder
    cycle = LiveCycle(scenario_of(data, folder), folder / "state")
    before = list(cycle.observations.withheld)
    cycle.add(readings[:3])
    assert len(before) == 10  # a fifth of the 50 sensors
    assert cycle.observations.withheld == before
    assert isinstance(cycle.observations, LiveObservations)


def test_a_simulated_clock_cycles_once_the_feed_passes_the_coupling_time(live_folder, readings):
    folder, data = live_folder
    twin = LiveTwin(scenario_of(data, folder), folder / "out", clock=SimulatedClock(),
                    options=TwinOptions(horizon=600))  # fmt: skip
    upto_0610 = [r for r in readings if r.time <= "2026-07-15T06:10:00Z"]
    assert twin.start() == []
    assert twin.feed(upto_0610) == []  # the 06:10 readings may not all be in yet
    first_0620 = next(r for r in readings if r.time == "2026-07-15T06:20:00Z")
    (status,) = twin.feed([first_0620])
    assert status["cycle_time"] == "2026-07-15T06:10:00Z"
    (status,) = twin.tick()  # an explicit tick runs the next one whatever arrived
    assert status["cycle_time"] == "2026-07-15T06:20:00Z"
    assert twin.poll() == []


def test_the_coupler_refuses_readings_that_do_not_extend_its_own(live_folder, readings):
    folder, data = live_folder
    cycle = LiveCycle(scenario_of(data, folder), folder / "state")
    cycle.add(readings[:5])
    cycle.coupler.observe(cycle.observations.observation_set())
    with pytest.raises(ValueError, match="do not extend"):
        cycle.coupler.observe(cycle.observations.observation_set(count=2))


def test_a_forecast_runs_free_from_the_analysis_mean(live_folder, readings):
    folder, data = live_folder
    cycle = LiveCycle(scenario_of(data, folder), folder / "state")
    cycle.add(readings[:101])  # up to the first reading of 06:20
    cycle.run()
    ensemble = cycle.coupler
    before = [np.array(m.state["flood_water_thickness"]) for m in ensemble.members]
    start = Coupler([get_model(n)(p) for n, p in cycle.p.scenario.models.items()],
                    ensemble.control.state.copy(), ensemble.ctx)  # fmt: skip
    start.initialize()
    start_from_mean(start, ensemble)
    # it starts from the analysis mean: the depth exactly; the air temperature as the heat
    # model makes it again from its mean anomaly (taken back by its restore), to round-off
    # (a few ulp of 300 K: 1e-13 K; 1e-9 K leaves room, far below any physical difference)
    mean_depth = np.asarray(cycle.p.state["flood_water_thickness"])
    assert np.array_equal(np.asarray(start.state["flood_water_thickness"]), mean_depth)
    air = np.asarray(start.state["air_temperature"]) - np.asarray(cycle.p.state["air_temperature"])
    assert np.abs(air).max() < 1e-9
    forecast = run_forecast(ensemble, cycle.p.scenario, 1800)
    assert forecast.issued == 600 and list(forecast.times) == [1200, 1800, 2400]
    assert forecast.fields["flood_water_thickness"].shape == (3, *cycle.p.state.grid.shape)
    assert forecast.horizon == 1800
    # nothing assimilated, and the ensemble untouched: its next cycle is the offline one
    assert all(np.array_equal(np.asarray(m.state["flood_water_thickness"]), b)
               for m, b in zip(ensemble.members, before))  # fmt: skip
    assert ensemble.ctx.clock.now == 600
    # the rain goes on: the forecast's water grows from the analysis
    depth = forecast.fields["flood_water_thickness"]
    assert depth[-1].sum() > np.asarray(cycle.p.state["flood_water_thickness"]).sum()


def test_the_live_command_says_what_is_wrong(capsys):
    assert main(["live", str(SCENARIOS / "demo_twin.yaml"), "--broker", "mqtt://127.0.0.1:1",
                 "--horizon", "soon"]) == 2  # fmt: skip
    assert "--horizon 'soon' is not a duration" in capsys.readouterr().err
