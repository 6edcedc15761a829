"""``metrotwin init``: a checked scenario from a planner's files. The inputs are looked at
(``inputs``), placed on one grid (``place``), their attributes read (``attributes``,
``landcover``), the scenario written as commented YAML (``template``), validated through
``metrotwin.run.scenario`` and priced (``size``); it is written only when all of that passed,
and never over an existing file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS

from metrotwin.city.sources import raster as sources_raster
from metrotwin.run.init import attributes, ground, place, size, uses
from metrotwin.run.init.inputs import InitError, Layer, look_at
from metrotwin.run.init.landcover import land_cover_mapping
from metrotwin.run.init.template import Plan, scenario_text
from metrotwin.scenario import yamlsafe
from metrotwin.scenario.data import RasterSource
from metrotwin.scenario.schema import check_name


@dataclass
class Options:
    """The command line of ``metrotwin init`` (paths as given; None = not given)."""

    name: str
    dem: Path
    out_dir: Path = Path(".")
    dsm: Path | None = None
    buildings: Path | None = None
    roads: Path | None = None
    osm: Path | None = None
    land_cover: Path | None = None
    districts: Path | None = None
    weather: Path | None = None
    resolution: float | None = None
    bbox: str | None = None
    duration: float = 180.0


def init_scenario(opts: Options) -> tuple[Path, list[str]]:
    """Write ``OUT_DIR/NAME.yaml`` for the inputs; (its path, the log lines). InitError (a
    ScenarioError: exit 2, nothing written) names the option and file of any bad input."""
    target = _target(opts)
    layers = _layers(opts)
    dem = layers["--dem"]
    crs, note = place.grid_crs(dem)
    log = [note] if note else []
    plan, plan_log = _plan(opts, layers, crs, target.parent)
    log += plan_log
    if note:
        plan.notes.append(note)
    _checked(plan, opts, target)  # the size first: the DEM is read at the resolution
    log += _on_data(plan, opts.dem)
    others = [layer for option, layer in layers.items() if option != "--dem"]
    log += place.check_overlaps(plan.extent, others, crs)
    text, est = _checked(plan, opts, target, coarsen=False)
    log.append(est.line())
    with open(target, "x", encoding="utf-8") as fh:  # 'x': never over a file that appeared since
        fh.write(text)
    return target, log


def _target(opts: Options) -> Path:
    try:
        check_name(opts.name, "NAME")
    except ValueError as err:
        raise InitError(str(err)) from None
    if not Path(opts.out_dir).is_dir():
        raise InitError(f"-o {opts.out_dir}: no such folder")
    target = Path(opts.out_dir) / f"{opts.name}.yaml"
    if target.exists():
        raise InitError(
            f"{target} exists already; init never overwrites a file: choose another NAME or "
            f"folder (-o), or move it away"
        )
    if opts.resolution is not None and not opts.resolution > 0:
        raise InitError(f"--resolution {opts.resolution:g}: give a cell size in metres > 0")
    if not opts.duration > 0:
        raise InitError(f"--duration {opts.duration:g}: give the period's length in minutes > 0")
    if opts.roads is not None and opts.osm is not None:
        raise InitError("--roads and --osm: give one of them, not both")
    return target


def _layers(opts: Options) -> dict[str, Layer]:
    given = {
        "--dem": (opts.dem, True), "--dsm": (opts.dsm, True),
        "--buildings": (opts.buildings, False), "--roads": (opts.roads, False),
        "--osm": (opts.osm, False), "--districts": (opts.districts, False),
    }  # fmt: skip
    if opts.land_cover is not None:
        suffix = Path(opts.land_cover).suffix.lower()
        given["--land-cover"] = (opts.land_cover, suffix in (".tif", ".tiff", ".vrt", ".img"))
    layers = {opt: look_at(opt, path, raster=r) for opt, (path, r) in given.items() if path}
    if opts.weather is not None and not Path(opts.weather).is_file():
        raise InitError(f"--weather {opts.weather}: no such file")
    return layers


def _written(path: Path, folder: Path) -> str:
    """A path as the scenario writes it: relative to the scenario's folder when inside it."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return os.path.relpath(path, folder) if path.is_relative_to(folder) else str(path)


def _extent(opts: Options, dem: Layer, crs: str, resolution: float):
    """The domain: the DEM's (inner) extent in the grid CRS, cut to ``--bbox``, whole cells."""
    w, s, e, n, _ = sources_raster.raster_extent(RasterSource(path=dem.path.resolve()), crs)
    bounds = (w, s, e, n)
    if opts.bbox is not None:
        box = place.parse_bbox(opts.bbox, crs)
        share = place.overlap(box, bounds)
        if share == 0.0:
            raise InitError(
                f"--bbox {opts.bbox}: {place.fmt_bounds(box)} in {crs} does not overlap "
                f"{dem.option} {dem.path}, which spans {place.fmt_bounds(bounds)} (overlap 0%)"
            )
        bounds = (max(w, box[0]), max(s, box[1]), min(e, box[2]), min(n, box[3]))
    return place.snap_extent(bounds, resolution, f"the domain {dem.option} {dem.path}")


