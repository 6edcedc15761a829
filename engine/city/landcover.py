"""metrotwin's land-cover classes: the codes of the ``land_cover`` layer.

Models keep their own per-class parameter tables (roughness, infiltration, albedo, ...) keyed
by these names; interventions change a cell's class (a cool roof turns ``roof`` into
``cool_roof``), and every model then sees the change through its own table.
"""

from __future__ import annotations

import numpy as np

#: code -> (name, description). Codes are stable: they are stored in fields.nc.
LAND_COVER_CLASSES: dict[int, tuple[str, str]] = {
    1: ("water", "open water: river, lake, pond"),
    2: ("roof", "conventional building roof"),
    3: ("green_roof", "extensive green roof on a building"),
    4: ("cool_roof", "high-albedo (cool) building roof"),
    5: ("road", "asphalt road surface"),
    6: ("paved", "other sealed surface: pavement, plaza, parking"),
    7: ("cool_pavement", "high-albedo sealed surface"),
    8: ("permeable_paving", "permeable paving"),
    9: ("grass", "grass, lawn, park meadow"),
    10: ("trees", "ground under tree cover (park woodland)"),
    11: ("bare_soil", "bare soil, construction site"),
    12: ("cropland", "agricultural land, allotments"),
}

CODE: dict[str, int] = {name: code for code, (name, _) in LAND_COVER_CLASSES.items()}
NAMES: list[str] = [name for _, (name, _) in sorted(LAND_COVER_CLASSES.items())]
ROOF_CLASSES = ("roof", "green_roof", "cool_roof")
SEALED_CLASSES = ("roof", "green_roof", "cool_roof", "road", "paved", "cool_pavement")


def code_of(name: str) -> int:
    """The code of a class name, or a ValueError listing the valid names."""
    try:
        return CODE[name]
    except KeyError:
        raise ValueError(
            f"unknown land-cover class {name!r}; valid classes: {', '.join(NAMES)}"
        ) from None


def cf_flag_attrs() -> dict:
    """CF ``flag_values``/``flag_meanings`` for the land_cover variable."""
    codes = sorted(LAND_COVER_CLASSES)
    return {
        "flag_values": np.array(codes, dtype="int16"),
        "flag_meanings": " ".join(LAND_COVER_CLASSES[c][0] for c in codes),
    }


def lookup(table: dict[str, float], land_cover: np.ndarray, *, what: str) -> np.ndarray:
    """Map a per-class table onto the land-cover codes, as a float64 array.

    Every class present in ``land_cover`` must have a row in ``table``; the error says which
    class is missing and for which parameter ``what``.
    """
    values = np.full(max(LAND_COVER_CLASSES) + 1, np.nan)
    for name, value in table.items():
        values[code_of(name)] = value
    present = np.unique(land_cover)
    missing = [
        LAND_COVER_CLASSES.get(int(c), (f"code {int(c)}",))[0]
        for c in present
        if not (0 <= c < len(values)) or np.isnan(values[c])
    ]
    if missing:
        raise ValueError(
            f"no {what} for land-cover class(es) {', '.join(missing)}; "
            f"classes with a value: {', '.join(sorted(table))}"
        )
    return values[land_cover]
