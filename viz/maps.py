"""2D pictures of the comparison with matplotlib: difference maps, intervention maps, road
maps and time-series charts, returned as PNG bytes (no pyplot, no global backend: Agg
figures only, so that importing this module changes nothing for the caller).

Maps are north-up in the grid's projected coordinates (shown in km from the south-west
corner), over a grey base map of the city (buildings, water, roads), with the
municipalities outlined and named. Difference maps use a diverging scale centred on zero
where green always means *better* (``better`` of the field) and pink *worse*.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from metrotwin.viz.colors import CHANGE_COLOURS, nice_range

MAP_INCHES = (6.4, 5.6)
DPI = 100


class BaseMap:
    """The city's grey base map and district outlines, shared by every map of a comparison."""

    def __init__(self, ds):
        x, y = ds["x"].values, ds["y"].values
        res = float(abs(x[1] - x[0])) if len(x) > 1 else 1.0
        self.west, self.south = float(x.min()) - res / 2, float(y.min()) - res / 2
        self.extent = (0, len(x) * res / 1000, 0, len(y) * res / 1000)  # km
        self.shape = (len(y), len(x))
        grey = np.full((*self.shape, 3), 0.93)
        if "building_height" in ds:
            grey[ds["building_height"].values > 0] = 0.72
        if "land_cover" in ds:
            attrs = ds["land_cover"].attrs
            codes = dict(zip(str(attrs.get("flag_meanings", "")).split(),
                             np.atleast_1d(attrs.get("flag_values", []))))  # fmt: skip
            lc = ds["land_cover"].values
            if "road" in codes:
                grey[lc == codes["road"]] = 0.84
            if "water" in codes:
                grey[lc == codes["water"]] = (0.78, 0.86, 0.94)
        self.rgb = grey
        self.district = ds["district"].values if "district" in ds else None
        attrs = ds["district"].attrs if "district" in ds else {}
        self.district_names = dict(zip((int(v) for v in np.atleast_1d(attrs.get("flag_values", []))),
                                       str(attrs.get("flag_meanings", "")).split()))  # fmt: skip
        self.xk = (x - self.west) / 1000
        self.yk = (y - self.south) / 1000

    def draw(self, ax) -> None:
        """The base map on ``ax``, without axis ticks (a 1 km scale bar instead: ticks and
        their labels are most of matplotlib's drawing time)."""
        ax.imshow(self.rgb, extent=self.extent, origin="upper", interpolation="nearest")
        if self.district is not None and len(self.district_names) > 1:
            ax.contour(self.xk, self.yk, self.district, levels=np.unique(self.district)[:-1] + 0.5,
                       colors="#333333", linewidths=1.2, linestyles="--")  # fmt: skip
            for code, name in self.district_names.items():
                rows, cols = np.nonzero(self.district == code)
                if rows.size:
                    ax.text(self.xk[cols].mean(), self.yk[rows].mean(), name, ha="center",
                            va="center", fontsize=11, weight="bold", color="#222222",
                            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none",
                                      alpha=0.75))  # fmt: skip
        ax.set_xlim(self.extent[:2])
        ax.set_ylim(self.extent[2:])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        width = self.extent[1]
        bar = next((b for b in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if b >= width / 6), 50)
        x0, y0 = 0.03 * width, 0.03 * self.extent[3]
        ax.plot([x0, x0 + bar], [y0, y0], color="#111111", lw=3, solid_capstyle="butt")
        ax.text(x0 + bar / 2, y0 + 0.015 * self.extent[3], f"{bar:g} km", ha="center",
                va="bottom", fontsize=9)  # fmt: skip
        ax.text(0.985, 0.975, "N ↑", transform=ax.transAxes, ha="right", va="top", fontsize=10)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _figure(title: str, inches=MAP_INCHES):
    """A map figure with fixed axes (no layout engine: one drawing pass) and room for a
    horizontal colour bar (``fig.cax``) below."""
    fig = Figure(figsize=inches)
    ax = fig.add_axes((0.02, 0.2, 0.96, 0.72))
    fig.cax = fig.add_axes((0.1, 0.1, 0.8, 0.03))
    fig.text(0.02, 0.975, title, fontsize=12, ha="left", va="top")
    return fig, ax


def _colorbar(fig, mappable, label: str, lo: float, hi: float, n: int) -> None:
    bar = fig.colorbar(mappable, cax=fig.cax, orientation="horizontal")
    bar.set_label(label, fontsize=9)
    bar.set_ticks(np.linspace(lo, hi, n))
    bar.ax.tick_params(labelsize=8)


def diverging_cmap(better: str):
    """Pink (worse) - white (no change) - green (better), oriented by ``better``."""
    import matplotlib

    base = matplotlib.colormaps["PiYG"]
    return base if better == "higher" else base.reversed()


