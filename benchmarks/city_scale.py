"""Benchmark: metrotwin at city scale, end to end (engine and models), stage by stage.

Usage:
    .venv/bin/python benchmarks/city_scale.py heat      [--time-step 3600] [--peer-tile 400]
    .venv/bin/python benchmarks/city_scale.py coupled   [--size-km 16] [--ranks 1 2]
    .venv/bin/python benchmarks/city_scale.py memory    [--memory-km 5 10]
    .venv/bin/python benchmarks/city_scale.py all

heat: the city-scale heat day of UMEP issue 859 (a user waited more than 7 hours): a generated
city of 11 x 6 km at 5 m (2200 x 1200 = 2.64 M cells), 24 h from midnight, heat model only,
coupled and written hourly, run as a user runs it (`metrotwin run --profile`, one numba
thread, warm kernel cache) and timed from the command to the published folder. Beside it, Rust
SOLWEIG (the `solweig` package in its own venv, see solweig_peer.py) computes the same day's
hourly Tmrt on a TILE of the same city's DSM (`--peer-tile` cells square, SVF included); its
time is scaled to the whole area by the ratio of cells. That scaling is linear and so favours
the peer: its shadow casting costs more per cell on a larger grid (longer shadows to walk), so
the true whole-city time of the peer is at least the scaled one.

coupled: flood + heat + mobility on a generated city of SIZE x SIZE km at 5 m (16 km: 3200 x
3200 = 10.24 M cells) for 30 simulated minutes of the demo's cloudburst, on 1 rank and on 2
ranks (`mpiexec -n 2`), with the wall time and peak memory of every stage and the largest
share of any stage that is not a model's own time stepping (the issue's goal: <= 20 %).

memory: the peak memory per cell of the engine alone (no model) and of each model alone, from
two generated cities of 5 and 10 km square at 5 m (1 M and 4 M cells), 10 simulated minutes:
the difference of the peaks over the difference of the cells (as the README's capacity table),
so that the fixed cost of Python and the libraries drops out.

Every figure is a single run (these runs take minutes); the machine's load average is printed
beside them, since a busy 2-core machine stretches every time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

WEATHER = {"design_day": {"air_temperature_max": 34, "air_temperature_min": 21,
                          "relative_humidity": 40, "wind_speed": 2.0, "wind_direction": 225}}
CLOUDBURST = [["0 min", 0], ["5 min", 40], ["20 min", 60], ["30 min", 0]]  # mm/h


def heat_scenario(time_step: float) -> dict:
    return {
        "name": "city_heat",
        "description": "UMEP#859-sized heat day: 11 x 6 km at 5 m, 24 h, heat only.",
        "seed": 42,
        "domain": {"generated": {"size_x": 11_000, "size_y": 6_000, "resolution": 5}},
        "period": {"start": "2026-07-15T00:00:00", "end": "2026-07-16T00:00:00",
                   "coupling_interval": "1 h", "output_interval": "1 h"},
        "forcing": {"weather": WEATHER},
        "models": {"heat": {"time_step": time_step}},
    }  # fmt: skip


def coupled_scenario(size_km: float) -> dict:
    size = size_km * 1000.0
    return {
        "name": "city_coupled",
        "description": f"{size_km:g} x {size_km:g} km at 5 m: flood, heat and mobility, 30 min.",
        "seed": 42,
        "domain": {"generated": {"size_x": size, "size_y": size, "resolution": 5}},
        "period": {"start": "2026-07-15T07:30:00", "duration": "30 min",
                   "coupling_interval": "5 min", "output_interval": "15 min"},
        "forcing": {"rainfall": {"hyetograph": CLOUDBURST}, "weather": WEATHER},
        "models": {
            "flood": {"buildings": "raised",
                      "initial_water": {"land_cover": "water", "depth": 1.0}},
            "heat": {"time_step": 900, "air_cell_size": 100},
            "mobility": {"sample_fraction": 0.02},
        },
    }  # fmt: skip


def metrotwin_run(scenario: dict, work: Path, ranks: int = 1) -> dict:
    """Run ``scenario`` with the CLI (`--profile`); returns wall time, the peak memory of
    rank 0 (its own high-water mark, VmHWM) and the baseline's stage profile."""
    path = work / f"{scenario['name']}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    out = work / f"run-{scenario['name']}-{ranks}"
    cmd = [sys.executable, "-m", "metrotwin", "run", str(path), "-o", str(out), "--no-progress",
           "--no-report", "--profile"]  # fmt: skip
    if ranks > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        cmd = [str(mpiexec), "-n", str(ranks), sys.executable, "-m", "mpi4py", *cmd[1:]]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if res.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    run = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())["run"]
    return {"wall": wall, "peak_mib": run["peak_rss_mib"], "run": run, "printed": res.stdout}


