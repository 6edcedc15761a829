"""Benchmark: sky view factor of a 1000 x 1000 DSM at 1 m, metrotwin beside Rust SOLWEIG.

Usage:  .venv/bin/python benchmarks/heat_svf.py [--repeats 5] [--peer-repeats 1]

The DSM is UMEP's synthetic city (random blocks 6-30 m, 35 % built; shared/data
heat/umep_peer_outputs/synthetic_city_400_dsm.npy) tiled to 1000 x 1000. metrotwin integrates
32 horizon directions (numba; timed with 1 and 2 threads, --threads); the peer is the PyPI
``solweig`` package (Rust, CPU: ``solweig.disable_gpu()``), ``SurfaceData.compute_svf`` (153
sky patches, no vegetation), run in its own venv in a subprocess. The peer's Python is $METROTWIN_PEER_SOLWEIG
(default /work/peers/solweig/bin/python); install it with
    python3 -m venv /work/peers/solweig && /work/peers/solweig/bin/pip install solweig
Target (issue 4): <= 2 s; Rust SOLWEIG measured 17.9 s on this machine class.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from solweig_peer import run_peer

REPO = Path(__file__).resolve().parents[1]

PEER_SCRIPT = """
import sys, time, numpy as np, solweig
solweig.disable_gpu()
dsm = np.load(sys.argv[1]).astype(np.float32)
times = []
for _ in range(int(sys.argv[2])):
    s = solweig.SurfaceData(dsm=dsm, pixel_size=1.0)
    t = time.perf_counter(); s.compute_svf(); times.append(time.perf_counter() - t)
print(" ".join(f"{x:.4f}" for x in times))
print(f"svf_mean {float(np.mean(s.svf.svf if hasattr(s.svf, 'svf') else s.svf)):.5f}")
"""


def refdata() -> Path:
    path = Path(os.environ.get("METROTWIN_REFDATA", "../shared/data"))
    return path if path.is_absolute() else (REPO / path).resolve()


def city_dsm(n: int = 1000) -> np.ndarray:
    base = np.load(refdata() / "heat" / "umep_peer_outputs" / "synthetic_city_400_dsm.npy")
    reps = -(-n // base.shape[0])
    return np.ascontiguousarray(np.tile(base, (reps, reps))[:n, :n], dtype=float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peer-repeats", type=int, default=1)
    ap.add_argument("--azimuths", type=int, default=32)
    ap.add_argument("--threads", type=lambda x: [int(v) for v in x.split(",")], default=[1, 2],
                    help="numba thread counts to time, comma-separated (default 1,2)")
    args = ap.parse_args()
    from metrotwin.models.heat import geometry

    import numba

    dsm = city_dsm(args.size)
    geometry.sky_view(dsm[:64, :64].copy(), dsm[:64, :64].copy(), args.azimuths, 1.0)  # compile
    medians = {}
    for threads in args.threads:
        numba.set_num_threads(threads)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            svf, _ = geometry.sky_view(dsm, dsm, args.azimuths, 1.0)
            times.append(time.perf_counter() - t)
        medians[threads] = float(np.median(times))
        print(f"metrotwin SVF {args.size}x{args.size} ({args.azimuths} directions), {threads} "
              f"thread(s): median {medians[threads]:.3f} s over {args.repeats} "
              f"({', '.join(f'{x:.3f}' for x in times)}); mean SVF {svf.mean():.4f}; "
              f"load {os.getloadavg()[0]:.1f}")
    result = run_peer(PEER_SCRIPT, {"dsm": dsm.astype(np.float32)}, str(args.peer_repeats))
    if result is None:
        return
    peer_times = result[0]
    peer = float(np.median(peer_times))
    lines = ["", result[1]]
    print(f"Rust SOLWEIG (solweig, CPU) SVF: median {peer:.3f} s over {len(peer_times)}; "
          f"{lines[-1]}")
    for threads, med in medians.items():
        print(f"speed-up with {threads} thread(s): {peer / med:.1f}x  (target: <= 2 s and >= 9x)")
    print(f"machine load average: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
