"""The CUDA flood kernels compile for a GPU (issue 23): the simulator runs them as Python, so it
cannot see what numba's CUDA target refuses to type (a NumPy function it lacks, say) nor a
float64 operation slipped into the float32 stages (a Python float literal promotes). Here
every kernel is compiled to PTX for compute capability 9.0 (H100/H200) with the CUDA
toolkit's NVVM, which needs no GPU, and the float32 stages are checked to do their division
and square root in float32.

numba compiles a kernel's device functions for the current device's compute capability,
and this machine has no device: the test names one (9.0) in its place."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numba import cuda, typeof
from numba.cuda import dispatcher
from numba.cuda.cudadrv import nvvm

from metrotwin.models.flood.cuda import kernels as ck


class _H100:
    compute_capability = (9, 0)


def _arguments():
    """Arguments of each kernel of the types the solver passes (on a 4 x 5 grid)."""
    ny, nx = 4, 5
    f32 = lambda *shape: np.zeros(shape, np.float32)  # noqa: E731
    flow = (np.zeros((ny, nx)), f32(ny, nx + 1), f32(ny + 1, nx), f32(ny, nx + 1),
            f32(ny + 1, nx))
    faces = (f32(ny, nx + 1), f32(ny, nx + 1), f32(ny + 1, nx), f32(ny + 1, nx),
             f32(ny, nx + 1), f32(ny + 1, nx))
    ground = (np.zeros((ny, nx)), np.zeros((ny, nx)), np.zeros((ny, nx), np.uint8))
    four = np.zeros(4, np.int64)
    co = tuple(np.float32(v) for v in range(5))
    c64 = tuple(np.float64(v) for v in range(4))
    cells = (ground[2], np.zeros((ny, nx), np.int32), four, np.zeros((ny, nx)), four)
    forcing = (np.float64(0.0), np.zeros((1, 1)), False, np.float64(1.0), np.float64(1.0))
    return {
        "momentum": (flow, faces, co),
        "edge_faces": (flow, ground, (four, c64), c64),
        "limiter": (flow[0], flow[3], flow[4], f32(ny, nx), np.float32(1.0), four, np.zeros(2)),
        "continuity": (flow, f32(ny, nx), cells, tuple(np.zeros(3) for _ in range(7)),
                       tuple(f32(ny, nx) for _ in range(4)), forcing, co, np.zeros(2)),
        "add_inflows": (flow[0], four, four, np.zeros(3)),
        "copy_block": (flow[0], 1, 1, np.zeros((2, 2)), 0, 0),
    }


@pytest.fixture(scope="module")
def ptx():
    """The PTX of every kernel, by name."""
    if not nvvm.is_available():
        pytest.skip("no CUDA toolkit (NVVM) on this machine")
    saved = dispatcher.get_current_device
    dispatcher.get_current_device = _H100
    try:
        return {name: cuda.compile_ptx(getattr(ck, name).py_func,
                                       tuple(typeof(a) for a in args), cc=(9, 0))[0]
                for name, args in _arguments().items()}
    finally:
        dispatcher.get_current_device = saved


def _instructions(text: str) -> set[str]:
    return set(re.findall(r"^\s+([a-z]\w*(?:\.\w+)*)", text, re.M))


def test_every_kernel_compiles_for_a_gpu(ptx):
    for name, text in ptx.items():
        assert ".entry" in text and "ret;" in text, name


@pytest.mark.parametrize("name", ["momentum", "limiter"])
def test_the_float32_stages_divide_and_take_roots_in_float32(ptx, name):
    """The momentum and the limiter are float32, as on the CPU (the depth differences alone
    are formed in float64): a float64 division or root there is a promotion by mistake."""
    ops = _instructions(ptx[name])
    assert "div.rn.f32" in ops, sorted(ops)
    assert not {"div.rn.f64", "sqrt.rn.f64"} & ops, sorted(ops)
    if name == "momentum":
        assert "sqrt.rn.f32" in ops, sorted(ops)
