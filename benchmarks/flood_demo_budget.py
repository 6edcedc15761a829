"""The flood model's share of the demo's time budget: scenarios/demo.yaml (a 3 km x 2.4 km
generated river town, 6 h, a cloudburst) with only the flood model, every variant, on one
core. Prints the flood's wall time per variant (the coupler's model_wall_time_s) and the
whole run's.

Usage: python benchmarks/flood_demo_budget.py [--resolution 10] [--repeats 1] [--advection]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core

import yaml  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"


def flood_only(resolution: float, advection: bool = False) -> dict:
    data = yaml.safe_load(DEMO.read_text())
    data["models"] = {"flood": data["models"]["flood"]}
    if advection:
        data["models"]["flood"] = {**(data["models"]["flood"] or {}), "advection": True}
    data["domain"]["generated"]["resolution"] = resolution
    for variant in data.get("variants", {}).values():
        variant.get("models", {}).pop("heat", None)
        variant.get("models", {}).pop("mobility", None)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--advection", action="store_true", help="flood with advection: true")
    args = parser.parse_args(argv)
    from metrotwin.run.runner import run_scenario
    from metrotwin.run.scenario import parse_scenario
    from metrotwin.viz.report import compare_runs

    scenario = parse_scenario(flood_only(args.resolution, args.advection))
    g = scenario.domain.generated
    print(f"demo, flood only: {g.size_x / g.resolution:.0f} x {g.size_y / g.resolution:.0f} cells "
          f"at {g.resolution:g} m, {scenario.period.seconds / 3600:g} h"
          f"{', advection on' if args.advection else ''}")
    for rep in range(args.repeats + 1):  # the first run also compiles / loads the kernels
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            folders = run_scenario(scenario, Path(tmp) / "out", progress=False,
                                   report=compare_runs)  # fmt: skip
            wall = time.perf_counter() - t0
            if rep == 0:
                continue
            for name, folder in folders.items():
                run = yaml.safe_load((folder / "scenario.resolved.yaml").read_text())["run"]
                print(f"  {name:12s} flood {run['model_wall_time_s']['flood']:7.2f} s   "
                      f"variant {run['wall_time_s']:7.2f} s")
            print(f"  whole run (city, 3 variants, output): {wall:.2f} s")


if __name__ == "__main__":
    main()
