"""The indicators of a comparison: each model's indicators across the variants, their time
series, and the indicators the comparison reads off the summary maps per municipality."""

from __future__ import annotations

import numpy as np

from metrotwin.results.comparison import DERIVED, IndicatorRow, MapSummary
from metrotwin.results.fields import label_in_sentence
from metrotwin.results.indicators import direction

#: depth (m) above which a cell counts as flooded in the derived "area flooded" indicator
FLOODED_DEPTH = 0.10


def indicator_rows(runs) -> list[IndicatorRow]:
    """The indicators of every variant, in the order the first variant that has them lists
    them; a variant without an indicator gets None."""
    rows: dict[str, IndicatorRow] = {}
    for run in runs:
        for model, inds in (run.indicators.get("models") or {}).items():
            for name, ind in (inds or {}).items():
                row = rows.get(f"{model}.{name}") or _new_row(model, name, ind)
                rows[row.key] = row
                _add_values(row, run.name, ind)
    for row in rows.values():
        for run in runs:
            row.values.setdefault(run.name, None)
    return list(rows.values())


def _new_row(model: str, name: str, ind: dict) -> IndicatorRow:
    return IndicatorRow(model, name, str(ind.get("units", "")), str(ind.get("description", "")),
                        direction(f"{model}.{name}", ind.get("better")))  # fmt: skip


def _add_values(row: IndicatorRow, variant: str, ind: dict) -> None:
    """One variant's value of an indicator (indicators.json), whole city and split."""
    row.values[variant] = number(ind.get("value"))
    if ind.get("by_district"):
        row.by_district[variant] = {k: number(v) for k, v in ind["by_district"].items()}
    if ind.get("by_group"):
        row.by_group[variant] = {k: number(v) for k, v in ind["by_group"].items()}


def number(v) -> float | None:
    """``v`` as a finite float; None for a missing or non-finite value."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def indicator_series(runs):
    """Times (datetime64) and values of the indicators' time series, per variant."""
    times, series = {}, {}
    for run in runs:
        ts = run.indicators.get("time_series") or {}
        t = np.asarray(ts.get("time") or [], dtype="float64")
        start = run.times[0] if len(run.times) else np.datetime64("2000-01-01T00:00")
        times[run.name] = start + (t * 1e9).astype("timedelta64[ns]")
        for key, values in (ts.get("values") or {}).items():
            series.setdefault(key, {})[run.name] = [number(v) for v in values]
    return times, series


def derived_rows(maps: list[MapSummary], ds, districts: list[str], names: list[str]):
    """Indicators the comparison reads off the summary maps, per municipality (so that every
    run has a per-municipality view even when a model gives no ``by_district``)."""
    if "district" not in ds or not districts:
        return []
    codes = np.atleast_1d(ds["district"].attrs.get("flag_values", []))
    d = ds["district"].values
    zones = {n: d == c for c, n in zip(codes, districts)}
    open_ground = (
        ds["building_height"].values <= 0 if "building_height" in ds else np.ones(d.shape, bool)
    )
    res = _cell_size(ds)
    rows = []
    for m in maps:
        if m.on_links:
            continue
        if m.name == "flood_water_thickness":
            row = _flooded_area_row()
            dry = ~_water(ds, d.shape)
            per_cell = {v: (a > FLOODED_DEPTH) * dry * res * res / 1e4  # ha
                        for v, a in m.values.items()}  # fmt: skip
            where, how = np.ones(d.shape, bool), "sum"
        else:
            row = _open_ground_row(m)
            per_cell, where, how = m.values, open_ground, "mean"
        for v in names:
            _reduce_row(row, v, per_cell[v], where, zones, how=how)
        rows.append(row)
    return rows


def _flooded_area_row() -> IndicatorRow:
    return IndicatorRow(DERIVED, "area_flooded_over_10cm", "ha",
                        "area (outside rivers and ponds) where the water was deeper than 10 cm "
                        "at some time", "lower")  # fmt: skip


def _open_ground_row(m: MapSummary) -> IndicatorRow:
    return IndicatorRow(DERIVED, f"{m.name}_{m.summary}_open_ground_mean", m.units,
                        f"{label_in_sentence(m.label)}, averaged over open ground (not roofs)",
                        m.better)  # fmt: skip


def _reduce_row(row, variant, values, where, zones, *, how: str) -> None:
    """The whole city's and each municipality's value of a derived indicator: the ``how``
    ("sum" or "mean") of ``values`` over the cells ``where`` holds."""
    row.values[variant] = _reduce(values[where], how)
    row.by_district[variant] = {n: _reduce(values[zone & where], how)
                                for n, zone in zones.items()}  # fmt: skip


def _cell_size(ds) -> float:
    return float(abs(ds["x"].values[1] - ds["x"].values[0])) if ds.sizes["x"] > 1 else 1.0


def _water(ds, shape) -> np.ndarray:
    """Cells of rivers and ponds (land cover "water")."""
    if "land_cover" not in ds:
        return np.zeros(shape, bool)
    lc = dict(zip(str(ds["land_cover"].attrs.get("flag_meanings", "")).split(),
                  np.atleast_1d(ds["land_cover"].attrs.get("flag_values", []))))  # fmt: skip
    if "water" not in lc:
        return np.zeros(shape, bool)
    return ds["land_cover"].values == lc["water"]


def _reduce(values: np.ndarray, how: str) -> float | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return float(values.sum() if how == "sum" else values.mean())
