"""Variants as an ensemble over MPI: the world's ranks split into groups, each group runs its
variants with the grid decomposed over its ranks.

With P ranks and V variants, P >= V gives variant i to the contiguous group of ranks
``rank * V // P == i``; P < V gives rank r the variants r, r + P, ... Input errors are agreed
on collectively (every rank raises the same message, nothing is written); an error while
running aborts the whole job with its message instead of leaving the other ranks waiting.
Rank 0 alone locks and checks the output folder (``metrotwin.run.outdir``), before the city is
built; the other ranks raise its refusal.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from metrotwin.city.build import global_shape
from metrotwin.errors import Checkpointed, Interrupted, MetrotwinError, OutputError
from metrotwin.hpc.decomposition import MPIDecomposition
from metrotwin.run.outdir import OutputFolder, environment_error
from metrotwin.run.registry import get_model
from metrotwin.run.runner import (
    model_tiling,
    prepare_variants,
    run_variant,
    stop_signals,
    stopped_error,
    write_comparison,
)


def group_of(rank: int, size: int, n_variants: int) -> int:
    """The group (colour) of ``rank``."""
    return rank * n_variants // size if size >= n_variants else rank


def variants_of(group: int, size: int, names: list[str]) -> list[str]:
    """The variants a group runs."""
    return [names[group]] if size >= len(names) else names[group::size]


def abort(comm, rank: int, err: BaseException) -> None:
    """Say what went wrong, give the launcher a moment to forward it, and end every rank."""
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


def run_ensemble(scenario, out_dir: Path, names: list[str], *, progress: bool, comm,
                 restart: bool = False, overwrite: bool = False, report=None,
                 paraview=None) -> dict[str, Path]:  # fmt: skip
    """``run_scenario`` under MPI (its ``report`` and ``paraview`` drawers included)."""

    rank, size = comm.Get_rank(), comm.Get_size()
    # the output folder first, before the city is built: rank 0 locks and checks it, and
    # every rank raises the same refusal
    folder = OutputFolder(out_dir, names, restart=restart, overwrite=overwrite,
                          comparison=report is not None)  # fmt: skip
    error = None
    if rank == 0:
        try:
            folder.open()
        except MetrotwinError as err:
            error = err
        except BaseException as err:
            abort(comm, rank, err)
    refusal = comm.bcast(None if error is None else str(error), root=0)
    if refusal is not None:
        raise error if error is not None else OutputError(refusal)
    done = comm.bcast(folder.done, root=0)
    todo = [n for n in names if n not in done] or names[:1]  # (a group needs a variant)
    colour = group_of(rank, size, len(todo))
    group = comm.Split(colour, rank)
    mine = [n for n in variants_of(colour, size, todo) if n not in done]

    # every input error is found on every rank before anything is written
    prepared = []
    try:
        layout = scenario.parallel.layout
        whole = [m for m in scenario.models if not get_model(m).decomposable]
        if whole and group.Get_size() > 1:
            raise MetrotwinError(
                f"model(s) {', '.join(whole)} cannot run on a grid split over ranks yet; run "
                f"this scenario on at most {len(names)} rank(s), one per variant"
            )
        halo, multiple = model_tiling(scenario)
        dec = MPIDecomposition.create(group, global_shape(scenario), halo, layout, multiple)
        prepared = prepare_variants(scenario, mine, dec)
    except MetrotwinError as err:
        error = err
    except ValueError as err:  # a layout that does not fit the ranks
        error = MetrotwinError(f"parallel.layout: {err}")
    except BaseException as err:  # a bug: the others may wait in a collective, end them all
        abort(comm, rank, err)
    meet_or_abort(comm, rank, error)
    errors = comm.allgather(None if error is None else str(error))
    failed = [e for e in errors if e is not None]
    if failed:
        if rank == 0:
            folder.close("failed")
        raise error if error is not None else MetrotwinError(failed[0])

    stopped = None
    with stop_signals() as stop:
        try:
            for p in prepared:
                run_variant(p, folder.work / p.name, progress=progress, restart=restart, stop=stop)
        except Checkpointed as err:
            stopped = err
        except BaseException as err:  # the other ranks may be waiting on this one: end them all
            abort(comm, rank, environment_error(err, folder.path) or err)
        stop.disarm()
        # a group that stopped for a signal stops the job; the others finished or stopped too
        messages = [m for m in comm.allgather(None if stopped is None else str(stopped)) if m]
        interrupted = any(comm.allgather(stop.interrupted))
        results = {}
        if rank == 0:
            try:
                if messages:
                    stop.interrupted = interrupted
                    stopped = stopped_error(Checkpointed("; ".join(messages)), folder, stop)
                    folder.close("stopped")
                else:
                    results = folder.publish(names)
            except BaseException as err:
                folder.close("failed")
                abort(comm, rank, environment_error(err, folder.path) or err)
    if messages:
        message = comm.bcast(str(stopped) if rank == 0 else None, root=0)
        raise (Interrupted if interrupted else Checkpointed)(message)
    results = comm.bcast(results, root=0)
    try:  # the folder stays locked until the report is written
        if paraview is not None:  # each rank of a group writes its own piece of its variants
            for p in prepared:
                dec = p.state.decomposition
                paraview(results[p.name], topology=dec.topology, rank=dec.rank)
        comm.Barrier()
        failed = None
        if report is not None and rank == 0:
            try:
                write_comparison(results, folder.path, report)
            except MetrotwinError as err:  # raised after the barrier: the others must not hang
                failed = err
        comm.Barrier()
        if failed is not None:
            raise failed
    finally:
        if rank == 0:
            folder.close("done")
    return results
