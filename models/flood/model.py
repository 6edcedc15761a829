"""The flood model: local-inertial 2-D shallow water on the city grid (Bates et al. 2010, with
the theta-weighting of de Almeida et al. 2012), with rain, inflow hydrographs, boundaries,
Green-Ampt infiltration, drainage inlets and green-roof retention; optionally
(``advection: true``) with the advective acceleration of the full shallow-water momentum
equation (first-order upwind, momentum-conservative: Stelling & Duinmeijer 2003), for
rapidly varied flow such as dam breaks.

This class is the model's protocol (``metrotwin.run.model.Model``): its variables
(``variables.py``), parameters (``params.py``), tiling and restart. The work is done by the
solver wiring (``solver.py``: the kernel arrays, the time step, the sweeps of ``kernels.py``;
or its CUDA twin, as ``device.py`` chooses), the volume accounts (``accounts.py``) and the indicators (``indicators.py``).

>>> import numpy as np
>>> from metrotwin.run.testing import make_grid, make_state, make_context
>>> from metrotwin.models.flood import FloodModel
>>> grid = make_grid(4, 5, resolution=10.0)
>>> state = make_state(grid)
>>> ctx = make_context(grid, duration=60, forcing={"rainfall": {"hyetograph": [[0, 36.0]]}})
>>> model = FloodModel(FloodModel.Params(infiltration=False))
>>> for name, spec in model.writes().items():  # what the coupler allocates
...     _ = state.add_variable(name, spec) if spec.mapping == "grid" else None
>>> model.initialize(state, ctx)
>>> model.advance(state, 10.0)
>>> round(float(state["flood_water_thickness"].mean()), 6)  # 36 mm/h for 10 s = 0.1 mm
0.0001
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from metrotwin.city.variables import VarSpec
from metrotwin.models.flood.accounts import VolumeAccounts
from metrotwin.models.flood.device import build_solver
from metrotwin.models.flood.boundaries import SIDES
from metrotwin.models.flood.indicators import FloodIndicators
from metrotwin.models.flood.params import FloodError, Params
from metrotwin.models.flood.variables import VARIABLES
from metrotwin.results.indicators import Indicator
from metrotwin.run.model import Model


class FloodModel(Model):
    """Urban pluvial and fluvial flooding with the local-inertial shallow-water equations.

    References
    ----------
    Bates, Horritt & Fewtrell (2010) J. Hydrol. 387:33, doi:10.1016/j.jhydrol.2010.03.027;
    de Almeida, Bates, Freer & Souvignet (2012) WRR 48:W05528, doi:10.1029/2011WR011570;
    Stelling & Duinmeijer (2003) IJNMF 43:1329, doi:10.1002/fld.537 (advection);
    Green & Ampt (1911) J. Agric. Sci. 4:1, doi:10.1017/S0021859600001441.
    """

    name: ClassVar[str] = "flood"
    # A cell's new depth needs its faces after the limiter of the neighbour, which needs that
    # neighbour's far face, whose theta-weighting reads the face beyond: 2 cells of halo, with
    # every face of the tile exchanged (see ``exchanged`` in ``solver.py``).
    # The advection term (``advection: true``) reads the velocity of the face beyond that one
    # too, which needs the depth of the cell beyond: 3 cells. A sweep of k steps between two
    # exchanges (``steps_per_sweep`` with a fixed step) needs 2k cells (see ``tiling``).
    halo: ClassVar[int] = 3
    # README "Capacity": ~0.45 KiB per cell. Time: the demo (18,000 cells, 6 h, >= 2,160
    # steps) takes 21 s of flood, <= 5e-7 s per cell-step; large grids run far faster (the
    # kernels: 262-297 M cell-updates/s on Zen 4), the CFL step is often below max_time_step
    memory_per_cell_bytes: ClassVar[float] = 0.45 * 1024
    seconds_per_cell_step: ClassVar[float] = 2e-7
    time_step_fields: ClassVar[tuple[str, ...]] = ("fixed_time_step", "max_time_step")
    Params: ClassVar[type[BaseModel]] = Params

    #: default steps per sweep on an unsplit grid and on the tiles of a split one: on a
    #: 1000 x 1000 grid (one core, AMD EPYC Zen 4) 4, 8 and 16 steps ran 262, 286 and 297 M
    #: cell-updates/s; on a tile, 8 keeps the redundant work on the halo (2 cells per step)
    #: moderate: 13 % of a 500 x 500 tile
    DEFAULT_SWEEP: ClassVar[int] = 16
    DEFAULT_TILE_SWEEP: ClassVar[int] = 8

    @classmethod
    def tiling(cls, params, resolution: float) -> tuple[int, int]:
        """3 cells of halo with the advection term, 2 per step of a tile's sweep without."""
        return (3 if params.advection else 2 * cls._sweep_length(params, split=True)), 1

    @classmethod
    def _sweep_length(cls, params, split: bool) -> int:
        """Steps per sweep: ``steps_per_sweep`` (default ``DEFAULT_SWEEP``, or
        ``DEFAULT_TILE_SWEEP`` on a ``split`` grid) with a fixed step and no advection (whose
        accelerations are computed between steps), else 1."""
        if params.fixed_time_step is None or params.advection:
            return 1
        if params.steps_per_sweep is not None:
            return params.steps_per_sweep
        return cls.DEFAULT_TILE_SWEEP if split else cls.DEFAULT_SWEEP

    def _steps_per_sweep(self, dec) -> int:
        """``_sweep_length``, within what the tile's halo allows (2 cells per step) when it
        has neighbours: a wider halo exchanged less often gives the same numbers."""
        if all(dec.is_boundary(side) for side in SIDES):
            return self._sweep_length(self.params, split=False)
        return max(1, min(self._sweep_length(self.params, split=True), dec.halo // 2))

    variables: ClassVar[dict[str, VarSpec]] = VARIABLES

    def initialize(self, state, ctx) -> None:
        """Build the solver, the accounts and the indicators on ``state`` (every variable the
        model writes allocated by the coupler: ``variables``)."""
        missing = [name for name, spec in self.writes().items()
                   if name not in state and all(d in state.ds.sizes for d in spec.dims)]
        if missing:
            raise FloodError(
                f"the state lacks the flood model's output variable(s) {', '.join(missing)}: "
                "the coupler allocates every declared variable before initialize "
                "(Coupler.allocate)"
            )
        self.state = state
        self.solver = build_solver(self.params, state, ctx,
                                   self._steps_per_sweep(ctx.decomposition))
        solver = self.solver
        self.accounts = VolumeAccounts(state, ctx, solver.active, solver.own_active, solver.area)
        solver.accounts = self.accounts
        self.accounts.start(solver.h)
        solver.update_advection()
        self.flood_indicators = FloodIndicators(state, ctx, solver.owned, solver.active,
                                                solver.area)
        self._write_coupling(state)

    # the solver's counters, for diagnostics and tests
    steps = property(lambda self: self.solver.steps, doc="steps taken since the start")
    limited = property(lambda self: self.solver.limited,
                       doc="cell-steps where the outflow limiter acted")
    steps_per_sweep = property(lambda self: self.solver.steps_per_sweep,
                               doc="steps per sweep through memory")
    qx = property(lambda self: self.solver.qx, doc="x-face unit discharges (m2/s)")
    qy = property(lambda self: self.solver.qy, doc="y-face unit discharges (m2/s)")

    def max_time_step(self, state=None) -> float:
        return self.solver.max_time_step()

    def advance(self, state, until: float) -> None:
        self.solver.advance(until)
        self.solver.sync_state()
        self._write_coupling(state)

    def _write_coupling(self, state) -> None:
        """Fields other models read, and the peak flooded volume, at each coupling time."""
        self.solver.write_speed(state)
        self.flood_indicators.sample(state, self.solver.h)

    def volume_balance(self) -> dict[str, float]:
        """Volumes (m3) since the start: every account, storage, and the relative error.
        Every total is an exact sum over the owned cells: the same on any number of ranks."""
        self.solver.sync_state()
        return self.accounts.balance(self.solver.h)

    def indicators(self, state) -> dict[str, Indicator]:
        return self.flood_indicators.indicators(
            self.solver.statistics.depth_max, self.params.door_depth, self.volume_balance(),
            self.solver.limited,
        )

    def finalize(self, state) -> None:
        self._write_coupling(state)

    # -- restart --------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        """The global (reduced) part of the state; the per-cell part is in state variables."""
        return {**self.solver.checkpoint(), **self.accounts.checkpoint(),
                **self.flood_indicators.checkpoint()}

    def restore(self, saved: dict) -> None:
        """Continue from ``checkpoint()`` and the state variables (restored by then, over
        this rank's whole window, halo included)."""
        self.accounts.restore(saved)
        self.solver.restore(saved)
        self.flood_indicators.restore(saved)
