"""What the attribute tables say: the height or storeys column of the footprints (and how many
footprints each gives a height), the name column of the districts and their names."""

from __future__ import annotations

import math
from dataclasses import dataclass

from metrotwin.run.init.inputs import InitError, Layer, vector_columns
from metrotwin.scenario.data import normalise_name

HEIGHT_NAMES = ("height", "building:height", "height_m", "bldg_height", "hoehe", "vyska")
LEVEL_NAMES = ("building:levels", "levels", "storeys", "stories", "floors", "num_floors",
               "building_levels", "n_floors", "podlazi")
DISTRICT_NAMES = ("name", "district", "nazev", "NAZEV", "district_name", "municipality")
#: m: one storey (the height of a footprint is storeys x this)
STOREY_HEIGHT = 3.0
#: storeys of a footprint that says neither height nor storeys
DEFAULT_STOREYS = 3


@dataclass
class Heights:
    """Which attributes give the footprints their heights, and how many each gives."""

    height_attribute: str | None
    storeys_attribute: str | None
    from_height: int
    from_storeys: int
    defaulted: int

    def line(self, option: str) -> str:
        total = self.from_height + self.from_storeys + self.defaulted
        parts = []
        if self.height_attribute:
            parts.append(f"{self.from_height} from {self.height_attribute!r} (m)")
        if self.storeys_attribute:
            parts.append(f"{self.from_storeys} from {self.storeys_attribute!r} x "
                         f"{STOREY_HEIGHT:g} m")  # fmt: skip
        default = DEFAULT_STOREYS * STOREY_HEIGHT
        parts.append(f"{self.defaulted} without either get the default {default:g} m "
                     f"({DEFAULT_STOREYS} storeys)")  # fmt: skip
        found = "" if self.height_attribute or self.storeys_attribute else (
            f" (no height or levels column: looked for {', '.join(HEIGHT_NAMES + LEVEL_NAMES)})")
        return f"{option}: {total} footprints{found}; heights: " + ", ".join(parts)


def _positive(value) -> bool:
    try:
        number = float(str(value).split()[0].replace(",", "."))
    except (ValueError, IndexError):
        return False
    return math.isfinite(number) and number > 0


def _pick(columns: dict[str, list], names) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def building_heights(layer: Layer) -> Heights:
    """The height column (m), else the levels-like column, and the counts of each source."""
    columns, n = vector_columns(layer.path)
    h_col, s_col = _pick(columns, HEIGHT_NAMES), _pick(columns, LEVEL_NAMES)
    has_h = [_positive(v) for v in columns[h_col]] if h_col else [False] * n
    has_s = [_positive(v) for v in columns[s_col]] if s_col else [False] * n
    from_h = sum(has_h)
    from_s = sum(1 for h, s in zip(has_h, has_s) if s and not h)
    return Heights(h_col, s_col, from_h, from_s, n - from_h - from_s)


def district_names(layer: Layer) -> tuple[str, list[str]]:
    """(the name column, the district names in file order, as metrotwin writes them)."""
    columns, _ = vector_columns(layer.path)
    column = _pick(columns, DISTRICT_NAMES) or next(
        (c for c, v in columns.items() if v and all(isinstance(x, str) for x in v)), None
    )
    if column is None:
        raise InitError(
            f"{layer.option} {layer.path}: no column of district names (looked for "
            f"{', '.join(DISTRICT_NAMES)} or any text column; columns: "
            f"{', '.join(columns) or 'none'}); add a 'name' column"
        )
    names = []
    for value in columns[column]:
        name = normalise_name(value) if value is not None else ""
        if name and name not in names:
            names.append(name)
    if not names:
        raise InitError(f"{layer.option} {layer.path}: column {column!r} holds no names")
    return column, names
