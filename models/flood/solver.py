"""The solver wiring of the flood model: the arrays the kernels work on, built from the state
(the bed the water sees, roughness, losses, inflows, boundaries, initial water), the choice
of the time step, the per-step forcing of a sweep, and the sweep itself
(``kernels.local_inertial_steps``) with the halo exchange after it."""

from __future__ import annotations

import math

import numpy as np

from metrotwin.city import landcover
from metrotwin.models.flood import advection, kernels
from metrotwin.models.flood.boundaries import SIDES, Boundary, series_at, series_integral
from metrotwin.models.flood.groups import (
    Advection,
    Boundaries,
    Flow,
    Ground,
    Inflows,
    Losses,
    Parameters,
    Statistics,
    Sweep,
)
from metrotwin.models.flood.params import FloodError, parameter_table
from metrotwin.physics import GRAVITY, MM_PER_HOUR

_BC_CODE = {"closed": kernels.BC_CLOSED, "free": kernels.BC_FREE, "stage": kernels.BC_STAGE,
            "stage_hydrograph": kernels.BC_STAGE}
#: the in-solver statistics (state variables, float32), in the order of ``Statistics``
STATISTICS = ("flood_depth_max", "time_of_maximum_flood_depth",
              "flood_duration_above_threshold", "flood_speed_max")


def closed_cells(state, buildings: str, logger):
    """Cells closed to flow: ``closed_cell``, no-data ground (with a warning) and, with
    ``buildings: closed``, the buildings. Refuses a domain with no open cell."""
    closed = np.zeros(state.grid.shape, dtype=bool)
    if "closed_cell" in state:
        closed |= state["closed_cell"] != 0
    holes = ~np.isfinite(np.asarray(state["surface_altitude"], dtype=float))
    if holes.any():
        logger.warning(
            "flood: the DEM (surface_altitude) has %d no-data cells; they are closed to flow",
            int(holes.sum()),
        )
        closed |= holes
    if buildings == "closed":
        closed |= np.nan_to_num(np.asarray(state["building_height"], dtype=float)) > 0
    if closed.all():
        raise FloodError("every cell of the domain is closed to flow; nothing to simulate")
    return closed


def land_cover_parameters(params, cover, shape):
    """Manning's n (s m-1/3), Green-Ampt ks (m/s) and suction (m), and green-roof retention
    (m) per cell, from the land-cover table and the scenario's overrides."""
    table = parameter_table()
    col = lambda key: {k: float(v[key]) for k, v in table.items()}  # noqa: E731
    manning = {**col("manning_n"), **params.manning}
    try:
        n = landcover.lookup(manning, cover, what="Manning n")
        ks = landcover.lookup(col("ks"), cover, what="ks") * MM_PER_HOUR
        suction = landcover.lookup(col("suction"), cover, what="suction") / 1000.0
        suction *= landcover.lookup(col("moisture_deficit"), cover, what="moisture_deficit")
        retention = landcover.lookup(col("retention"), cover, what="retention") / 1000.0
    except ValueError as err:
        raise FloodError(f"land_cover: {err}") from None
    if params.manning_uniform is not None:
        n = np.full(shape, params.manning_uniform)
    return n, ks, suction, retention


def lossy_cells(params, state, ks, suction, retention, closed) -> Losses:
    """The ``Losses`` of the cells where water infiltrates, drains or is retained."""
    drain = np.nan_to_num(np.asarray(state["drainage_capacity"], dtype=float)) * MM_PER_HOUR
    if np.any(drain < 0):
        raise FloodError("drainage_capacity has negative values; it must be >= 0 mm/h")
    ks = ks if params.infiltration else np.zeros_like(ks)
    drain = drain if params.drainage else np.zeros_like(drain)
    retention = retention if params.green_roof_retention else np.zeros_like(retention)
    lossy = ((ks > 0) | (drain > 0) | (retention > 0)) & ~closed
    cells = np.flatnonzero(lossy).astype(np.int64)
    sel = lossy.ravel()
    per_cell = [values.ravel()[sel].copy() for values in (ks, suction, drain, retention)]
    return Losses(cells, per_cell[0], per_cell[1], np.zeros(cells.size), per_cell[2],
                  per_cell[3], np.zeros(cells.size), np.zeros(cells.size))


