"""Time to first frame of the browser viewer (issue #22), for the demo run and for a synthetic
10⁷-cell run, measured two ways: the scene alone, from opening the run (``ViewerData``) and
building the 3D scene (``ViewerScene``) to the first rendered picture (``plotter.screenshot``);
and what a user waits for, from starting ``metrotwin view RUN --port P`` to the first
non-blank picture in a headless Chromium (Debian's ``chromium`` + ``chromium-driver`` with
selenium; skipped, with the reason, where they are missing, or with ``--no-browser``).

    .venv/bin/python benchmarks/viewer.py                        # runs the demo first (~1 min)
    .venv/bin/python benchmarks/viewer.py --demo-run runs/demo   # reuse a demo run
    .venv/bin/python benchmarks/viewer.py --cells 1e6 --repeat 3 # a smaller synthetic run

The synthetic run (in a temporary folder, removed afterwards) is one variant folder with a
``fields.nc`` of ``--cells`` cells (a square grid of 10 m), its static layers (ground,
buildings, land cover, districts), a road network with link speeds, and ``--times`` output
times of water depth and UTCI, written in chunks of one time step by 512 x 512 cells (as a
reader that wants one time step finds them). Each repeat is a fresh Python process, as a
user's ``metrotwin view`` is (the graphics context is made anew; the modules' import is not
counted), on files the OS may have cached from the repeat before. Targets (issue #22):
demo <= 5 s, 10⁷ cells <= 15 s. On a shared machine the times
vary with the other load: say so beside the figures.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from metrotwin.viz.viewer_data import ViewerData  # noqa: E402
from metrotwin.viz.viewer_scene import ViewerScene  # noqa: E402

TARGETS = {"demo": 5.0, "synthetic": 15.0}  # s, issue #22
CHUNK = 512  # cells per side of a stored chunk


def _districts(ny: int, nx: int) -> np.ndarray:
    """Four quarters, coded 1..4."""
    rows = (np.arange(ny) >= ny // 2).astype("int16")[:, None]
    cols = (np.arange(nx) >= nx // 2).astype("int16")[None, :]
    return 1 + rows * 2 + cols


def _static_layers(ny: int, nx: int, res: float, rng) -> dict:
    """Ground (a valley across the domain), buildings in blocks, land cover, districts."""
    yy, xx = np.meshgrid(np.arange(ny, dtype="float32"), np.arange(nx, dtype="float32"),
                         indexing="ij")  # fmt: skip
    ground = 20 + 0.002 * res * np.abs(yy - ny / 2) + 0.0005 * res * xx
    block = ((yy // 12) % 3 != 0) & ((xx // 12) % 3 != 0)
    height = np.where(block & (rng.random((ny, nx)) < 0.6), 6 + 3 * (xx % 7), 0).astype("f4")
    cover = np.where(height > 0, 1, np.where(block, 3, 2)).astype("int16")
    flags = {"flag_values": np.array([1, 2, 3], "int16"), "flag_meanings": "roof road grass"}
    names = {"flag_values": np.arange(1, 5, dtype="int16"),
             "flag_meanings": "Northwest Northeast Southwest Southeast"}  # fmt: skip
    return {
        "surface_altitude": (("y", "x"), ground.astype("f4"), {"units": "m"}),
        "building_height": (("y", "x"), height, {"units": "m"}),
        "land_cover": (("y", "x"), cover, flags),
        "district": (("y", "x"), _districts(ny, nx), names),
    }


def _network(nx: int, ny: int, res: float, n_times: int, spacing: int = 60) -> dict:
    """A street grid every ``spacing`` cells, both directions, speeds falling over time."""
    gx, gy = np.arange(0, nx, spacing), np.arange(0, ny, spacing)
    px, py = np.meshgrid((gx + 0.5) * res, (ny - gy - 0.5) * res)
    ids = np.arange(px.size).reshape(px.shape)
    pairs = np.concatenate([np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
                            np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()])])
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    slow = np.linspace(1.0, 0.3, n_times)[:, None] * (1 - 0.5 * (a % 3 == 0))[None, :]
    return {
        "node_x": (("node",), px.ravel(), {"units": "m"}),
        "node_y": (("node",), py.ravel(), {"units": "m"}),
        "link_from": (("link",), a.astype("int32"), {}),
        "link_to": (("link",), b.astype("int32"), {}),
        "link_speed": (("time", "link"), (13.9 * slow).astype("f4"), {"units": "m s-1"}),
    }


def write_synthetic_run(folder: Path, cells: float, n_times: int = 6, res: float = 10.0) -> Path:
    """A variant folder ``folder/baseline`` of about ``cells`` cells; returns the run folder."""
    n = int(round(np.sqrt(cells)))
    rng = np.random.default_rng(0)
    coords = {"x": (np.arange(n) + 0.5) * res, "y": (np.arange(n)[::-1] + 0.5) * res,
              "time": np.datetime64("2026-07-15T06:00") + np.arange(n_times) * np.timedelta64(
                  30, "m")}  # fmt: skip
    ds = xr.Dataset({**_static_layers(n, n, res, rng), **_network(n, n, res, n_times)},
                    coords=coords)  # fmt: skip
    out = folder / "baseline"
    out.mkdir(parents=True)
    path = out / "fields.nc"
    ds.to_netcdf(path)
    chunks = (1, min(CHUNK, n), min(CHUNK, n))
    yy, xx = np.ogrid[:n, :n]
    with _appender(path, n_times, n, chunks) as (depth, utci):
        for t in range(n_times):  # one time step in memory at a time
            wave = np.exp(-(((yy - n / 2) / (0.1 * n)) ** 2)) * (t + 1) / n_times
            depth[t] = (1.5 * wave + 0 * xx).astype("f4")
            utci[t] = (30 + 8 * t / n_times + 0.001 * xx + 0 * yy).astype("f4")
    return folder


class _appender:
    """The time-dependent variables, created chunked in the written file (netCDF4)."""

    def __init__(self, path, n_times, n, chunks):
        self.path, self.shape, self.chunks = path, (n_times, n, n), chunks

    def __enter__(self):
        self.nc = netCDF4.Dataset(self.path, "a")
        out = []
        for name, units in (("flood_water_thickness", "m"),
                            ("universal_thermal_comfort_index", "degree_C")):  # fmt: skip
            var = self.nc.createVariable(name, "f4", ("time", "y", "x"), chunksizes=self.chunks,
                                         zlib=True, complevel=1)  # fmt: skip
            var.units = units
            out.append(var)
        return out

    def __exit__(self, *exc):
        self.nc.close()


def first_frame(run: Path) -> tuple[float, float]:
    """Seconds from opening ``run`` to its first rendered picture, and then of a move of the
    time slider (another output time read, drawn and rendered)."""
    t0 = time.perf_counter()
    data = ViewerData([run])
    scene = ViewerScene(data)
    scene.show(data.fields[0], data.n_times - 1, data.variants[-1], False)
    scene.plotter.screenshot(return_img=True)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    scene.show(data.fields[0], data.n_times // 2, data.variants[-1], False)
    scene.plotter.screenshot(return_img=True)
    move = time.perf_counter() - t0
    scene.plotter.close()
    data.close()
    return first, move


def demo_run(work: Path) -> Path:
    """Run the built-in demo into ``work/demo`` (no report) and return the run folder."""
    script = Path(sys.executable).with_name("metrotwin")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "metrotwin"]
    out = work / "demo"
    done = subprocess.run([*cmd, "run", "-o", str(out), "--no-report"], capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"the demo run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return out


def first_frame_fresh(run: Path) -> tuple[float, float]:
    """``first_frame`` in a new Python process (the seconds it measured)."""
    done = subprocess.run([sys.executable, __file__, "--time-one", str(run)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"timing {run} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    first, move = done.stdout.strip().splitlines()[-1].split()
    return float(first), float(move)


def browser_missing() -> str | None:
    """Why the browser timing cannot run here (None when it can)."""
    try:
        import selenium  # noqa: F401
        from PIL import Image  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed"
    for exe in ("chromium", "chromedriver"):
        if not shutil.which(exe) and not os.path.exists(f"/usr/bin/{exe}"):
            return f"{exe} is missing (Debian: apt-get install chromium chromium-driver)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drawn(canvas) -> bool:
    """The canvas shows a picture: more than 1 % of its pixels differ from its corner's."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(canvas.screenshot_as_png)).convert("RGB"), "int16")
    return bool(img.size) and float((np.abs(img - img[0, 0]).sum(-1) > 30).mean()) > 0.01


