"""Which processor runs the flood solver (``models: flood: device:``, ``models/flood/device.py``):
the decision table, the refusal of 'cuda' where no GPU is usable, one GPU per rank of a node,
and CPU runs unchanged by the choice (this machine has no GPU, as CI's has none)."""

from __future__ import annotations

import ast
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from metrotwin.cli import main
from metrotwin.hpc.decomposition import Decomposition, node_local_rank, serial_decomposition
from metrotwin.models.flood import FloodError, FloodModel, device
from metrotwin.models.flood.solver import Solver
from metrotwin.run.testing import make_context, make_grid, make_state
from numba import cuda

from tests.models.flood.coupled import start

REPO = Path(__file__).resolve().parents[3]
BIG = device.AUTO_MIN_CELLS
NO_GPU = "numba finds no usable CUDA GPU: CUDA driver library cannot be found"
#: this machine's own answer: CI's machines have no GPU; on one with a GPU the tests that
#: need its absence do not apply
HAS_GPU = cuda.is_available() and not device.config.ENABLE_CUDASIM


class Probe:
    """A ``problem(simulator_ok)`` answering ``reason`` and counting the calls."""

    def __init__(self, reason: str):
        self.reason, self.calls = reason, []

    def __call__(self, simulator_ok: bool) -> str:
        self.calls.append(simulator_ok)
        return self.reason


@pytest.mark.parametrize(
    "requested, cells, reason, chosen, asked",
    [
        ("cpu", BIG * 4, "", "cpu", []),  # asked for by name: never the driver
        ("auto", BIG - 1, "", "cpu", []),  # too small to pay: the driver is not even loaded
        ("auto", BIG, "", "cuda", [False]),  # large, a real GPU on every rank
        ("auto", BIG, NO_GPU, "cpu", [False]),  # large, no GPU: the CPU, no error
        ("auto", BIG * 4, "numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) is no GPU", "cpu",
         [False]),
        ("cuda", 100, "", "cuda", [True]),  # by name, any size, the simulator allowed
    ],
)
def test_decision_table(requested, cells, reason, chosen, asked):
    probe = Probe(reason)
    assert device.choose(requested, cells, probe) == chosen
    assert probe.calls == asked


@pytest.mark.parametrize("reason", [NO_GPU, "another rank has no usable CUDA GPU"])
def test_cuda_without_a_gpu_is_one_clear_error(reason):
    with pytest.raises(FloodError) as info:
        device.choose("cuda", BIG, Probe(reason))
    message = str(info.value)
    for part in ("models.flood.device", "'cuda'", reason, "'cpu', 'cuda' or 'auto'",
                 "metrotwin[cuda]"):
        assert part in message, f"{part!r} not in {message!r}"


def test_an_unknown_device_is_refused_naming_the_valid_ones():
    with pytest.raises(FloodError, match=r"'gpu' is not a device; valid: 'cpu', 'cuda' or 'auto'"):
        device.choose("gpu", BIG, Probe(""))
    with pytest.raises(ValidationError, match="device"):
        FloodModel.Params(device="gpu")
    assert FloodModel.Params().device == "auto"


def test_the_simulator_is_taken_only_by_name(monkeypatch):
    monkeypatch.setattr(device, "CudaSolver", object)  # the CUDA path present
    monkeypatch.setattr(device.config, "ENABLE_CUDASIM", 1)
    assert "simulator" in device.gpu_problem(simulator_ok=False)
    assert device.gpu_problem(simulator_ok=True) == ""


def test_a_missing_cuda_package_is_named(monkeypatch):
    monkeypatch.setattr(device, "CudaSolver", None)
    monkeypatch.setattr(device, "CUDA_IMPORT_ERROR", "the CUDA solver cannot be imported (x)")
    assert device.gpu_problem(True) == "the CUDA solver cannot be imported (x)"


@pytest.mark.skipif(HAS_GPU, reason="needs a machine without a CUDA GPU (CI's)")
def test_without_a_gpu_auto_takes_the_cpu_and_cuda_is_refused():
    problem = device.problem_on_any_rank(serial_decomposition((2000, 2000)))
    assert device.choose("auto", 4 * BIG, problem) == "cpu"
    with pytest.raises(FloodError, match="models.flood.device: 'cuda' needs a CUDA GPU"):
        device.choose("cuda", 4 * BIG, problem)


class OtherRankLacksGPU(Decomposition):
    """A rank whose peers answer 0 to the reduction: one of them has no usable GPU."""

    def allreduce_min(self, value: float) -> float:
        return 0.0


def test_every_rank_agrees_when_one_lacks_a_gpu(monkeypatch):
    monkeypatch.setattr(device, "gpu_problem", lambda simulator_ok: "")  # this rank has one
    problem = device.problem_on_any_rank(OtherRankLacksGPU((4000, 4000), (1, 2), (0, 0)))
    assert device.choose("auto", 8 * BIG, problem) == "cpu"
    with pytest.raises(FloodError, match="another rank has no usable CUDA GPU"):
        device.choose("cuda", 8 * BIG, problem)


