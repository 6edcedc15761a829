"""The flood model: local-inertial 2-D shallow water on the city grid (Bates et al. 2010, with
the theta-weighting of de Almeida et al. 2012), with rain, inflow hydrographs, boundaries,
Green-Ampt infiltration, drainage inlets and green-roof retention; optionally
(``advection: true``) with the advective acceleration of the full shallow-water momentum
equation (first-order upwind, momentum-conservative: Stelling & Duinmeijer 2003), for
rapidly varied flow such as dam breaks.

The numerics are in ``kernels.py``; this class owns the time loop, the choice of the step,
the validation of its parameters and the reads and writes of the shared state.

>>> import numpy as np
>>> from metrotwin.run.testing import make_grid, make_state, make_context
>>> from metrotwin.models.flood import FloodModel
>>> grid = make_grid(4, 5, resolution=10.0)
>>> state = make_state(grid)
>>> ctx = make_context(grid, duration=60, forcing={"rainfall": {"hyetograph": [[0, 36.0]]}})
>>> model = FloodModel(FloodModel.Params(infiltration=False))
>>> model.initialize(state, ctx)
>>> model.advance(state, 10.0)
>>> round(float(state["flood_water_thickness"].mean()), 6)  # 36 mm/h for 10 s = 0.1 mm
0.0001
"""

from __future__ import annotations

import math
from functools import cache
from importlib.resources import files
from typing import ClassVar, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from metrotwin.city import landcover
from metrotwin.errors import ModelError
from metrotwin.results.indicators import Indicator
from metrotwin.run.model import Model
from metrotwin.models.flood import kernels
from metrotwin.scenario.schema import StrictModel
from metrotwin.models.flood.boundaries import (
    SIDES,
    Boundary,
    Inflow,
    parse_boundaries,
    series_at,
    series_integral,
)
from metrotwin.city.network import max_along_links
from metrotwin.city.variables import VarSpec

G = 9.81  # gravitational acceleration (m s-2)
MM_H = 1.0 / 1000.0 / 3600.0  # (m/s) per (mm/h)
_BC_CODE = {"closed": kernels.BC_CLOSED, "free": kernels.BC_FREE, "stage": kernels.BC_STAGE,
            "stage_hydrograph": kernels.BC_STAGE}


class FloodError(ModelError):
    """The flood model cannot run with this input (names the parameter, value, valid range)."""


@cache
def parameter_table() -> dict[str, dict]:
    """Per land-cover class parameters of the flood model (``landcover.yaml``, with sources)."""
    text = files("metrotwin.models.flood").joinpath("landcover.yaml").read_text()
    table = yaml.safe_load(text)
    for name, row in table.items():
        landcover.code_of(name)
        if not row["manning_n"] > 0:
            raise FloodError(f"landcover.yaml: manning_n of {name!r} must be > 0, got {row['manning_n']}")
    return table


class InitialWater(StrictModel):
    """Water present at the start: ``depth`` (m) over the bed of every cell of ``land_cover``
    (by default the open-water class, e.g. a river), or a flat ``level`` (m) there."""

    model_config = ConfigDict(extra="forbid")
    land_cover: str = Field("water", description="class whose cells start filled")
    depth: float | None = Field(None, gt=0, le=50, description="depth above the bed (m)")
    level: float | None = Field(
        None, ge=-500, le=9000, description="water-surface elevation (m), within the ground's bounds"
    )

    @field_validator("land_cover")
    @classmethod
    def _class(cls, value):
        landcover.code_of(value)
        return value

    @model_validator(mode="after")
    def _one(self):
        if (self.depth is None) == (self.level is None):
            raise ValueError("initial_water: give exactly one of 'depth' or 'level'")
        return self


