"""The model contract, over every registered model (built-in and installed plugins): each
variable declared with its units and what it is, a parameter class named ``Params`` that
refuses an unknown key, the errors of the model's package under ``ModelError``, variables
allocated by the coupler alone (``initialize`` adds or replaces none), and one coupling step on
a 4 x 5 grid that leaves what the model writes finite."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from pydantic import ValidationError

from metrotwin.errors import ModelError

from metrotwin.city.landcover import CODE
from metrotwin.city.network import add_network
from metrotwin.city.state import CityState
from metrotwin.run.registry import list_models
from metrotwin.run.testing import make_context, make_grid, make_state

MODELS = sorted(list_models())
#: one coupling step (s)
STEP = 60.0


def test_the_built_in_models_are_registered():
    assert {"flood", "heat", "mobility"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_every_variable_is_declared_with_units_and_meaning(name):
    cls = list_models()[name]
    assert cls.variables, f"{name} declares no variables"
    for var, spec in cls.variables.items():
        assert spec.intent in ("in", "out", "inout"), (var, spec.intent)
        assert isinstance(spec.units, str) and spec.units.strip(), f"{name}.{var}: no units"
        assert spec.doc.strip(), f"{name}.{var}: no description"
        assert spec.standard_name or spec.internal or spec.doc, var


@pytest.mark.parametrize("name", MODELS)
def test_params_refuse_an_unknown_key(name):
    cls = list_models()[name]
    cls.Params()  # every parameter has a default: a scenario may name the model alone
    with pytest.raises(ValidationError, match="no_such_parameter"):
        cls.Params.model_validate({"no_such_parameter": 1})


@pytest.mark.parametrize("name", MODELS)
def test_the_parameter_class_is_named_params(name):
    """One name in every model package (not ``FloodParams`` here and ``Params`` there)."""
    params = list_models()[name].Params
    assert params.__name__ == "Params", f"{name}: {params.__module__}.{params.__qualname__}"


def package_modules(cls) -> list:
    """The modules of the package that holds model ``cls`` (the module alone when it is not
    in a package of its own, e.g. a single-file plugin)."""
    module = importlib.import_module(cls.__module__)
    package_name = cls.__module__.rpartition(".")[0]
    package = importlib.import_module(package_name) if package_name else None
    if package is None or not hasattr(package, "__path__") or package_name == "tests._support":
        return [module]
    return [package, *(importlib.import_module(info.name) for info in
                       pkgutil.walk_packages(package.__path__, f"{package_name}."))]  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
def test_the_errors_of_a_model_package_are_model_errors(name):
    """Every exception class a model package defines derives from ``ModelError`` (so the run
    reports it as the model's error, and a caller can catch all of them at once)."""
    modules = package_modules(list_models()[name])
    errors = {f"{obj.__module__}.{obj.__qualname__}": obj for module in modules
              for obj in vars(module).values()
              if inspect.isclass(obj) and issubclass(obj, Exception)
              and obj.__module__ == module.__name__}  # fmt: skip
    strays = sorted(where for where, obj in errors.items() if not issubclass(obj, ModelError))
    assert not strays, f"{name}: exceptions that are not ModelError subclasses: {strays}"


def tiny_city():
    """A 4 x 5 grid of 10 m cells, flat grass with one district, flats along the western
    column and offices along the eastern one (30 m high: enough floor area for sampled
    commuters), and a two-way street between a node by the flats and one by the offices."""
    grid = make_grid(4, 5, resolution=10.0)
    ids, uses = np.zeros(grid.shape, "int32"), np.zeros(grid.shape, "int8")
    ids[:, 0], uses[:, 0] = 1, 1  # residential
    ids[:, 4], uses[:, 4] = 2, 2  # commercial
    cover = np.where(ids > 0, CODE["roof"], CODE["grass"]).astype("int16")
    state = make_state(grid, building_id=ids, building_use=uses, land_cover=cover,
                       building_height=np.where(ids > 0, 30.0, 0.0))
    x = np.array([grid.x[0], grid.x[4]])
    y = np.array([grid.y[2], grid.y[2]])
    add_network(state, x, y, np.array([0, 1]), np.array([1, 0]), lanes=np.array([1, 1]),
                free_speed=np.array([10.0, 10.0]), capacity=np.array([600.0, 600.0]))
    return state


@pytest.mark.parametrize("name", MODELS)
def test_one_coupling_step_on_a_4x5_grid(name, monkeypatch):
    """Inputs another model would write are zero (dry ground, no traffic heat); the model
    initialises, advances one step and everything it writes is finite (or still its declared
    fill where that is NaN: e.g. the time of the maximum depth of a cell never wet)."""
    cls = list_models()[name]
    state = tiny_city()
    for var, spec in cls.variables.items():
        if var not in state.ds:
            state.add_variable(var, spec)  # (zero-filled: what a coupled writer would hold)
    ctx = make_context(state.grid, duration=STEP, coupling_interval=STEP,
                       forcing={"weather": {"design_day": {}}})  # fmt: skip
    model = cls()
    before = {var: state.ds[var].variable._data for var in state.ds.data_vars}
    allocations = []
    allocate = CityState.add_variable

    def spy(self, var, spec):
        allocations.append(var)
        return allocate(self, var, spec)

    monkeypatch.setattr(CityState, "add_variable", spy)
    model.initialize(state, ctx)
    monkeypatch.undo()
    after = {var: state.ds[var].variable._data for var in state.ds.data_vars}
    # the coupler allocates the declared variables (above, as it would); the model fills them
    assert not allocations, f"{name}.initialize allocates variables itself: {allocations}"
    assert not sorted(set(after) - set(before)), f"{name}.initialize added variables"
    replaced = sorted(var for var in cls.variables if after[var] is not before[var])
    assert not replaced, f"{name}.initialize allocated its declared variables again: {replaced}"
    model.advance(state, STEP)
    for var, spec in cls.variables.items():
        if spec.writes and np.issubdtype(state.ds[var].dtype, np.floating):
            values = state.ds[var].values
            unset = np.isnan(values) if np.isnan(spec.fill) else np.zeros(values.shape, bool)
            assert (np.isfinite(values) | unset).all(), f"{name}.{var} is not finite"
    for key, indicator in model.indicators(state).items():
        assert isinstance(indicator.units, str), (name, key)
    model.finalize(state)
