"""Benchmark: a full 24-hour Tmrt + UTCI day on Athens 400 x 400 at 1 m, metrotwin beside
Rust SOLWEIG.

Usage:  .venv/bin/python benchmarks/heat_day.py [--repeats 3] [--time-step 3600]

Inputs: shared/data heat/solweig_demo_rasters/athens_1m (DSM, DEM, EPW 2023-07-21, the day of
the July 2023 heatwave). metrotwin runs the whole heat model (geometry once, then 24 hourly
steps of shadows, surface energy balance, air temperature, Tmrt and UTCI and their daily
statistics); the timing includes the geometry. The peer is the PyPI ``solweig`` package (Rust,
CPU), ``solweig.calculate`` on the same DSM/DEM and 24 EPW hours, SVF included, run in its own
venv ($METROTWIN_PEER_SOLWEIG, default /work/peers/solweig/bin/python). UMEP (Python) took
19.6 s for this day on this machine class (issue 4); target <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from solweig_peer import run_peer

REPO = Path(__file__).resolve().parents[1]

PEER_SCRIPT = """
import sys, time, tempfile, numpy as np, solweig
solweig.disable_gpu()
dsm = np.load(sys.argv[1]).astype(np.float32); dem = np.load(sys.argv[2]).astype(np.float32)
epw = sys.argv[3]
times = []
for _ in range(int(sys.argv[4])):
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        surface = solweig.SurfaceData(dsm=dsm, dem=dem, pixel_size=1.0)
        surface.compute_svf()
        weather = solweig.Weather.from_epw(epw, start="2023-07-21", end="2023-07-21")
        loc = solweig.Location.from_epw(epw)
        summary = solweig.calculate(surface, weather, loc, output_dir=out,
                                    use_anisotropic_sky=False)
        times.append(time.perf_counter() - t)
print(" ".join(f"{x:.4f}" for x in times))
print(f"steps {len(weather)} tmrt_max {float(np.nanmax(summary.tmrt_max)):.2f}")
"""


def refdata() -> Path:
    path = Path(os.environ.get("METROTWIN_REFDATA", "../shared/data"))
    return path if path.is_absolute() else (REPO / path).resolve()


def athens():
    import rasterio

    d = refdata() / "heat" / "solweig_demo_rasters" / "athens_1m"
    dsm = rasterio.open(d / "DSM.tif").read(1).astype(float)
    dem = rasterio.open(d / "DEM.tif").read(1).astype(float)
    return dsm, dem, d / "athens_2023.epw"


def run_metrotwin(dsm, dem, epw, time_step):
    from metrotwin.city.landcover import CODE
    from metrotwin.models.heat import HeatModel
    from metrotwin.run.testing import make_context, make_grid, make_state

    height = np.clip(dsm - dem, 0.0, None)
    height[height < 2.0] = 0.0  # SOLWEIG's minimum object height order
    cover = np.where(height > 0, CODE["roof"], CODE["paved"]).astype("int16")
    grid = make_grid(*dsm.shape, resolution=1.0, crs="EPSG:2100")
    state = make_state(grid, surface_altitude=dem, building_height=height, land_cover=cover)
    ctx = make_context(grid, duration=24 * 3600.0, coupling_interval=3600.0,
                       start="2023-07-21T00:00:00", forcing={"weather": {"file": str(epw)}})
    t0 = time.perf_counter()
    model = HeatModel(HeatModel.Params(time_step=time_step))
    for name, spec in model.variables.items():
        if spec.writes:
            state.add_variable(name, spec)
    model.initialize(state, ctx)
    for hour in range(1, 25):
        model.advance(state, hour * 3600.0)
    model.finalize(state)
    return time.perf_counter() - t0, state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peer-repeats", type=int, default=1)
    ap.add_argument("--time-step", type=float, default=3600.0)
    ap.add_argument("--threads", type=lambda x: [int(v) for v in x.split(",")], default=[1, 2],
                    help="numba thread counts to time, comma-separated (default 1,2)")
    args = ap.parse_args()
    import numba

    dsm, dem, epw = athens()
    run_metrotwin(dsm[:40, :40], dem[:40, :40], epw, args.time_step)  # compile / warm caches
    medians = {}
    for threads in args.threads:
        numba.set_num_threads(threads)
        times = []
        for _ in range(args.repeats):
            dt, state = run_metrotwin(dsm, dem, epw, args.time_step)
            times.append(dt)
        medians[threads] = float(np.median(times))
        print(f"metrotwin 24 h Tmrt+UTCI, Athens 400x400, step {args.time_step:g} s, {threads} "
              f"thread(s): median {medians[threads]:.3f} s over {args.repeats} "
              f"({', '.join(f'{x:.3f}' for x in times)}); Tmrt max "
              f"{np.nanmax(state['mean_radiant_temperature_daily_max']) - 273.15:.1f} C, UTCI max "
              f"{np.nanmax(state['utci_daily_max']):.1f} C; load {os.getloadavg()[0]:.1f}")
    result = run_peer(PEER_SCRIPT, {"dsm": dsm, "dem": dem}, str(epw), str(args.peer_repeats))
    if result is None:
        return
    peer = float(np.median(result[0]))
    lines = ["", result[1]]
    print(f"Rust SOLWEIG (solweig, CPU, SVF included): median {peer:.3f} s; {lines[-1]}")
    for threads, med in medians.items():
        print(f"speed-up with {threads} thread(s): {peer / med:.1f}x  (target: <= 2 s and "
              f">= 9x; UMEP 19.6 s in the issue)")
    print(f"machine load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
