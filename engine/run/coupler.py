"""The coupler: checks that the models fit together, orders them, and advances them in
lock-step to each coupling time. Models exchange data only through the shared state."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from metrotwin.run.context import RunContext
from metrotwin.errors import CouplingError
from metrotwin.results.indicators import Indicator
from metrotwin.run.model import Model
from metrotwin.city.state import CityState


def _norm_units(units: str) -> str:
    return " ".join(str(units).replace("**", "").replace("^", "").split())


def check_and_order(models: Sequence[Model], static: dict[str, str]) -> tuple[list[Model], list[str]]:
    """Check every read against the writers and static layers, and order the models.

    ``static`` maps the state's existing variables to their units. Returns the models with
    writers before readers and the list of variables read with a one-step lag (cycles).
    Raises CouplingError naming the model and the variable that is missing or whose units
    disagree.
    """
    writers: dict[str, Model] = {}
    for model in models:
        for name, spec in model.writes().items():
            other = writers.get(name)
            if other is not None and other is not model:
                raise CouplingError(
                    f"variable {name!r} is written by both model {other.name!r} and model "
                    f"{model.name!r}; each variable must have one writer"
                )
            writers[name] = model
    for model in models:
        for name, spec in model.reads().items():
            if name in writers:
                units = writers[name].variables[name].units
                source = f"model {writers[name].name!r}"
            elif name in static:
                units, source = static[name], "the city's static layers"
            elif spec.optional:
                continue
            else:
                raise CouplingError(
                    f"model {model.name!r} reads {name!r} ({spec.doc}), which no model of this "
                    f"scenario writes and the city does not have; add the model that writes it "
                    f"or provide the layer"
                )
            if spec.intent == "in" and _norm_units(units) != _norm_units(spec.units):
                raise CouplingError(
                    f"model {model.name!r} reads {name!r} in {spec.units!r}, but {source} "
                    f"provides it in {units!r}"
                )
    return _order(models, writers)


def _order(models: Sequence[Model], writers: dict[str, Model]):
    """Writers before readers (Kahn's algorithm); a cycle is broken at the first model in
    scenario order, whose reads from later models then lag one coupling step."""
    depends = {
        id(m): {id(writers[n]) for n in m.reads() if n in writers and writers[n] is not m}
        for m in models
    }
    remaining = list(models)
    ordered: list[Model] = []
    lagged: list[str] = []
    done: set[int] = set()
    while remaining:
        ready = [m for m in remaining if depends[id(m)] <= done]
        pick = ready[0] if ready else remaining[0]
        if not ready:
            lagged += [
                f"{pick.name} reads {n} from {writers[n].name} of the previous coupling step"
                for n in pick.reads()
                if n in writers and id(writers[n]) not in done and writers[n] is not pick
            ]
        ordered.append(pick)
        done.add(id(pick))
        remaining.remove(pick)
    return ordered, lagged


def allocate_variables(state: CityState, models: Sequence[Model]) -> None:
    """Create in ``state`` every variable ``models`` declare as written (intent "out" or
    "inout"), with its declared dims, dtype, fill and CF attributes; one already there (a
    static layer, or allocated before) is kept as it is. A variable on a dimension the city
    lacks (link fields of a city without roads) is not created: its model finds it absent.
    The coupler calls this before any model initializes; tests and doctests that drive a
    model alone call it too, so no model allocates its own variables."""
    for model in models:
        for name, spec in model.writes().items():
            if all(d in state.ds.sizes for d in spec.dims):
                state.add_variable(name, spec)


class Coupler:
    """Runs ordered models over the shared state from 0 to ``ctx.clock.end`` seconds."""

    def __init__(self, models: Sequence[Model], state: CityState, ctx: RunContext):
        static = {name: str(state.ds[name].attrs.get("units", "1")) for name in state.ds.data_vars}
        self.models, self.lagged = check_and_order(models, static)
        self.state = state
        self.ctx = ctx
        #: wall-clock seconds each model spent in initialize and advance
        self.wall_time = {m.name: 0.0 for m in self.models}
        for message in self.lagged:
            ctx.logger.info("coupling lag: %s", message)

    def allocate(self) -> None:
        """Create every variable the models write (``allocate_variables``)."""
        allocate_variables(self.state, self.models)

    def initialize(self) -> None:
        """Allocate what the models write, then initialize each model in order: a model
        finds every variable it declares as written in the state, and never allocates."""
        self.allocate()
        for model in self.models:
            t0 = time.perf_counter()
            model.initialize(self.state, self.ctx)
            self.wall_time[model.name] += time.perf_counter() - t0

    def output_times(self) -> list[float]:
        clock = self.ctx.clock
        n = int(clock.end // clock.output_interval + 1e-9)
        times = [i * clock.output_interval for i in range(n + 1)]
        if clock.end - times[-1] > 1e-9:
            times.append(clock.end)
        return times

    def run(self, on_output: Callable[[float], None], on_step: Callable[[float], None] | None = None) -> None:
        """Advance all models to the end, calling ``on_output(t)`` at each output time
        (including t = 0) and ``on_step(t)`` after every coupling step."""
        clock = self.ctx.clock
        outputs = self.output_times()
        t = clock.now
        # outputs before now were written before a checkpoint this run resumes from
        next_out = sum(1 for o in outputs if o < t - 1e-9)
        while next_out < len(outputs) and outputs[next_out] <= t + 1e-9:
            on_output(outputs[next_out])
            next_out += 1
        while t < clock.end - 1e-9:
            # step to the next coupling time, never past an output time or the end
            k = int(t // clock.coupling_interval + 1e-9) + 1
            until = min(k * clock.coupling_interval, clock.end)
            if next_out < len(outputs):
                until = min(until, outputs[next_out])
            self.advance_to(until)
            t = clock.now = until
            if on_step is not None:
                on_step(t)
            while next_out < len(outputs) and outputs[next_out] <= t + 1e-9:
                on_output(outputs[next_out])
                next_out += 1

    def advance_to(self, until: float) -> None:
        """Advance every model, in order, to simulation time ``until`` (s): one coupling
        step (an assimilating coupler advances its members here and then analyses)."""
        for model in self.models:
            t0 = time.perf_counter()
            model.advance(self.state, until)
            self.wall_time[model.name] += time.perf_counter() - t0

    def finalize(self) -> None:
        for model in self.models:
            model.finalize(self.state)

    def write_outputs(self, folder) -> None:
        """Files of the run besides fields, indicators and log, into ``folder``: none here
        (an assimilating coupler writes ``observations.nc``)."""

    def indicators(self) -> dict[str, dict[str, Indicator]]:
        return {model.name: model.indicators(self.state) for model in self.models}

    def output_variables(self) -> dict[str, object]:
        """name -> VarSpec of everything written to the time series."""
        out = {}
        for model in self.models:
            for name, spec in model.writes().items():
                if spec.output and name in self.state.ds:
                    out[name] = spec
        return out
