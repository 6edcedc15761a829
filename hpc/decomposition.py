"""The decomposition of the global grid over ranks, and the questions models ask of it.

A serial run is a one-rank decomposition with the same interface (Devito's Distributor in
spirit): models ask it for their slice of the global grid, for halo exchange and for global
reductions, and never import mpi4py themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Decomposition:
    """How the global (ny, nx) grid is split into blocks, seen from one rank.

    Attributes
    ----------
    global_shape : (ny, nx) of the whole domain.
    topology : (py, px) ranks along y and x.
    coords : this rank's (iy, ix) in the topology.
    halo : ghost cells on each side of the local block.
    """

    global_shape: tuple[int, int]
    topology: tuple[int, int] = (1, 1)
    coords: tuple[int, int] = (0, 0)
    halo: int = 0

    @property
    def is_parallel(self) -> bool:
        """Whether more than one rank shares the grid."""
        return self.topology != (1, 1)

    @property
    def rank(self) -> int:
        return self.coords[0] * self.topology[1] + self.coords[1]

    @property
    def size(self) -> int:
        return self.topology[0] * self.topology[1]

    @property
    def glb_slices(self) -> tuple[slice, slice]:
        """The global rows and columns this rank owns (without halo)."""
        return tuple(
            _block(n, p, c) for n, p, c in zip(self.global_shape, self.topology, self.coords)
        )

    @property
    def local_shape(self) -> tuple[int, int]:
        return tuple(s.stop - s.start for s in self.glb_slices)

    def is_boundary(self, side: str) -> bool:
        """Whether this block touches the domain edge ``side`` ('north','south','west','east')."""
        iy, ix = self.coords
        py, px = self.topology
        return {
            "north": iy == 0,
            "south": iy == py - 1,
            "west": ix == 0,
            "east": ix == px - 1,
        }[side]

    # Reductions and exchanges: identities in serial; the MPI subclass overrides them.
    def allreduce_min(self, value: float) -> float:
        return value

    def allreduce_max(self, value: float) -> float:
        return value

    def allreduce_sum(self, value):
        return value

    def exchange_halos(self, *arrays: np.ndarray) -> None:
        """Fill the halo cells of each local array from the neighbours (serial: nothing)."""


def _block(n: int, parts: int, index: int) -> slice:
    """The ``index``-th of ``parts`` near-equal contiguous blocks of ``range(n)``."""
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return slice(int(bounds[index]), int(bounds[index + 1]))


def serial_decomposition(global_shape: tuple[int, int], halo: int = 0) -> Decomposition:
    return Decomposition(global_shape=tuple(global_shape), halo=halo)
