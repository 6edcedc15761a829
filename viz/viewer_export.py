"""A standalone HTML page of a run's 3D city (``metrotwin view RUN_DIR --export city.html``).

The page needs no server and no network: the scene (terrain with land-cover colours, buildings
extruded by height, district outlines and names) and one field per variant and output time are
embedded in it, and vtk.js, inlined with the page's script (``metrotwin.viz.viewer_export_page``),
draws them with a time slider and play button, a variant switch, a legend with units, and a
click plot (a ground cell's values over time, one line per variant, read from the same bytes).
The hash of the page's URL selects the view (``city.html#t=3&v=1``, time index and variant index
or name), so a link or a headless browser can open a given frame.

Size is kept down in two ways: the grid is block-averaged (``metrotwin.viz.decimate``) to a
cell budget chosen so that the per-time values fit ``max_bytes`` beside vtk.js (about 2.5 MB),
and each value is quantised to one byte (``uint8``: code = round((value - offset) / scale),
with one ``offset`` and ``scale`` per field over every variant and time; 255 marks no data).
Geometry is float32, normals int8, colours and district codes one byte.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from metrotwin.errors import DataSourceError, OutputError
from metrotwin.results.output import write_text_atomic
from metrotwin.results.rundata import VariantRun, open_variants, time_label
from metrotwin.viz.colors import cmap_of
from metrotwin.viz.scene import CELL_BUDGET, CityScene
from metrotwin.viz.decimate import block_reduce
from metrotwin.viz.viewer_export_page import library_size, page_html

DEFAULT_FIELD = "flood_water_thickness"
#: the page's target size (bytes); the grid is decimated further when the values would not fit
MAX_BYTES = 20_000_000
NO_DATA = 255
MIN_CELLS = 1_000  # the coarsest grid a page gets, whatever its size
#: fields drawn only where they exceed a small depth (m), over the land-cover colours
WATER_FIELDS = {"flood_water_thickness", "flood_depth_max", "water_depth"}
WATER_THRESHOLD = 0.02  # m: thinner films are left undrawn (as in the PyVista stills)


def export_page(run_dir, out, *, field: str = DEFAULT_FIELD, overwrite: bool = False,
                max_bytes: int = MAX_BYTES) -> Path:  # fmt: skip
    """Write the standalone page of ``run_dir`` (a run folder or a variant folder) to ``out``
    atomically; refuse to replace an existing file unless ``overwrite``. Returns the path."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out} exists; pass --overwrite to replace it")
    if out.is_dir():
        raise OutputError(f"{out} is a folder; give the name of the .html file to write")
    runs = [r for r in open_variants(run_dir) if field in _grid_fields(r)]
    if not runs:
        names = sorted(_grid_fields(open_variants(run_dir)[0]))
        raise DataSourceError(
            f"{run_dir}: no variant has a gridded field {field!r} over time; choose one of: "
            f"{', '.join(names)}"
        )
    try:
        page = fitted_page(runs, field, max_bytes)
    finally:
        for run in runs:
            run.close()
    write_text_atomic(out, page)
    return out


def fitted_page(runs: list[VariantRun], field: str, max_bytes: int) -> str:
    """The page's text, decimated further (up to three times) while it is over ``max_bytes``
    (the first cell budget is an estimate: buildings' share of the bytes varies by city)."""
    n_times = min(max(len(r.times), 1) for r in runs)
    budget = cell_budget(n_times * len(runs), max_bytes)
    for _ in range(4):
        payload = scene_payload(runs, field, budget=budget)
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        page = page_html(text)
        size = len(page.encode("utf-8"))
        if size <= max_bytes or budget <= MIN_CELLS:
            break
        # only the scene shrinks with the budget; vtk.js and the script stay
        fixed = library_size()
        budget = max(MIN_CELLS, int(budget * 0.9 * max(max_bytes - fixed, 0) / (size - fixed)))
    return page


def _grid_fields(run: VariantRun) -> list[str]:
    ds = run.ds
    return [n for n, v in ds.data_vars.items() if v.dims[-2:] == ("y", "x") and "time" in v.dims]


def cell_budget(n_frames: int, max_bytes: int) -> int:
    """Grid cells the page can hold beside vtk.js and the page's script: each cell costs one
    byte per frame, 19 bytes of ground (point, normal, colour, district) and up to about 60 of
    buildings (five faces of four float32 corners where a cell is built on, a third of cells
    at most in a town), and base64 adds a third."""
    per_cell = (n_frames + 80) * 4 / 3
    room = max_bytes - library_size()
    return int(max(MIN_CELLS, min(CELL_BUDGET * 4, 0.9 * room / per_cell)))


