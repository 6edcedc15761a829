"""The per-land-cover-class surface parameters of the heat model (``surface_parameters.yaml``)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import numpy as np
import yaml

from metrotwin.city import landcover

PROPERTIES = (
    "albedo",
    "emissivity",
    "thermal_admittance",
    "evaporation_efficiency",
    "anthropogenic_heat",
)
#: valid range of each property (inclusive)
BOUNDS = {
    "albedo": (0.0, 1.0),
    "emissivity": (0.5, 1.0),
    "thermal_admittance": (50.0, 50_000.0),
    "evaporation_efficiency": (0.0, 1.0),
    "anthropogenic_heat": (0.0, 1000.0),
}


@lru_cache(maxsize=1)
def default_table() -> dict[str, dict]:
    """class name -> {property: value, "source": text}, read from the package's YAML."""
    text = files("metrotwin.models.heat").joinpath("surface_parameters.yaml").read_text()
    return yaml.safe_load(text)


def check_overrides(overrides: dict) -> dict:
    """Validate ``{class: {property: value}}`` overrides; errors name the class and property."""
    for name, row in overrides.items():
        landcover.code_of(name)  # ValueError listing the valid classes
        if not isinstance(row, dict):
            raise ValueError(f"surface.{name} must map properties to values, got {row!r:.40}")
        for key, value in row.items():
            if key not in BOUNDS:
                raise ValueError(
                    f"surface.{name}: unknown property {key!r}; valid: {', '.join(PROPERTIES)}"
                )
            lo, hi = BOUNDS[key]
            if not (isinstance(value, (int, float)) and lo <= value <= hi):
                raise ValueError(f"surface.{name}.{key} = {value!r} is outside {lo:g}..{hi:g}")
    return overrides


def surface_arrays(land_cover: np.ndarray, overrides: dict | None = None) -> dict[str, np.ndarray]:
    """Per-cell arrays of every property; a class without parameters is a ValueError."""
    table = {name: dict(row) for name, row in default_table().items()}
    for name, row in (overrides or {}).items():
        table.setdefault(name, {}).update(row)
    out = {}
    for prop in PROPERTIES:
        values = {name: row[prop] for name, row in table.items() if prop in row}
        out[prop] = landcover.lookup(values, land_cover, what=f"heat-model {prop}")
    return out
