"""The depth-damage curve and maximum damage of each building use: the JRC defaults
(``damage.py``) or the user's own tables, which replace them use by use.

User tables (CSV, ``#`` lines are comments):

- curves: a header ``depth_m,<use>,<use>...`` then one row per depth (m, strictly rising):
  the damage fraction (0-1, not falling with depth) of each use;
- maximum damage: a header ``use,eur_per_m2`` then one row per use (EUR per m² of
  footprint, per storey counted).

Uses are ``residential``, ``commercial``, ``industrial``, ``public``. Any error names the
file, the line or column and what would be valid.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.buildings import USE_NAMES
from metrotwin.results.risk.damage import (
    DepthDamageCurve,
    damage_class_of,
    jrc_curves,
    max_damage_per_m2,
)

_VALID = ", ".join(USE_NAMES.values())


@dataclass(frozen=True)
class DamageModel:
    """Curve and maximum damage (EUR/m²) by use name; ``sources`` says where each came from."""

    curves: dict[str, DepthDamageCurve]
    max_damage: dict[str, float]
    sources: dict[str, str]

    def damage(self, depth, uses, footprint_m2, storeys, storeys_counted: int) -> np.ndarray:
        """Damage (EUR) of each building: fraction(depth) * max damage per m² * footprint
        (m²) * min(storeys, storeys_counted)."""
        depth = np.asarray(depth, float)
        floors = np.minimum(np.asarray(storeys, float), storeys_counted)
        out = np.zeros(depth.shape)
        uses = np.asarray(uses, dtype=object)
        for use in sorted(set(uses.tolist())):
            here = uses == use
            value = self.max_damage[use] * np.asarray(footprint_m2, float)[here] * floors[here]
            out[here] = self.curves[use](depth[here]) * value
        return out


def _rows(path: Path) -> list[list[str]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RiskInputError(f"{path}: cannot be read ({err})") from None
    rows = [r for r in csv.reader(line for line in text.splitlines()
                                  if line.strip() and not line.startswith("#"))]  # fmt: skip
    if len(rows) < 2:
        raise RiskInputError(f"{path}: needs a header line and at least one row")
    return [[cell.strip() for cell in r] for r in rows]


def _number(path: Path, line: int, text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RiskInputError(f"{path}: row {line}, {what} is {text!r}; give a finite number")
    return value


def _check_use(path: Path, use: str) -> str:
    if use not in USE_NAMES.values():
        raise RiskInputError(
            f"{path}: building use {use!r} is not one metrotwin knows; uses are {_VALID}"
        )
    return use


def read_curves(path: Path) -> dict[str, DepthDamageCurve]:
    """The user's depth-damage curves by use (see the module docstring)."""
    rows = _rows(path)
    header = rows[0]
    if header[0] != "depth_m" or len(header) < 2:
        raise RiskInputError(
            f"{path}: the header must be depth_m followed by building uses ({_VALID}), got "
            f"{','.join(header)}"
        )
    uses = [_check_use(path, u) for u in header[1:]]
    table = np.array([[_number(path, k + 2, v, h) for v, h in zip(r, header)]
                      for k, r in enumerate(rows[1:]) if _width(path, k + 2, r, len(header))])
    curves = {}
    for j, use in enumerate(uses, start=1):
        try:
            curves[use] = DepthDamageCurve(table[:, 0], table[:, j])
        except RiskInputError as err:
            raise RiskInputError(f"{path}, column {use}: {err}") from None
    return curves


def _width(path: Path, line: int, row: list[str], width: int) -> bool:
    if len(row) != width:
        raise RiskInputError(f"{path}: row {line} has {len(row)} values for {width} columns")
    return True


def read_max_damage(path: Path) -> dict[str, float]:
    """The user's maximum damage (EUR/m²) by use (see the module docstring)."""
    rows = _rows(path)
    if rows[0] != ["use", "eur_per_m2"]:
        raise RiskInputError(f"{path}: the header must be use,eur_per_m2, got {','.join(rows[0])}")
    out = {}
    for k, row in enumerate(rows[1:], start=2):
        _width(path, k, row, 2)
        use = _check_use(path, row[0])
        value = _number(path, k, row[1], "eur_per_m2")
        if value < 0 or use in out:
            raise RiskInputError(f"{path}: row {k}, {use}: give each use once, with a value >= 0")
        out[use] = value
    return out


def damage_model(uses, country: str, curves_csv: Path | None = None,
                 max_damage_csv: Path | None = None) -> DamageModel:  # fmt: skip
    """The curve and maximum damage of each of ``uses`` (names): the user's where the tables
    give the use, else the JRC Europe curve of its class and the JRC maximum for ``country``."""
    user_curves = read_curves(curves_csv) if curves_csv else {}
    user_max = read_max_damage(max_damage_csv) if max_damage_csv else {}
    curves, maxima, sources = {}, {}, {}
    for use in sorted(set(uses)):
        if use in user_curves:
            curves[use] = user_curves[use]
        else:
            curves[use] = jrc_curves()[damage_class_of(use)]
        maxima[use] = user_max[use] if use in user_max else max_damage_per_m2(country, use)
        sources[use] = (f"curve: {curves_csv if use in user_curves else 'JRC Europe'}; "
                        f"max: {max_damage_csv if use in user_max else 'JRC ' + country}")
    return DamageModel(curves=curves, max_damage=maxima, sources=sources)