def _plan(opts: Options, layers: dict[str, Layer], crs: str, folder: Path):
    """The plan of the scenario and what was decided, as log lines."""
    dem = layers["--dem"]
    resolution = opts.resolution or _native_resolution(dem, crs)
    extent = _extent(opts, dem, crs, resolution)
    log: list[str] = []
    plan = Plan(name=opts.name, crs=crs, resolution=resolution, extent=extent,
                dem=_written(dem.path, folder), models=["flood"],
                duration_min=opts.duration)  # fmt: skip
    if "--dsm" in layers:
        plan.dsm = _written(layers["--dsm"].path, folder)
    if "--buildings" in layers:
        heights = attributes.building_heights(layers["--buildings"])
        log.append(heights.line("--buildings"))
        plan.buildings = {
            "path": _written(layers["--buildings"].path, folder),
            "height_attribute": heights.height_attribute,
            "storeys_attribute": heights.storeys_attribute,
            "default_height": attributes.DEFAULT_STOREYS * attributes.STOREY_HEIGHT,
            "defaulted": heights.defaulted,
            "count": heights.defaulted + heights.from_height + heights.from_storeys,
        }
        found = uses.building_uses(layers["--buildings"])
        log.append(f"--buildings: {found.note}")
        plan.buildings.update(use_attribute=found.attribute, use_mapping=found.mapping,
                              use_note=found.note.split(";")[0], has_jobs=found.has_jobs)
    roads = layers.get("--roads") or layers.get("--osm")
    if roads is not None:
        plan.roads = _written(roads.path, folder)
    if "--land-cover" in layers:
        mapping, column = land_cover_mapping(layers["--land-cover"])
        plan.land_cover = {"path": _written(layers["--land-cover"].path, folder),
                           "mapping": mapping, "attribute": column}  # fmt: skip
    if "--districts" in layers:
        column, names = attributes.district_names(layers["--districts"])
        plan.districts = {"path": _written(layers["--districts"].path, folder),
                          "name_attribute": column, "names": names}  # fmt: skip
        log.append(f"--districts: {len(names)} districts from {column!r}: {', '.join(names[:8])}")
    if opts.weather is not None:
        plan.weather = _written(opts.weather, folder)
    plan.models = _models(plan, log)
    return plan, log


def _models(plan: Plan, log: list[str]) -> list[str]:
    """The models the data supports: flood (a DEM), heat (buildings or a DSM), mobility
    (roads and footprints with homes and workplaces: its commuters live and work in them)."""
    models = ["flood"]
    if plan.buildings or plan.dsm:
        models.append("heat")
    else:
        log.append("no --buildings or --dsm: no heat model (it needs the buildings' shade)")
    if plan.roads and plan.buildings and plan.buildings["has_jobs"]:
        models.append("mobility")
    elif plan.roads:
        log.append("no mobility model: it needs --buildings with homes and workplaces (a use "
                   "column, or an id column to list the assumed workplaces by)")
    log.append(f"models: {', '.join(models)}")
    return models


def _native_resolution(dem: Layer, crs: str) -> float:
    """The DEM's cell size in metres of the grid CRS, as a nice number (at least 1 m)."""
    w, s, e, n = place.transform_bounds(dem.bounds, dem.crs, CRS.from_user_input(crs))
    import rasterio  # the header again: its pixel count

    with rasterio.open(dem.path) as src:
        cell = max((e - w) / src.width, (n - s) / src.height)
    return max(1.0, float(f"{cell:.2g}"))


def _checked(plan: Plan, opts: Options, target: Path, *, coarsen: bool = True):
    """The scenario text, validated and priced; InitError when it would not fit at the
    resolution asked for (without one, the DEM's is coarsened once to one that fits)."""
    text = scenario_text(plan)
    data = yamlsafe.load(text)
    est = size.cost(data, target.parent.resolve(), source=target.name)
    if not size.fits(est):
        if opts.resolution is not None or not coarsen:
            raise size.refuse(est, plan.resolution, "--resolution")
        coarser = size.finest_fitting(est, plan.resolution)
        plan.notes.append(
            f"resolution {coarser:g} m: the DEM's {plan.resolution:g} m would not fit this machine"
        )
        plan.resolution = coarser
        plan.extent = place.snap_extent(plan.extent, coarser, "the domain")
        return _checked(plan, opts, target, coarsen=False)
    return text, est


def _on_data(plan: Plan, dem: Path) -> list[str]:
    """The plan's extent trimmed to the DEM's data; holes left are filled (nodata: fill)."""
    plan.extent, holes, note = ground.trim_to_data(dem, plan.crs, plan.extent, plan.resolution)
    log = [note] if note else []
    if holes:
        plan.dem_nodata = "fill"
        log.append(f"--dem {dem}: {holes} cells inside the domain have no data; they take the "
                   f"nearest valid cell's height (elevation.nodata: fill)")
    plan.notes += log
    return log
