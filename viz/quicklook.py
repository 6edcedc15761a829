"""Quick-look pictures of a city's layers for ``metrotwin inspect``: one PNG per grid layer
(classes with a discrete legend) and one of the road network (``metrotwin.city.inspect`` says
what the layers are made of).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from metrotwin.city.inspect import class_names, grid_layers

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


def quicklooks(state, out_dir: Path) -> list[Path]:
    """One PNG per grid layer (and ``road_network.png``); returns their paths."""
    paths = []
    for name in grid_layers(state):
        path = out_dir / f"{name}.png"
        _plot_layer(state, name, path)
        paths.append(path)
    if state.n_links:
        path = out_dir / "road_network.png"
        _plot_network(state, path)
        paths.append(path)
    return paths


def _figure(state):
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
    g = state.grid
    var = state.ds[name]
    values = np.asarray(var.values)
    fig, ax = _figure(state)
    extent = (g.west, g.east, g.south, g.north)
    title = var.attrs.get("long_name", name)
    if name in ("land_cover", "district", "building_use", "closed_cell"):
        names = class_names(state, name)
        codes = sorted(names)
        if name == "land_cover":
            colours = [LAND_COVER_COLOURS.get(names[c], "#ff00ff") for c in codes]
        else:
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
