"""Reading one rank's tile of a data domain.

Under MPI every rank reads only its window of the raster sources (the vector sources, which
are small, it reads whole to keep the features' order). Whatever the readers count or check
(no-data cells, coverage, classes present, districts named) is the domain's, not the tile's:
``count``, ``overall_max`` and ``union`` reduce over the ranks that read the other tiles, so
every rank takes the same decision and a message names the domain's figures once. Without a
tile (serial runs, or ``whole()``) they return their argument.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from metrotwin.city.grid import Grid


@dataclass(frozen=True)
class Tile:
    """The whole domain's grid, the global rows and columns read here, and the ranks."""

    domain: Grid
    window: tuple[slice, slice]
    decomposition: object


_current: ContextVar[Tile | None] = ContextVar("metrotwin_tile", default=None)


@contextmanager
def reading_tile(tile: Tile | None):
    """Readers called inside see ``tile`` (None: the whole domain, no reductions)."""
    token = _current.set(tile)
    try:
        yield tile
    finally:
        _current.reset(token)


def whole():
    """Read the whole domain on this rank (for operations that need all of it at once)."""
    return reading_tile(None)


def current() -> Tile | None:
    return _current.get()


def domain_of(grid: Grid) -> Grid:
    """The domain a tile's ``grid`` belongs to (``grid`` itself outside a tile)."""
    tile = current()
    return tile.domain if tile is not None else grid


def count(mask: np.ndarray) -> int:
    """How many cells of the domain ``mask`` (on this tile's grid) marks: each rank counts the
    cells it owns, not its halo, and the counts are summed."""
    tile = current()
    if tile is None:
        return int(np.count_nonzero(mask))
    dec = tile.decomposition
    return int(dec.allreduce_sum(float(np.count_nonzero(mask[dec.owned]))))


def overall_max(value):
    """The largest ``value`` over the tiles (elementwise for arrays)."""
    tile = current()
    return value if tile is None else tile.decomposition.allreduce_max(value)


def overall_min(value: float) -> float:
    tile = current()
    return value if tile is None else tile.decomposition.allreduce_min(value)


def union(values) -> np.ndarray:
    """The sorted distinct ``values`` found on any tile."""
    values = np.unique(np.asarray(values))
    tile = current()
    if tile is None:
        return values
    return np.unique(np.concatenate([np.asarray(v) for v in tile.decomposition.gather_object(values)]))


def reporting() -> bool:
    """Whether this rank reports (warnings once per domain, not once per tile)."""
    tile = current()
    return tile is None or tile.decomposition.rank == 0
