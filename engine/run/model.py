"""The model protocol: what a flood, heat, mobility (or third-party) model implements.

A model declares every variable it reads or writes once (``variables``), the ghost cells its
stencil needs (``halo``) and the pydantic schema of its scenario parameters (``Params``). The
coupler allocates what it writes, checks that what it reads exists, and calls
``initialize`` once and ``advance`` to each coupling time. Models exchange data only through
the shared state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from metrotwin.results.indicators import Indicator
from metrotwin.scenario.schema import StrictModel
from metrotwin.city.variables import VarSpec

if TYPE_CHECKING:
    from metrotwin.run.context import RunContext
    from metrotwin.city.state import CityState


class NoParams(StrictModel):
    """A model without scenario parameters."""

    model_config = ConfigDict(extra="forbid")


class Model:
    """Base class of metrotwin models (register subclasses in ``metrotwin.models``).

    Class attributes
    ----------------
    name : the key of the model in a scenario's ``models:`` section.
    variables : name -> VarSpec, every field read or written.
    halo : ghost cells the model's stencil needs around a subdomain (0 for agents).
    decomposable : False for a model that cannot yet run on a decomposed grid; the run then
        refuses to give one variant more than one rank.
    Params : pydantic model of the parameters (use ``extra="forbid"`` so that a misspelt
        parameter is an error).
    """

    name: ClassVar[str] = ""
    variables: ClassVar[Mapping[str, VarSpec]] = {}
    halo: ClassVar[int] = 0
    Params: ClassVar[type[BaseModel]] = NoParams
    #: whether the model runs on a grid decomposed over several ranks (tiles with halos)
    decomposable: ClassVar[bool] = True
    #: memory the model holds per grid cell (bytes): the resource estimate before a run
    #: (``metrotwin.run.estimate``); measured, see README "Capacity"
    memory_per_cell_bytes: ClassVar[float] = 0.0
    #: run time per grid cell and per step of the model's own (s), for the same estimate
    seconds_per_cell_step: ClassVar[float] = 0.0
    #: run time per step of the model's own, whatever the grid (s): agents, queues
    seconds_per_step: ClassVar[float] = 0.0
    #: fields of ``Params`` holding the model's own time step (s): the first one set gives the
    #: step (a fixed step, or the largest an adaptive step can take). Empty: it steps once per
    #: coupling interval
    time_step_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: BaseModel | None = None):
        self.params = params if params is not None else self.Params()

    @classmethod
    def tiling(cls, params: BaseModel, resolution: float) -> tuple[int, int]:
        """(halo cells, block multiple) this model needs of a grid of ``resolution`` (m) split
        over ranks: tile edges then fall on multiples of ``block multiple`` cells (where the
        model keeps a coarser grid of its own)."""
        return cls.halo, 1

    @classmethod
    def reads(cls) -> dict[str, VarSpec]:
        return {n: v for n, v in cls.variables.items() if v.reads}

    @classmethod
    def writes(cls) -> dict[str, VarSpec]:
        return {n: v for n, v in cls.variables.items() if v.writes}

    def initialize(self, state: CityState, ctx: RunContext) -> None:
        """Prepare internal arrays from the state (after interventions are applied)."""
        raise NotImplementedError

    def advance(self, state: CityState, until: float) -> None:
        """Advance with the model's own sub-steps to simulation time ``until`` (s)."""
        raise NotImplementedError

    def max_time_step(self, state: CityState) -> float:
        """The largest stable step this model could take now (s); inf when unconstrained."""
        return float("inf")

    def indicators(self, state: CityState) -> dict[str, Indicator]:
        """Key indicators of the run so far (totals and per district)."""
        return {}

    def finalize(self, state: CityState) -> None:
        """Called once after the last advance (flush statistics into the state)."""

    def checkpoint(self) -> dict:
        """What is not a field of the state: agents, random streams, counters."""
        return {}

    def restore(self, saved: dict) -> None:
        """Undo ``checkpoint``."""
