"""Flood solver throughput: metrotwin vs landlab's OverlandFlow, and the machine's memory
bandwidth ceiling, measured in the same run.

Case (issue 3): a 1000 x 1000 urban grid at 2 m (a 1 % slope, raised 8 m building blocks),
50 mm/h rain, 600 steps at a fixed 1 s step. Prints million cell-updates per second (median
over repeats) for each, their ratio, and a STREAM-like triad's bandwidth with the cell-update
ceiling it implies for a kernel that moves BYTES_PER_CELL bytes per update.

landlab runs in its own venv, in a subprocess (never a dependency of metrotwin):
    python3 -m venv /work/peers/landlab
    /work/peers/landlab/bin/pip install landlab requireit==0.8.0
Its interpreter is $METROTWIN_LANDLAB_PYTHON (default /work/peers/landlab/bin/python).

Usage: python benchmarks/flood_throughput.py [--size 1000] [--steps 600] [--repeats 3]
       [--landlab-steps N] [--steps-per-sweep K]
       [--advection] (metrotwin with the optional advection term; landlab has none)

The GPU (issue 23): ``--device cuda`` runs the solver on this machine's CUDA GPU (``device:
cuda``; numba-cuda and a driver needed), ``--device cuda cpu`` both and their ratio;
``--sizes 1000 4000 8000`` several grids; ``--ranks 16`` the CPU path on 16 ranks, one core
each, under ``--launcher`` (the venv's mpiexec); ``--no-landlab`` skips the peer; ``--json
FILE`` keeps the figures. E.g. on a GPU node of 16 cores:
    python benchmarks/flood_throughput.py --device cuda cpu --ranks 16 --sizes 1000 4000 8000 \
        --steps 400 --repeats 2 --no-landlab
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from metrotwin.errors import MetrotwinError  # noqa: E402

#: bytes a sweep streams per cell: float64 depth read and written (16), the float32 bed steps
#: and friction of the cell's x and y faces (16), the uint8 mask (1), the float32 discharges
#: of its x and y faces read and written (16), and the four float32 statistics read and
#: written (32); the lossy cells are a list. A sweep of k steps (temporal blocking) streams
#: them once for the k steps: BYTES_PER_CELL / k per cell update
BYTES_PER_CELL = 16 + 16 + 1 + 16 + 32
LANDLAB_PYTHON = os.environ.get("METROTWIN_LANDLAB_PYTHON", "/work/peers/landlab/bin/python")


def urban_terrain(n: int, res: float, rows: slice | None = None, cols: slice | None = None):
    """Ground sloping 1 % to the east and south-east, 8 m blocks of 20 x 30 m every 50 m: the
    cells ``rows`` x ``cols`` of the n x n grid (default all: a rank builds its tile only)."""
    rows, cols = rows or slice(0, n), cols or slice(0, n)
    x = np.arange(cols.start, cols.stop) * res
    y = np.arange(rows.start, rows.stop) * res
    ground = 50.0 - 0.01 * x[None, :] - 0.003 * y[:, None]
    height = np.zeros((y.size, x.size))
    on_x = (x % 50.0 >= 10) & (x % 50.0 < 40)
    on_y = (y % 50.0 >= 15) & (y % 50.0 < 35)
    height[np.ix_(on_y, on_x)] = 8.0
    return ground, height


def flood_params(advection=False, steps_per_sweep=None, device="cpu"):
    """The benchmark's flood parameters: a fixed 1 s step, no losses, free east and south."""
    from metrotwin.models.flood import FloodModel

    return FloodModel.Params(
        fixed_time_step=1.0, infiltration=False, drainage=False, device=device,
        boundaries={"east": "free", "south": "free"}, advection=advection,
        **({} if steps_per_sweep is None else {"steps_per_sweep": steps_per_sweep}),
    )


def started_model(n, steps, params, dec=None, res=2.0):
    """A flood model initialised on this rank's tile of the n x n case (``dec``: the
    decomposition over the ranks, default serial), and its state."""
    from metrotwin.city.landcover import CODE
    from metrotwin.models.flood import FloodModel
    from metrotwin.run.coupler import Coupler
    from metrotwin.run.testing import make_context, make_grid, make_state

    whole = make_grid(n, n, resolution=res)
    rows, cols = dec.local_window if dec is not None else (slice(0, n), slice(0, n))
    grid = whole.window(rows, cols)
    ground, height = urban_terrain(n, res, rows, cols)
    cover = np.where(height > 0, CODE["roof"], CODE["road"]).astype("int16")
    state = make_state(grid, surface_altitude=ground, building_height=height, land_cover=cover)
    ctx = make_context(grid, duration=steps, coupling_interval=steps,
                       forcing={"rainfall": {"hyetograph": [[0, 50.0]]}})
    if dec is not None:  # this rank's tile of the whole grid
        state.decomposition = dec
        ctx = dataclasses.replace(ctx, decomposition=dec)
    model = FloodModel(params)
    Coupler([model], state, ctx).allocate()  # the coupler allocates what a model writes
    model.initialize(state, ctx)
    return model, state


