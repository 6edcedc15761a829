"""Parallel execution: domain decomposition, halo exchange, reductions, ensembles.

``decomposition`` (the global grid over ranks: tiles, halos, exchanges and reductions; it knows
the grid only), ``ensemble`` (variants over groups of ranks, each group's grid decomposed),
``parallel_output`` (a tile file per rank and the master file that maps them) and ``slurm``
(job scripts that checkpoint before the wall-time limit and chain themselves).

Only this package imports mpi4py. A serial run uses the same interface with one rank.
"""

from metrotwin.hpc.decomposition import Decomposition, serial_decomposition

__all__ = ["Decomposition", "serial_decomposition"]
