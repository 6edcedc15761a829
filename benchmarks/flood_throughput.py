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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

#: bytes a sweep streams per cell: float64 depth read and written (16), the float32 bed steps
#: and friction of the cell's x and y faces (16), the uint8 mask (1), the float32 discharges
#: of its x and y faces read and written (16), and the four float32 statistics read and
#: written (32); the lossy cells are a list. A sweep of k steps (temporal blocking) streams
#: them once for the k steps: BYTES_PER_CELL / k per cell update
BYTES_PER_CELL = 16 + 16 + 1 + 16 + 32
LANDLAB_PYTHON = os.environ.get("METROTWIN_LANDLAB_PYTHON", "/work/peers/landlab/bin/python")


def urban_terrain(n: int, res: float):
    """Ground sloping 1 % to the east and south-east, 8 m blocks of 20 x 30 m every 50 m."""
    x = np.arange(n) * res
    ground = 50.0 - 0.01 * x[None, :] - 0.003 * x[:, None]
    height = np.zeros((n, n))
    block = (np.arange(n) * res) % 50.0
    on_x = (block >= 10) & (block < 40)
    on_y = (block >= 15) & (block < 35)
    height[np.ix_(on_y, on_x)] = 8.0
    return ground, height


def run_metrotwin(n, steps, repeats, res=2.0, advection=False, steps_per_sweep=None):
    from metrotwin.city.landcover import CODE
    from metrotwin.models.flood import FloodModel
    from metrotwin.run.coupler import Coupler
    from metrotwin.run.testing import make_context, make_grid, make_state

    ground, height = urban_terrain(n, res)
    rates = []
    for _ in range(repeats + 1):  # the first run also loads/compiles the kernel
        grid = make_grid(n, n, resolution=res)
        cover = np.where(height > 0, CODE["roof"], CODE["road"]).astype("int16")
        state = make_state(grid, surface_altitude=ground, building_height=height, land_cover=cover)
        ctx = make_context(grid, duration=steps, coupling_interval=steps,
                           forcing={"rainfall": {"hyetograph": [[0, 50.0]]}})
        model = FloodModel(FloodModel.Params(
            fixed_time_step=1.0, infiltration=False, drainage=False,
            boundaries={"east": "free", "south": "free"}, advection=advection,
            **({} if steps_per_sweep is None else {"steps_per_sweep": steps_per_sweep}),
        ))
        Coupler([model], state, ctx).allocate()  # the coupler allocates what a model writes
        model.initialize(state, ctx)
        t0 = time.perf_counter()
        model.advance(state, float(steps))
        elapsed = time.perf_counter() - t0
        assert model.steps == steps and np.isfinite(state["flood_water_thickness"]).all()
        rates.append(n * n * steps / elapsed / 1e6)
    return (float(np.median(rates[1:])), model.volume_balance()["relative_error"],
            model.steps_per_sweep)


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--landlab-steps", type=int, default=None,
                        help="steps for landlab (default: --steps); its rate is per cell-update")
    parser.add_argument("--advection", action="store_true",
                        help="metrotwin with the advection term (advection: true)")
    parser.add_argument("--steps-per-sweep", type=int, default=None,
                        help="metrotwin's steps per sweep through memory (default: the model's)")
    args = parser.parse_args(argv)
    bandwidth = triad_bandwidth()
    ours, balance, per_sweep = run_metrotwin(args.size, args.steps, args.repeats,
                                             advection=args.advection,
                                             steps_per_sweep=args.steps_per_sweep)
    theirs = run_landlab(args.size, args.landlab_steps or args.steps, args.repeats)
    ceiling = bandwidth * 1e9 / BYTES_PER_CELL / 1e6
    print(f"grid {args.size}x{args.size} at 2 m, {args.steps} steps of 1 s, 50 mm/h, "
          f"median of {args.repeats}")
    label = "metrotwin flood+adv  " if args.advection else "metrotwin flood      "
    print(f"{label}: {ours:8.1f} M cell-updates/s (volume error {balance:.1e}, "
          f"{per_sweep} step(s) per sweep)")
    print(f"landlab OverlandFlow : {theirs:8.1f} M cell-updates/s (steep_slopes=True)")
    print(f"ratio                : {ours / theirs:8.1f} x")
    print(f"triad bandwidth      : {bandwidth:8.1f} GB/s -> ceiling {ceiling:.0f} M cell-updates/s "
          f"at {BYTES_PER_CELL} B/update (one step per sweep)")
    if per_sweep > 1:
        print(f"                       {per_sweep} steps per sweep stream {BYTES_PER_CELL / per_sweep:.0f} "
              f"B/update -> ceiling {ceiling * per_sweep:.0f} M cell-updates/s")


if __name__ == "__main__":
    main()
