"""Colour scales, labels and display units of the fields metrotwin draws.

One table (``FIELDS``, in ``metrotwin.results.fields``) says how each output field is shown to a
planner: its label, the units it is shown in (K becomes °C, m s-1 becomes km/h), its colour map,
and how it is summarised over the run for a map (peak water depth, highest felt temperature,
lowest road speed).
Scales are shared across the variants of a comparison (``shared_range``) so that the same
colour means the same value in every picture. No PyVista here: matplotlib colour maps only.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# The field semantics (labels, display units, summaries, which way is better) live with the
# results; re-exported here for the drawing modules.
from metrotwin.results.fields import (  # noqa: F401
    CHANGE_CLASSES,
    FIELDS,
    HEAT_FIELDS,
    LINK_MAP_FIELDS,
    MAP_FIELDS,
    FieldStyle,
    style_of,
    verdict,
)

#: Colours of the land-cover classes (RGB 0-255), by class name (engine/city/landcover.py).
LAND_COVER_RGB: dict[str, tuple[int, int, int]] = {
    "water": (120, 170, 215),
    "roof": (170, 160, 150),
    "green_roof": (120, 175, 90),
    "cool_roof": (235, 235, 240),
    "road": (95, 95, 100),
    "paved": (190, 185, 175),
    "cool_pavement": (225, 220, 205),
    "permeable_paving": (175, 160, 120),
    "grass": (170, 205, 130),
    "trees": (80, 140, 70),
    "bare_soil": (185, 150, 110),
    "cropland": (220, 210, 150),
}
UNKNOWN_RGB = (200, 200, 200)
BUILDING_RGB = (214, 208, 200)
ROAD_CLOSED_RGB = (200, 0, 160)
DISTRICT_LINE_RGB = (60, 60, 60)

#: Colours of the intervention change classes (``CHANGE_CLASSES``): label -> colour.
CHANGE_COLOURS: dict[str, str] = dict(zip(CHANGE_CLASSES, (
    "#4f9a3a",  # green roof
    "#8fb8e8",  # cool roof
    "#f2c14e",  # cool pavement
    "#b0793a",  # permeable paving
    "#1e6b2f",  # trees planted
    "#c9b3e0",  # drainage upgraded
    "#d9534f",  # ground reshaped (pond, levee)
    "#999999",  # other land-cover change
), strict=True))
IMPROVE_COLOUR = "#1a7f37"  # green: a change for the better
WORSEN_COLOUR = "#c62828"  # red: a change for the worse


def land_cover_rgb(codes: np.ndarray, flag_values, flag_meanings: str) -> np.ndarray:
    """(…, 3) uint8 colours of land-cover codes, from the layer's CF flag attributes."""
    flag_values = np.atleast_1d(flag_values)  # one class is read back as a scalar attribute
    lut = np.tile(np.array(UNKNOWN_RGB, dtype="uint8"), (int(max(flag_values, default=0)) + 2, 1))
    for code, name in zip(flag_values.ravel(), flag_meanings.split()):
        lut[int(code)] = LAND_COVER_RGB.get(name, UNKNOWN_RGB)
    codes = np.clip(np.asarray(codes, dtype="int64"), 0, len(lut) - 1)
    return lut[codes]


def shared_range(arrays: Iterable[np.ndarray], *, symmetric: bool = False,
                 robust: float = 99.5, floor: float | None = None) -> tuple[float, float]:  # fmt: skip
    """One colour range for several arrays (all variants): the ``robust`` percentile of the
    values (NaN ignored). ``symmetric`` centres it on zero (difference maps)."""
    values = [np.asarray(a, dtype="float64").ravel() for a in arrays]
    values = [v[np.isfinite(v)] for v in values]
    values = np.concatenate(values) if values else np.array([])
    if values.size == 0:
        return (-1.0, 1.0) if symmetric else (0.0, 1.0)
    if symmetric:
        top = float(np.percentile(np.abs(values), robust))
        top = top if top > 0 else float(np.abs(values).max()) or 1.0
        return -top, top
    lo = float(np.percentile(values, 100 - robust)) if floor is None else floor
    hi = float(np.percentile(values, robust))
    if not hi > lo:
        hi = lo + (abs(lo) * 0.01 or 1.0)
    return lo, hi


def nice_range(lo: float, hi: float) -> tuple[float, float, int]:
    """Widen (lo, hi) to round numbers and pick a label count so that the colour bar's labels
    are round too (0, 0.5, 1, 1.5, 2 rather than 0, 0.417, ...). Returns (lo, hi, n_labels)."""
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return lo, hi, 5
    best = None
    slack = 0.01 * (hi - lo)  # a range may end up to 1 % short of hi (50.004 km/h -> 50)
    for n in (5, 6, 4, 7, 3):
        raw = (hi - lo) / (n - 1)
        mag = 10 ** np.floor(np.log10(raw))
        for m in (1, 2, 2.5, 5, 10, 20):
            step = m * mag
            if step < raw * (1 - 0.01):
                continue
            a = np.floor((lo + slack) / step) * step
            b = a + step * (n - 1)
            if b >= hi - slack and (best is None or b - a < best[1] - best[0] - 1e-12):
                best = (float(a), float(b), n)
    return best or (lo, hi, 5)


def cmap_of(name: str):
    """The matplotlib colour map of a field; "Blues" starts at a visible light blue so that
    shallow water is not drawn white."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    base = matplotlib.colormaps[name]
    if name == "Blues":
        return ListedColormap(base(np.linspace(0.3, 1.0, 256)), name="water_blues")
    return base