def summarise(label: str, result: dict, cells: int) -> None:
    run, stages = result["run"], result["run"]["profile"]
    print(f"\n{label}: {cells / 1e6:.2f} M cells, {run['ranks']} rank(s) {run['layout']}: "
          f"wall {result['wall']:.1f} s from the command to the published run, peak memory of "
          f"rank 0 {result['peak_mib']:.0f} MiB "
          f"({result['peak_mib'] * 2**20 / cells * run['ranks']:.0f} B per cell, x ranks)")
    total = sum(s["seconds"] for s in stages.values())
    print(f"  {'stage (rank 0)':44s} {'wall s':>8s} {'share':>6s} {'peak MiB':>9s}")
    for name, s in stages.items():
        print(f"  {name:44s} {s['seconds']:8.2f} {s['seconds'] / total:6.1%} "
              f"{s['peak_rss_mib']:9.0f}")  # fmt: skip
    rest = result["wall"] - total
    print(f"  {'(start-up, scenario, output folder, exit)':44s} {rest:8.2f} "
          f"{rest / result['wall']:6.1%}")  # fmt: skip
    engine = {k: s["seconds"] for k, s in stages.items() if not k.startswith("model ")}
    engine["start-up"] = rest
    worst = max(engine, key=engine.get)
    print(f"  largest stage outside the models' time stepping: {worst} "
          f"{engine[worst] / result['wall']:.1%} of the wall time (goal <= 20 %); load "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


PEER_SCRIPT = """
import datetime as dt, sys, tempfile, time, numpy as np, solweig
solweig.disable_gpu()
dsm = np.load(sys.argv[1]).astype(np.float32); dem = np.load(sys.argv[2]).astype(np.float32)
res = float(sys.argv[3])
# the design day of the metrotwin scenario, hour by hour: 21-34 C (minimum at 05:00),
# 40 % humidity, 2 m/s, and a clear-sky global radiation bell from 05:00 to 20:00
weather = []
for h in range(24):
    ta = 21.0 + 13.0 * 0.5 * (1 - np.cos(np.pi * ((h - 5) % 24) / 12))
    rad = 900.0 * np.sin(np.pi * (h - 5) / 15) if 5 <= h <= 20 else 0.0
    weather.append(solweig.Weather(datetime=dt.datetime(2026, 7, 15, h), ta=float(ta), rh=40.0,
                                   global_rad=float(max(rad, 0.0)), ws=2.0))
loc = solweig.Location(latitude=48.1, longitude=7.5, utc_offset=1)
with tempfile.TemporaryDirectory() as out:
    t = time.perf_counter()
    surface = solweig.SurfaceData(dsm=dsm, dem=dem, pixel_size=res)
    surface.compute_svf()
    summary = solweig.calculate(surface, weather, loc, output_dir=out, use_anisotropic_sky=False,
                                max_shadow_distance_m=500.0)
    elapsed = time.perf_counter() - t
print(f"{elapsed:.4f}")
print(f"steps {len(weather)} tmrt_max {float(np.nanmax(summary.tmrt_max)):.2f}")
"""


def heat(args) -> None:
    from solweig_peer import run_peer

    from metrotwin.city.citygen import generate_city
    from metrotwin.run.scenario import parse_scenario

    with tempfile.TemporaryDirectory(prefix="city_scale_") as tmp:
        work = Path(tmp)
        warm = heat_scenario(args.time_step)
        warm["domain"]["generated"].update(size_x=1000, size_y=800, resolution=10)
        warm["period"]["end"] = "2026-07-15T02:00:00"
        warm["name"] = "warm_up"
        metrotwin_run(warm, work)  # the kernels compiled and cached, as on a user's second run
        scenario = heat_scenario(args.time_step)
        result = metrotwin_run(scenario, work)
        summarise(f"heat day, 11 x 6 km at 5 m, heat step {args.time_step:g} s", result, 2_640_000)
        mt = result["wall"]
        # the peer: hourly Tmrt of the same day on a tile of the same city's DSM
        city = generate_city(parse_scenario(scenario).domain.generated, 42)
        n = args.peer_tile
        r0, c0 = (city.grid.ny - n) // 2, (city.grid.nx - n) // 2
        dem = city["surface_altitude"][r0:r0 + n, c0:c0 + n]
        dsm = dem + city["building_height"][r0:r0 + n, c0:c0 + n]
    peer = run_peer(PEER_SCRIPT, {"dsm": dsm, "dem": dem}, "5.0")
    if peer is None:
        return
    tile, scale = peer[0][0], 2_640_000 / n**2
    print(f"\nRust SOLWEIG on a {n} x {n} tile ({n * n / 1e6:.2f} M cells, SVF + 24 hourly "
          f"steps): {tile:.1f} s; {peer[1]}\n  scaled to 2.64 M cells (x{scale:.1f}, linear): "
          f"{tile * scale:.0f} s; metrotwin end to end {mt:.1f} s: {tile * scale / mt:.1f}x")


def coupled(args) -> None:
    cells = round(args.size_km * 200) ** 2
    with tempfile.TemporaryDirectory(prefix="city_scale_") as tmp:
        work = Path(tmp)
        warm = {**coupled_scenario(1.2), "name": "warm_up"}
        metrotwin_run(warm, work)  # compile and cache the kernels first
        for ranks in args.ranks:
            result = metrotwin_run(coupled_scenario(args.size_km), work, ranks)
            summarise(f"coupled flood + heat + mobility, {args.size_km:g} km square at 5 m, "
                      "30 min", result, cells)  # fmt: skip


MEMORY_MODELS = {
    "engine alone": {},
    "flood": {"flood": {"buildings": "raised"}},
    "heat": {"heat": {"time_step": 600}},
    "mobility": {"mobility": {"sample_fraction": 0.02}},
}


def memory(args) -> None:
    small, large = (round(km * 200) ** 2 for km in args.memory_km)
    print(f"\npeak memory per cell, {args.memory_km[0]:g} and {args.memory_km[1]:g} km square at 5 m "
          f"({small / 1e6:.2f} and {large / 1e6:.2f} M cells), 10 simulated minutes, one rank:")
    with tempfile.TemporaryDirectory(prefix="city_scale_") as tmp:
        work = Path(tmp)
        for label, models in MEMORY_MODELS.items():
            peaks = []
            for km in args.memory_km:
                scenario = coupled_scenario(km)
                scenario.update(name=f"mem_{len(peaks)}_{label.split()[0]}", models=models)
                scenario["period"].update(duration="10 min", output_interval="5 min")
                result = metrotwin_run(scenario, work)
                peaks.append(result["run"]["peak_rss_mib"])
            per_cell = (peaks[1] - peaks[0]) * 2**20 / (large - small)
            print(f"  {label:14s} peaks {peaks[0]:7.0f} / {peaks[1]:7.0f} MiB: "
                  f"{per_cell:6.0f} B per cell ({per_cell / 1024:.2f} KiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=["heat", "coupled", "memory", "all"])
    ap.add_argument("--time-step", type=float, default=3600.0,
                    help="heat model's energy-balance step (s) for the heat day (default 3600, "
                         "SOLWEIG's hourly step)")  # fmt: skip
    ap.add_argument("--peer-tile", type=int, default=400, help="SOLWEIG tile size (cells)")
    ap.add_argument("--size-km", type=float, default=16.0, help="coupled city's side (km)")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--memory-km", type=float, nargs=2, default=[5.0, 10.0],
                    help="sides (km) of the two cities of the memory case")
    args = ap.parse_args()
    np.seterr(all="ignore")
    if args.case in ("heat", "all"):
        heat(args)
    if args.case in ("coupled", "all"):
        coupled(args)
    if args.case in ("memory", "all"):
        memory(args)


if __name__ == "__main__":
    main()
