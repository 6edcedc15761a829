"""The coupler checks that models fit together and orders writers before readers."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin import Model, VarSpec
from metrotwin.run.coupler import check_and_order
from metrotwin.errors import CouplingError

from tests._support.toymodels import Source, Spread

STATIC = {"surface_altitude": "m"}


def _model(name, **variables):
    return type(name.title(), (Model,), {"name": name, "variables": variables})()


def test_writers_come_before_readers_whatever_the_scenario_order():
    ordered, lagged = check_and_order([Spread(), Source()], STATIC)
    assert [m.name for m in ordered] == ["source", "spread"]
    assert lagged == []


def test_missing_variable_names_the_model_and_the_variable():
    with pytest.raises(CouplingError) as info:
        check_and_order([Spread()], STATIC)
    message = str(info.value)
    assert "'spread'" in message and "'tracer'" in message and "no model" in message


def test_optional_read_may_be_absent():
    reader = _model("reader", rain=VarSpec("in", "m", "rain", optional=True))
    ordered, _ = check_and_order([reader], STATIC)
    assert ordered == [reader]


def test_static_layer_satisfies_a_read():
    ordered, _ = check_and_order([Source()], STATIC)
    assert [m.name for m in ordered] == ["source"]


def test_units_must_agree():
    writer = _model("writer", depth=VarSpec("out", "m", "depth"))
    reader = _model("reader", depth=VarSpec("in", "cm", "depth"))
    with pytest.raises(CouplingError, match="'reader' reads 'depth' in 'cm'.*'writer'.*'m'"):
        check_and_order([reader, writer], STATIC)


def test_two_writers_of_one_variable_are_refused():
    a = _model("a", depth=VarSpec("out", "m", "depth"))
    b = _model("b", depth=VarSpec("out", "m", "depth"))
    with pytest.raises(CouplingError, match="written by both"):
        check_and_order([a, b], STATIC)


def test_a_cycle_is_broken_at_the_first_model_with_a_lag():
    flood = _model("flood", depth=VarSpec("out", "m", "d"), heat_in=VarSpec("in", "K", "t", optional=True))
    heat = _model("heat", temp=VarSpec("out", "K", "t"), heatflux=VarSpec("in", "W m-2", "q"))
    traffic = _model("traffic", heatflux=VarSpec("out", "W m-2", "q"), temp=VarSpec("in", "K", "t"),
                     depth=VarSpec("in", "m", "d"))  # fmt: skip
    ordered, lagged = check_and_order([heat, traffic, flood], STATIC)
    names = [m.name for m in ordered]
    # flood depends on nobody and goes first; heat <-> traffic is a cycle broken at heat
    assert names == ["flood", "heat", "traffic"]
    assert lagged == ["heat reads heatflux from traffic of the previous coupling step"]


class _Writer(Model):
    """Writes a grid field, a link field and an integer field, and never allocates them: it
    reads them back at ``initialize``."""

    name = "writer"
    variables = {
        "depth": VarSpec("out", "m", "water depth", fill=float("nan")),
        "counter": VarSpec("out", "1", "a count", dtype="int32", fill=-1),
        "link_depth": VarSpec("out", "m", "depth on each road link", mapping="link"),
        "surface_altitude": VarSpec("inout", "m", "ground"),
    }

    def initialize(self, state, ctx):
        self.seen = {name: state.ds[name] for name in self.variables if name in state.ds}

    def advance(self, state, until):
        state["depth"][...] += 1.0


def test_the_coupler_alone_allocates_what_the_models_write():
    """Issue #17 item 7: a model finds every variable it writes in the state at
    ``initialize`` (declared dims, dtype, fill and units), without allocating it itself; a
    link field waits for a city with roads, and a static layer it updates is the city's own."""
    from metrotwin.run.coupler import Coupler
    from metrotwin.run.testing import make_context, make_grid, make_state

    grid = make_grid(4, 5)
    altitude = np.arange(20.0).reshape(4, 5)
    state = make_state(grid, surface_altitude=altitude)
    model = _Writer()
    coupler = Coupler([model], state, make_context(grid, duration=60.0))
    coupler.initialize()
    depth, counter = model.seen["depth"], model.seen["counter"]
    assert depth.dims == ("y", "x") and depth.dtype == np.float64 and depth.attrs["units"] == "m"
    assert np.isnan(depth.values).all()  # its declared fill
    assert counter.dtype == np.int32 and (counter.values == -1).all()
    assert "link_depth" not in state.ds  # no roads in this city
    assert np.array_equal(model.seen["surface_altitude"].values, altitude)
