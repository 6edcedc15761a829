"""Districts of a city (the ``district`` layer's ``flag_values``/``flag_meanings``), sums of
building values per district, and the per-district table ``risk_districts.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import xarray as xr

from metrotwin.results.output import write_text_atomic


def district_names(ds: xr.Dataset) -> dict[int, str]:
    """District code -> name, from the ``district`` layer's flag attributes; codes the layer
    uses without a name are called ``district <code>``; 0 (no district) is left out."""
    da = ds["district"]
    values = np.atleast_1d(da.attrs.get("flag_values", []))
    meanings = str(da.attrs.get("flag_meanings", "")).split()
    names = {int(v): m for v, m in zip(values, meanings)}
    for code in np.unique(np.asarray(da.values)):
        if int(code) > 0 and int(code) not in names:
            names[int(code)] = f"district {int(code)}"
    return dict(sorted(names.items()))


def per_district(values, building_district, codes) -> np.ndarray:
    """Sum of ``values`` (..., buildings) over the buildings of each district code in
    ``codes``: shape (..., districts)."""
    values = np.asarray(values, float)
    onehot = (np.asarray(building_district)[:, None] == np.asarray(codes)[None, :]).astype(float)
    return values @ onehot


def _number(value) -> str:
    return repr(float(value))


def write_district_table(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` (one dict per district, same keys in the same order) as CSV, atomically;
    floats written exactly (``repr``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = list(rows[0]) if rows else ["district"]
    writer.writerow(header)
    for row in rows:
        writer.writerow([v if isinstance(v, str) else _number(v) for v in row.values()])
    write_text_atomic(path, buffer.getvalue())