def timed_runs(n, steps, repeats, params, dec=None):
    """Million cell-updates per second of ``repeats`` successive advances of ``steps`` steps
    each on the whole n x n grid (the slowest rank's time), on one model built once (a
    large grid takes longer to build than to run); the volume error at the end, the steps
    per sweep and the solver's class."""
    model, state = started_model(n, steps * repeats, params, dec)
    rates = []
    for k in range(1, repeats + 1):
        if dec is not None:
            dec.barrier()
        t0 = time.perf_counter()
        model.advance(state, float(k * steps))
        elapsed = time.perf_counter() - t0
        if dec is not None:
            elapsed = dec.allreduce_max(elapsed)
        rates.append(n * n * steps / elapsed / 1e6)
    assert model.steps == steps * repeats and np.isfinite(state["flood_water_thickness"]).all()
    return (rates, model.volume_balance()["relative_error"], model.steps_per_sweep,
            type(model.solver).__name__)


def run_metrotwin(n, steps, repeats, advection=False, steps_per_sweep=None, device="cpu",
                  dec=None):
    """Median million cell-updates/s over ``repeats`` runs on n x n cells, after a run of a
    small grid that loads or compiles the kernels; with the volume error, steps per sweep
    and solver class."""
    params = flood_params(advection, steps_per_sweep, device)
    timed_runs(min(n, 256), 8, 1, params)  # serial, on every rank
    rates, *details = timed_runs(n, steps, repeats, params, dec)
    return (float(np.median(rates)), *details)


def worker(args) -> None:
    """One rank of ``--ranks N``: the CPU path on its tile; rank 0 prints the figures (JSON)."""
    from metrotwin.hpc.ensemble import communicator, decompose
    from metrotwin.models.flood import FloodModel

    params = flood_params(args.advection, args.steps_per_sweep)
    halo, multiple = FloodModel.tiling(params, 2.0)
    comm = communicator()
    dec = decompose(comm, (args.worker, args.worker), halo, None, multiple)
    figures = run_metrotwin(args.worker, args.steps, args.repeats, args.advection,
                            args.steps_per_sweep, "cpu", dec)
    if comm.Get_rank() == 0:
        print(json.dumps(figures))


