"""The viewer's click chart: a clicked cell's values over time, one line per variant, as an
inline SVG the page shows as it is (lines and legend stay in the page, so a browser test can
count them).
"""

from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.figure import Figure

from metrotwin.viz.viewer_data import ViewerData

#: Each variant's line is an SVG group with this id prefix followed by the variant's index.
SERIES_ID = "series-"
LINE_STYLES = (("-", 3.0), ("--", 2.0), (":", 2.0), ("-.", 1.5))


def series_svg(data: ViewerData, field: str, row: int, col: int) -> tuple[str, list[str]]:
    """The chart of cell (``row``, ``col``) of the full grid as an ``<svg>`` element, and the
    names of the variants drawn (one line each, in the legend's order). Values in the field's
    display units (°C, m) over minutes since the start."""
    fig = Figure(figsize=(4.2, 2.6), dpi=100)
    ax = fig.add_subplot()
    minutes = data.minutes()
    names = []
    for i, (name, values) in enumerate(data.series(field, row, col).items()):
        # wide solid, then thinner dashed and dotted lines: equal series stay visible
        style = LINE_STYLES[i % len(LINE_STYLES)]
        (line,) = ax.plot(minutes, values, label=name, linestyle=style[0], linewidth=style[1])
        line.set_gid(f"{SERIES_ID}{i}")
        names.append(name)
    ax.set_xlabel("minutes since start")
    ax.set_ylabel(data.label(field), fontsize=8)
    ax.set_title(chart_title(data, field, row, col), fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = io.StringIO()
    # text as <text> (not glyph paths): the legend's names stay readable in the page
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "metrotwin"}):
        fig.savefig(out, format="svg")
    svg = out.getvalue()
    svg = svg[svg.index("<svg"):]
    head = svg[: svg.index(">")]
    # as wide as its box, the height following the view box (instead of a size in points)
    sized = re.sub(r' (width|height)="[^"]*"', "", head) + ' width="100%"'
    return sized + svg[len(head):], names


def chart_title(data: ViewerData, field: str, row: int, col: int) -> str:
    """What the chart shows: the cell, or for a road field the road nearest it, for a district
    field its district."""
    kind = data.kind(field)
    if kind == "link":
        return f"road link {data.link_near(row, col)} nearest cell row {row}, column {col}"
    if kind == "district":
        return f"district {data.district_at(row, col) or '(none)'} (cell row {row}, col {col})"
    return f"cell row {row}, column {col}"
