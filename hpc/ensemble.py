"""The communicators of a run: the world's ranks split into groups, each group running its
variants with the grid decomposed over its ranks. A serial run is the same ensemble on one
process: ``communicator()`` gives ``SerialComm``, a world of one rank, and the run takes the
same path (``metrotwin.run.runner.run_scenario``).

With P ranks and V variants, P >= V gives variant i to the contiguous group of ranks
``rank * V // P == i``; P < V gives rank r the variants r, r + P, ... A rank that cannot go
on (a bug, a full disk while running) ends the whole job with its message (``abort``) instead
of leaving the other ranks waiting in a collective.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from metrotwin.errors import MetrotwinError
from metrotwin.hpc.decomposition import (
    Decomposition,
    MPIDecomposition,
    serial_decomposition,
    world,
)


class _Done:
    """A request that has completed (what a one-rank barrier returns)."""

    def Test(self) -> bool:  # noqa: N802 - mpi4py's name
        return True


class SerialComm:
    """The communicator of a run on one process: the calls of mpi4py's ``Comm`` that a run
    makes, answered for a world of one rank. Collectives return at once; ``Abort`` ends
    the process with its status."""

    def Get_rank(self) -> int:  # noqa: N802 - mpi4py's names, here and below
        return 0

    def Get_size(self) -> int:  # noqa: N802
        return 1

    def Split(self, color: int = 0, key: int = 0) -> SerialComm:  # noqa: N802
        return self

    def bcast(self, obj, root: int = 0):
        return obj

    def allgather(self, obj) -> list:
        return [obj]

    def Barrier(self) -> None:  # noqa: N802
        pass

    def Ibarrier(self) -> _Done:  # noqa: N802
        return _Done()

    def Abort(self, errorcode: int = 0) -> None:  # noqa: N802
        raise SystemExit(errorcode)


def communicator():
    """MPI's world under an MPI launcher with several ranks, else a ``SerialComm``."""
    comm = world()
    return SerialComm() if comm is None else comm


def decompose(group, global_shape, halo: int, layout, multiple: int) -> Decomposition:
    """The decomposition of the grid over the ranks of ``group``: the serial one (no halo,
    no layout to check) for a ``SerialComm``, else ``MPIDecomposition.create`` (which raises
    ValueError naming the numbers where ``layout`` does not fit the ranks or the grid)."""
    if isinstance(group, SerialComm):
        return serial_decomposition(global_shape)
    return MPIDecomposition.create(group, global_shape, halo, layout, multiple)


def group_of(rank: int, size: int, n_variants: int) -> int:
    """The group (colour) of ``rank``."""
    return rank * n_variants // size if size >= n_variants else rank


def variants_of(group: int, size: int, names: list[str]) -> list[str]:
    """The variants a group runs."""
    return [names[group]] if size >= len(names) else names[group::size]


def abort(comm, rank: int, err: BaseException) -> None:
    """Say what went wrong, give the launcher a moment to forward it, and end every rank.

    The signals a run catches (``metrotwin.run.stop.stop_signals``) get their default action
    back first: a rank that is ending must end when its launcher tells it to, not take the
    launcher's SIGTERM for a request to save a checkpoint and live on."""
    for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
        try:
            signal.signal(sig, signal.SIG_DFL)
        except ValueError:  # not the main thread: its handlers are not ours to change
            pass
    code = 2 if isinstance(err, MetrotwinError) else 1
    print(f"metrotwin: error on rank {rank}: {err}", file=sys.stderr, flush=True)
    time.sleep(1.0)  # MPI_Abort can kill the launcher before it has forwarded our stderr
    comm.Abort(code)
    # MPI_Abort can return when another rank's abort is already tearing the job down; going
    # on from here would take the failed run for a finished one (rank 0 publishing it, and
    # with it removing the checkpoint a refused restart must keep): end this process
    os._exit(code)


#: seconds a rank with an input error waits for the others before ending the job: they may be
#: blocked in a collective of the set-up (a halo fetch) that the failing rank never joins
ERROR_GRACE_S = float(os.environ.get("METROTWIN_ERROR_GRACE_S", "20"))


def meet_or_abort(comm, rank: int, error: BaseException | None) -> None:
    """Wait until every rank has finished preparing. A rank that failed waits at most
    ``ERROR_GRACE_S``: if the others do not arrive (an error found on one tile only leaves
    the other tiles waiting for it in a collective), it ends the job with its message."""
    request = comm.Ibarrier()
    start = time.monotonic()
    while not request.Test():
        if error is not None and time.monotonic() - start > ERROR_GRACE_S:
            abort(comm, rank, error)
        time.sleep(0.005)


def agree_on_error(comm, error: MetrotwinError | None) -> None:
    """Every rank raises the input error one of them found (its own where it has one)."""
    failed = [e for e in comm.allgather(None if error is None else str(error)) if e is not None]
    if failed:
        raise error if error is not None else MetrotwinError(failed[0])
