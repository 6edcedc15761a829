"""Flood damage per building: metrotwin's ``building_damage`` against Delft-FIAT 0.4.0 on the
same exposure and depth map, both timed (median of --repeat runs each, same machine, same run).

Usage: .venv/bin/python benchmarks/risk_fiat.py [--buildings 100000] [--cells 1000] [--repeat 3]

The case (tests/_support/fiat_peer.py ``synthetic_case``): a depth map of cells x cells cells
of 10 m, depths -0.5..8 m in steps of 0.01 m (FIAT's curve step, so the two agree to FIAT's
rounding of each damage to 0.01 EUR), buildings of four uses at random points, JRC Europe
curves, NLD maximum damage per m² x footprint x min(storeys, 3), ground floor height 0,
FIAT's ``centroid`` extraction (the depth of the cell holding the point).

Timed: metrotwin: reading each building's depth from the map in memory + ``building_damage``.
FIAT: the whole ``fiat run`` (interpreter, reading the GeoTIFF, GeoPackage and CSVs, the
computation, writing its GeoPackage and CSV) on 1 thread, and FIAT's own "Calculations time"
(its loop over the buildings and the writing of its outputs). Writing FIAT's input files
(``write_fiat_model``) is timed apart; it is not part of either.

The peer, installed here with (Debian 12, GDAL 3.6.2):
    apt-get install -y libgdal-dev
    python3 -m venv /work/peers/fiat-venv
    /work/peers/fiat-venv/bin/pip install numpy setuptools wheel
    /work/peers/fiat-venv/bin/pip install --no-build-isolation "gdal==$(gdal-config --version)"
    /work/peers/fiat-venv/bin/pip install delft_fiat==0.4.0
(or METROTWIN_FIAT_PYTHON=<a python with fiat>). It is run with a lifetime fix for its
GDAL < 3.8 crash, see tests/_support/fiat_peer.py.

Measured 2026-12-06 11:34 UTC on the shared 2-core helper machine (load ~3), defaults
(10^5 buildings, 1000 x 1000 cells, 3 repeats): 94 085 damaged, total 188 903 716 455.47 EUR
(metrotwin) vs .82 (FIAT); max |difference| 0.005000 EUR per building (FIAT's rounding to
cents; max relative 9.1e-6, on a ~550 EUR damage); metrotwin 0.113 s median, FIAT whole run
10.50 s, its calculation 9.28 s, writing its inputs 0.47 s: FIAT / metrotwin 93x (whole run),
82x (calculation).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/

from metrotwin.results.risk.damage import building_damage  # noqa: E402
from metrotwin.results.risk.exposure import (  # noqa: E402
    depth_at_points,
    read_fiat_damage,
    write_fiat_model,
)
from tests._support.fiat_peer import fiat_python, run_fiat, synthetic_case  # noqa: E402

COUNTRY, STOREYS_COUNTED = "NLD", 3


def metrotwin_damage(grid, depth, exposure) -> np.ndarray:
    """Damage (EUR) per building as metrotwin computes it."""
    at = depth_at_points(depth, grid, exposure.x, exposure.y)
    return building_damage(at, exposure.uses, exposure.footprint_m2, exposure.storeys,
                           country=COUNTRY, storeys_counted=STOREYS_COUNTED)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=1000, help="map side (cells of 10 m)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python, why_not = fiat_python()
    if python is None:
        print(f"peer: {why_not}")
        return 1
    grid, depth, exposure = synthetic_case(args.buildings, seed=19, cells=args.cells)
    ours_s = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours = metrotwin_damage(grid, depth, exposure)
        ours_s.append(time.perf_counter() - start)
    fiat_wall, fiat_calc = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            start = time.perf_counter()
            settings = write_fiat_model(
                Path(tmp) / f"run{k}", depth, grid, exposure,
                country=COUNTRY, storeys_counted=STOREYS_COUNTED,
            )  # fmt: skip
            export_s = time.perf_counter() - start
            wall, calc = run_fiat(python, settings)
            fiat_wall.append(wall)
            fiat_calc.append(calc)
            fiat = read_fiat_damage(settings, len(exposure))
    _report(args, ours, fiat, ours_s, fiat_wall, fiat_calc, export_s)
    return 0


def _report(args, ours, fiat, ours_s, fiat_wall, fiat_calc, export_s) -> None:
    m, w, c = (statistics.median(v) for v in (ours_s, fiat_wall, fiat_calc))
    diff = np.abs(fiat - ours)
    wet = ours > 0
    print(f"{args.buildings} buildings, {args.cells}x{args.cells} cells of 10 m, "
          f"{int(wet.sum())} damaged; total damage metrotwin {ours.sum():.2f} EUR, "
          f"FIAT {fiat.sum():.2f} EUR")  # fmt: skip
    print(f"max |FIAT - metrotwin| per building: {diff.max():.6f} EUR (FIAT rounds to 0.01); "
          f"max relative (damaged): {np.max(diff[wet] / ours[wet]):.2e}")  # fmt: skip
    print(f"metrotwin (depth lookup + building_damage): median {m:.4f} s of {ours_s}")
    print(f"FIAT whole run (1 thread): median {w:.2f} s; its own calculation time: "
          f"median {c:.2f} s; writing its inputs: {export_s:.2f} s")  # fmt: skip
    print(f"ratio FIAT / metrotwin: whole run {w / m:.0f}x, calculation {c / m:.0f}x")


if __name__ == "__main__":
    sys.exit(main())
