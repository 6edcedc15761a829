"""How tests launch metrotwin under the venv's own MPI (a system mpiexec from another MPI would
fail or start singletons): one rank as plain Python, several under mpiexec with
``python -m mpi4py`` so that an exception aborts every rank."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

MPIEXEC = Path(sys.executable).parent / "mpiexec"


def require_mpiexec() -> None:
    if not MPIEXEC.exists():
        pytest.skip(f"no mpiexec beside {sys.executable} (pip install mpich)")


def metrotwin_command(args: list[str], ranks: int) -> list[str]:
    """The command running ``metrotwin ARGS`` on ``ranks`` ranks."""
    if ranks == 1:
        return [sys.executable, "-m", "metrotwin", *args]
    return [str(MPIEXEC), "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "metrotwin", *args]


def mpi_env(plugin: Path, **extra: str) -> dict:
    """The environment of a launched run: the test's plugin models on the path, one numba
    thread per rank (the ranks already oversubscribe the cores)."""
    return dict(os.environ, PYTHONPATH=str(plugin), NUMBA_NUM_THREADS="1", **extra)