def difference_map(base: BaseMap, diff: np.ndarray, *, title: str, units: str, better: str,
                   limit: float, tiny: float = 0.0) -> bytes:  # fmt: skip
    """``diff`` (variant minus baseline, display units) over the base map; |diff| <= ``tiny``
    is left transparent; the scale runs from -limit to +limit."""
    fig, ax = _figure(title)
    base.draw(ax)
    shown = np.where(np.abs(diff) > tiny, diff, np.nan)
    lo, hi, n = nice_range(-limit, limit)
    im = ax.imshow(shown, extent=base.extent, origin="upper", cmap=diverging_cmap(better),
                   vmin=lo, vmax=hi, interpolation="nearest")  # fmt: skip
    _colorbar(fig, im, f"change ({units}); green = better, pink = worse", lo, hi, n)
    return _png(fig)


def value_map(base: BaseMap, values: np.ndarray, *, title: str, units: str, cmap,
              clim: tuple[float, float], hide_below: float | None = None) -> bytes:  # fmt: skip
    """A field (display units) over the base map with a shared colour range."""
    fig, ax = _figure(title)
    base.draw(ax)
    if hide_below is not None:
        values = np.where(values > hide_below, values, np.nan)
    lo, hi, n = nice_range(*clim)
    im = ax.imshow(values, extent=base.extent, origin="upper", cmap=cmap, vmin=lo, vmax=hi,
                   interpolation="nearest", alpha=0.9)  # fmt: skip
    _colorbar(fig, im, units, lo, hi, n)
    return _png(fig)


def change_map(base: BaseMap, categories: np.ndarray, labels: list[str], *, title: str) -> bytes:
    """Where a variant changes the city: ``categories`` (0 = unchanged, k = labels[k-1])."""
    fig, ax = _figure(title)
    base.draw(ax)
    colours = [CHANGE_COLOURS.get(lab, "#999999") for lab in labels]
    if labels:
        shown = np.where(categories > 0, categories, np.nan)
        ax.imshow(shown, extent=base.extent, origin="upper", cmap=ListedColormap(colours),
                  vmin=0.5, vmax=len(labels) + 0.5, interpolation="nearest")  # fmt: skip
        from matplotlib.patches import Patch

        present = [k for k in range(1, len(labels) + 1) if (categories == k).any()]
        fig.cax.set_axis_off()
        fig.cax.legend(handles=[Patch(color=colours[k - 1], label=labels[k - 1]) for k in present],
                       loc="center", ncol=min(3, len(present)), fontsize=9, frameon=False)  # fmt: skip
    else:
        fig.cax.set_axis_off()
        ax.text(0.5, 0.5, "no change to the city", transform=ax.transAxes, ha="center")
    return _png(fig)


def road_map(base: BaseMap, segments: np.ndarray, values: np.ndarray, *, title: str,
             units: str, better: str, limit: float) -> bytes:  # fmt: skip
    """Road links (``segments`` (n, 2, 2) in m, projected) coloured by a change."""
    from matplotlib.collections import LineCollection

    fig, ax = _figure(title)
    base.draw(ax)
    seg = (segments - np.array([base.west, base.south])) / 1000
    lo, hi, n = nice_range(-limit, limit)
    unchanged = np.abs(values) <= 1e-9
    ax.add_collection(LineCollection(seg[unchanged], colors="#9a9a9a", linewidths=0.8))
    lc = LineCollection(seg[~unchanged], cmap=diverging_cmap(better), linewidths=2.2)
    lc.set_array(values[~unchanged])
    lc.set_clim(lo, hi)
    ax.add_collection(lc)
    _colorbar(fig, lc, f"change ({units}); green = better, pink = worse, grey = none", lo, hi, n)
    return _png(fig)


def time_series_chart(series: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str,
                      units: str, clock: bool = True) -> bytes:  # fmt: skip
    """Lines of one indicator over time, one per variant (the baseline dark and dashed).
    ``series``: variant -> (times as datetime64, values)."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(6.0, 3.4))
    ax = fig.add_axes((0.12, 0.13, 0.85, 0.75))
    import textwrap

    title = "\n".join(textwrap.wrap(title, 68)[:2])
    ax = fig.axes[0]
    ax.set_position((0.12, 0.13, 0.85, 0.75 if "\n" not in title else 0.68))
    fig.text(0.02, 0.98, title, fontsize=11, ha="left", va="top")
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v)))
    palette = ["#222222", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for k, (name, (t, v)) in enumerate(series.items()):
        v = np.asarray([np.nan if x is None else x for x in v], dtype="float64")
        ax.plot(t, v, label=name, color=palette[k % len(palette)], lw=2.2 if k == 0 else 1.8,
                ls="--" if k == 0 else "-", marker="o", ms=3)  # fmt: skip
    ax.set_ylabel(units, fontsize=9)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    if clock:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def _tick(v: float) -> str:
    """Axis labels without scientific offsets: 1,250,000 rather than 1.25 with 1e6."""
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"
