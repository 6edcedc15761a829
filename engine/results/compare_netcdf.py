"""``comparison.nc``: a comparison as a CF dataset on a ``variant`` dimension.

It holds the indicators (values, changes from the baseline, per municipality and group, over
time), the summary maps of the main fields with their change (variant minus baseline), where
each variant changes the city, and the districts. Each part is built by one function below as
(coordinates, variables) in ``xr.Variable`` arguments, in the file's order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from metrotwin import __version__
from metrotwin.results.comparison import Comparison
from metrotwin.results.georef import GRID_MAPPING
from metrotwin.results.indicators import change_units
from metrotwin.results.output import CF_VERSION, atomic_path, georeferenced

NETCDF_FILE = "comparison.nc"
#: display units -> CF units
CF_UNITS = {"°C": "degree_C", "km/h": "km h-1", "m/s": "m s-1", "W/m²": "W m-2",
            "vehicles/h": "h-1", "K": "K"}  # fmt: skip
UNITLESS = {"units": "1"}


def write_netcdf(comp: Comparison, path: Path) -> None:
    ds = to_dataset(comp)
    encoding = {
        name: {"zlib": True, "complevel": 4} for name, v in ds.data_vars.items() if v.ndim >= 2
    }
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)


def to_dataset(comp: Comparison) -> xr.Dataset:
    """The comparison as a CF dataset with a ``variant`` dimension."""
    coords = {"variant": ("variant", np.array(comp.variants, dtype=object),
                          {"long_name": "variant of the scenario"})}  # fmt: skip
    data: dict = {}
    for part in (_indicators, _by_municipality, _by_group, _series, _grid_coords, _maps,
                 _interventions, _districts):  # fmt: skip
        more_coords, more_data = part(comp, coords)
        coords.update(more_coords)
        data.update(more_data)
    ds = xr.Dataset({k: xr.Variable(*v) for k, v in data.items()},
                    coords={k: xr.Variable(*c) for k, c in coords.items()})  # fmt: skip
    _georeference(ds, comp.grid)
    ds.attrs = {
        "Conventions": CF_VERSION,
        "title": f"metrotwin comparison of scenario {comp.scenario}: {', '.join(comp.variants)}",
        "source": f"metrotwin {__version__}",
        "baseline": comp.baseline,
        "comment": "changes are variant minus baseline; units of the indicator_* variables "
                   "are in the indicator_units coordinate",
    }  # fmt: skip
    return ds


def _per_variant(comp: Comparison, get, *shape) -> np.ndarray:
    """(variant, *shape) array of ``get(variant)``; NaN where a value is missing."""
    out = np.full((len(comp.variants), *shape), np.nan)
    for i, v in enumerate(comp.variants):
        out[i] = get(v)
    return out


def _f(v) -> float:
    return np.nan if v is None else float(v)


def _cf_units(units: str) -> str:
    return CF_UNITS.get(units, units)


# -- the indicators ------------------------------------------------------------------------------
def _indicators(comp: Comparison, coords: dict):
    """The indicator coordinate (with units, direction, description) and each variant's
    value, change and relative change of every indicator."""
    rows = comp.rows
    if not rows:
        return {}, {}
    new = {
        "indicator": ("indicator", np.array([r.key for r in rows], dtype=object),
                      {"long_name": "indicator (model.name)"}),
        "indicator_units": ("indicator", np.array([r.units for r in rows], dtype=object)),
        "indicator_better": ("indicator", np.array([r.better for r in rows], dtype=object)),
        "indicator_description": ("indicator",
                                  np.array([r.description for r in rows], dtype=object)),
    }  # fmt: skip
    val = _per_variant(comp, lambda v: [_f(r.values.get(v)) for r in rows], len(rows))
    b = val[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(b != 0, 100 * (val - b) / np.abs(b), np.nan)
    pct[:, [not r.ratio for r in rows]] = np.nan  # temperatures: differences in K only
    dims = ("variant", "indicator")
    data = {
        "indicator_value": (dims, val, {"long_name": "value of the indicator (units: "
                                                     "indicator_units)", **UNITLESS}),
        "indicator_change": (dims, val - b, {"long_name": f"change from the {comp.baseline} "
                                                          "(variant minus baseline)", **UNITLESS}),
        "indicator_change_percent": (dims, pct, {"long_name": "relative change from the baseline",
                                                 "units": "%"}),
    }  # fmt: skip
    return new, data


def _split_values(comp: Comparison, split: str, areas: list[str]) -> np.ndarray:
    """(variant, indicator, area) values of every indicator in each of ``areas`` of the
    rows' ``split`` ("by_district" or "by_group"); NaN where one is missing."""
    def values(v):
        return [[_f(getattr(r, split).get(v, {}).get(a)) for a in areas] for r in comp.rows]

    return _per_variant(comp, values, len(comp.rows), len(areas))


