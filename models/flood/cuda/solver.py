"""The flood solver on a GPU: ``Solver``'s set-up, time step and forcing, with the step on the
device (``cuda/kernels.py``) and the state kept there between coupling times.

The device holds the depths, the discharges, the statistics, the lossy cells' totals and the
boundary outflow account; the host arrays (the state's) receive them in ``sync_state``, which
``FloodModel.advance`` calls at every coupling time before it writes the coupling fields, and
which every reader of the host arrays here goes through (``write_speed``, ``volume_balance``).
Per step the host sends only the step's numbers (and the gridded rain, the inflow depths)
and reads back two numbers per sweep: the deepest owned cell (the next Courant step) and the
count of limited cells. On several ranks, one GPU each, the halo strips go through the host
(``halo.HaloStaging``)."""

from __future__ import annotations


import numpy as np
from numba import cuda

from metrotwin.models.flood.cuda import kernels as ck
from metrotwin.models.flood.cuda.halo import HaloStaging, no_strips
from metrotwin.models.flood.cuda.launch import grid_for, line_for
from metrotwin.models.flood.params import FloodError
from metrotwin.models.flood.solver import Solver


def _to_device(values, dtype=None):
    """A device copy of ``values`` (C-contiguous, of ``dtype`` if given), at least 1 element
    (a lossless stand-in for an empty list)."""
    array = np.ascontiguousarray(values, dtype=dtype)
    return cuda.to_device(array if array.size else np.zeros(1, array.dtype))


def _inflow_groups(entries):
    """The cells fed by the sorted inflow ``entries`` (flat indices, repeated where several
    inflows feed a cell) and where each cell's entries start (CSR offsets)."""
    cells, starts = np.unique(entries, return_index=True)
    return cells.astype(np.int64), np.append(starts, entries.size).astype(np.int64)


class DeviceFlood:
    """The device arrays of the CUDA solver, uploaded from a ``Solver``'s host arrays."""

    def __init__(self, solver):
        s = solver
        self.h = _to_device(s.h)
        self.qx, self.qy = _to_device(s.qx), _to_device(s.qy)
        self.qx_new = cuda.device_array_like(self.qx)
        self.qy_new = cuda.device_array_like(self.qy)
        self.fac = cuda.device_array(s.h.shape, np.float32)
        self.faces = tuple(_to_device(a) for a in s.faces)
        self.ground = (_to_device(s.z), _to_device(s.fric), _to_device(s.active))
        index = np.full(s.h.size, -1, np.int32)
        index[s.losses.cells] = np.arange(s.losses.cells.size)
        self.loss_index = _to_device(index.reshape(s.h.shape))
        self.upload_losses(s.losses)
        self.statistics = tuple(_to_device(a) for a in s.statistics)
        self.bc_kind = _to_device(s.bc_type)
        self.owned = _to_device(s.owned_bounds)
        cells, starts = _inflow_groups(s.inflow_entries)
        self.inflow_cells, self.inflow_starts = _to_device(cells), _to_device(starts)
        self.n_inflow_cells = int(cells.size) if s.inflow_entries.size else 0
        self.inflow_depth = cuda.device_array(max(1, s.inflow_entries.size))
        self.rain = None  # the gridded rain of a step, allocated at the first
        self.no_rain = cuda.to_device(np.zeros((1, 1)))
        self.tally = cuda.to_device(np.zeros(2))
        self.boundary_out = None

    def upload_losses(self, losses) -> None:
        """The per-lossy-cell arrays (ks, suction, infiltrated, drain_rate, store_capacity,
        stored, drained) to the device."""
        self.losses = tuple(_to_device(a, np.float64) for a in (
            losses.ks, losses.suction, losses.infiltrated, losses.drain_rate,
            losses.store_capacity, losses.stored, losses.drained))

    def flow(self):
        return self.h, self.qx, self.qy, self.qx_new, self.qy_new


