"""Parallel execution: domain decomposition, halo exchange, reductions, ensembles.

Only this package imports mpi4py. A serial run uses the same interface with one rank.
"""

from metrotwin.hpc.decomposition import Decomposition, serial_decomposition

__all__ = ["Decomposition", "serial_decomposition"]
