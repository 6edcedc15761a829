"""Districts / municipalities from polygons: the ``district`` layer (int16 codes) and the
code -> name table kept in its CF ``flag_values`` / ``flag_meanings`` attributes, so that
indicators can be given per jurisdiction.

Names become single tokens (spaces -> ``_``); polygons sharing a name form one district.
Codes run 1, 2, ... in the order the names first appear in the file; cells in no polygon get
code 0, named ``outside_name``, when there are any. Without a districts file the whole domain
is one district, ``domain`` (code 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrotwin.city import tiling
from metrotwin.city.grid import Grid
from metrotwin.city.sources.datasources import share, warn
from metrotwin.scenario.data import DistrictsSource, normalise_name
from metrotwin.city.sources.vector import POLYGONS, burn, columns_hint, read_vector
from metrotwin.errors import DataSourceError

DEFAULT_DISTRICT = "domain"


def read_districts(source: DistrictsSource | None, grid: Grid):
    """(district codes int16, {code: name}, provenance)."""
    if source is None:
        info = {"source": "default", "nodata_cells": 0, "coverage": 1.0}
        return np.ones(grid.shape, dtype="int16"), {1: DEFAULT_DISTRICT}, info
    gdf = read_vector(source, grid, what="districts", kinds=POLYGONS)
    if source.name_attribute not in gdf.columns:
        raise DataSourceError(
            f"districts file {source.path}: no attribute {source.name_attribute!r}; its "
            f"attributes are: {columns_hint(gdf)}; set districts.name_attribute"
        )
    names: list[str] = []
    codes = []
    for i, raw in enumerate(gdf[source.name_attribute]):
        name = "" if pd.isna(raw) else normalise_name(raw)
        if not name:
            raise DataSourceError(
                f"districts file {source.path}: feature {gdf.index[i]} has an empty "
                f"{source.name_attribute!r}; every district needs a name"
            )
        if name == source.outside_name:
            raise DataSourceError(
                f"districts file {source.path}: a district is named {name!r}, the name of the "
                f"cells in no district; set districts.outside_name to another name"
            )
        if name not in names:
            names.append(name)
        codes.append(names.index(name) + 1)
    if len(names) > 32000:
        raise DataSourceError(f"districts file {source.path}: {len(names)} districts (max 32000)")
    district = burn(zip(gdf.geometry, codes), grid, dtype="int32").astype("int16")
    present = tiling.union(district)
    domain = tiling.domain_of(grid)
    table = {int(c): (names[c - 1] if c > 0 else source.outside_name) for c in present}
    if not any(c > 0 for c in table):
        raise DataSourceError(
            f"districts file {source.path}: no district holds a cell centre of the domain "
            f"{domain.bounds}; check the extent and the CRS"
        )
    outside = tiling.count(district == 0)
    if outside:
        warn(
            f"districts file {source.path}: {share(outside, domain.size)} lie in no district; "
            f"named {source.outside_name!r}"
        )
    info = {
        "source": str(source.path),
        "resampling": "polygon holds the cell centre",
        "nodata_cells": outside,
        "coverage": float(1.0 - outside / domain.size),
    }
    return district, dict(sorted(table.items())), info
