"""The coupler checks that models fit together and orders writers before readers."""

from __future__ import annotations

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
