"""``indicators.csv`` of a comparison: one row per variant, indicator and area (whole city,
each municipality, each population group) with the value, the baseline's, the change
(absolute and in %, no percent for temperatures) and its verdict."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from metrotwin.results.comparison import Comparison, IndicatorRow
from metrotwin.results.fields import verdict
from metrotwin.results.indicators import change
from metrotwin.results.output import write_text_atomic

CSV_FILE = "indicators.csv"
CSV_COLUMNS = ["variant", "model", "indicator", "units", "better", "scope", "area", "value",
               "baseline", "change", "change_percent", "verdict", "description"]  # fmt: skip


def csv_records(comp: Comparison):
    """The rows of indicators.csv: whole city, each municipality, each population group."""
    for row in comp.rows:
        for v in comp.variants:
            for scope, area, value, base in _scopes(comp, row, v):
                diff, pct = change(value, base, ratio=row.ratio)
                yield {
                    "variant": v, "model": row.model, "indicator": row.name,
                    "units": row.units, "better": row.better, "scope": scope, "area": area,
                    "value": value, "baseline": base, "change": diff, "change_percent": pct,
                    "verdict": verdict(diff, row.better) if v != comp.baseline else "baseline",
                    "description": row.description,
                }  # fmt: skip


def _scopes(comp: Comparison, row: IndicatorRow, v: str) -> list[tuple]:
    """(scope, area, value of variant ``v``, value of the baseline) of one indicator: the
    whole city, then each municipality and each group the variant gives it for."""
    scopes = [("total", "all", row.values.get(v), row.values.get(comp.baseline))]
    if v in row.by_district:
        base = row.by_district.get(comp.baseline, {})
        scopes += [("municipality", d, row.by_district[v].get(d), base.get(d))
                   for d in comp.districts]  # fmt: skip
    if v in row.by_group:
        base = row.by_group.get(comp.baseline, {})
        scopes += [("group", g, row.by_group[v].get(g), base.get(g)) for g in comp.groups]
    return scopes


def write_csv(comp: Comparison, path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in csv_records(comp):
        writer.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
                         for k, v in rec.items()})  # fmt: skip
    write_text_atomic(path, buf.getvalue())