class FloodParams(StrictModel):
    """Scenario parameters of the flood model (``models: flood:``)."""

    model_config = ConfigDict(extra="forbid")

    buildings: Literal["raised", "closed"] = Field(
        "raised", description="buildings as raised blocks of the DSM, or cells closed to flow"
    )
    # In 2-D the theta-weighted scheme tolerates a smaller Courant number than Bates et al.'s
    # alpha = 0.7: a checkerboard of depths grows for alpha > ~0.55 at theta = 0.7 and for
    # alpha > ~0.65 at theta = 0.9 (tests/models/flood/test_flood_kernels.py); hence 0.9/0.6.
    theta: float = Field(0.9, ge=0.5, le=1, description="de Almeida et al. (2012) weighting (1 = Bates 2010)")
    cfl: float = Field(0.6, gt=0, le=0.7, description="Courant number alpha of dt = alpha dx / sqrt(g h_max)")
    max_time_step: float = Field(10.0, ge=1e-3, le=3600, description="largest step (s)")
    # Off by default: the local-inertial equations (Bates et al. 2010) are what the demo and
    # the EA benchmarks are tuned on, and the moving-front analytic solution (Hunter et al.
    # 2005) is one of them (with advection its RMSE is 3.02 mm, above the 3 mm); on,
    # the scheme converges to the dam-break and Thacker solutions and to MacDonald's channel
    # with rain (tests/models/flood/test_flood_validation.py), for one more pass over the
    # faces per step (the demo's flood time: ~1.5x). Switch it on for rapidly varied flow
    # (dam breaks, steep streets near Froude 1).
    advection: bool = Field(
        False, description="add the advective (convective) acceleration d(qu)/dx + d(qv)/dy to "
        "the momentum (first-order upwind, momentum-conservative; the time step then also "
        "follows the flow speed)"
    )
    advection_min_depth: float = Field(
        1e-3, gt=0, le=1, description="with advection: faces shallower than this (m) carry no "
        "advective acceleration and their speed does not limit the step (thin films)"
    )
    fixed_time_step: float | None = Field(None, ge=1e-3, le=3600, description="force this step (s), no CFL")
    # Temporal blocking (see ``kernels.local_inertial_steps``): the same numbers as one step
    # per sweep, with 1/k of the memory traffic. Only with a fixed step: under the Courant
    # condition a step needs the depths at the end of the one before.
    steps_per_sweep: int | None = Field(
        None, ge=1, le=32, description="with fixed_time_step: steps advanced in one sweep "
        "through memory (identical results, less memory traffic); a tile then needs 2 cells "
        "of halo per step. Default: 16 on an unsplit grid, 8 on tiles (a 16-cell halo)"
    )
    min_flow_depth: float = Field(1e-6, ge=0, le=0.1, description="faces shallower carry no flow (m)")
    # 5 cm: on shallower water |q|/h is dominated by transients (a film running down a step
    # whose face carries the depth of the cell above): the demo's maximum reached 35 m/s
    speed_min_depth: float = Field(0.05, ge=0, le=1, description="speed (snapshot and maximum) is "
                                   "reported where the water is deeper than this (m), else 0")
    duration_threshold: float = Field(0.1, ge=0, le=10, description="depth of the duration statistic (m)")
    door_depth: float = Field(0.1, gt=0, le=10, description="water at the door: depth next to a building (m)")
    infiltration: bool = Field(True, description="Green-Ampt infiltration on pervious land cover")
    drainage: bool = Field(True, description="drainage inlets remove up to drainage_capacity")
    green_roof_retention: bool = Field(True, description="green roofs retain rain up to their storage")
    manning: dict[str, float] = Field(default_factory=dict, description="Manning n per class, overriding the table")
    manning_uniform: float | None = Field(None, gt=0, le=1, description="one Manning n everywhere (s m-1/3)")
    inflows: list[Inflow] = Field(default_factory=list)
    boundaries: dict[str, Boundary] = Field(default_factory=dict, description="per side: closed, free, stage, stage_hydrograph")
    initial_water: InitialWater | None = None

    @field_validator("manning")
    @classmethod
    def _manning(cls, value):
        for name, n in value.items():
            landcover.code_of(name)
            if not (isinstance(n, (int, float)) and 0 < n <= 1):
                raise ValueError(f"manning[{name}] must be in (0, 1] s m-1/3, got {n!r}")
        return value

    @field_validator("boundaries", mode="before")
    @classmethod
    def _boundaries(cls, value):
        return parse_boundaries(value)


class _Sum:
    """A running float64 total with Neumaier's compensated summation."""

    def __init__(self, value=0.0, comp=0.0):
        self.value, self.comp = float(value), float(comp)

    def add(self, x: float) -> None:
        x = float(x)
        t = self.value + x
        if abs(self.value) >= abs(x):
            self.comp += (self.value - t) + x
        else:
            self.comp += (x - t) + self.value
        self.value = t

    @property
    def total(self) -> float:
        return self.value + self.comp