class CudaSolver(Solver):
    """``Solver`` with the step on a CUDA GPU (numba.cuda), the same constructor and public
    behaviour: ``h``, ``qx``, ``qy``, ``statistics`` and the accounts are the host arrays,
    current after ``sync_state``; ``t``, ``steps``, ``limited`` and ``h_max`` are kept as on
    the CPU. Refuses the advection term (``advection: true``), which has no CUDA kernel."""

    def __init__(self, params, state, ctx, steps_per_sweep: int):
        if params.advection:
            raise FloodError(
                "flood: advection: true is not available on the GPU (device: cuda): the CUDA "
                "kernels have no advection term; set advection: false, or device: cpu"
            )
        super().__init__(params, state, ctx, steps_per_sweep)
        self.device = DeviceFlood(self)
        d = self.device
        self._halo = None if no_strips(ctx.decomposition) else HaloStaging(ctx, (
            (self.h, d.h, (0, 0)), (self.qx, d.qx, (0, 0)), (self.qx[:, 1:], d.qx, (0, 1)),
            (self.qy, d.qy, (0, 0)), (self.qy[1:, :], d.qy, (1, 0))))
        self._host_stale = False

    # -- the step on the device ---------------------------------------------------------
    def _coefficients(self, dt: float):
        """The float32 momentum coefficients and the float64 boundary ones of a step ``dt``
        (s), rounded as ``kernels.local_inertial_steps`` rounds them."""
        p, n = self.params, self.numbers
        w_side = 0.5 * (1.0 - p.theta)
        co = tuple(np.float32(v) for v in (p.theta, w_side, dt, n.g * dt / n.dx, n.h_min))
        return co, (np.float64(dt), np.float64(n.dx), np.float64(n.g), np.float64(n.h_min))

    def _step(self, s: int, t_end: float, dt: float, rain, inflows, bc_values) -> None:
        """Step ``s`` of a sweep, ``dt`` s long, ending at ``t_end`` (s), on the device."""
        d, n = self.device, self.numbers
        if d.n_inflow_cells:
            d.inflow_depth.copy_to_device(np.ascontiguousarray(inflows.depth[s]))
            blocks, threads = line_for(d.n_inflow_cells)
            ck.add_inflows[blocks, threads](d.h, d.inflow_cells, d.inflow_starts,
                                            d.inflow_depth)
        co, c64 = self._coefficients(dt)
        bc = (d.bc_kind, tuple(np.float64(v) for v in bc_values[s]))
        ny, nx = self.h.shape
        grid, block = grid_for((ny, nx))
        ck.momentum[grid, block](d.flow(), d.faces, co)
        blocks, threads = line_for(2 * (ny + nx))
        ck.edge_faces[blocks, threads](d.flow(), d.ground, bc, c64)
        c = dt / n.dx
        ck.limiter[grid, block](d.h, d.qx_new, d.qy_new, d.fac, np.float32(c), d.owned, d.tally)
        gridded = isinstance(rain, np.ndarray)
        if gridded:
            if d.rain is None:
                d.rain = cuda.device_array(self.h.shape)
            d.rain.copy_to_device(np.ascontiguousarray(rain, dtype=np.float64))
        forcing = (np.float64(0.0 if gridded else rain), d.rain if gridded else d.no_rain,
                   gridded, np.float64(c), np.float64(dt))
        cells = (self.device.ground[2], d.loss_index, d.bc_kind, d.boundary_out, d.owned)
        st = tuple(np.float32(v) for v in (dt, t_end, n.time_fill, n.duration_threshold,
                                           n.speed_min_depth))
        ck.continuity[grid, block](d.flow(), d.fac, cells, d.losses, d.statistics, forcing,
                                   st, d.tally)

    def sweep(self, until: float) -> None:
        """The steps of one sweep towards ``until`` (s) on the device, then the halo exchange
        (through the host) and the deepest owned cell, as ``Solver.sweep``."""
        d = self.device
        if d.boundary_out is None:  # the accounts exist once the model has built them
            d.boundary_out = _to_device(self.accounts.cells["boundary_out"])
        plan = self._plan_sweep(until)
        rains, inflows, boundaries = self._sweep_forcing(plan)
        d.tally.copy_to_device(np.zeros(2))
        for s, (t0, t1) in enumerate(plan):
            if s == len(plan) - 1 and s > 0:  # the deepest cell after the last step only
                d.tally[:1].copy_to_device(np.zeros(1))
            self._step(s, t1, t1 - t0, rains[s], inflows, boundaries.value)
        for rain in rains:
            self.accounts.add_rain(rain, self.active)
        self._host_stale = True
        if self._halo is not None:
            self._halo.exchange()
        h_max, limited = d.tally.copy_to_host()
        self.end_sweep(plan, h_max, limited)

    # -- host copies ------------------------------------------------------------------------
    def _download(self) -> None:
        """The device state into the host arrays (the state's)."""
        d = self.device
        self.h[...] = d.h.copy_to_host()
        self.qx[...] = d.qx.copy_to_host()
        self.qy[...] = d.qy.copy_to_host()
        for host, device in zip(self.statistics, d.statistics):
            host[...] = device.copy_to_host()
        n = self.losses.cells.size
        for host, device in ((self.losses.infiltrated, d.losses[2]),
                             (self.losses.stored, d.losses[5]),
                             (self.losses.drained, d.losses[6])):
            host[...] = device.copy_to_host()[:n]
        if d.boundary_out is not None:
            self.accounts.cells["boundary_out"][...] = d.boundary_out.copy_to_host()
        self._host_stale = False

    def write_speed(self, state) -> None:
        if self._host_stale:
            self._download()
        super().write_speed(state)

    def sync_state(self) -> None:
        """The device state into the host arrays, then ``Solver.sync_state``."""
        if self._host_stale:
            self._download()
        super().sync_state()

    def restore(self, saved: dict) -> None:
        """``Solver.restore`` on the host arrays, then every device array from them."""
        super().restore(saved)
        d = self.device
        for host, device in ((self.h, d.h), (self.qx, d.qx), (self.qy, d.qy),
                             *zip(self.statistics, d.statistics)):
            device.copy_to_device(np.ascontiguousarray(host))
        d.upload_losses(self.losses)
        d.boundary_out = _to_device(self.accounts.cells["boundary_out"])
        self._host_stale = False
