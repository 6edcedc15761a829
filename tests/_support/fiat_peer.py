"""Delft-FIAT as a peer for metrotwin's flood damage: where its Python is, how to run it on a
model written by ``metrotwin.results.risk.exposure.write_fiat_model``, and a synthetic case.

The peer lives in its own venv (FIAT needs GDAL's Python bindings, built against the system's
libgdal). Installed here with (Debian 12, GDAL 3.6.2):

    apt-get install -y libgdal-dev
    python3 -m venv /work/peers/fiat-venv
    /work/peers/fiat-venv/bin/pip install numpy setuptools wheel
    /work/peers/fiat-venv/bin/pip install --no-build-isolation "gdal==$(gdal-config --version)"
    /work/peers/fiat-venv/bin/pip install delft_fiat==0.4.0

or point METROTWIN_FIAT_PYTHON at a Python that imports ``fiat`` and ``osgeo``.

FIAT 0.4.0 (and 0.3.x) with GDAL 3.6 crashes (SIGSEGV) in ``fiat.fio.BufferedGeomWriter``:
it reads a layer definition from a dataset it has already closed, which GDAL < 3.8's bindings
free with the dataset. ``RUNNER`` keeps that dataset open for the writer's life: a fix of an
object's lifetime only; nothing of FIAT's damage computation is touched.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.results.risk.exposure import FIAT_FILES, PointExposure

DEFAULT_PYTHON = "/work/peers/fiat-venv/bin/python"
INSTALL = ("apt-get install -y libgdal-dev && python3 -m venv /work/peers/fiat-venv && "
           "/work/peers/fiat-venv/bin/pip install numpy setuptools wheel && "
           "/work/peers/fiat-venv/bin/pip install --no-build-isolation "
           '"gdal==$(gdal-config --version)" && '
           "/work/peers/fiat-venv/bin/pip install delft_fiat==0.4.0 "
           "(or set METROTWIN_FIAT_PYTHON)")  # fmt: skip

#: run as ``python -c RUNNER settings.toml``: FIAT's CLI ``fiat run``, with the lifetime fix
RUNNER = """
import sys
import fiat.fio as fio
from fiat.cli.main import main

_init = fio.BufferedGeomWriter.__init__

def _init_keeping_source(self, file, srs, layer_defn=None, buffer_size=100000, lock=None):
    if layer_defn is None:
        self._defn_source = fio.open_geom(file, mode="r")
        layer_defn = self._defn_source.layer.GetLayerDefn()
    _init(self, file, srs, layer_defn, buffer_size, lock)

fio.BufferedGeomWriter.__init__ = _init_keeping_source
sys.argv = ["fiat", "run", *sys.argv[1:]]
main(sys.argv[1:])
"""


def fiat_python() -> tuple[str | None, str]:
    """(the peer's Python, '') when it imports fiat and osgeo, else (None, why not)."""
    python = os.environ.get("METROTWIN_FIAT_PYTHON", DEFAULT_PYTHON)
    if not Path(python).exists():
        return None, f"Delft-FIAT peer {python} not found; install: {INSTALL}"
    probe = subprocess.run([python, "-c", "import fiat, osgeo.gdal"],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    if probe.returncode:
        return None, f"{python} cannot import fiat/osgeo: {probe.stderr.strip()[-300:]}"
    return python, ""


def run_fiat(python: str, settings: Path, timeout: float = 600) -> tuple[float, float]:
    """Run FIAT on ``settings``: (wall time of the whole run, FIAT's own 'Calculations
    time' from its log), both in s. RuntimeError with FIAT's messages if it fails."""
    start = time.perf_counter()
    res = subprocess.run([python, "-c", RUNNER, str(settings)], capture_output=True, text=True,
                         timeout=timeout, cwd=settings.parent)  # fmt: skip
    wall = time.perf_counter() - start
    calc = re.search(r"Calculations time: ([0-9.]+) seconds", res.stdout + res.stderr)
    if res.returncode or calc is None:
        raise RuntimeError(f"FIAT failed (exit {res.returncode}):\n{res.stdout[-2000:]}\n"
                           f"{res.stderr[-2000:]}")  # fmt: skip
    if not (settings.parent / FIAT_FILES["output"] / FIAT_FILES["damage"]).exists():
        raise RuntimeError(f"FIAT wrote no damage table:\n{res.stdout[-2000:]}")
    return wall, float(calc.group(1))


def synthetic_case(n: int, *, seed: int, cells: int = 60, on_step: bool = True):
    """A depth map over ``cells`` x ``cells`` cells of 10 m (depths -0.5..8 m: dry cells and
    cells deeper than the curves' 6 m; multiples of 0.01 m, FIAT's curve step, when
    ``on_step``) and ``n`` buildings of every use at random points: (grid, depth, exposure)."""
    rng = np.random.default_rng(seed)
    grid = Grid(cells, cells, 10.0, 500_000.0, 5_200_000.0, "EPSG:32632")
    depth = rng.uniform(-0.5, 8.0, grid.shape)
    if on_step:
        depth = np.round(depth, 2)
    x = rng.uniform(grid.west + 1e-3, grid.east - 1e-3, n)
    y = rng.uniform(grid.south + 1e-3, grid.north - 1e-3, n)
    uses = np.array(["residential", "commercial", "industrial", "public"])[np.arange(n) % 4]
    exposure = PointExposure(x, y, uses, rng.uniform(40.0, 2000.0, n), rng.integers(1, 8, n))
    return grid, depth, exposure