_STAT = {"dtype": "float32", "output": True}
#: depths a published run may hold (m): the input bound of any water layer (layer_bounds)
DEPTH_RANGE = (0.0, 100.0)
#: speeds a published run may hold (m/s): 10 times the fastest urban flood currents reported
#: (~5 m/s in steep streets); a larger one is a blow-up, not a flood
SPEED_RANGE = (0.0, 50.0)
_ACCOUNTS = ("rain", "inflow", "boundary_out", "infiltration", "drainage", "retention")
#: volume accounts kept per cell (state variables ``flood_<key>_depth``, m): their totals are
#: exact sums over the owned cells, so they do not depend on the decomposition
_CELL_ACCOUNTS = {
    "gridded_rain": "of gridded rain fallen on the cell",
    "boundary_out": "that left the domain through the boundary faces of the cell (net)",
    "infiltration": "infiltrated into the soil of the cell",
    "drainage": "taken by the drainage inlets of the cell",
    "retention": "retained by the green roof of the cell",
}


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
    # every face of the tile exchanged (see ``exchanged`` in ``initialize``).
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
    Params: ClassVar[type[BaseModel]] = FloodParams

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

    variables: ClassVar[dict[str, VarSpec]] = {
        "surface_altitude": VarSpec("in", "m", "ground elevation", "surface_altitude"),
        "building_height": VarSpec("in", "m", "height of the building above ground"),
        "building_id": VarSpec("in", "1", "building identifier", dtype="int32"),
        "land_cover": VarSpec("in", "1", "land-cover class", dtype="int16"),
        "district": VarSpec("in", "1", "district of the cell", dtype="int16"),
        "drainage_capacity": VarSpec("in", "mm h-1", "drainage inlet capacity"),
        "closed_cell": VarSpec("in", "1", "cell excluded from flow", dtype="uint8", optional=True),
        "flood_water_thickness": VarSpec("out", "m", "depth of flood water", "flood_water_thickness",
                                         valid_range=DEPTH_RANGE),
        "flood_water_speed": VarSpec("out", "m s-1", "speed of flood water", "flood_water_speed",
                                     valid_range=SPEED_RANGE),
        "link_max_flood_depth": VarSpec(
            "out", "m", "maximum flood water depth along the road link", mapping="link"
        ),
        "flood_depth_max": VarSpec(
            "out", "m", "maximum depth of flood water since the start", "flood_water_thickness",
            attrs={"cell_methods": "time: maximum"}, valid_range=DEPTH_RANGE, **_STAT,
        ),
        "flood_speed_max": VarSpec(
            "out", "m s-1", "maximum speed of flood water since the start", "flood_water_speed",
            attrs={"cell_methods": "time: maximum"}, valid_range=SPEED_RANGE, **_STAT,
        ),
        "time_of_maximum_flood_depth": VarSpec(
            "out", "s", "time of the maximum depth, seconds since the start of the period",
            "time_of_maximum_flood_depth", fill=np.nan, **_STAT,
        ),
        "flood_duration_above_threshold": VarSpec(
            "out", "s", "time the depth exceeded the duration threshold",
            "flood_water_duration_above_threshold", **_STAT,
        ),
        # per-cell solver state kept in the state so that checkpoints carry it (any layout)
        **{f"flood_unit_discharge_{side}_face": VarSpec(
            "out", "m2 s-1", f"unit discharge across the {side} face of the cell "
            f"({'positive east' if side in ('west', 'east') else 'positive south'})", output=False,
        ) for side in SIDES},
        **{f"flood_{key}_depth": VarSpec(
            "out", "m", f"cumulative depth of water {text} since the start", output=False,
        ) for key, text in _CELL_ACCOUNTS.items()},
    }

    # -- set-up ---------------------------------------------------------------------------
    def initialize(self, state, ctx) -> None:
        p = self.params
        self.ctx, self.state = ctx, state
        grid = state.grid
        dec = ctx.decomposition
        self.owned = dec.owned  # local slices of the cells this rank owns (the rest is halo)
        rows, cols = self.owned
        self.owned_bounds = np.array([rows.start, rows.stop, cols.start, cols.stop], dtype=np.int64)
        self.dx = float(grid.resolution)
        self.area = self.dx * self.dx
        for name, spec in self.writes().items():
            if spec.mapping == "link" and "link" not in state.ds.sizes:
                continue
            state.add_variable(name, spec)
        self.h = state["flood_water_thickness"]
        if self.h.dtype != np.float64:
            raise FloodError(f"flood_water_thickness must be float64, got {self.h.dtype}")
        ground = np.asarray(state["surface_altitude"], dtype=float)
        bh = np.nan_to_num(np.asarray(state["building_height"], dtype=float))
        cover = state["land_cover"]

        closed = np.zeros(grid.shape, dtype=bool)
        if "closed_cell" in state:
            closed |= state["closed_cell"] != 0
        holes = ~np.isfinite(ground)
        if holes.any():
            ctx.logger.warning(
                "flood: the DEM (surface_altitude) has %d no-data cells; they are closed to flow",
                int(holes.sum()),
            )
            closed |= holes
        if p.buildings == "closed":
            closed |= bh > 0
        if closed.all():
            raise FloodError("every cell of the domain is closed to flow; nothing to simulate")
        self.active = (~closed).astype(np.uint8)
        self.own_active = np.zeros(grid.shape, dtype=bool)
        self.own_active[self.owned] = ~closed[self.owned]
        self.z = np.where(closed, 0.0, ground + (bh if p.buildings == "raised" else 0.0))

        # roughness and losses from the land-cover table
        table = parameter_table()
        col = lambda key: {k: float(v[key]) for k, v in table.items()}  # noqa: E731
        manning = {**col("manning_n"), **p.manning}
        try:
            n = landcover.lookup(manning, cover, what="Manning n")
            ks = landcover.lookup(col("ks"), cover, what="ks") * MM_H
            suction = landcover.lookup(col("suction"), cover, what="suction") / 1000.0
            suction *= landcover.lookup(col("moisture_deficit"), cover, what="moisture_deficit")
            retention = landcover.lookup(col("retention"), cover, what="retention") / 1000.0
        except ValueError as err:
            raise FloodError(f"land_cover: {err}") from None
        if p.manning_uniform is not None:
            n = np.full(grid.shape, p.manning_uniform)
        self.fric = G * n * n
        drain = np.nan_to_num(np.asarray(state["drainage_capacity"], dtype=float)) * MM_H
        if np.any(drain < 0):
            raise FloodError("drainage_capacity has negative values; it must be >= 0 mm/h")
        ks = ks if p.infiltration else np.zeros_like(ks)
        drain = drain if p.drainage else np.zeros_like(drain)
        retention = retention if p.green_roof_retention else np.zeros_like(retention)
        lossy = ((ks > 0) | (drain > 0) | (retention > 0)) & ~closed
        self.loss_cells = np.flatnonzero(lossy).astype(np.int64)
        sel = lossy.ravel()
        self.ks, self.suction = ks.ravel()[sel].copy(), suction.ravel()[sel].copy()
        self.drain, self.store_cap = drain.ravel()[sel].copy(), retention.ravel()[sel].copy()
        self.infiltrated = np.zeros(self.loss_cells.size)
        self.stored = np.zeros(self.loss_cells.size)
        self.drained = np.zeros(self.loss_cells.size)
        self.cell_sums = {k: state[f"flood_{k}_depth"] for k in _CELL_ACCOUNTS}
        for arr in self.cell_sums.values():
            arr[...] = 0.0

        self.inflow_cells = [self._inflow_cells(inflow, grid, dec) for inflow in p.inflows]
        # the kernel adds the inflows row by row: their cells sorted, stably (a cell fed by
        # several inflows gets them in their order)
        entries = np.concatenate([np.zeros(0, np.int64), *(c for c, _ in self.inflow_cells)])
        self.inflow_order = np.argsort(entries, kind="stable")
        self.inflow_entries = entries[self.inflow_order]
        self.steps_per_sweep = self._steps_per_sweep(dec)
        self._setup_boundaries(grid)

        # initial water
        self.h[...] = 0.0
        if p.initial_water is not None:
            iw = p.initial_water
            cells = (cover == landcover.code_of(iw.land_cover)) & ~closed
            depth = iw.depth if iw.depth is not None else np.maximum(iw.level - self.z, 0.0)
            self.h[cells] = (np.zeros(grid.shape) + depth)[cells]
        self.stats = {k: state[k] for k in ("flood_depth_max", "flood_speed_max",
                                             "time_of_maximum_flood_depth",
                                             "flood_duration_above_threshold")}
        for key, arr in self.stats.items():
            if arr.dtype != np.float32:
                raise FloodError(f"{key} must be float32, got {arr.dtype}")
            arr[...] = np.nan if key == "time_of_maximum_flood_depth" else 0.0
        self.stats["flood_depth_max"][...] = self.h
        self.stats["time_of_maximum_flood_depth"][self.h > 0] = 0.0

        self.qx = np.zeros((grid.ny, grid.nx + 1), kernels.DISCHARGE_DTYPE)
        self.qy = np.zeros((grid.ny + 1, grid.nx), kernels.DISCHARGE_DTYPE)
        self.faces = kernels.face_coefficients(self.z, self.fric, self.active)
        # the halo exchange fills an array's cells around the owned block; a face array is
        # exchanged twice, as west (north) faces and as east (south) faces of the cells, so
        # that every face of the tile, its outermost ones included, comes from its owner
        self.exchanged = (self.h, self.qx, self.qx[:, 1:], self.qy, self.qy[1:, :])
        self.no_rain = np.zeros((1, 1, 1))
        # advective accelerations of the faces (m2 s-2) and the face velocities (m/s), from
        # the state at the end of each step (after the halo exchange), for the next step
        self.adv_x = np.zeros(self.qx.shape) if p.advection else None
        self.adv_y = np.zeros(self.qy.shape) if p.advection else None
        self.u_face = np.zeros(self.qx.shape) if p.advection else None
        self.v_face = np.zeros(self.qy.shape) if p.advection else None
        self.wave_speed = 0.0
        self.t = 0.0
        self.h_max = float(ctx.global_max(float(self.h[self.owned].max())))
        self.limited = 0
        self._limited_here = 0
        self.steps = 0
        self.sums = {k: _Sum() for k in ("rain", "inflow")}  # rain: uniform depth (m) per cell
        self.n_active = ctx.global_sum(state.owned(self.active).astype(float))
        self.storage0 = self._storage()
        self._update_advection()
        self._setup_indicators(state)
        self._write_coupling(state)

    def _inflow_cells(self, inflow: Inflow, grid, dec) -> tuple[np.ndarray, int]:
        """Local flat indices of the cells of this rank's window (owned and halo) an inflow
        feeds, and how many cells it feeds in the whole domain (its points are checked
        against the global grid, not this rank's tile)."""
        whole = dec.global_grid(grid)
        res = grid.resolution
        points = [inflow.point] if inflow.point is not None else inflow.line
        xs, ys = np.array(points, dtype=float).T
        inside = whole.contains(xs, ys)
        if not inside.all():
            w, s, e, n = whole.bounds
            bad = points[int(np.flatnonzero(~inside)[0])]
            raise FloodError(
                f"inflow {inflow.name!r}: point ({bad[0]:g}, {bad[1]:g}) lies outside the domain "
                f"x {w:g}..{e:g}, y {s:g}..{n:g} (m, {grid.crs})"
            )
        if inflow.point is not None:
            row, col = whole.index_of(xs, ys)
            cells = np.atleast_1d(row * whole.nx + col)
        else:  # every cell the polyline crosses, sampled every quarter cell
            parts = []
            for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
                k = max(2, int(np.ceil(4 * np.hypot(x1 - x0, y1 - y0) / res)) + 1)
                t = np.linspace(0.0, 1.0, k)
                row, col = whole.index_of(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
                row, col = np.clip(row, 0, whole.ny - 1), np.clip(col, 0, whole.nx - 1)
                parts.append(row * whole.nx + col)
            cells = np.unique(np.concatenate(parts))
        # the water goes into every copy of the cells on this rank, halo included, so that
        # the step sees the same depths on the owner and on its neighbours
        lr, lc = dec.glb_to_loc(*np.divmod(cells, whole.nx))
        here = (lr >= 0) & (lr < grid.ny) & (lc >= 0) & (lc < grid.nx)
        local = (lr[here] * grid.nx + lc[here]).astype(np.int64)
        closed = self.ctx.global_max(int(not self.active.ravel()[local].all()))
        if closed:
            raise FloodError(f"inflow {inflow.name!r} falls on cells closed to flow (buildings or no-data)")
        return local, int(cells.size)

    def _setup_boundaries(self, grid) -> None:
        self.bc_type = np.zeros(4, dtype=np.int64)
        self.bc_value = np.zeros(4)
        self.bc = [self.params.boundaries.get(side, Boundary()) for side in SIDES]
        dec = self.ctx.decomposition
        for k, (side, bc) in enumerate(zip(SIDES, self.bc)):
            # a side of the tile that faces another tile is no boundary: closed in the kernel,
            # its faces come from the halo exchange
            self.bc_type[k] = _BC_CODE[bc.type] if dec.is_boundary(side) else kernels.BC_CLOSED
            if bc.type == "free":
                self.bc_value[k] = bc.slope if bc.slope is not None else self._edge_slope(side)
            elif bc.type == "stage":
                self.bc_value[k] = bc.stage

    def _edge_slope(self, side: str) -> float:
        """Mean outward bed slope along a side (from the two outermost cells), >= 0.001; a
        global mean (exact sums over the owned edge cells of every rank)."""
        diff = np.zeros(0)
        if self.ctx.decomposition.is_boundary(side):
            rows, cols = self.owned
            z = np.where(self.active > 0, self.z, np.nan)
            edge, inner = {"north": (z[0, cols], z[1, cols]), "south": (z[-1, cols], z[-2, cols]),
                           "west": (z[rows, 0], z[rows, 1]),
                           "east": (z[rows, -1], z[rows, -2])}[side]  # fmt: skip
            diff = inner - edge
            diff = diff[np.isfinite(diff)]
        count = self.ctx.global_sum(np.ones(diff.size))
        slope = self.ctx.global_sum(diff) / count / self.dx if count > 0 else 0.0
        return float(max(slope, 1e-3))

    def _setup_indicators(self, state) -> None:
        """Static lookups for the indicators (over the owned cells): district per cell, the
        cells at the doors, each building's district, the road links' owned cells."""
        own = np.zeros(state.grid.shape, dtype=bool)
        own[self.owned] = True
        self.own = own
        self.district = np.asarray(state["district"]).astype(np.int64)
        self.names = state.district_names
        self.flood_cells = (self.active > 0) & (state["land_cover"] != landcover.code_of("water"))
        self.flood_own = self.flood_cells & own
        self.district_own = {name: self.flood_own & (self.district == code)
                             for code, name in self.names.items()}  # fmt: skip
        bid = np.asarray(state["building_id"])
        ny, nx = bid.shape
        pairs = []
        for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            src = bid[max(0, -dr): ny - max(0, dr), max(0, -dc): nx - max(0, dc)]
            rows, cols = np.nonzero(src > 0)
            rows, cols = rows + max(0, -dr), cols + max(0, -dc)
            nr, nc = rows + dr, cols + dc
            ok = (bid[nr, nc] == 0) & (self.active[nr, nc] > 0) & own[nr, nc]
            pairs.append(np.stack([nr[ok] * nx + nc[ok], bid[rows[ok], cols[ok]]], axis=1))
        pairs = np.unique(np.concatenate(pairs), axis=0) if pairs else np.zeros((0, 2), int)
        self.door_cell, self.door_building = pairs[:, 0], pairs[:, 1]
        # a building's district: that of its first cell in the global row-major order
        gidx = state.global_cell_index()[own]
        ids = bid[own]
        order = np.lexsort((gidx, ids))
        ids, gidx, dist = ids[order], gidx[order], self.district[own][order]
        first = np.r_[True, ids[1:] != ids[:-1]] & (ids > 0)
        best = {}
        for part in self.ctx.decomposition.gather_object(
                list(zip(ids[first].tolist(), gidx[first].tolist(), dist[first].tolist()))):
            for b, g, d in part:
                if b not in best or g < best[b][0]:
                    best[b] = (g, d)
        self.building_district = {b: d for b, (g, d) in best.items()}
        self.peak_volume = 0.0
        self.peak_volume_by = {name: 0.0 for name in self.names.values()}
        self.link_csr = None
        if "link_cell_start" in state and "link_max_flood_depth" in state:
            start, index = state["link_cell_start"], state["link_cell_index"]
            keep = own.ravel()[index]
            kept = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
            self.link_csr = (kept[start], index[keep])  # each link's owned cells only

    # -- time stepping --------------------------------------------------------------------
    def max_time_step(self, state=None) -> float:
        p = self.params
        if p.fixed_time_step is not None:
            return p.fixed_time_step
        if p.advection:  # Courant number on sqrt(g h) + 1.5 max(|u|, |v|) (see kernels)
            if self.wave_speed <= 0:
                return p.max_time_step
            return min(p.max_time_step, p.cfl * self.dx / self.wave_speed)
        if self.h_max <= 0:
            return p.max_time_step
        return min(p.max_time_step, p.cfl * self.dx / math.sqrt(G * self.h_max))

    def _update_advection(self) -> None:
        """With advection: the advective accelerations of the faces for the next step, and
        the largest sqrt(g h) + 1.5 max(|u|, |v|) of the domain's cells (m/s) for its Courant
        condition (``kernels.ADVECTION_SPEED_WEIGHT``; a global maximum over the owned cells:
        the same on any number of ranks). From the state after the halo exchange, so that a
        restart recomputes them bit-identically."""
        if self.params.advection:
            self.wave_speed = float(self.ctx.global_max(kernels.advection_at_faces(
                self.h, self.z, self.qx, self.qy, self.u_face, self.v_face, self.adv_x,
                self.adv_y, self.owned_bounds, dx=self.dx, g=G,
                h_min=self.params.advection_min_depth,
            )))

    def _plan_sweep(self, until: float) -> list[tuple[float, float]]:
        """The (start, end) times (s) of the steps of the next sweep: one step under the
        Courant condition (its step needs the depths of the one before), up to
        ``steps_per_sweep`` with a fixed step; never past ``until``."""
        plan, t = [], self.t
        while t < until and len(plan) < self.steps_per_sweep:
            dt = self.ctx.global_min(min(self.max_time_step(), until - t))
            if until - t - dt < 1e-9 * dt:  # land exactly on the coupling time
                dt = until - t
            t1 = t + dt if dt < until - t else until
            plan.append((t, t1))
            t = t1
        return plan

    def _sweep_forcing(self, plan):
        """The per-step inputs of the sweep over ``plan``: rain depths (m; floats, or arrays
        when gridded), the inflow depth of every entry of ``inflow_entries`` (m, steps x
        entries) and the boundary values (steps x 4; stage hydrographs at mid-step)."""
        forcing = self.ctx.forcing
        rains = [forcing.rain_depth(t0, t1) if forcing.has_rain else 0.0 for t0, t1 in plan]
        inflow_depth = np.empty((len(plan), self.inflow_entries.size))
        bc_values = np.empty((len(plan), 4))
        for s, ((t0, t1), rain) in enumerate(zip(plan, rains)):
            if not isinstance(rain, np.ndarray) and rain < 0:
                raise FloodError(f"negative rain depth {rain} between t={t0} and {t1} s")
            inflow_depth[s] = self._inflow_depths(t0, t1)
            for k, bc in enumerate(self.bc):
                if bc.type == "stage_hydrograph":
                    self.bc_value[k] = series_at(bc.hydrograph, 0.5 * (t0 + t1))
            bc_values[s] = self.bc_value
        return rains, inflow_depth, bc_values

    def advance(self, state, until: float) -> None:
        p = self.params
        gridded_sum = self.cell_sums["gridded_rain"]
        while self.t < until:
            plan = self._plan_sweep(until)
            n = len(plan)
            dts = np.array([t1 - t0 for t0, t1 in plan])
            t_ends = np.array([t1 for _, t1 in plan])
            rains, inflow_depth, bc_values = self._sweep_forcing(plan)
            gridded = isinstance(rains[0], np.ndarray)
            h_max, limited = kernels.local_inertial_steps(
                self.h, self.z, self.fric, self.active, *self.faces, self.qx, self.qy,
                self.stats["flood_depth_max"], self.stats["time_of_maximum_flood_depth"],
                self.stats["flood_duration_above_threshold"], self.stats["flood_speed_max"],
                np.stack(rains) if gridded else self.no_rain, self.inflow_entries, inflow_depth,
                self.loss_cells, self.ks, self.suction, self.infiltrated, self.drain,
                self.store_cap, self.stored, self.drained, self.cell_sums["boundary_out"],
                dt=dts, dx=self.dx, theta=p.theta, g=G, h_min=p.min_flow_depth,
                rain=np.zeros(n) if gridded else np.array(rains, dtype=float),
                gridded_rain=gridded, t_end=t_ends, duration_threshold=p.duration_threshold,
                speed_min_depth=p.speed_min_depth, time_fill=np.nan,
                bc_type=self.bc_type, bc_value=bc_values, owned=self.owned_bounds,
                adv_x=self.adv_x, adv_y=self.adv_y,
            )
            for rain in rains:
                if gridded:
                    gridded_sum += np.where(self.active > 0, rain, 0.0)
                elif rain > 0:
                    self.sums["rain"].add(rain)
            self.ctx.exchange_halos(*self.exchanged)
            self.h_max = float(self.ctx.global_max(h_max))
            self._update_advection()
            if not math.isfinite(self.h_max):
                raise FloodError(f"the solution became non-finite by t={t_ends[-1]:g} s "
                                 f"(dt={dts[-1]:g} s)")
            self._limited_here += int(limited)
            self.steps += n
            self.t = plan[-1][1]
        self.limited += int(self.ctx.global_sum(np.array([float(self._limited_here)])))
        self._limited_here = 0
        self._sync_cell_state()
        self._write_coupling(state)

    def _sync_cell_state(self) -> None:
        """Copy the solver's face discharges and per-lossy-cell totals into the state
        variables (what checkpoints save and the volume accounts sum)."""
        st = self.state
        st["flood_unit_discharge_west_face"][...] = self.qx[:, :-1]
        st["flood_unit_discharge_east_face"][...] = self.qx[:, 1:]
        st["flood_unit_discharge_north_face"][...] = self.qy[:-1, :]
        st["flood_unit_discharge_south_face"][...] = self.qy[1:, :]
        for key, values in (("infiltration", self.infiltrated), ("drainage", self.drained),
                            ("retention", self.stored)):
            self.cell_sums[key].ravel()[self.loss_cells] = values

    def _inflow_depths(self, t0: float, t1: float) -> np.ndarray:
        """The depth (m) each entry of ``inflow_entries`` adds at the start of the step from
        ``t0`` to ``t1`` (s); counts the inflow volume."""
        depths = np.empty(self.inflow_entries.size)
        start = 0
        for inflow, (cells, n_cells) in zip(self.params.inflows, self.inflow_cells):
            volume = series_integral(inflow.hydrograph, t0, t1)
            depths[start:start + cells.size] = max(volume, 0.0) / (n_cells * self.area)
            start += cells.size
            if volume > 0:
                self.sums["inflow"].add(volume)
        return depths[self.inflow_order]

    def _write_coupling(self, state) -> None:
        """Fields other models read, and the peak flooded volume, at each coupling time."""
        kernels.speed_at_cell(self.h, self.qx, self.qy, self.params.speed_min_depth,
                              state["flood_water_speed"])
        if self.link_csr is not None:
            state["link_max_flood_depth"][...] = self.ctx.global_max(
                max_along_links(self.h, *self.link_csr)
            )
        gsum = self.ctx.global_sum
        self.peak_volume = max(self.peak_volume, gsum(self.h[self.flood_own]) * self.area)
        for name, cells in self.district_own.items():
            self.peak_volume_by[name] = max(self.peak_volume_by[name], gsum(self.h[cells]) * self.area)

    # -- accounting and indicators --------------------------------------------------------
    def _storage(self) -> float:
        return self.ctx.global_sum(self.h[self.own_active]) * self.area

    def volume_balance(self) -> dict[str, float]:
        """Volumes (m3) since the start: every account, storage, and the relative error.
        Every total is an exact sum over the owned cells: the same on any number of ranks."""
        self._sync_cell_state()
        gsum, a = self.ctx.global_sum, self.area
        sums = {key: gsum(self.state.owned(self.cell_sums[key])) * a
                for key in ("boundary_out", "infiltration", "drainage", "retention")}  # fmt: skip
        sums["rain"] = (self.n_active * self.sums["rain"].total
                        + gsum(self.state.owned(self.cell_sums["gridded_rain"]))) * a  # fmt: skip
        sums["inflow"] = self.sums["inflow"].total
        storage = self._storage()
        gain = sums["rain"] + sums["inflow"]
        loss = sums["boundary_out"] + sums["infiltration"] + sums["drainage"] + sums["retention"]
        error = abs(storage - self.storage0 - (gain - loss))
        scale = max(gain, storage, self.storage0, abs(sums["boundary_out"]), 1e-300)
        return {**sums, "storage": storage, "storage_initial": self.storage0,
                "relative_error": error / scale}

    def indicators(self, state) -> dict[str, Indicator]:
        p = self.params
        depth_max = self.stats["flood_depth_max"]
        ind = {}
        gsum = self.ctx.global_sum
        for thr in (0.1, 0.3):
            wet = (depth_max > thr).astype(float)  # cells, counted exactly over the owned ones
            ind[f"flooded_area_{int(round(thr * 100)):02d}cm"] = Indicator(
                gsum(wet[self.flood_own]) * self.area, "m2",
                f"area (outside open water) where the maximum depth exceeded {thr:g} m",
                by_district={name: gsum(wet[cells]) * self.area
                             for name, cells in self.district_own.items()},  # fmt: skip
            )
        ind["peak_flood_volume"] = Indicator(
            self.peak_volume, "m3",
            "largest volume of water standing outside open water (sampled at coupling times)",
            by_district=dict(self.peak_volume_by),
        )
        wet_doors = self.door_building[depth_max.ravel()[self.door_cell] > p.door_depth]
        gathered = self.ctx.decomposition.gather_object(np.unique(wet_doors).tolist())
        wet_ids = np.unique(np.array([b for part in gathered for b in part], dtype=np.int64))
        by = {name: 0.0 for name in self.names.values()}
        for b in wet_ids.tolist():
            by[self.names[self.building_district[b]]] += 1.0
        ind["buildings_water_at_door"] = Indicator(
            float(wet_ids.size), "1",
            f"buildings with more than {p.door_depth:g} m of water next to their footprint",
            by_district=by,
        )
        balance = self.volume_balance()
        ind["volume_balance_error"] = Indicator(
            balance["relative_error"], "1",
            "relative error of the water volume balance (storage change vs in - out)",
        )
        for key, text in (("rain", "rain fallen on the domain"), ("inflow", "inflow hydrographs"),
                          ("boundary_out", "net outflow through the domain boundaries"),
                          ("infiltration", "infiltrated into the soil"),
                          ("drainage", "taken by the drainage inlets"),
                          ("retention", "retained on green roofs"),
                          ("storage", "water on the surface at the end")):
            ind[f"volume_{key}"] = Indicator(balance[key], "m3", f"volume {text}")
        ind["limited_cell_steps"] = Indicator(
            float(self.limited), "1", "cell-steps where the outflow limiter acted"
        )
        return ind

    def finalize(self, state) -> None:
        self._write_coupling(state)

    # -- restart --------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        """The global (reduced) part of the state; the per-cell part is in state variables."""
        saved = {"t": self.t, "h_max": self.h_max, "limited": self.limited, "steps": self.steps,
                 "storage0": self.storage0, "peak_volume": self.peak_volume,
                 "bc_value": self.bc_value.copy()}
        for k, s in self.sums.items():
            saved[f"sum_{k}"] = np.array([s.value, s.comp])
        for name, v in self.peak_volume_by.items():
            saved[f"peak_volume_by/{name}"] = v
        return saved

    def restore(self, saved: dict) -> None:
        """Continue from ``checkpoint()`` and the state variables (restored by then, over
        this rank's whole window, halo included)."""
        self.t, self.h_max = float(saved["t"]), float(saved["h_max"])
        self.limited, self.steps = int(saved["limited"]), int(saved["steps"])
        self._limited_here = 0
        self.storage0, self.peak_volume = float(saved["storage0"]), float(saved["peak_volume"])
        st = self.state
        self.qx[:, :-1] = st["flood_unit_discharge_west_face"]
        self.qx[:, -1] = st["flood_unit_discharge_east_face"][:, -1]
        self.qy[:-1, :] = st["flood_unit_discharge_north_face"]
        self.qy[-1, :] = st["flood_unit_discharge_south_face"][-1, :]
        for key, values in (("infiltration", self.infiltrated), ("drainage", self.drained),
                            ("retention", self.stored)):
            values[...] = self.cell_sums[key].ravel()[self.loss_cells]
        self.bc_value[...] = saved["bc_value"]
        self._update_advection()
        for k in self.sums:
            self.sums[k] = _Sum(*np.asarray(saved[f"sum_{k}"], dtype=float))
        for name in self.peak_volume_by:
            self.peak_volume_by[name] = float(saved[f"peak_volume_by/{name}"])
