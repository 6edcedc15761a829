"""Which processor runs the flood solver (``models: flood: device:``), and which GPU.

``cpu``: numba's kernels on the cores (``solver.Solver``). ``cuda``: the CUDA kernels
(``cuda/solver.py``, ``CudaSolver``, same constructor), one GPU per MPI rank: rank r of a node
takes GPU r mod n. ``auto`` (the default): the GPU only where it pays, that is where every rank
has a usable CUDA GPU (a real one: numba's simulator, ``NUMBA_ENABLE_CUDASIM=1``, is for tests
and is taken only when asked for by name) and the grid has at least ``AUTO_MIN_CELLS`` cells;
else the CPU, with the same numbers as ``device: cpu``. The count is the whole grid's, not a
rank's: the choice (and so the numbers, which differ between the paths by float32 round-off)
must not depend on the number of ranks a scenario runs on.

Why 10^6 cells: the CPU kernels run ~300 M cell-updates/s per core (README), a step of
a 10^6-cell tile in ~3 ms. A GPU step costs a few kernel launches and, under the Courant
condition, a reduction read back to the host: ~20-50 us whatever the size, plus ~1-5 s of
compilation (once per process) and a copy back to the host at every coupling time. At 10^6
cells a GPU at >= 5 G cell-updates/s takes ~0.25 ms a step, >10x faster, and a run of a few
thousand steps repays the compilation; on a demo-sized grid (2 x 10^4 cells, ~0.1 ms a step on
one core) the fixed costs would eat the gain. The decision is the same on every rank: the count
is the global grid's, and the GPU check is reduced over the ranks.
"""

from __future__ import annotations

from collections.abc import Callable

from numba import config

from metrotwin.models.flood.params import FloodError
from metrotwin.models.flood.solver import Solver

try:  # the CUDA path: numba's CUDA target (numba-cuda on a GPU: the cuda extra), its package
    from numba import cuda

    from metrotwin.models.flood.cuda.solver import CudaSolver
except ImportError as err:  # a build without it: 'auto' takes the CPU, 'cuda' says why
    CudaSolver = None
    CUDA_IMPORT_ERROR = f"the CUDA solver cannot be imported ({type(err).__name__}: {err})"
else:
    CUDA_IMPORT_ERROR = ""

#: cells of the whole grid from which ``device: auto`` takes a usable GPU (see the module docstring)
AUTO_MIN_CELLS = 1_000_000
VALID = "'cpu', 'cuda' or 'auto'"


def gpu_problem(simulator_ok: bool) -> str:
    """Why this process cannot run the CUDA solver ("" when it can): the solver's package
    missing, no usable CUDA GPU (numba's reason), or only numba's simulator where a real GPU
    is wanted (``simulator_ok`` False). Loads the CUDA driver: call only when a GPU is asked
    for or would pay."""
    if CudaSolver is None:
        return CUDA_IMPORT_ERROR
    if config.ENABLE_CUDASIM:
        return "" if simulator_ok else "numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) is no GPU"
    if not cuda.is_available():
        return "numba finds no usable CUDA GPU: " + " ".join(str(cuda.cuda_error()).split())
    return ""


def choose(requested: str, cells: int, problem: Callable[[bool], str]) -> str:
    """'cpu' or 'cuda' for ``device: requested`` on a grid of ``cells`` cells, given
    ``problem(simulator_ok)`` (``gpu_problem`` reduced over the ranks), which is asked only
    where the answer matters: a CPU run never loads the CUDA driver. Raises FloodError for
    ``cuda`` where the GPU cannot be used."""
    if requested == "cpu":
        return "cpu"
    if requested == "auto":
        if cells < AUTO_MIN_CELLS:
            return "cpu"
        return "cpu" if problem(False) else "cuda"
    if requested != "cuda":
        raise FloodError(f"models.flood.device: {requested!r} is not a device; valid: {VALID}")
    reason = problem(True)
    if reason:
        raise FloodError(
            f"models.flood.device: 'cuda' needs a CUDA GPU on every rank, and {reason}. Valid: "
            f"{VALID}; 'cuda' on a machine with an NVIDIA driver and the cuda extra "
            "(pip install 'metrotwin[cuda]'), 'auto' takes the GPU only where one is usable"
        )
    return "cuda"


def problem_on_any_rank(dec) -> Callable[[bool], str]:
    """``gpu_problem`` of this rank, or another rank's lack, agreed by every rank of ``dec``
    (a collective: every rank asks it, since every rank takes the same branch of ``choose``)."""

    def problem(simulator_ok: bool) -> str:
        mine = gpu_problem(simulator_ok)
        everywhere = dec.allreduce_min(0.0 if mine else 1.0) > 0
        return mine or ("" if everywhere else "another rank has no usable CUDA GPU")

    return problem


def select_gpu(node_rank: int) -> int:
    """Make GPU ``node_rank`` mod (GPUs of this node) this process's CUDA device; its index."""
    index = node_rank % len(cuda.gpus)
    cuda.select_device(index)
    return index


def build_solver(params, state, ctx, steps_per_sweep: int):
    """The flood solver of ``params.device`` on ``state``: a ``Solver``, or a ``CudaSolver``
    on this rank's GPU (``Solver``'s constructor and interface either way)."""
    dec = ctx.decomposition
    cells = dec.global_shape[0] * dec.global_shape[1]
    if choose(params.device, cells, problem_on_any_rank(dec)) == "cpu":
        return Solver(params, state, ctx, steps_per_sweep)
    index = select_gpu(dec.node_rank)
    ctx.logger.info("flood: the solver runs on CUDA GPU %d of this node (rank %d)", index,
                    dec.rank)
    return CudaSolver(params, state, ctx, steps_per_sweep)
