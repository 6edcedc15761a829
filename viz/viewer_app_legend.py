"""The viewer's colour legend as page elements (a CSS gradient with its values and units), read
from the lookup table the scene coloured the field with. The same legend serves both
rendering modes and both views (they share one colour range), and stays sharp on a phone.
"""

from __future__ import annotations

import pyvista as pv

STOPS = 12  # colours sampled along the bar: enough for the smooth colour maps used


def html_legend(plotter: pv.Plotter, title: str) -> dict:
    """``title`` (what and units), the CSS gradient and three tick labels (min, middle, max)
    of the scalar bar titled ``title`` in ``plotter``, which is then taken out of the 3D view
    (the page shows it instead). Empty when the plotter has no such bar."""
    bar = plotter.scalar_bars[title] if title in plotter.scalar_bars else None
    if bar is None:
        return {"title": title, "gradient": "", "ticks": []}
    lut = bar.GetLookupTable()
    low, high = lut.GetRange()
    stops, rgb = [], [0.0, 0.0, 0.0]
    for i in range(STOPS):
        lut.GetColor(low + (high - low) * i / (STOPS - 1), rgb)
        r, g, b = (round(255 * c) for c in rgb)
        stops.append(f"rgb({r},{g},{b}) {100 * i / (STOPS - 1):.0f}%")
    plotter.remove_scalar_bar(title)
    ticks = [f"{v:.2g}" for v in (low, (low + high) / 2, high)]
    return {"title": title, "gradient": f"linear-gradient(to right, {', '.join(stops)})",
            "ticks": ticks}  # fmt: skip
