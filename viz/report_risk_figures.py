"""The risk report's pictures: exceedance-probability maps as small multiples (return period
by depth threshold) and the sensitivity bar chart (PNG bytes, inlined by
``metrotwin.viz.report_risk``)."""

from __future__ import annotations

import io
import textwrap

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: resolution of the report's charts (dots per inch)
DPI = 110
#: the colours of the two bars of an input (first-order or mu*; total or sigma)
BAR_COLOURS = ("#1f77b4", "#ff7f0e")


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def exceedance_grid(probability, *, title: str) -> bytes:
    """Small multiples of P(flood depth > threshold) (-): one map per return period (rows) and
    depth threshold (columns). ``probability`` is a DataArray (return_period, depth_threshold,
    y, x); north is up whichever way its y runs."""
    periods = probability["return_period"].values
    thresholds = probability[probability.dims[1]].values
    rows, cols = len(periods), len(thresholds)
    fig = Figure(figsize=(1.9 * cols + 0.9, 1.75 * rows + 1.1))
    y = probability[probability.dims[2]].values
    origin = "lower" if y.size > 1 and y[1] > y[0] else "upper"
    image = None
    for i, period in enumerate(periods):
        for j, threshold in enumerate(thresholds):
            ax = fig.add_axes((0.09 + j * 0.86 / cols, 0.12 + (rows - 1 - i) * 0.78 / rows,
                               0.84 / cols, 0.74 / rows))  # fmt: skip
            image = ax.imshow(np.asarray(probability[i, j], dtype=float), vmin=0.0, vmax=1.0,
                              cmap="Blues", origin=origin, interpolation="nearest")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"> {threshold:g} m", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{period:g}-yr", fontsize=9)
    cax = fig.add_axes((0.2, 0.05, 0.6, 0.02))
    bar = fig.colorbar(image, cax=cax, orientation="horizontal")
    bar.set_label("probability over the samples (-)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.text(0.02, 0.985, "\n".join(textwrap.wrap(title, 60)), fontsize=10, va="top")
    return _png(fig)


#: the two bars' names and what the chart's axis says, by method
SENSITIVITY_LABELS = {
    "sobol": (("first order S1", "total ST"), "Sobol' index (share of variance, -)"),
    "rbd_fast": (("first order S1", ""), "RBD-FAST first-order index (-)"),
    "morris": (("mu*", "sigma"), "elementary effect (indicator units per input range)"),
}


def sensitivity_chart(results) -> bytes:
    """Horizontal bars per uncertain input, one panel per indicator: the first-order (or mu*)
    and total (or sigma) index with their 95 % confidence half-widths."""
    shown = [r for r in results if r.main]
    inputs = max(len(r.names) for r in shown)
    panel, gap = 0.45 * inputs + 0.3, 1.0  # inches: bars, and title + axis label around them
    total = len(shown) * (panel + gap) + 0.1
    fig = Figure(figsize=(6.2, total))
    for k, r in enumerate(shown):
        bottom = total - (k + 1) * (panel + gap) + 0.55  # room below for the axis label
        ax = fig.add_axes((0.4, bottom / total, 0.56, panel / total))
        (first, second), axis = SENSITIVITY_LABELS[r.method]
        pos = np.arange(len(r.names))[::-1]
        ax.barh(pos + 0.18, r.main, 0.36, xerr=r.main_conf or None, color=BAR_COLOURS[0],
                label=first, capsize=2)  # fmt: skip
        if r.total is not None:
            ax.barh(pos - 0.18, r.total, 0.36, xerr=r.total_conf or None, color=BAR_COLOURS[1],
                    label=second, capsize=2)  # fmt: skip
        ax.set_yticks(pos, [input_label(n) for n in r.names], fontsize=8)
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_xlabel(axis, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(f"{r.indicator} ({r.method.replace('_', '-')})", fontsize=10, loc="left")
        ax.legend(fontsize=7, frameon=True, framealpha=0.9, loc="best")
        ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def input_label(name: str, width: int = 34) -> str:
    """An uncertain input's dotted field, short enough for a tick label: its last parts,
    whole (``textwrap.shorten`` cuts on spaces, of which a dotted name has none).

    >>> input_label("forcing.weather.design_day.wind_speed")
    'weather.design_day.wind_speed'
    >>> input_label("models.flood.manning.road")
    'models.flood.manning.road'
    """
    parts = name.split(".")
    while len(parts) > 1 and len(".".join(parts)) > width:
        parts = parts[1:]
    return ".".join(parts)