def inflow_cells(inflow, grid, dec) -> tuple[np.ndarray, int]:
    """Local flat indices of the cells of this rank's window (owned and halo) an inflow
    feeds, and how many cells it feeds in the whole domain (its points are checked against
    the global grid, not this rank's tile)."""
    whole = dec.global_grid(grid)
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
            k = max(2, int(np.ceil(4 * np.hypot(x1 - x0, y1 - y0) / grid.resolution)) + 1)
            t = np.linspace(0.0, 1.0, k)
            row, col = whole.index_of(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
            row, col = np.clip(row, 0, whole.ny - 1), np.clip(col, 0, whole.nx - 1)
            parts.append(row * whole.nx + col)
        cells = np.unique(np.concatenate(parts))
    # the water goes into every copy of the cells on this rank, halo included, so that
    # the step sees the same depths on the owner and on its neighbours
    lr, lc = dec.glb_to_loc(*np.divmod(cells, whole.nx))
    here = (lr >= 0) & (lr < grid.ny) & (lc >= 0) & (lc < grid.nx)
    return (lr[here] * grid.nx + lc[here]).astype(np.int64), int(cells.size)


def compiled_entry(dispatcher, args):
    """The compiled specialisation of the numba ``dispatcher`` for ``args``, to call directly
    with arguments of the same types, or None where numba does not expose it.

    The dispatcher types every argument of every call, and that of an array inside a
    namedtuple costs ~0.8 us (0.07 us as an argument of its own): the ~35 arrays of the sweep's
    groups took ~20 us a call, +17 % of the time of a step on a demo-sized grid (120 x 150
    cells, one step per sweep). The static groups never change, and the solver checks the
    dtypes and layouts of the arrays it builds for each sweep (``_sweep_key``) before it
    calls a specialisation directly: one of other types (an int64 array of end times, from
    an integer coupling time) would be read as the wrong numbers, not refused."""
    try:
        signature = tuple(dispatcher.typeof_pyval(a) for a in args)
        return dispatcher.overloads[signature].entry_point
    except (AttributeError, KeyError):  # another numba: the dispatcher serves every call
        return None


def _sweep_key(inflows, boundaries, sweep) -> tuple:
    """The dtypes, dimensions and C-contiguity of the arrays built for each sweep (the rest
    of the kernel's arguments are the solver's own, built once)."""
    arrays = (inflows.depth, boundaries.value, sweep.dt, sweep.t_end, sweep.rain,
              sweep.rain_grid)
    return tuple((a.dtype.num, a.ndim, a.flags.c_contiguous) for a in arrays)


class Solver:
    """The flood solver on this rank's window of the grid (owned cells and halo): depths
    ``h`` (m, the state's ``flood_water_thickness``), face discharges ``qx``/``qy`` (m2/s),
    the statistics (state variables), time ``t`` (s), ``steps`` taken and ``limited``
    cell-steps. ``accounts`` (``VolumeAccounts``) receives the rain and inflow volumes."""

    def __init__(self, params, state, ctx, steps_per_sweep: int):
        self.params, self.ctx, self.state = params, ctx, state
        grid, dec = state.grid, ctx.decomposition
        self.owned = dec.owned  # local slices of the cells this rank owns (the rest is halo)
        rows, cols = self.owned
        self.owned_bounds = np.array([rows.start, rows.stop, cols.start, cols.stop],
                                     dtype=np.int64)
        self.dx = float(grid.resolution)
        self.area = self.dx * self.dx
        self.steps_per_sweep = steps_per_sweep
        self.h = state["flood_water_thickness"]
        if self.h.dtype != np.float64:
            raise FloodError(f"flood_water_thickness must be float64, got {self.h.dtype}")
        self._setup_ground(state, ctx.logger)
        self._setup_inflows(grid, dec)
        self._setup_boundaries()
        self._setup_water(state)
        self.t, self.steps, self.limited, self._limited_here = 0.0, 0, 0, 0
        self.h_max = float(ctx.global_max(float(self.h[self.owned].max())))
        self.wave_speed = 0.0
        self.accounts = None
        self._sweep_kernel = None  # (the types of the sweep's arrays, its compiled entry)

    # -- set-up ---------------------------------------------------------------------------
    def _setup_ground(self, state, logger) -> None:
        p = self.params
        ground = np.asarray(state["surface_altitude"], dtype=float)
        bh = np.nan_to_num(np.asarray(state["building_height"], dtype=float))
        closed = closed_cells(state, p.buildings, logger)
        self.closed = closed
        self.active = (~closed).astype(np.uint8)
        self.own_active = np.zeros(state.grid.shape, dtype=bool)
        self.own_active[self.owned] = ~closed[self.owned]
        self.z = np.where(closed, 0.0, ground + (bh if p.buildings == "raised" else 0.0))
        n, ks, suction, retention = land_cover_parameters(p, state["land_cover"],
                                                          state.grid.shape)
        self.fric = GRAVITY * n * n
        self.losses = lossy_cells(p, state, ks, suction, retention, closed)
        self.ground = Ground(self.z, self.fric, self.active)
        self.faces = kernels.face_coefficients(self.z, self.fric, self.active)

    def _setup_inflows(self, grid, dec) -> None:
        self.inflow_cells = []
        for inflow in self.params.inflows:
            local, n_cells = inflow_cells(inflow, grid, dec)
            if self.ctx.global_max(int(not self.active.ravel()[local].all())):
                raise FloodError(f"inflow {inflow.name!r} falls on cells closed to flow "
                                 "(buildings or no-data)")
            self.inflow_cells.append((local, n_cells))
        # the kernel adds the inflows row by row: their cells sorted, stably (a cell fed by
        # several inflows gets them in their order)
        entries = np.concatenate([np.zeros(0, np.int64), *(c for c, _ in self.inflow_cells)])
        self.inflow_order = np.argsort(entries, kind="stable")
        self.inflow_entries = entries[self.inflow_order]

    def _setup_boundaries(self) -> None:
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

    def _setup_water(self, state) -> None:
        """The initial water, the statistics, the face discharges and the advection arrays."""
        p, grid = self.params, state.grid
        self.h[...] = 0.0
        if p.initial_water is not None:
            iw = p.initial_water
            cells = (state["land_cover"] == landcover.code_of(iw.land_cover)) & ~self.closed
            depth = iw.depth if iw.depth is not None else np.maximum(iw.level - self.z, 0.0)
            self.h[cells] = (np.zeros(grid.shape) + depth)[cells]
        for key in STATISTICS:
            if state[key].dtype != np.float32:
                raise FloodError(f"{key} must be float32, got {state[key].dtype}")
            state[key][...] = np.nan if key == "time_of_maximum_flood_depth" else 0.0
        self.statistics = Statistics(*(state[key] for key in STATISTICS))
        self.statistics.depth_max[...] = self.h
        self.statistics.time_of_max[self.h > 0] = 0.0
        self.qx = np.zeros((grid.ny, grid.nx + 1), kernels.DISCHARGE_DTYPE)
        self.qy = np.zeros((grid.ny + 1, grid.nx), kernels.DISCHARGE_DTYPE)
        self.flow = Flow(self.h, self.qx, self.qy)
        self.numbers = Parameters(self.dx, p.theta, GRAVITY, p.min_flow_depth,
                                  p.duration_threshold, p.speed_min_depth, np.nan)
        # the halo exchange fills an array's cells around the owned block; a face array is
        # exchanged twice, as west (north) faces and as east (south) faces of the cells, so
        # that every face of the tile, its outermost ones included, comes from its owner
        self.exchanged = (self.h, self.qx, self.qx[:, 1:], self.qy, self.qy[1:, :])
        self.no_rain = np.zeros((1, 1, 1))
        # advective accelerations of the faces (m2 s-2) and the face velocities (m/s), from
        # the state at the end of each step (after the halo exchange), for the next step
        self.advection = (Advection(np.zeros(self.qx.shape), np.zeros(self.qy.shape))
                          if p.advection else None)
        self.u_face = np.zeros(self.qx.shape) if p.advection else None
        self.v_face = np.zeros(self.qy.shape) if p.advection else None

    # -- time stepping --------------------------------------------------------------------
    def max_time_step(self) -> float:
        p = self.params
        if p.fixed_time_step is not None:
            return p.fixed_time_step
        if p.advection:  # Courant number on sqrt(g h) + 1.5 max(|u|, |v|) (see advection)
            if self.wave_speed <= 0:
                return p.max_time_step
            return min(p.max_time_step, p.cfl * self.dx / self.wave_speed)
        if self.h_max <= 0:
            return p.max_time_step
        return min(p.max_time_step, p.cfl * self.dx / math.sqrt(GRAVITY * self.h_max))

    def update_advection(self) -> None:
        """With advection: the advective accelerations of the faces for the next step, and
        the largest sqrt(g h) + 1.5 max(|u|, |v|) of the domain's cells (m/s) for its Courant
        condition (``advection.ADVECTION_SPEED_WEIGHT``; a global maximum over the owned
        cells: the same on any number of ranks). From the state after the halo exchange, so
        that a restart recomputes them bit-identically."""
        if self.advection is not None:
            self.wave_speed = float(self.ctx.global_max(advection.advection_at_faces(
                self.h, self.z, self.qx, self.qy, self.u_face, self.v_face,
                self.advection.adv_x, self.advection.adv_y, self.owned_bounds, dx=self.dx,
                g=GRAVITY, h_min=self.params.advection_min_depth,
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
                self.accounts.add_inflow(volume)
        return depths[self.inflow_order]

    def _sweep_forcing(self, plan):
        """The per-step inputs of the sweep over ``plan``: rain depths (m; floats, or arrays
        when gridded), the ``Inflows`` and the ``Boundaries`` (stage hydrographs at
        mid-step)."""
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
        return (rains, Inflows(self.inflow_entries, inflow_depth),
                Boundaries(self.bc_type, bc_values, self.accounts.cells["boundary_out"]))

    def sweep(self, until: float) -> None:
        """One sweep of the kernel towards ``until`` (s), then the halo exchange."""
        plan = self._plan_sweep(until)
        dts = np.array([t1 - t0 for t0, t1 in plan], dtype=float)
        t_ends = np.array([t1 for _, t1 in plan], dtype=float)
        rains, inflows, boundaries = self._sweep_forcing(plan)
        gridded = isinstance(rains[0], np.ndarray)
        sweep = Sweep(dts, t_ends, np.zeros(len(plan)) if gridded else np.array(rains, float),
                      np.stack(rains) if gridded else self.no_rain, gridded)
        args = (self.flow, self.ground, self.faces, self.statistics, self.losses, inflows,
                boundaries, sweep, self.numbers, self.owned_bounds, self.advection)
        key = _sweep_key(inflows, boundaries, sweep)
        if self._sweep_kernel is not None and self._sweep_kernel[0] == key:
            h_max, limited = self._sweep_kernel[1](*args)
        else:  # the dispatcher types the arguments (and compiles a new specialisation)
            h_max, limited = kernels.local_inertial_steps(*args)
            entry = compiled_entry(kernels.local_inertial_steps, args)
            self._sweep_kernel = None if entry is None else (key, entry)
        for rain in rains:
            self.accounts.add_rain(rain, self.active)
        self.ctx.exchange_halos(*self.exchanged)
        self.end_sweep(plan, h_max, limited)

    def end_sweep(self, plan, h_max: float, limited: int) -> None:
        """After a sweep over ``plan`` (and its halo exchange): the deepest water of every
        rank (m, refused when not finite), the advection of the next step, the counters and
        the time."""
        self.h_max = float(self.ctx.global_max(float(h_max)))
        self.update_advection()
        if not math.isfinite(self.h_max):
            (t0, t1) = plan[-1]
            raise FloodError(f"the solution became non-finite by t={t1:g} s (dt={t1 - t0:g} s)")
        self._limited_here += int(limited)
        self.steps += len(plan)
        self.t = plan[-1][1]

    def advance(self, until: float) -> None:
        """Sweep until ``until`` (s); the limited cell-steps summed over the ranks."""
        while self.t < until:
            self.sweep(until)
        self.limited += int(self.ctx.global_sum(np.array([float(self._limited_here)])))
        self._limited_here = 0

    # -- the state variables --------------------------------------------------------------
    def write_speed(self, state) -> None:
        """The speed at the cell centres (m/s), for the other models and the outputs."""
        kernels.speed_at_cell(self.h, self.qx, self.qy, self.params.speed_min_depth,
                              state["flood_water_speed"])

    def sync_state(self) -> None:
        """Copy the face discharges and per-lossy-cell totals into the state variables (what
        checkpoints save and the volume accounts sum)."""
        st = self.state
        st["flood_unit_discharge_west_face"][...] = self.qx[:, :-1]
        st["flood_unit_discharge_east_face"][...] = self.qx[:, 1:]
        st["flood_unit_discharge_north_face"][...] = self.qy[:-1, :]
        st["flood_unit_discharge_south_face"][...] = self.qy[1:, :]
        cells = self.accounts.cells
        for key, values in (("infiltration", self.losses.infiltrated),
                            ("drainage", self.losses.drained),
                            ("retention", self.losses.stored)):
            cells[key].ravel()[self.losses.cells] = values

    def checkpoint(self) -> dict:
        return {"t": self.t, "h_max": self.h_max, "limited": self.limited, "steps": self.steps,
                "bc_value": self.bc_value.copy()}

    def restore(self, saved: dict) -> None:
        """Continue from ``checkpoint()`` and the state variables (restored by then, over
        this rank's whole window, halo included)."""
        self.t, self.h_max = float(saved["t"]), float(saved["h_max"])
        self.limited, self.steps = int(saved["limited"]), int(saved["steps"])
        self._limited_here = 0
        st = self.state
        self.qx[:, :-1] = st["flood_unit_discharge_west_face"]
        self.qx[:, -1] = st["flood_unit_discharge_east_face"][:, -1]
        self.qy[:-1, :] = st["flood_unit_discharge_north_face"]
        self.qy[-1, :] = st["flood_unit_discharge_south_face"][-1, :]
        cells = self.accounts.cells
        for key, values in (("infiltration", self.losses.infiltrated),
                            ("drainage", self.losses.drained),
                            ("retention", self.losses.stored)):
            values[...] = cells[key].ravel()[self.losses.cells]
        self.bc_value[...] = saved["bc_value"]
        self.update_advection()