def browser_first_frame(run: Path, timeout: float = 120.0) -> float:
    """Seconds from starting ``metrotwin view run`` to a drawn 3D view in headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1400,900"):  # fmt: skip
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                              or "/usr/bin/chromedriver"), options=options)
    port = _free_port()
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "metrotwin", "view", str(run), "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < timeout:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        driver.get(f"http://127.0.0.1:{port}/")
        while time.perf_counter() - t0 < timeout:
            canvases = [c for c in driver.find_elements("css selector", "canvas")
                        if c.size["width"] > 20]
            if canvases and _drawn(canvases[0]):
                return time.perf_counter() - t0
            time.sleep(0.1)
        sys.exit(f"{run}: no picture in the browser within {timeout:.0f} s")
    finally:
        server.terminate()
        server.wait(timeout=20)
        driver.quit()


def report_browser(name: str, run: Path, repeat: int) -> None:
    times = [browser_first_frame(run) for _ in range(repeat)]
    median = statistics.median(times)
    verdict = "ok" if median <= TARGETS[name] else "OVER TARGET"
    print(f"{name:10s} in the browser, from `metrotwin view` to a drawn view: median "
          f"{median:6.2f} s over {repeat} (min {min(times):.2f}, max {max(times):.2f}); "
          f"target <= {TARGETS[name]:.0f} s: {verdict}", flush=True)  # fmt: skip


def report(name: str, run: Path, repeat: int) -> None:
    times = [first_frame_fresh(run) for _ in range(repeat)]
    firsts = [t[0] for t in times]
    median = statistics.median(firsts)
    verdict = "ok" if median <= TARGETS[name] else "OVER TARGET"
    print(f"{name:10s} first frame: median {median:6.2f} s over {repeat} "
          f"(min {min(firsts):.2f}, max {max(firsts):.2f}); target <= {TARGETS[name]:.0f} s: "
          f"{verdict}; a time-slider move: median "
          f"{statistics.median(t[1] for t in times):.2f} s", flush=True)  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-run", type=Path, help="a demo run folder to reuse")
    parser.add_argument("--cells", type=float, default=1e7, help="cells of the synthetic run")
    parser.add_argument("--times", type=int, default=6, help="output times of it")
    parser.add_argument("--repeat", type=int, default=5, help="repeats per run (median)")
    parser.add_argument("--skip-demo", action="store_true", help="only the synthetic run")
    parser.add_argument("--no-browser", action="store_true",
                        help="only the scene's timing, not the browser's")
    parser.add_argument("--time-one", type=Path, help=argparse.SUPPRESS)  # a repeat's child
    args = parser.parse_args(argv)
    if args.time_one:
        print(*first_frame(args.time_one))
        return
    browser = None if args.no_browser else browser_missing()
    if browser and not args.no_browser:
        print(f"the browser timing is skipped: {browser}", flush=True)
    timed_in_browser = not args.no_browser and browser is None
    with tempfile.TemporaryDirectory(prefix="metrotwin-viewer-") as tmp:
        work = Path(tmp)
        if not args.skip_demo:
            demo = args.demo_run or demo_run(work)
            report("demo", demo, args.repeat)
            if timed_in_browser:
                report_browser("demo", demo, args.repeat)
        t0 = time.perf_counter()
        synthetic = write_synthetic_run(work / "synthetic", args.cells, args.times)
        n = int(round(np.sqrt(args.cells)))
        print(f"synthetic run: {n} x {n} = {n * n:.3g} cells, {args.times} output times "
              f"(written in {time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
        report("synthetic", synthetic, args.repeat)
        if timed_in_browser:
            report_browser("synthetic", synthetic, args.repeat)


if __name__ == "__main__":
    main()