class FourGPUs:
    """numba.cuda's ``gpus`` and ``select_device`` on a node of four GPUs."""

    gpus = [0, 1, 2, 3]

    def __init__(self):
        self.selected = []

    def select_device(self, index):
        self.selected.append(index)


@pytest.mark.parametrize("node_rank, gpu", [(0, 0), (3, 3), (5, 1), (15, 3)])
def test_one_gpu_per_rank_of_a_node(monkeypatch, node_rank, gpu):
    node = FourGPUs()
    monkeypatch.setattr(device, "cuda", node, raising=False)
    assert device.select_gpu(node_rank) == gpu
    assert node.selected == [gpu]


@pytest.mark.parametrize("variable", ["MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                                      "SLURM_LOCALID"])
def test_the_node_rank_comes_from_the_launcher(monkeypatch, variable):
    for name in ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID",
                 "PALS_LOCAL_RANKID"):
        monkeypatch.delenv(name, raising=False)
    assert node_local_rank(default=7) == 7  # no launcher: the decomposition's rank
    assert Decomposition((8, 8), (2, 2), (1, 0)).node_rank == 2
    monkeypatch.setenv(variable, "5")
    assert node_local_rank(default=7) == 5
    assert Decomposition((8, 8), (2, 2), (1, 0)).node_rank == 5


def _rain_run(**params):
    """A 30 x 40 sloping grid under 40 mm/h for 20 min: the state's flood fields after it."""
    grid = make_grid(30, 40, resolution=2.0)
    x = np.arange(40) * 2.0
    state = make_state(grid, surface_altitude=np.tile(10.0 - 0.01 * x, (30, 1)))
    ctx = make_context(grid, duration=1200, forcing={"rainfall": {"hyetograph": [[0, 40.0]]}})
    model = start(FloodModel(FloodModel.Params(**params)), state, ctx)
    model.advance(state, 1200.0)
    model.finalize(state)
    fields = {name: np.asarray(state[name]).copy() for name in model.writes()
              if name in state}
    return model, fields, model.volume_balance()


@pytest.mark.skipif(HAS_GPU, reason="needs a machine without a CUDA GPU (CI's)")
def test_cpu_runs_are_bit_identical_with_device_cpu_and_the_default():
    chosen, by_name, balance = _rain_run(device="cpu", infiltration=False)
    default, by_default, balance_default = _rain_run(infiltration=False)
    assert type(chosen.solver) is Solver and type(default.solver) is Solver
    assert chosen.steps == default.steps > 0
    assert by_name.keys() == by_default.keys() and "flood_water_thickness" in by_name
    for name, values in by_name.items():
        np.testing.assert_array_equal(values, by_default[name], err_msg=name)
    assert balance == balance_default
    assert by_name["flood_water_thickness"].max() > 0


@pytest.mark.skipif(HAS_GPU, reason="needs a machine without a CUDA GPU (CI's)")
def test_the_cli_refuses_cuda_without_a_gpu_with_exit_2(tmp_path):
    scenario = {
        "name": "gpu_wanted", "seed": 1,
        "domain": {"generated": {"size_x": 200, "size_y": 160, "resolution": 10}},
        "period": {"start": "2026-07-15T06:00:00", "duration": "2 min",
                   "coupling_interval": "1 min", "output_interval": "2 min"},
        "forcing": {"rainfall": {"hyetograph": [[0, 60]]}},
        "models": {"flood": {"device": "cuda"}},
    }  # fmt: skip
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(scenario))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["run", str(path), "-o", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert "metrotwin: error:" in err.getvalue()
    assert "models.flood.device: 'cuda' needs a CUDA GPU" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not (tmp_path / "out").exists()  # refused before any output is written


def numba_cuda_imports(path: Path):
    """Line numbers of the imports of numba.cuda (or of a module below it) in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        if any(n == "numba.cuda" or n.startswith("numba.cuda.") for n in names):
            yield node.lineno


def test_only_the_device_choice_and_the_cuda_path_import_numba_cuda():
    """A CPU install must run where numba's CUDA target is absent (numba-cuda is an extra and
    numba's own target is deprecated): only ``device.py`` (guarded) and the package
    ``models/flood/cuda`` import it. import-linter cannot forbid a module below an external
    package, hence this check."""
    allowed = REPO / "models" / "flood" / "cuda"
    offenders = [f"{path.relative_to(REPO)}:{line}"
                 for folder in ("engine", "models", "hpc", "viz")
                 for path in sorted((REPO / folder).rglob("*.py"))
                 if allowed not in path.parents and path != REPO / "models/flood/device.py"
                 for line in numba_cuda_imports(path)]
    assert not offenders, offenders
    assert list(numba_cuda_imports(REPO / "models" / "flood" / "device.py"))  # the check sees it
