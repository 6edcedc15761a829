"""The communicator layer of a run (``metrotwin.hpc.ensemble``): the one-rank ``SerialComm`` a
serial run takes the ensemble's path with, the split of variants over groups of ranks, and a
rank that ends the job (``abort``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from metrotwin.errors import MetrotwinError
from metrotwin.hpc.decomposition import Decomposition
from metrotwin.hpc import ensemble
from metrotwin.hpc.ensemble import SerialComm


def test_a_serial_run_is_a_world_of_one_rank(monkeypatch):
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE",
                "SLURM_NTASKS", "METROTWIN_MPI"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    comm = ensemble.communicator()
    assert isinstance(comm, SerialComm)
    assert (comm.Get_rank(), comm.Get_size()) == (0, 1)
    assert comm.Split(3, 0) is comm and comm.bcast({"a": 1}, root=0) == {"a": 1}
    assert comm.allgather("x") == ["x"]
    comm.Barrier()
    ensemble.meet_or_abort(comm, 0, MetrotwinError("an input error"))  # alone: nobody to wait for
    with pytest.raises(SystemExit) as ended:
        comm.Abort(2)
    assert ended.value.code == 2


def test_a_serial_group_gets_the_serial_decomposition_whatever_the_layout():
    """A serial run keeps ignoring ``parallel.layout`` (written for mpiexec) and the halo."""
    dec = ensemble.decompose(SerialComm(), (47, 61), halo=4, layout=(2, 2), multiple=3)
    assert dec == Decomposition((47, 61)) and not dec.is_parallel


def test_every_rank_raises_the_input_error_one_of_them_found():
    ensemble.agree_on_error(SerialComm(), None)
    with pytest.raises(MetrotwinError, match="bad tile"):
        ensemble.agree_on_error(SerialComm(), MetrotwinError("bad tile"))


@pytest.mark.parametrize("size, n, groups", [
    (1, 3, [[0, 1, 2]]),  # serial: one group runs every variant
    (4, 3, [[0], [0], [1], [2]]),  # the first variant on 2 ranks
    (2, 3, [[0, 2], [1]]),
])  # fmt: skip
def test_variants_are_dealt_to_groups(size, n, groups):
    names = list(range(n))
    dealt = [ensemble.variants_of(ensemble.group_of(r, size, n), size, names) for r in range(size)]
    assert dealt == groups


ABORTING_RANK = """
    import time
    from metrotwin.hpc.ensemble import abort
    from metrotwin.run.stop import stop_signals

    class HungAbort:
        def Abort(self, code):
            time.sleep(60)  # an MPI_Abort that waits on a job that does not go down

    with stop_signals():  # the run catches SIGTERM to save a checkpoint
        abort(HungAbort(), 0, RuntimeError("a bug"))
"""


def test_an_aborting_rank_ends_at_its_launchers_sigterm():
    """A rank that is ending the job is no longer running: a SIGTERM (a launcher or a batch
    system ending the job) ends it at once. Without this, ``stop_signals`` took the SIGTERM
    for a request to save a checkpoint at the next coupling step, and the rank lived on."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(ABORTING_RANK)],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        said = proc.stderr.readline()  # abort has said why: the handlers are its own now
        assert "metrotwin: error on rank 0: a bug" in said
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == -signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
