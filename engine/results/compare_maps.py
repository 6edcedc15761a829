"""The maps of a comparison: the main fields summarised over the run (peak water depth,
lowest road speed), where each variant changes the city (by kind of change, and its area per
municipality), and the road network's segments to draw link values on."""

from __future__ import annotations

import numpy as np
import xarray as xr

from metrotwin.results.comparison import MapSummary
from metrotwin.results.fields import CHANGE_CLASSES, LINK_MAP_FIELDS, MAP_FIELDS, style_of
from metrotwin.results.rundata import informative

#: land-cover class a variant turns a cell into -> what the change map calls it
CHANGE_OF_CLASS = {
    "green_roof": "green roof",
    "cool_roof": "cool roof",
    "cool_pavement": "cool pavement",
    "permeable_paving": "permeable paving",
    "trees": "trees planted",
}

#: the order in which overlapping changes are painted on the change map (last on top)
PAINT_ORDER = (
    "drainage upgraded",
    "ground reshaped (pond, levee)",
    "other land-cover change",
    "cool pavement",
    "permeable paving",
    "cool roof",
    "green roof",
    "trees planted",
)

#: layer -> (what the change map calls a change of it, the smallest change that counts)
LAYER_CHANGES = {
    "surface_altitude": ("ground reshaped (pond, levee)", 1e-6),  # m
    "drainage_capacity": ("drainage upgraded", 1e-9),  # mm h-1
}


def district_names(ds: xr.Dataset) -> list[str]:
    if "district" not in ds:
        return []
    return str(ds["district"].attrs.get("flag_meanings", "")).split()


# -- summary maps ----------------------------------------------------------------------------
def map_summaries(runs) -> list[MapSummary]:
    """Peak/lowest values over the run of the main fields, for every variant that has them
    (only fields every variant has: a difference needs both sides)."""
    out = []
    for name in (*MAP_FIELDS, *LINK_MAP_FIELDS):
        if not all(r.has(name) for r in runs):
            continue
        style = style_of(name)
        values = {r.name: _summary_of(r, name) for r in runs}
        out.append(MapSummary(name, style.summary_label, style.units, style.better,
                              style.summary, values,
                              on_links="link" in runs[-1].ds[name].dims))  # fmt: skip
    return out


def _summary_of(run, name: str) -> np.ndarray:
    """The summary over the run of field ``name`` of one variant, in display units."""
    style = style_of(name)
    da = run.ds[name]
    depth_max = "flood_depth_max"
    if name == "flood_water_thickness" and run.has(depth_max) and "time" in run.ds[depth_max].dims:
        da = run.ds[depth_max].isel(time=-1)  # the model's own running maximum
    elif "time" in da.dims:
        arr = informative(da.values)
        return style.display(_over_time(arr, style.summary)).astype("float32")
    return style.display(da.values).astype("float32")


def _over_time(arr: np.ndarray, summary: str) -> np.ndarray:
    """The max (or min) over axis 0 ignoring NaN, and NaN where a cell has no value at any
    time (under a building, never wet): what np.nanmax gives, without its All-NaN warning."""
    missing = np.isnan(arr)
    fill = -np.inf if summary == "max" else np.inf
    out = np.where(missing, fill, arr)
    out = out.max(axis=0) if summary == "max" else out.min(axis=0)
    return np.where(missing.all(axis=0), np.nan, out)


def road_segments(ds: xr.Dataset) -> np.ndarray | None:
    """The road links of ``ds`` as (link, 2 ends, x/y) segments (m); None without a network."""
    if not all(n in ds for n in ("node_x", "node_y", "link_from", "link_to")):
        return None
    nx_, ny_ = ds["node_x"].values, ds["node_y"].values
    a, b = ds["link_from"].values.astype(int), ds["link_to"].values.astype(int)
    return np.stack([np.column_stack([nx_[a], ny_[a]]),
                     np.column_stack([nx_[b], ny_[b]])], axis=1)  # fmt: skip


# -- where the variants change the city ------------------------------------------------------
def change_maps(runs, districts: list[str]):
    """Where each variant changes the city, as categories (0 = unchanged) and areas (ha) per
    municipality and category. Categories may overlap in the areas; the map shows the one
    painted last (``PAINT_ORDER``)."""
    base = runs[0].ds
    cats, areas = {}, {}
    for run in runs:
        masks = change_masks(run.ds, base)
        cats[run.name] = _categories(masks, (base.sizes["y"], base.sizes["x"]))
        areas[run.name] = _areas(masks, base, districts)
    return cats, list(CHANGE_CLASSES), areas


def change_masks(ds: xr.Dataset, base: xr.Dataset) -> dict[str, np.ndarray]:
    """Kind of change -> (y, x) cells where the variant ``ds`` changes the baseline ``base``:
    land cover, trees, ground, drainage."""
    masks: dict[str, np.ndarray] = {}
    if "land_cover" in ds and "land_cover" in base:
        masks.update(_land_cover_masks(ds["land_cover"].values, base["land_cover"]))
    if "tree_canopy_height" in ds and "tree_canopy_height" in base:
        more = ds["tree_canopy_height"].values > base["tree_canopy_height"].values + 1e-6
        masks["trees planted"] = masks.get("trees planted", False) | more
    for layer, (label, tiny) in LAYER_CHANGES.items():
        if layer in ds and layer in base:
            masks[label] = np.abs(ds[layer].values - base[layer].values) > tiny
    return masks


def _land_cover_masks(new: np.ndarray, old: xr.DataArray) -> dict[str, np.ndarray]:
    """Kind of change -> cells whose land cover becomes a class of that kind."""
    names = dict(zip((int(c) for c in np.atleast_1d(old.attrs.get("flag_values", []))),
                     str(old.attrs.get("flag_meanings", "")).split()))  # fmt: skip
    diff = new != old.values
    masks: dict[str, np.ndarray] = {}
    for code in np.unique(new[diff]):
        label = CHANGE_OF_CLASS.get(names.get(int(code), ""), "other land-cover change")
        masks[label] = masks.get(label, False) | (diff & (new == code))
    return masks


def _categories(masks: dict[str, np.ndarray], shape) -> np.ndarray:
    """The (y, x) int8 category map: 0 unchanged, else 1 + the index in CHANGE_CLASSES of the
    kind of change painted last."""
    labels = list(CHANGE_CLASSES)
    cat = np.zeros(shape, "int8")
    for label in PAINT_ORDER:  # later ones are drawn over earlier ones
        if label in masks and np.any(masks[label]):
            cat[np.asarray(masks[label], bool)] = labels.index(label) + 1
    return cat


def _areas(masks: dict[str, np.ndarray], base: xr.Dataset, districts: list[str]) -> dict:
    """Kind of change -> "all" and each municipality -> the area it covers (ha)."""
    res = float(abs(base["x"].values[1] - base["x"].values[0])) if base.sizes["x"] > 1 else 1.0
    ha = res * res / 1e4
    has_districts = "district" in base
    codes = np.atleast_1d(base["district"].attrs.get("flag_values", [])) if has_districts else []
    d = base["district"].values if has_districts else None
    areas = {}
    for label, mask in masks.items():
        mask = np.asarray(mask, bool)
        if not mask.any():
            continue
        per = {"all": float(mask.sum() * ha)}
        if d is not None:
            per.update({n: float((mask & (d == c)).sum() * ha) for c, n in zip(codes, districts)})
        areas[label] = per
    return areas
