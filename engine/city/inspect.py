"""``metrotwin inspect SCENARIO``: build the scenario's city and say what it is made of.

The report gives the domain (CRS, resolution, extent, cells), every layer with its units,
range or classes, its source file, the share of the domain the source covers and its no-data
cells, the road network, the districts and any repair the loaders made (warnings). A
quick-look PNG of each layer (and of the road network) is saved in ``out_dir``.

>>> from metrotwin.scenario.scenario import load_scenario
>>> import tempfile
>>> text = inspect_scenario(load_scenario(), tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from metrotwin.city import landcover

#: Layers whose values are classes (shown as class counts and with a discrete legend).
CATEGORICAL = ("land_cover", "district", "building_use", "building_id", "closed_cell")
USE_NAMES = {0: "none", 1: "residential", 2: "commercial", 3: "industrial", 4: "public"}
#: Quick-look colours of the land-cover classes.
LAND_COVER_COLOURS = {
    "water": "#3b7dd8",
    "roof": "#b5504a",
    "green_roof": "#6aa84f",
    "cool_roof": "#e8e8e8",
    "road": "#555555",
    "paved": "#9e9e9e",
    "cool_pavement": "#d0d0d0",
    "permeable_paving": "#b8a98a",
    "grass": "#a6d96a",
    "trees": "#1a7837",
    "bare_soil": "#c9a66b",
    "cropland": "#f2e394",
}


def inspect_scenario(scenario, out_dir) -> str:
    """Build ``scenario``'s city, write one quick-look PNG per layer into ``out_dir`` and
    return the report text."""
    from metrotwin.city.build import build_city

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
    for name in _grid_layers(state):
        lines.append(_layer_line(state, name))
    lines += _district_lines(state)
    lines += _network_lines(state)
    quiet = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    notes = [str(w.message) for w in caught if not issubclass(w.category, quiet)]
    if notes:
        lines.append("warnings:")
        lines += [f"  {n}" for n in notes]
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


def _grid_layers(state) -> list[str]:
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
    names = _class_names(state, name)
    parts = [
        f"{names.get(int(c), int(c))} {k / values.size:.1%}"
        for c, k in sorted(zip(codes, counts), key=lambda ck: -ck[1])
    ]
    return ", ".join(parts[:8]) + (f", ... ({len(parts)} classes)" if len(parts) > 8 else "")


def _class_names(state, name) -> dict:
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


# -- pictures --------------------------------------------------------------------------------
def quicklooks(state, out_dir: Path) -> list[Path]:
    """One PNG per grid layer (and ``road_network.png``); returns their paths."""
    paths = []
    for name in _grid_layers(state):
        path = out_dir / f"{name}.png"
        _plot_layer(state, name, path)
        paths.append(path)
    if state.n_links:
        path = out_dir / "road_network.png"
        _plot_network(state, path)
        paths.append(path)
    return paths


def _figure(state):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    g = state.grid
    aspect = g.ny / g.nx
    fig = Figure(figsize=(7.0, max(3.0, min(9.0, 5.2 * aspect + 1.2))), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.13, 0.1, 0.62, 0.8))
    ax.set_xlabel(f"easting (m, {g.pyproj_crs.to_string()})")
    ax.set_ylabel("northing (m)")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    return fig, ax


def _plot_layer(state, name: str, path: Path) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap

    g = state.grid
    var = state.ds[name]
    values = np.asarray(var.values)
    fig, ax = _figure(state)
    extent = (g.west, g.east, g.south, g.north)
    title = var.attrs.get("long_name", name)
    if name in ("land_cover", "district", "building_use", "closed_cell"):
        names = _class_names(state, name)
        codes = sorted(names)
        if name == "land_cover":
            colours = [LAND_COVER_COLOURS.get(names[c], "#ff00ff") for c in codes]
        else:
            import matplotlib

            cmap = matplotlib.colormaps["tab10"]
            colours = [cmap(i % 10) for i in range(len(codes))]
        index = np.searchsorted(codes, values)
        index = np.clip(index, 0, len(codes) - 1)
        cmap = ListedColormap(colours)
        norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
        im = ax.imshow(index, extent=extent, cmap=cmap, norm=norm, interpolation="nearest")
        bar = fig.colorbar(im, cax=fig.add_axes((0.8, 0.1, 0.03, 0.8)), ticks=range(len(codes)))
        bar.ax.set_yticklabels([str(names[c]) for c in codes], fontsize=7)
    elif name == "building_id":
        shown = np.where(values > 0, (values * 7919) % 20, np.nan).astype(float)
        ax.imshow(shown, extent=extent, cmap="tab20", interpolation="nearest")
    else:
        shown = np.where(np.isfinite(values), values, np.nan).astype(float)
        cmap = "terrain" if name == "surface_altitude" else "viridis"
        im = ax.imshow(shown, extent=extent, cmap=cmap, interpolation="nearest")
        fig.colorbar(im, cax=fig.add_axes((0.8, 0.1, 0.03, 0.8)), label=var.attrs.get("units", ""))
    src = var.attrs.get("source")
    ax.set_title(
        f"{name}: {title}" + (f"\n{Path(str(src)).name}" if src and "/" in str(src) else ""),
        fontsize=8,
    )
    fig.savefig(path)


def _plot_network(state, path: Path) -> None:
    from matplotlib.collections import LineCollection

    g = state.grid
    ds = state.ds
    fig, ax = _figure(state)
    ax.imshow(
        ds["surface_altitude"].values,
        extent=(g.west, g.east, g.south, g.north),
        cmap="Greys",
        alpha=0.5,
        interpolation="nearest",
    )
    x, y = ds["node_x"].values, ds["node_y"].values
    a, b = ds["link_from"].values, ds["link_to"].values
    segments = np.stack([np.column_stack([x[a], y[a]]), np.column_stack([x[b], y[b]])], axis=1)
    speed = ds["link_free_speed"].values * 3.6
    lc = LineCollection(
        segments, array=speed, cmap="plasma", linewidths=0.4 + ds["link_lanes"].values
    )
    ax.add_collection(lc)
    fig.colorbar(lc, cax=fig.add_axes((0.8, 0.1, 0.03, 0.8)), label="free speed (km/h)")
    ax.set_xlim(g.west, g.east)
    ax.set_ylim(g.south, g.north)
    ax.set_title(f"road network: {ds.sizes['node']} nodes, {state.n_links} links", fontsize=8)
    fig.savefig(path)
