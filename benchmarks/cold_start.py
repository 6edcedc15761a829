"""A new user's first minutes, timed (issue #16): ``metrotwin --help``, and the built-in demo
run with an empty numba cache (cold: the kernels compile) and again with it filled (warm),
without and with the comparison report.

    .venv/bin/python benchmarks/cold_start.py                 # everything (~6 demo runs)
    .venv/bin/python benchmarks/cold_start.py --no-report     # only the runs without a report
    .venv/bin/python benchmarks/cold_start.py --kernels       # + compile time per kernel

Each demo run is a fresh ``metrotwin run`` process, as a user types it (a fresh
``NUMBA_CACHE_DIR`` for the cold one, the same folder again for the warm one), into a
temporary folder. ``--kernels`` runs the demo's baseline once more in this process with an
empty cache and prints numba's compile time per kernel (its ``numba:compile`` events, the
time inside each function's own compilation, callees excluded). Issue #16's targets on the
2-core development machine: demo cold <= 60 s, warm <= 20 s, ``--help`` <= 0.5 s. On a
shared machine the times vary with the other load: say so beside the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METROTWIN = [sys.executable, "-m", "metrotwin"]


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall, CPU) times (s) of a command that must succeed. On a shared machine the CPU
    time (user + system) is the steadier figure: about the wall time on an idle one, the run
    being one thread (NUMBA_NUM_THREADS=1) but for short library threads."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def help_time(env: dict, cwd: Path, repeat: int = 5) -> float:
    """Median wall time of ``metrotwin --help`` (the console script where there is one)."""
    script = Path(sys.executable).with_name("metrotwin")
    cmd = [str(script), "--help"] if script.exists() else [*METROTWIN, "--help"]
    return statistics.median(timed(cmd, env, cwd)[0] for _ in range(repeat))


def demo_times(env: dict, work: Path, report: bool) -> tuple[tuple, tuple]:
    """(cold, warm) (wall, CPU) times (s) of ``metrotwin run`` of the demo, a fresh cache for
    the cold run and the same cache for the warm one."""
    cache = Path(tempfile.mkdtemp(prefix="numba-", dir=work))
    env = {**env, "NUMBA_CACHE_DIR": str(cache)}
    extra = [] if report else ["--no-report"]
    tag = "report" if report else "noreport"
    cold = timed([*METROTWIN, "run", "-o", str(work / f"cold-{tag}"), *extra], env, work)
    warm = timed([*METROTWIN, "run", "-o", str(work / f"warm-{tag}"), *extra], env, work)
    return cold, warm


def kernel_compile_times() -> list[tuple[str, float]]:
    """(kernel, s) of numba's compilations in a cold baseline run of the demo, in this
    process; exclusive of the kernels it calls (those have their own rows)."""
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-kernels-")
    from numba.core import event

    from metrotwin.run.runner import prepare_variants
    from metrotwin.scenario.scenario import demo_scenario_path
    from metrotwin.run.scenario import load_scenario

    totals: dict[str, float] = {}
    stack: list[list] = []  # [name, start, time in callees]

    class Listener(event.Listener):
        def on_start(self, ev):
            stack.append([ev.data["dispatcher"].py_func.__qualname__, time.perf_counter(), 0.0])

        def on_end(self, ev):
            name, start, inner = stack.pop()
            spent = time.perf_counter() - start
            module = ev.data["dispatcher"].py_func.__module__.removeprefix("metrotwin.")
            key = f"{module}.{name}"
            totals[key] = totals.get(key, 0.0) + spent - inner
            if stack:
                stack[-1][2] += spent

    listener = Listener()
    event.register("numba:compile", listener)
    try:
        (p,) = prepare_variants(load_scenario(demo_scenario_path()), ["baseline"])
        p.coupler.run(lambda t: None, lambda t: None)
    finally:
        event.unregister("numba:compile", listener)
    return sorted(totals.items(), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-report", action="store_true", help="only the runs without a report")
    parser.add_argument("--kernels", action="store_true", help="also the compile time per kernel")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    threads = env.get("NUMBA_NUM_THREADS", "default")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, numba threads {threads}, "
          f"load average {os.getloadavg()[0]:.1f} (a shared machine: times vary with it)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="metrotwin-cold-") as tmp:
        work = Path(tmp)
        print(f"metrotwin --help: {help_time(env, work):.2f} s (median of 5)")
        for report in (False,) if args.no_report else (False, True):
            cold, warm = demo_times(env, work, report)
            label = "with the report" if report else "--no-report"
            print(f"demo {label}: cold {cold[0]:.1f} s (CPU {cold[1]:.1f} s), "
                  f"warm {warm[0]:.1f} s (CPU {warm[1]:.1f} s); "
                  f"load average now {os.getloadavg()[0]:.1f}")  # fmt: skip
    if args.kernels:
        rows = kernel_compile_times()
        print(f"numba compile time in a cold baseline run: {sum(s for _, s in rows):.1f} s in "
              f"{len(rows)} kernels")  # fmt: skip
        for name, seconds in rows:
            print(f"  {seconds:6.2f} s  {name}")


if __name__ == "__main__":
    main()
