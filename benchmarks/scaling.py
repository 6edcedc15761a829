"""Weak and strong scaling of metrotwin under MPI: the flood solver alone and the coupled demo.

Runs ``mpiexec -n N python -m mpi4py -m metrotwin run`` for each N and prints, per run: wall
time of the models, cells per second per rank, the share of time in halo exchange, and the
parallel efficiency against one rank (strong: same grid; weak: the grid grows with N).

    python benchmarks/scaling.py                    # 1 and 2 ranks, here
    python benchmarks/scaling.py --ranks 1 2 4 8 16 # on a cluster node (or under srun with --launcher)

Use ``--launcher "srun -n {n}"`` on a cluster. Medians of ``--repeats`` runs, after one
untimed run on one rank per case that fills numba's cache (else the first run's time holds the
compilation). ``--modes weak`` for weak scaling alone; ``--json FILE`` keeps the figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

FLOOD = {
    "name": "scaling_flood",
    "seed": 3,
    "domain": {"generated": {"size_x": 3000, "size_y": 2400, "resolution": 10}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "20 min",
               "coupling_interval": "5 min", "output_interval": "20 min"},
    "forcing": {"rainfall": {"hyetograph": [[0, 60]]}},
    "models": {"flood": {"buildings": "raised", "fixed_time_step": 1.0}},
}  # fmt: skip


def demo() -> dict:
    from metrotwin.scenario.scenario import demo_scenario_path

    data = yaml.safe_load(demo_scenario_path().read_text())
    data["variants"] = {}
    return data


def scaled(base: dict, factor: int, weak: bool) -> dict:
    """The scenario with its domain widened ``factor`` times (weak scaling)."""
    data = copy.deepcopy(base)
    if weak:
        data["domain"]["generated"]["size_x"] = data["domain"]["generated"].get("size_x", 3000) * factor
    return data


def run_once(data: dict, ranks: int, launcher: str, folder: Path) -> dict:
    path = folder / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    # a folder per run: metrotwin refuses to replace a finished run (the repeats share ``folder``)
    out = folder / f"out{ranks}-{len(list(folder.glob(f'out{ranks}-*')))}"
    # no report: it is not what is measured (the models' time), and it needs pyvista
    cmd = shlex.split(launcher.format(n=ranks)) + [sys.executable, "-m", "mpi4py", "-m", "metrotwin",
                                                   "run", str(path), "-o", str(out), "--no-progress",
                                                   "--no-report"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "NUMBA_NUM_THREADS": "1"})  # one thread per rank
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"run failed on {ranks} ranks:\n{proc.stderr}")
    run = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())["run"]
    return {"process": wall, "models": sum(run["model_wall_time_s"].values()),
            "halo": run.get("halo_exchange_s", 0.0)}


def cells_of(data: dict) -> int:
    g = data["domain"]["generated"]
    return round(g.get("size_x", 3000) / g.get("resolution", 10)) * round(
        g.get("size_y", 2400) / g.get("resolution", 10))


def measure(case: str, data: dict, n: int, args) -> dict:
    """Median models' time, halo share and work per second per rank of ``data`` on n ranks."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_once(data, n, args.launcher, Path(tmp)) for _ in range(args.repeats)]
    models = statistics.median(r["models"] for r in runs)
    halo = statistics.median(r["halo"] for r in runs)
    if case == "flood":  # fixed 1 s step: cell-updates
        work = cells_of(data) * 20 * 60 / data["models"]["flood"]["fixed_time_step"]
    else:  # coupled models: cell-hours simulated
        work = cells_of(data) * 6.0
    return {"models": models, "halo": halo, "per_rank": work / models / n,
            "process": statistics.median(r["process"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--launcher", default=str(Path(sys.executable).parent / "mpiexec") + " -n {n}")
    parser.add_argument("--cases", nargs="+", default=["flood", "demo"], choices=["flood", "demo"])
    parser.add_argument("--modes", nargs="+", default=["strong", "weak"], choices=["strong", "weak"])
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    bases = {"flood": FLOOD, "demo": demo()}
    print("flood: cell-updates per second per rank; demo: cell-hours simulated per second per rank")
    print(f"{'case':6} {'mode':6} {'ranks':>5} {'cells':>9} {'models s':>9} {'per s per rank':>14} "
          f"{'halo %':>7} {'efficiency':>10}")  # fmt: skip
    rows = []
    for case in args.cases:
        with tempfile.TemporaryDirectory() as tmp:  # fills numba's cache: not timed
            run_once(bases[case], 1, args.launcher, Path(tmp))
        for mode in args.modes:
            weak = mode == "weak"
            reference = None
            for n in args.ranks:
                data = scaled(bases[case], n, weak)
                m = measure(case, data, n, args)
                if reference is None:
                    reference = m["models"]
                efficiency = reference / m["models"] if weak else reference / (m["models"] * n)
                rows.append({"case": case, "mode": mode, "ranks": n, "cells": cells_of(data),
                             **m, "efficiency": efficiency})
                print(f"{case:6} {mode:6} {n:5d} {cells_of(data):9d} {m['models']:9.2f} "
                      f"{m['per_rank']:14.3g} {100 * m['halo'] / m['models']:7.1f} "
                      f"{100 * efficiency:9.0f}%", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