def scene_payload(runs: list[VariantRun], field: str, *, budget: int) -> dict:
    """The page's data: geometry of the first variant's city decimated to ``budget`` cells, and
    ``field`` for every variant at every output time (the variants' common number of times),
    quantised to bytes."""
    n_times = min(max(len(r.times), 1) for r in runs)
    scene = CityScene(runs[0], budget=budget)
    # one scene per variant (building one per frame re-read the grid every time)
    scenes = [scene] + [CityScene(r, budget=scene_budget(scene)) for r in runs[1:]]
    frames = np.stack([np.stack([_frame(s, field, i) for i in range(n_times)]) for s in scenes])
    codes, offset, scale = quantise(frames)
    attrs = runs[0].ds[field].attrs
    return {
        "title": f"{runs[0].scenario_name}: {attrs.get('long_name', field)}",
        "field": field,
        "label": str(attrs.get("long_name", field)),
        "units": str(attrs.get("units", "")),
        "variants": [r.name for r in runs],
        "times": [time_label(runs[0], i) for i in range(n_times)],
        "shape": list(scene.ground.shape),
        "cell": scene.cell,
        "offset": offset,
        "scale": scale,
        "threshold": WATER_THRESHOLD if field in WATER_FIELDS else None,
        "lut": _b64(_lut(field)),
        "values": _b64(codes),
        "terrain": terrain_arrays(scene),
        "buildings": building_arrays(scene),
        "districts": district_arrays(scene),
    }


def scene_budget(scene: CityScene) -> int:
    """The budget that gives another variant's scene the same decimation step."""
    return int(-(-scene.ny // scene.step) * -(-scene.nx // scene.step))


def _frame(scene: CityScene, field: str, index: int) -> np.ndarray:
    values = scene.field(field, index)
    if values is None:
        return np.full(scene.ground.shape, np.nan)
    return values


def quantise(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """uint8 codes 0..254 of ``values`` (NaN -> 255), with value = offset + code * scale."""
    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    scale = (hi - lo) / 254 if hi > lo else 1.0
    codes = np.full(values.shape, NO_DATA, "uint8")
    ok = np.isfinite(values)
    codes[ok] = np.clip(np.rint((values[ok] - lo) / scale), 0, 254).astype("uint8")
    return codes, lo, scale


def _lut(field: str) -> np.ndarray:
    name = "Blues" if field in WATER_FIELDS else "RdYlBu_r"
    rgba = cmap_of(name)(np.linspace(0, 1, 255))
    return (rgba[:, :3] * 255).round().astype("uint8")


def terrain_arrays(scene: CityScene) -> dict:
    """The ground surface through the decimated cell centres: points, normals, land-cover
    colours (one per point, row-major, rows north to south); the page makes the quads."""
    z = scene.z(scene.ground)
    points = np.column_stack([scene.X.ravel(), scene.Y.ravel(), z.ravel()])
    gy, gx = np.gradient(z, -scene.cell, scene.cell) if min(z.shape) > 1 else (0 * z, 0 * z)
    normals = np.column_stack([-gx.ravel(), -gy.ravel(), np.ones(z.size)])
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    rgb = scene.terrain().point_data["land_cover_rgb"]
    ny, nx = z.shape
    # point_data is in VTK (Fortran) order; back to the row-major order of the values
    rgb = np.asarray(rgb).reshape(ny, nx, 3, order="F").reshape(-1, 3)
    return {"points": _b64(points.astype("float32")), "normals": _b64(_int8(normals)),
            "rgb": _b64(rgb.astype("uint8"))}  # fmt: skip


def building_arrays(scene: CityScene) -> dict | None:
    """Extruded buildings as quads (four corners each) with one colour per quad; no normals:
    vtk.js shades faces without normals flat, which is what a wall or a roof is."""
    mesh = scene.buildings()
    if mesh is None:
        return None
    quads = np.asarray(mesh.points, "float32")
    return {"points": _b64(quads), "rgb": _b64(np.asarray(mesh.cell_data["rgb"], "uint8"))}


def district_arrays(scene: CityScene) -> dict | None:
    """Districts on the decimated grid: ``codes`` one byte per cell (0 = none, i + 1 = the
    i-th name; the page outlines where neighbours differ), ``names``, and ``centres``
    (scene coordinates, where the page writes each name)."""
    ds = scene.run.ds
    centres = scene.district_centres()
    if not centres or len(centres) > 254:
        return None
    attrs = ds["district"].attrs
    pairs = [(int(code), name) for code, name in zip(np.atleast_1d(attrs["flag_values"]),
                                                     str(attrs["flag_meanings"]).split())
             if name in centres]  # fmt: skip
    full = ds["district"].values
    grid = np.zeros(full.shape, "uint8")
    for i, (code, _) in enumerate(pairs):
        grid[full == code] = i + 1
    codes = block_reduce(grid, scene.step, "first").astype("uint8")
    return {"codes": _b64(codes), "names": [name for _, name in pairs],
            "centres": [np.round(centres[name], 1).tolist() for _, name in pairs]}


def _int8(unit: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(unit * 127), -127, 127).astype("int8")


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