def run_ranks(n, args):
    """The CPU path on ``args.ranks`` ranks (one core each) under ``args.launcher``."""
    cmd = shlex.split(args.launcher.format(n=args.ranks)) + [
        sys.executable, "-m", "mpi4py", os.path.abspath(__file__), "--worker", str(n),
        "--steps", str(args.steps), "--repeats", str(args.repeats),
        *(["--advection"] if args.advection else []),
        *([] if args.steps_per_sweep is None else ["--steps-per-sweep", str(args.steps_per_sweep)]),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    if out.returncode != 0:
        sys.exit(f"the run on {args.ranks} ranks failed:\n{out.stderr[-3000:]}")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


LANDLAB_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from landlab import RasterModelGrid
    from landlab.components import OverlandFlow
    n, steps, repeats = {n}, {steps}, {repeats}
    dsm = np.load({dsm!r})
    rates = []
    for _ in range(repeats):
        grid = RasterModelGrid((n, n), xy_spacing=2.0)
        # landlab's rows run south to north; the terrain is symmetric enough for timing
        grid.add_field("topographic__elevation", dsm.ravel().copy(), at="node")
        grid.add_zeros("surface_water__depth", at="node")
        grid.set_closed_boundaries_at_grid_edges(False, True, True, False)
        of = OverlandFlow(grid, mannings_n=0.016, steep_slopes=True,
                          rainfall_intensity=50.0 / 1000 / 3600)
        t0 = time.perf_counter()
        for _ in range(steps):
            of.overland_flow(dt=1.0)
        rates.append(n * n * steps / (time.perf_counter() - t0) / 1e6)
    print(json.dumps(sorted(rates)))
""")


def run_landlab(n, steps, repeats):
    if not os.path.exists(LANDLAB_PYTHON):
        sys.exit(
            f"landlab interpreter not found at {LANDLAB_PYTHON}; install it with\n"
            "  python3 -m venv /work/peers/landlab && "
            "/work/peers/landlab/bin/pip install landlab requireit==0.8.0\n"
            "or set METROTWIN_LANDLAB_PYTHON"
        )
    ground, height = urban_terrain(n, 2.0)
    with tempfile.TemporaryDirectory() as tmp:
        dsm = os.path.join(tmp, "dsm.npy")
        np.save(dsm, ground + height)
        script = LANDLAB_SCRIPT.format(dsm=dsm, n=n, steps=steps, repeats=repeats)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        out = subprocess.run([LANDLAB_PYTHON, "-c", script], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"landlab run failed:\n{out.stderr[-2000:]}")
    return float(np.median(json.loads(out.stdout.strip().splitlines()[-1])))


@njit(cache=True)
def _triad(a, b, c, s):
    for i in range(a.size):
        a[i] = b[i] + s * c[i]


def triad_bandwidth(size=20_000_000, repeats=7):
    """STREAM triad a = b + s c on float64 arrays far larger than the caches (GB/s)."""
    a, b, c = np.zeros(size), np.ones(size), np.full(size, 2.0)
    _triad(a, b, c, 3.0)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _triad(a, b, c, 3.0)
        times.append(time.perf_counter() - t0)
    return 3 * 8 * size / min(times) / 1e9  # STREAM reports the best time


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", "--sizes", dest="sizes", type=int, nargs="+", default=[1000],
                        help="grid sizes n (n x n cells at 2 m)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--landlab-steps", type=int, default=None,
                        help="steps for landlab (default: --steps); its rate is per cell-update")
    parser.add_argument("--no-landlab", action="store_true", help="skip landlab's OverlandFlow")
    parser.add_argument("--advection", action="store_true",
                        help="metrotwin with the advection term (advection: true)")
    parser.add_argument("--steps-per-sweep", type=int, default=None,
                        help="metrotwin's steps per sweep through memory (default: the model's)")
    parser.add_argument("--device", nargs="+", choices=["cpu", "cuda"], default=["cpu"],
                        help="metrotwin's solver: on the CPU, on the CUDA GPU, or both (ratio)")
    parser.add_argument("--ranks", type=int, default=1,
                        help="the CPU path on this many MPI ranks, one core each")
    parser.add_argument("--launcher", default=str(Path(sys.executable).parent / "mpiexec")
                        + " -n {n}", help="MPI launcher for --ranks ({n}: the ranks)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def measure(n, device, args):
    """(M cell-updates/s, volume error, steps per sweep, solver class) of metrotwin."""
    if device == "cpu" and args.ranks > 1:
        return run_ranks(n, args)
    return run_metrotwin(n, args.steps, args.repeats, advection=args.advection,
                         steps_per_sweep=args.steps_per_sweep, device=device)


def report_size(n, args, bandwidth) -> dict:
    """Measure and print one grid size; its figures."""
    print(f"grid {n}x{n} at 2 m, {args.steps} steps of 1 s, 50 mm/h, median of {args.repeats}")
    figures = {"size": n, "steps": args.steps}
    label = "metrotwin flood+adv" if args.advection else "metrotwin flood"
    for device in args.device:
        rate, balance, per_sweep, solver = measure(n, device, args)
        where = f"{args.ranks} ranks" if device == "cpu" and args.ranks > 1 else "1 process"
        figures[device] = {"mcups": rate, "volume_error": balance, "steps_per_sweep": per_sweep,
                           "solver": solver, "where": where}
        print(f"{label + ' ' + device:21}: {rate:8.1f} M cell-updates/s (volume error "
              f"{balance:.1e}, {per_sweep} step(s) per sweep, {solver}, {where})")
    if {"cpu", "cuda"} <= set(args.device):
        ratio = figures["cuda"]["mcups"] / figures["cpu"]["mcups"]
        figures["cuda_over_cpu"] = ratio
        print(f"ratio GPU / CPU      : {ratio:8.2f} x (CPU on {figures['cpu']['where']})")
    if not args.no_landlab:
        theirs = run_landlab(n, args.landlab_steps or args.steps, args.repeats)
        ours = figures[args.device[0]]["mcups"]
        figures["landlab_mcups"] = theirs
        print(f"landlab OverlandFlow : {theirs:8.1f} M cell-updates/s (steep_slopes=True)")
        print(f"ratio                : {ours / theirs:8.1f} x")
    per_sweep = max(figures[d]["steps_per_sweep"] for d in args.device)
    ceiling = bandwidth * 1e9 / BYTES_PER_CELL / 1e6
    print(f"triad bandwidth      : {bandwidth:8.1f} GB/s -> ceiling {ceiling:.0f} M cell-updates/s "
          f"per core at {BYTES_PER_CELL} B/update (one step per sweep)")
    if per_sweep > 1:
        print(f"                       {per_sweep} steps per sweep stream "
              f"{BYTES_PER_CELL / per_sweep:.0f} B/update -> ceiling "
              f"{ceiling * per_sweep:.0f} M cell-updates/s")
    return figures


def main(argv=None):
    args = parse(argv)
    if args.worker is not None:
        return worker(args)
    bandwidth = triad_bandwidth()
    try:
        results = [report_size(n, args, bandwidth) for n in args.sizes]
    except MetrotwinError as err:  # e.g. --device cuda where no GPU is usable
        sys.exit(f"flood_throughput: {err}")
    if args.json:
        Path(args.json).write_text(json.dumps({"triad_gb_s": bandwidth, "ranks": args.ranks,
                                               "results": results}, indent=1))


if __name__ == "__main__":
    main()