def _by_municipality(comp: Comparison, coords: dict):
    if not comp.rows or not comp.districts:
        return {}, {}
    dv = _split_values(comp, "by_district", comp.districts)
    dims = ("variant", "indicator", "municipality")
    return {"municipality": ("municipality", np.array(comp.districts, dtype=object),
                             {"long_name": "municipality / district"})}, {
        "indicator_value_by_municipality": (dims, dv, {
            "long_name": "value of the indicator in the municipality", **UNITLESS}),
        "indicator_change_by_municipality": (dims, dv - dv[0], {
            "long_name": "change from the baseline in the municipality", **UNITLESS}),
    }  # fmt: skip


def _by_group(comp: Comparison, coords: dict):
    if not comp.rows or not comp.groups:
        return {}, {}
    gv = _split_values(comp, "by_group", comp.groups)
    return {"group": ("group", np.array(comp.groups, dtype=object),
                      {"long_name": "population group"})}, {
        "indicator_value_by_group": (("variant", "indicator", "group"), gv, {
            "long_name": "value of the indicator for the population group", **UNITLESS}),
    }  # fmt: skip


def _series(comp: Comparison, coords: dict):
    """Every indicator at each output time, on the baseline's times (s since its start)."""
    n_t = max((len(t) for t in comp.series_time.values()), default=0)
    if not comp.rows or not n_t or not comp.series:
        return {}, {}
    ts = np.full((len(comp.variants), len(comp.rows), n_t), np.nan)
    for i, v in enumerate(comp.variants):
        for j, row in enumerate(comp.rows):
            vals = comp.series.get(row.key, {}).get(v) or []
            ts[i, j, : len(vals)] = [_f(x) for x in vals]
    base_t = comp.series_time[comp.variants[0]]
    secs = (base_t - base_t[0]) / np.timedelta64(1, "s") if len(base_t) else np.arange(n_t)
    new = {"output_time": ("output_time", np.resize(secs, n_t).astype("float64"),
                           {"long_name": "time since the start of the run", "units": "s"})}
    data = {"indicator_series": (("variant", "indicator", "output_time"), ts,
                                 {"long_name": "indicator at each output time", **UNITLESS})}
    return new, data


# -- the maps ------------------------------------------------------------------------------------
def _grid_coords(comp: Comparison, coords: dict):
    """x and y, where a map on the grid or the change map needs them."""
    grid = comp.grid
    if not ("x" in grid.coords and any(not m.on_links for m in comp.maps) or comp.changes):
        return {}, {}
    return {"x": ("x", grid["x"].values, dict(grid["x"].attrs)),
            "y": ("y", grid["y"].values, dict(grid["y"].attrs))}, {}  # fmt: skip


def _maps(comp: Comparison, coords: dict):
    """Each summary map per variant and its change from the baseline."""
    data = {}
    for m in comp.maps:
        dims = ("variant", "link") if m.on_links else ("variant", "y", "x")
        stack = np.stack([m.values[v] for v in comp.variants]).astype("float32")
        attrs = {
            "long_name": f"{m.label} over the run",
            "units": _cf_units(m.units),
            "cell_methods": f"time: {'maximum' if m.summary == 'max' else 'minimum'}",
        }
        if not m.on_links:
            attrs["grid_mapping"] = "spatial_ref"
        data[f"{m.name}_{m.summary}"] = (dims, stack, attrs)
        data[f"{m.name}_{m.summary}_change"] = (dims, stack - stack[0], {
            **attrs, "units": _cf_units(change_units(m.units)),
            "long_name": f"change of the {m.label.lower()} from the {comp.baseline} "
                         "(variant minus baseline)"})  # fmt: skip
    return {}, data


def _interventions(comp: Comparison, coords: dict):
    """What each variant changes in each cell, as CF flags."""
    if not comp.changes:
        return {}, {}
    meanings = ["unchanged", *[lab.split(" (")[0].replace(" ", "_") for lab in comp.change_labels]]
    stack = np.stack([comp.changes[v] for v in comp.variants])
    return {}, {"intervention": (("variant", "y", "x"), stack, {
        "long_name": "what the variant changes in the cell", **UNITLESS,
        "flag_values": np.arange(len(comp.change_labels) + 1, dtype="int8"),
        "flag_meanings": " ".join(meanings), "grid_mapping": "spatial_ref"})}  # fmt: skip


def _districts(comp: Comparison, coords: dict):
    grid = comp.grid
    if "district" not in grid or "y" not in coords:
        return {}, {}
    attrs = {k: v for k, v in grid["district"].attrs.items() if k != "grid_mapping"}
    return {}, {"district": (("y", "x"), grid["district"].values,
                             attrs | {"grid_mapping": "spatial_ref"})}  # fmt: skip


def _georeference(ds: xr.Dataset, grid: xr.Dataset) -> None:
    """The grid mapping as a coordinate, listed in the gridded variables' ``coordinates``:
    a plain ``xr.open_dataset`` then finds the CRS (``ds.rio.crs``)."""
    if GRID_MAPPING not in grid.coords and GRID_MAPPING not in grid:
        return
    ds.coords[GRID_MAPPING] = xr.Variable((), 0, dict(grid[GRID_MAPPING].attrs))
    for var in ds.data_vars.values():
        attrs = georeferenced(var.dims, var.attrs)
        var.encoding["coordinates"] = attrs.pop("coordinates", None) or None
        var.attrs = attrs
