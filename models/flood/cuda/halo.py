"""The halo exchange of the CUDA flood solver, staged through the host (CUDA-aware MPI is not
assumed): the strips of the device arrays that the neighbours need are packed on the device
(``kernels.copy_block``) and copied into the solver's host arrays, the host arrays go through
``ctx.exchange_halos`` as on the CPU path, and the strips it received are copied back.

The strips are those of ``hpc.decomposition``'s exchanger: west-east over the owned rows, then
north-south over the full width, ``halo`` cells deep, on the sides that face another tile.
Only these strips move; the host arrays elsewhere may be stale (the exchange never reads
them)."""

from __future__ import annotations

from numba import cuda

from metrotwin.models.flood.cuda import kernels as ck
from metrotwin.models.flood.cuda.launch import grid_for


def _strips(dec, shape) -> tuple[list, list]:
    """The (rows, cols) slices that an array of ``shape`` sends and receives in a halo
    exchange over ``dec`` (its owned block and halo, in the array's own indices)."""
    h, (rows, cols), full = dec.halo, dec.owned, slice(0, shape[1])
    sends, recvs = [], []
    west, east = slice(cols.start, cols.start + h), slice(cols.stop - h, cols.stop)
    north, south = slice(rows.start, rows.start + h), slice(rows.stop - h, rows.stop)
    sides = {  # side: (what it sends, what it receives)
        "west": ((rows, west), (rows, slice(cols.start - h, cols.start))),
        "east": ((rows, east), (rows, slice(cols.stop, cols.stop + h))),
        "north": ((north, full), (slice(rows.start - h, rows.start), full)),
        "south": ((south, full), (slice(rows.stop, rows.stop + h), full)),
    }
    for side, (send, recv) in sides.items():
        if not dec.is_boundary(side):
            sends.append(send)
            recvs.append(recv)
    return sends, recvs


class _Strip:
    """One strip of a device array and its place in a host view of it: ``offset`` the
    (row, column) of the view's origin in the device array."""

    def __init__(self, host, device, region, offset):
        rows, cols = region
        self.host, self.device, self.region = host, device, region
        self.origin = (rows.start + offset[0], cols.start + offset[1])
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        self.staged = cuda.pinned_array(shape, dtype=device.dtype)
        self.buffer = cuda.device_array(shape, dtype=device.dtype)

    def to_host(self) -> None:
        grid, block = grid_for(self.staged.shape)
        ck.copy_block[grid, block](self.device, self.origin[0], self.origin[1], self.buffer,
                                   0, 0)
        self.buffer.copy_to_host(self.staged)
        self.host[self.region] = self.staged

    def to_device(self) -> None:
        self.staged[...] = self.host[self.region]
        self.buffer.copy_to_device(self.staged)
        grid, block = grid_for(self.staged.shape)
        ck.copy_block[grid, block](self.buffer, 0, 0, self.device, self.origin[0],
                                   self.origin[1])


class HaloStaging:
    """The halo exchange of device arrays through host arrays: ``views`` the (host view,
    device array, (row, column) offset of the view in it) of each array exchanged, in the
    order the CPU solver exchanges them."""

    def __init__(self, ctx, views):
        self.ctx = ctx
        self.hosts = tuple(host for host, _, _ in views)
        self.sends, self.recvs = [], []
        for host, device, offset in views:
            sends, recvs = _strips(ctx.decomposition, host.shape)
            self.sends += [_Strip(host, device, r, offset) for r in sends]
            self.recvs += [_Strip(host, device, r, offset) for r in recvs]

    def exchange(self) -> None:
        """Device strips to the host, the host exchange, the received strips back."""
        for strip in self.sends:
            strip.to_host()
        self.ctx.exchange_halos(*self.hosts)
        for strip in self.recvs:
            strip.to_device()


def no_strips(dec) -> bool:
    """Whether the tile of ``dec`` has no neighbour (nothing to exchange)."""
    return dec.halo == 0 or all(dec.is_boundary(side)
                                for side in ("north", "south", "west", "east"))
