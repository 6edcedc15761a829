"""metrotwin's land-cover classes on the grid: the ``land_cover`` layer's CF flags and per-class
tables mapped onto it. The classes themselves (names and codes) are defined in
``metrotwin.scenario.landcover``, the vocabulary of a scenario file, and re-exported here.

Models keep their own per-class parameter tables (roughness, infiltration, albedo, ...) keyed
by these names; interventions change a cell's class (a cool roof turns ``roof`` into
``cool_roof``), and every model then sees the change through its own table.
"""

from __future__ import annotations

import numpy as np

from metrotwin.scenario.landcover import (  # the names live with the scenario's vocabulary
    CODE,
    LAND_COVER_CLASSES,
    NAMES,
    ROOF_CLASSES,
    SEALED_CLASSES,
    code_of,
)


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


__all__ = [
    "CODE",
    "LAND_COVER_CLASSES",
    "NAMES",
    "ROOF_CLASSES",
    "SEALED_CLASSES",
    "cf_flag_attrs",
    "code_of",
    "lookup",
]
