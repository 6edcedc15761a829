"""``metrotwin inspect SCENARIO``: build the scenario's city and say what it is made of.

The report gives the domain (CRS, resolution, extent, cells), every layer with its units,
range or classes, its source file, the share of the domain the source covers and its no-data
cells, the road network, the districts and any repair the loaders made (warnings). The
quick-look PNGs of the layers are drawn by ``metrotwin.viz.quicklook``.

>>> from metrotwin.run.scenario import load_scenario
>>> import tempfile
>>> text = inspect_scenario(load_scenario(), tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from metrotwin.city import landcover
from metrotwin.city.build import build_city
from metrotwin.city.state import CityState

#: Layers whose values are classes (shown as class counts and with a discrete legend).
CATEGORICAL = ("land_cover", "district", "building_use", "building_id", "closed_cell")
USE_NAMES = {0: "none", 1: "residential", 2: "commercial", 3: "industrial", 4: "public"}


def inspect_scenario(scenario, out_dir, quicklooks: Callable[[CityState, Path], list[Path]]
                     | None = None) -> str:  # fmt: skip
    """Build ``scenario``'s city and return the report text; ``quicklooks(state, out_dir)``
    draws the pictures into ``out_dir`` and returns their paths (the CLI passes
    ``metrotwin.viz.quicklook.quicklooks``: the drawing lives in viz)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = build_city(scenario)
    lines = [
        f"scenario {scenario.name}" + (f": {scenario.description}" if scenario.description else "")
    ]
    lines += _domain_lines(scenario, state)
    lines.append("layers:")
    for name in grid_layers(state):
        lines.append(_layer_line(state, name))
    lines += _district_lines(state)
    lines += _network_lines(state)
    quiet = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    notes = [str(w.message) for w in caught if not issubclass(w.category, quiet)]
    if notes:
        lines.append("warnings:")
        lines += [f"  {n}" for n in notes]
    if quicklooks is not None:
        pngs = quicklooks(state, out_dir)
        lines.append(f"quick-looks ({len(pngs)}) in {out_dir}:")
        lines += [f"  {p.name}" for p in pngs]
    return "\n".join(lines)


# -- text ------------------------------------------------------------------------------------
def _domain_lines(scenario, state) -> list[str]:
    g = state.grid
    kind = (
        f"generated city (seed {scenario.seed})"
        if scenario.domain.generated is not None
        else "data files"
    )
    crs = g.pyproj_crs
    return [
        f"domain: {kind}",
        f"  CRS {crs.to_string()} ({crs.name}), resolution {g.resolution:g} m",
        f"  {g.ny} x {g.nx} cells (rows x columns), {g.size:,} in all",
        (
            f"  extent west {g.west:.2f}, south {g.south:.2f}, east {g.east:.2f}, "
            f"north {g.north:.2f} (m): {g.east - g.west:g} m x {g.north - g.south:g} m"
        ),
    ]


def grid_layers(state) -> list[str]:
    return [str(n) for n, v in state.ds.data_vars.items() if v.dims == ("y", "x")]


def _layer_line(state, name: str) -> str:
    var = state.ds[name]
    values = var.values
    units = var.attrs.get("units", "?")
    if name in CATEGORICAL:
        summary = _classes_summary(state, name, values)
    else:
        finite = values[np.isfinite(values)]
        if finite.size:
            summary = (
                f"min {finite.min():.4g}, mean {finite.mean():.4g}, max {finite.max():.4g}"
                f", non-zero {np.count_nonzero(finite) / values.size:.1%}"
            )
        else:
            summary = "no finite values"
    src = var.attrs.get("source", "generated" if "coverage" not in var.attrs else "?")
    prov = f"source {src}"
    if "coverage" in var.attrs:
        prov += f"; coverage {float(var.attrs['coverage']):.1%}"
    if "nodata_cells" in var.attrs:
        prov += f", no-data cells {int(var.attrs['nodata_cells'])}"
    for key in ("resampling", "method"):
        if key in var.attrs:
            prov += f", {var.attrs[key]}"
    return f"  {name} [{units}, {values.dtype}]: {summary}\n      {prov}"


def _classes_summary(state, name, values) -> str:
    if name == "building_id":
        n = len(np.unique(values[values > 0]))
        return f"{n} buildings over {np.count_nonzero(values) / values.size:.1%} of the cells"
    codes, counts = np.unique(values, return_counts=True)
    names = class_names(state, name)
    parts = [
        f"{names.get(int(c), int(c))} {k / values.size:.1%}"
        for c, k in sorted(zip(codes, counts), key=lambda ck: -ck[1])
    ]
    return ", ".join(parts[:8]) + (f", ... ({len(parts)} classes)" if len(parts) > 8 else "")


def class_names(state, name) -> dict:
    if name == "land_cover":
        return {c: n for c, (n, _) in landcover.LAND_COVER_CLASSES.items()}
    if name == "district":
        return state.district_names
    if name == "building_use":
        return USE_NAMES
    return {0: "open", 1: "closed"}


def _district_lines(state) -> list[str]:
    if "district" not in state:
        return []
    codes = state["district"]
    parts = [
        f"{n} ({np.count_nonzero(codes == c):,} cells)" for c, n in state.district_names.items()
    ]
    return [f"districts ({len(parts)}): " + ", ".join(parts)]


def _network_lines(state) -> list[str]:
    if state.n_links == 0:
        return ["road network: none"]
    ds = state.ds
    speed = ds["link_free_speed"].values * 3.6
    lines = [
        (
            f"road network: {ds.sizes['node']} nodes, {state.n_links} links, "
            f"{ds['link_length'].values.sum() / 1000:.3g} km of links"
        ),
        (
            f"  lanes {ds['link_lanes'].values.min()}-{ds['link_lanes'].values.max()}, "
            f"free speed {speed.min():.0f}-{speed.max():.0f} km/h, capacity "
            f"{ds['link_capacity'].values.min():.0f}-{ds['link_capacity'].values.max():.0f} veh/h"
        ),
    ]
    empty = int(np.sum(np.diff(ds["link_cell_start"].values) == 0))
    if "source" in ds["link_length"].attrs:
        lines.append(f"  source {ds['link_length'].attrs['source']}")
    if empty:
        lines.append(f"  {empty} links cross no grid cell")
    return lines
