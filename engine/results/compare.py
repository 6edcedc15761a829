"""Compare the variants of a run: indicators, their change from the baseline, maps.

``metrotwin.viz.report.compare_runs(run_dir)`` reads every variant folder of a run
(``fields.nc`` and ``indicators.json``) and, through ``write_comparison_tables``, writes into
``<run_dir>/comparison/``:

- ``indicators.csv``  one row per variant, indicator and area (whole city, each
  municipality, each population group): value, baseline value, change (absolute and %), and
  whether that is better, worse or only "changed" (the indicator's direction: ``BETTER``,
  else its ``better``); temperatures change by a difference in K, without percent;
- ``comparison.nc``   the same numbers on a ``variant`` dimension, the time series of the
  indicators, and the summary maps of the main fields (peak water depth, highest felt
  temperature, lowest road speed...) with their change from the baseline (variant minus
  baseline), plus where each variant changes the city;
- ``report.html``     a self-contained page for planners (images inlined), written by
  ``metrotwin.viz.report``: the tables, difference maps, 3D views and time series.

Fields a run does not have are left out (a flood-only run has no heat map), never an error.

    >>> from metrotwin.viz.report import compare_runs                   # doctest: +SKIP
    >>> compare_runs("runs/demo")                                       # doctest: +SKIP
    PosixPath('runs/demo/comparison/report.html')
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from metrotwin import __version__
from metrotwin.errors import DataSourceError
from metrotwin.results.fields import (
    CHANGE_CLASSES,
    LINK_MAP_FIELDS,
    MAP_FIELDS,
    label_in_sentence,
    style_of,
    verdict,
)
from metrotwin.results.georef import GRID_MAPPING
from metrotwin.results.output import (
    CF_VERSION,
    atomic_path,
    georeferenced,
    write_text_atomic,
)
from metrotwin.results.rundata import informative

log = logging.getLogger("metrotwin.results.compare")

COMPARISON_DIR = "comparison"
REPORT_FILE = "report.html"
NETCDF_FILE = "comparison.nc"
CSV_FILE = "indicators.csv"
DERIVED = "maps"  # the "model" name of the indicators the comparison derives from the fields

#: Which direction of change is an improvement, for the shipped models' indicators whose own
#: declaration (``Indicator.better``, "lower" unless a model says otherwise) would mislead:
#: more water infiltrated, drained or held on green roofs is water off the streets; budget
#: terms, model checks and counts the variants do not act on are "neither" (no colour).
BETTER = {
    "flood.volume_infiltration": "higher",
    "flood.volume_drainage": "higher",
    "flood.volume_retention": "higher",
    "flood.volume_rain": "neither",
    "flood.volume_inflow": "neither",
    "flood.volume_boundary_out": "neither",
    "flood.volume_balance_error": "neither",
    "flood.limited_cell_steps": "neither",
    "mobility.trips_departed": "neither",
    "mobility.vehicle_km": "neither",
}

#: units of temperatures: an interval scale (0 °C is no "zero temperature"), so their changes
#: are differences in K, never percent
TEMPERATURE_UNITS = {"degree_C", "degree_Celsius", "degC", "celsius", "°C", "K", "degree_K"}

#: the suffix of an indicator that covers one part of the day only
PART_OF_DAY = ("_day", "_night")


def is_ratio_scale(units: str) -> bool:
    """Whether a change of a quantity in ``units`` may be given in percent (a true zero)."""
    return str(units).strip() not in TEMPERATURE_UNITS


def change_units(units: str) -> str:
    """The units of a change (difference) of a quantity shown in ``units``: K for
    temperatures, the same units otherwise."""
    return "K" if str(units).strip() in TEMPERATURE_UNITS else units


#: land-cover class a variant turns a cell into -> what the change map calls it
CHANGE_OF_CLASS = {
    "green_roof": "green roof",
    "cool_roof": "cool roof",
    "cool_pavement": "cool pavement",
    "permeable_paving": "permeable paving",
    "trees": "trees planted",
}


@dataclass
class IndicatorRow:
    """One indicator across the variants (values in the indicator's own units)."""

    model: str
    name: str
    units: str
    description: str
    better: str
    values: dict[str, float | None] = field(default_factory=dict)
    by_district: dict[str, dict[str, float | None]] = field(default_factory=dict)
    by_group: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.model}.{self.name}"

    @property
    def ratio(self) -> bool:
        """Whether its changes may be given in percent (not for temperatures)."""
        return is_ratio_scale(self.units)


@dataclass
class MapSummary:
    """A field summarised over the run for every variant (display units), on the grid or
    on the road links."""

    name: str  # the fields.nc variable
    label: str  # "Peak water depth"
    units: str
    better: str
    summary: str  # "max" / "min"
    values: dict[str, np.ndarray]  # variant -> (y, x) or (link,)
    on_links: bool = False

    def change(self, variant: str, baseline: str) -> np.ndarray:
        return self.values[variant] - self.values[baseline]


@dataclass
class Comparison:
    """Everything the report shows; built by ``build_comparison``."""

    scenario: str
    description: str
    baseline: str
    variants: list[str]
    descriptions: dict[str, str]
    interventions: dict[str, list[str]]
    models: list[str]
    period: str
    rows: list[IndicatorRow]
    districts: list[str]
    groups: list[str]
    series_time: dict[str, np.ndarray]  # variant -> datetime64 times of the indicator series
    series: dict[str, dict[str, list]]  # "model.indicator" -> variant -> values
    maps: list[MapSummary]
    changes: dict[str, np.ndarray]  # variant -> (y, x) int8 category (0 = unchanged)
    change_labels: list[str]
    change_area: dict[str, dict[str, dict[str, float]]]  # variant -> label -> district -> ha
    grid: xr.Dataset  # static layers of the baseline (x, y, district, land cover...)
    run_paths: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    #: variant -> intervention types it adds to the baseline's ("cool_roof", "trees"...)
    intervention_types: dict[str, list[str]] = field(default_factory=dict)
    #: "day" / "night": the parts of the day the run covers (sun above / below the horizon)
    parts_of_day: set[str] = field(default_factory=lambda: {"day", "night"})


# -- entry point ---------------------------------------------------------------------------------
def comparison_dir(run_dirs: list[Path] | Path) -> Path:
    """Where the comparison of ``run_dirs`` goes by default: ``<run root>/comparison``."""
    first = Path(run_dirs if isinstance(run_dirs, (str, Path)) else run_dirs[0])
    root = first if not (first / "fields.nc").is_file() else first.parent
    return root / COMPARISON_DIR


def write_comparison_tables(runs, out_dir: Path) -> Comparison:
    """Compare the opened variants ``runs`` (``metrotwin.results.rundata.open_variants``, in
    :func:`scenario_order`) and write ``indicators.csv`` and ``comparison.nc`` into ``out_dir``;
    returns the comparison, which ``metrotwin.viz.report.write_report`` draws."""
    out_dir = Path(out_dir)
    comp = build_comparison(runs)
    write_csv(comp, out_dir / CSV_FILE)
    write_netcdf(comp, out_dir / NETCDF_FILE)
    return comp


# -- building the comparison ---------------------------------------------------------------------
def build_comparison(runs) -> Comparison:
    if not runs:
        raise DataSourceError("nothing to compare: no variant folders given")
    names = [r.name for r in runs]
    base = runs[0]
    notes = []
    if base.name != "baseline" and len(runs) > 1:
        notes.append(f"No variant is named 'baseline'; changes are measured from {base.name!r}.")
    shapes = {r.name: (r.ds.sizes.get("y"), r.ds.sizes.get("x")) for r in runs}
    if len(set(shapes.values())) > 1:
        raise DataSourceError(
            "the variants are on different grids and cannot be compared: "
            + ", ".join(f"{k} {v[0]}x{v[1]}" for k, v in shapes.items())
        )
    scenarios = {r.scenario_name for r in runs}
    if len(scenarios) > 1:
        notes.append("These runs come from different scenarios: " + ", ".join(sorted(scenarios)))
    parts = parts_of_day(base)
    rows = [r for r in indicator_rows(runs) if covered(r.name, parts)]
    districts = district_names(base.ds)
    maps = map_summaries(runs)
    rows += derived_rows(maps, base.ds, districts, names)
    groups = sorted({g for r in rows for d in r.by_group.values() for g in (d or {})})
    changes, labels, area = change_maps(runs, districts)
    series_time, series = indicator_series(runs)
    sc = base.resolved.get("scenario") or {}
    descriptions = {r.name: "" for r in runs}
    for r in runs:
        descriptions.update({k: v for k, v in r.variant_descriptions.items() if k in descriptions})
    if base.name == "baseline":
        descriptions["baseline"] = "The city as it is today, without the variants' changes."
    period = sc.get("period") or {}
    # a variant alone is described by all its interventions; others by what they add
    reference = base.interventions if len(runs) > 1 or base.name == "baseline" else []
    return Comparison(
        scenario=" / ".join(sorted(scenarios)),
        description=str(sc.get("description") or "").strip(),
        baseline=base.name,
        variants=names,
        descriptions=descriptions,
        interventions={
            r.name: describe_interventions(r.interventions, reference) for r in runs
        },  # fmt: skip
        models=sorted(
            {m for r in runs for m in (r.indicators.get("models") or {})}
            | set(sc.get("models") or {})
        ),  # fmt: skip
        period=describe_period(period),
        rows=rows,
        districts=districts,
        groups=groups,
        series_time=series_time,
        series=series,
        maps=maps,
        changes=changes,
        change_labels=labels,
        change_area=area,
        grid=base.ds[
            [
                v
                for v in ("district", "land_cover", "building_height", "surface_altitude")
                if v in base.ds
            ]
        ],  # fmt: skip
        run_paths={r.name: r.path for r in runs},
        notes=notes,
        intervention_types={r.name: added_types(r.interventions, reference) for r in runs},
        parts_of_day=parts,
    )


def describe_period(period: dict) -> str:
    """``15 Jul 2026, 06:00 to 12:00`` from a resolved scenario's period."""
    from datetime import datetime, timedelta

    try:
        start = datetime.fromisoformat(str(period["start"]))
        end = period.get("end")
        end = (
            datetime.fromisoformat(str(end))
            if end
            else start + timedelta(seconds=float(period["duration"]))
        )
    except (KeyError, TypeError, ValueError):
        return ""
    same_day = end.date() == start.date()
    return f"{start:%d %b %Y, %H:%M} to " + (
        f"{end:%H:%M}" if same_day else f"{end:%d %b %Y, %H:%M}"
    )


def covered(name: str, parts: set[str]) -> bool:
    """Whether an indicator concerns a part of the day the run covers (a morning run has no
    night: its night-time rows would only show zeros)."""
    return not any(name.endswith(p) and p[1:] not in parts for p in PART_OF_DAY)


def parts_of_day(run) -> set[str]:
    """"day" and/or "night": whether the sun is above or below the horizon at some output
    time of ``run``, at the centre of its grid (local standard time from the scenario's
    ``forcing.weather.utc_offset``, else the longitude). Both when that cannot be told (no
    CRS, no times): nothing is then left out."""
    both = {"day", "night"}
    try:
        import pandas as pd
        import pvlib
        from pyproj import CRS, Transformer

        ds = run.ds
        crs = CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"])
        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform(float(ds["x"].mean()), float(ds["y"].mean()))
        weather = ((run.resolved.get("scenario") or {}).get("forcing") or {}).get("weather") or {}
        offset = weather.get("utc_offset")
        offset = float(offset) if offset is not None else round(lon / 15.0)
        times = pd.DatetimeIndex(run.times)
        if not len(times) or not np.isfinite([lon, lat]).all():
            return both
        stamps = times.tz_localize(f"Etc/GMT{-int(offset):+d}") if offset == int(offset) \
            else times - pd.Timedelta(hours=offset)  # fmt: skip
        if stamps.tz is None:
            stamps = stamps.tz_localize("UTC")
        sun = pvlib.solarposition.get_solarposition(stamps, lat, lon)["apparent_elevation"]
    except Exception:  # noqa: BLE001 - without a position or times, leave every row in
        return both
    sun = np.asarray(sun, dtype=float)
    parts = ({"day"} if (sun > 0).any() else set()) | ({"night"} if (sun <= 0).any() else set())
    return parts or both


def added_types(items: list[dict], base_items: list[dict]) -> list[str]:
    """The types of the interventions a variant adds to the baseline's."""
    extra = items[len(base_items) :] if items[: len(base_items)] == base_items else items
    return [str(item.get("type", "")) for item in extra]


def scenario_order(runs) -> list:
    """The runs in the scenario's order (baseline, then the variants as the file lists them)."""
    order = []
    for r in runs:
        order += [v for v in r.variant_descriptions if v not in order]
    rank = {name: i for i, name in enumerate(["baseline", *order])}
    return sorted(runs, key=lambda r: rank.get(r.name, len(rank)))


def district_names(ds: xr.Dataset) -> list[str]:
    if "district" not in ds:
        return []
    return str(ds["district"].attrs.get("flag_meanings", "")).split()


def indicator_rows(runs) -> list[IndicatorRow]:
    """The indicators of every variant, in the order the first variant that has them lists
    them; a variant without an indicator gets None."""
    rows: dict[str, IndicatorRow] = {}
    for run in runs:
        for model, inds in (run.indicators.get("models") or {}).items():
            for name, ind in (inds or {}).items():
                key = f"{model}.{name}"
                row = rows.get(key)
                if row is None:
                    row = rows[key] = IndicatorRow(
                        model, name, str(ind.get("units", "")), str(ind.get("description", "")),
                        direction(key, ind.get("better")))  # fmt: skip
                row.values[run.name] = _num(ind.get("value"))
                if ind.get("by_district"):
                    row.by_district[run.name] = {k: _num(v) for k, v in ind["by_district"].items()}
                if ind.get("by_group"):
                    row.by_group[run.name] = {k: _num(v) for k, v in ind["by_group"].items()}
    for row in rows.values():
        for run in runs:
            row.values.setdefault(run.name, None)
    return list(rows.values())


def direction(key: str, declared) -> str:
    """"lower", "higher" or "neither": which change of indicator ``key`` ("model.name") is
    an improvement; ``BETTER`` first, then what the model declared (default "lower")."""
    if key in BETTER:
        return BETTER[key]
    return declared if declared in ("lower", "higher", "neither") else "lower"


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def change(value: float | None, base: float | None, *,
           ratio: bool = True) -> tuple[float | None, float | None]:  # fmt: skip
    """(absolute, percent) change of ``value`` from ``base``; percent is None when the
    baseline is zero or missing, and for a quantity on an interval scale (``ratio=False``:
    a temperature, whose change is a difference in K)."""
    if value is None or base is None:
        return None, None
    diff = value - base
    if not ratio:
        return diff, None
    pct = 100.0 * diff / abs(base) if base != 0 else (0.0 if diff == 0 else None)
    return diff, pct


def map_summaries(runs) -> list[MapSummary]:
    """Peak/lowest values over the run of the main fields, for every variant that has them
    (only fields every variant has: a difference needs both sides)."""
    out = []
    for name in (*MAP_FIELDS, *LINK_MAP_FIELDS):
        if not all(r.has(name) for r in runs):
            continue
        style = style_of(name)
        values = {}
        for r in runs:
            da = r.ds[name]
            if (
                name == "flood_water_thickness"
                and r.has("flood_depth_max")
                and "time" in r.ds["flood_depth_max"].dims
            ):
                da = r.ds["flood_depth_max"].isel(time=-1)  # the model's own running maximum
            elif "time" in da.dims:
                arr = informative(da.values)
                values[r.name] = style.display(_over_time(arr, style.summary)).astype("float32")
                continue
            values[r.name] = style.display(da.values).astype("float32")
        out.append(MapSummary(name, style.summary_label, style.units, style.better,
                              style.summary, values, on_links="link" in r.ds[name].dims))  # fmt: skip
    return out


def _over_time(arr: np.ndarray, summary: str) -> np.ndarray:
    """The max (or min) over axis 0 ignoring NaN, and NaN where a cell has no value at any
    time (under a building, never wet): what np.nanmax gives, without its All-NaN warning."""
    missing = np.isnan(arr)
    fill = -np.inf if summary == "max" else np.inf
    out = np.where(missing, fill, arr)
    out = out.max(axis=0) if summary == "max" else out.min(axis=0)
    return np.where(missing.all(axis=0), np.nan, out)


def derived_rows(maps: list[MapSummary], ds, districts: list[str], names: list[str]):
    """Indicators the comparison reads off the summary maps, per municipality (so that every
    run has a per-municipality view even when a model gives no ``by_district``)."""
    if "district" not in ds or not districts:
        return []
    codes = np.atleast_1d(ds["district"].attrs.get("flag_values", []))
    d = ds["district"].values
    open_ground = (
        ds["building_height"].values <= 0 if "building_height" in ds else np.ones(d.shape, bool)
    )
    water = np.zeros(d.shape, bool)
    if "land_cover" in ds:
        lc = dict(zip(str(ds["land_cover"].attrs.get("flag_meanings", "")).split(),
                      np.atleast_1d(ds["land_cover"].attrs.get("flag_values", []))))  # fmt: skip
        if "water" in lc:
            water = ds["land_cover"].values == lc["water"]
    res = float(abs(ds["x"].values[1] - ds["x"].values[0])) if ds.sizes["x"] > 1 else 1.0
    rows = []
    for m in maps:
        if m.on_links:
            continue
        if m.name == "flood_water_thickness":
            row = IndicatorRow(DERIVED, "area_flooded_over_10cm", "ha",
                               "area (outside rivers and ponds) where the water was deeper "
                               "than 10 cm at some time", "lower")  # fmt: skip
            per_cell = {v: (a > 0.10) * (~water) * res * res / 1e4 for v, a in m.values.items()}
            how = "sum"
        else:
            row = IndicatorRow(
                DERIVED,
                f"{m.name}_{m.summary}_open_ground_mean",
                m.units,
                f"{label_in_sentence(m.label)}, averaged over open ground (not roofs)",
                m.better,
            )
            per_cell = m.values
            how = "mean"
        for v in names:
            a = per_cell[v]
            sel_all = open_ground if how == "mean" else np.ones(d.shape, bool)
            row.values[v] = _reduce(a[sel_all], how)
            row.by_district[v] = {
                n: _reduce(a[(d == c) & sel_all], how) for c, n in zip(codes, districts)
            }
        rows.append(row)
    return rows


def _reduce(values: np.ndarray, how: str) -> float | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return float(values.sum() if how == "sum" else values.mean())


def change_maps(runs, districts: list[str]):
    """Where each variant changes the city, as categories (0 = unchanged) and areas (ha) per
    municipality and category. Categories may overlap in the areas; the map shows the first
    that applies (land cover, trees, ground, drainage)."""
    labels = list(CHANGE_CLASSES)
    base = runs[0].ds
    res = float(abs(base["x"].values[1] - base["x"].values[0])) if base.sizes["x"] > 1 else 1.0
    ha = res * res / 1e4
    codes = np.atleast_1d(base["district"].attrs.get("flag_values", [])) if "district" in base else []
    d = base["district"].values if "district" in base else None
    lc_names = dict(zip((int(c) for c in np.atleast_1d(base["land_cover"].attrs.get("flag_values", []))),
                        str(base["land_cover"].attrs.get("flag_meanings", "")).split())) \
        if "land_cover" in base else {}  # fmt: skip
    cats, areas = {}, {}
    for run in runs:
        ds = run.ds
        masks: dict[str, np.ndarray] = {}
        if "land_cover" in ds and "land_cover" in base:
            new, old = ds["land_cover"].values, base["land_cover"].values
            diff = new != old
            for code in np.unique(new[diff]):
                label = CHANGE_OF_CLASS.get(lc_names.get(int(code), ""), "other land-cover change")
                masks[label] = masks.get(label, False) | (diff & (new == code))
        if "tree_canopy_height" in ds and "tree_canopy_height" in base:
            more = ds["tree_canopy_height"].values > base["tree_canopy_height"].values + 1e-6
            masks["trees planted"] = masks.get("trees planted", False) | more
        if "surface_altitude" in ds and "surface_altitude" in base:
            moved = np.abs(ds["surface_altitude"].values - base["surface_altitude"].values) > 1e-6
            masks["ground reshaped (pond, levee)"] = moved
        if "drainage_capacity" in ds and "drainage_capacity" in base:
            masks["drainage upgraded"] = (
                np.abs(ds["drainage_capacity"].values - base["drainage_capacity"].values) > 1e-9
            )
        cat = np.zeros((base.sizes["y"], base.sizes["x"]), "int8")
        for label in PAINT_ORDER:  # later ones are drawn over earlier ones
            if label in masks and np.any(masks[label]):
                cat[np.asarray(masks[label], bool)] = labels.index(label) + 1
        cats[run.name] = cat
        areas[run.name] = {}
        for label, mask in masks.items():
            mask = np.asarray(mask, bool)
            if not mask.any():
                continue
            per = {"all": float(mask.sum() * ha)}
            if d is not None:
                per.update(
                    {n: float((mask & (d == c)).sum() * ha) for c, n in zip(codes, districts)}
                )
            areas[run.name][label] = per
    return cats, labels, areas


#: the order in which overlapping changes are painted on the change map (last on top)
PAINT_ORDER = (
    "drainage upgraded",
    "ground reshaped (pond, levee)",
    "other land-cover change",
    "cool pavement",
    "permeable paving",
    "cool roof",
    "green roof",
    "trees planted",
)


def indicator_series(runs):
    """Times (datetime64) and values of the indicators' time series, per variant."""
    times, series = {}, {}
    for run in runs:
        ts = run.indicators.get("time_series") or {}
        t = np.asarray(ts.get("time") or [], dtype="float64")
        start = run.times[0] if len(run.times) else np.datetime64("2000-01-01T00:00")
        times[run.name] = start + (t * 1e9).astype("timedelta64[ns]")
        for key, values in (ts.get("values") or {}).items():
            series.setdefault(key, {})[run.name] = [_num(v) for v in values]
    return times, series


def _plain(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain(x).replace("_", " ") for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def describe_interventions(items: list[dict], base_items: list[dict]) -> list[str]:
    """One line per intervention a variant adds to the baseline's: type and where."""
    extra = items[len(base_items) :] if items[: len(base_items)] == base_items else items
    lines = []
    for item in extra:
        kind = str(item.get("type", "?")).replace("_", " ")
        where = item.get("where") or {}
        parts = []
        for key in ("district", "land_cover"):
            val = where.get(key)
            if val:
                parts.append(", ".join(val) if isinstance(val, list) else str(val))
        if where.get("polygon"):
            parts.append("a drawn area")
        if where.get("bbox"):
            parts.append("a box")
        extras = [f"{k.replace('_', ' ')} {_plain(v)}" for k, v in item.items()
                  if k not in ("type", "where", "label") and v not in (None, "", 1.0, [])]  # fmt: skip
        text = kind + (" in " + "; ".join(parts) if parts else " everywhere")
        if item.get("label"):
            text = f"{item['label']}: {text}"
        lines.append(text + (f" ({', '.join(extras)})" if extras else ""))
    return lines


# -- files -----------------------------------------------------------------------------------
CSV_COLUMNS = ["variant", "model", "indicator", "units", "better", "scope", "area", "value",
               "baseline", "change", "change_percent", "verdict", "description"]  # fmt: skip


def csv_records(comp: Comparison):
    """The rows of indicators.csv: whole city, each municipality, each population group."""
    for row in comp.rows:
        for v in comp.variants:
            scopes = [("total", "all", row.values.get(v), row.values.get(comp.baseline))]
            for dname in comp.districts:
                if v in row.by_district:
                    scopes.append(("municipality", dname, row.by_district[v].get(dname),
                                   row.by_district.get(comp.baseline, {}).get(dname)))  # fmt: skip
            for g in comp.groups:
                if v in row.by_group:
                    scopes.append(("group", g, row.by_group[v].get(g),
                                   row.by_group.get(comp.baseline, {}).get(g)))  # fmt: skip
            for scope, area, value, base in scopes:
                diff, pct = change(value, base, ratio=row.ratio)
                yield {
                    "variant": v, "model": row.model, "indicator": row.name,
                    "units": row.units, "better": row.better, "scope": scope, "area": area,
                    "value": value, "baseline": base, "change": diff, "change_percent": pct,
                    "verdict": verdict(diff, row.better) if v != comp.baseline else "baseline",
                    "description": row.description,
                }  # fmt: skip


def write_csv(comp: Comparison, path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in csv_records(comp):
        writer.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
                         for k, v in rec.items()})  # fmt: skip
    write_text_atomic(path, buf.getvalue())


def to_dataset(comp: Comparison) -> xr.Dataset:
    """The comparison as a CF dataset with a ``variant`` dimension."""
    V, keys = comp.variants, [r.key for r in comp.rows]
    nan = np.nan

    def arr(get, *shape):
        out = np.full((len(V), *shape), nan)
        for i, v in enumerate(V):
            out[i] = get(v)
        return out

    data = {}
    coords = {
        "variant": ("variant", np.array(V, dtype=object), {"long_name": "variant of the scenario"})
    }
    if keys:
        coords["indicator"] = ("indicator", np.array(keys, dtype=object),
                               {"long_name": "indicator (model.name)"})  # fmt: skip
        coords["indicator_units"] = (
            "indicator",
            np.array([r.units for r in comp.rows], dtype=object),
        )
        coords["indicator_better"] = (
            "indicator",
            np.array([r.better for r in comp.rows], dtype=object),
        )
        coords["indicator_description"] = (
            "indicator",
            np.array([r.description for r in comp.rows], dtype=object),
        )
        val = arr(lambda v: [_f(r.values.get(v)) for r in comp.rows], len(keys))
        b = val[0]
        data["indicator_value"] = (("variant", "indicator"), val,
                                   {"long_name": "value of the indicator (units: indicator_units)",
                                    "units": "1"})  # fmt: skip
        data["indicator_change"] = (("variant", "indicator"), val - b,
                                    {"long_name": f"change from the {comp.baseline} (variant minus baseline)",
                                     "units": "1"})  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(b != 0, 100 * (val - b) / np.abs(b), nan)
        pct[:, [not r.ratio for r in comp.rows]] = nan  # temperatures: differences in K only
        data["indicator_change_percent"] = (
            ("variant", "indicator"),
            pct,
            {"long_name": "relative change from the baseline", "units": "%"},
        )
        if comp.districts:
            coords["municipality"] = ("municipality", np.array(comp.districts, dtype=object),
                                      {"long_name": "municipality / district"})  # fmt: skip
            dv = arr(lambda v: [[_f(r.by_district.get(v, {}).get(d)) for d in comp.districts]
                                for r in comp.rows], len(keys), len(comp.districts))  # fmt: skip
            data["indicator_value_by_municipality"] = (
                ("variant", "indicator", "municipality"),
                dv,
                {"long_name": "value of the indicator in the municipality", "units": "1"},
            )
            data["indicator_change_by_municipality"] = (
                ("variant", "indicator", "municipality"),
                dv - dv[0],
                {"long_name": "change from the baseline in the municipality", "units": "1"},
            )
        if comp.groups:
            coords["group"] = (
                "group",
                np.array(comp.groups, dtype=object),
                {"long_name": "population group"},
            )
            gv = arr(lambda v: [[_f(r.by_group.get(v, {}).get(g)) for g in comp.groups]
                                for r in comp.rows], len(keys), len(comp.groups))  # fmt: skip
            data["indicator_value_by_group"] = (
                ("variant", "indicator", "group"),
                gv,
                {"long_name": "value of the indicator for the population group", "units": "1"},
            )
        n_t = max((len(t) for t in comp.series_time.values()), default=0)
        if n_t and comp.series:
            ts = np.full((len(V), len(keys), n_t), nan)
            for i, v in enumerate(V):
                for j, key in enumerate(keys):
                    vals = comp.series.get(key, {}).get(v) or []
                    ts[i, j, : len(vals)] = [_f(x) for x in vals]
            base_t = comp.series_time[V[0]]
            secs = (base_t - base_t[0]) / np.timedelta64(1, "s") if len(base_t) else np.arange(n_t)
            coords["output_time"] = ("output_time", np.resize(secs, n_t).astype("float64"),
                                     {"long_name": "time since the start of the run", "units": "s"})  # fmt: skip
            data["indicator_series"] = (
                ("variant", "indicator", "output_time"),
                ts,
                {"long_name": "indicator at each output time", "units": "1"},
            )
    grid = comp.grid
    if "x" in grid.coords and any(not m.on_links for m in comp.maps) or comp.changes:
        coords["x"] = ("x", grid["x"].values, dict(grid["x"].attrs))
        coords["y"] = ("y", grid["y"].values, dict(grid["y"].attrs))
    for m in comp.maps:
        dims = ("variant", "link") if m.on_links else ("variant", "y", "x")
        stack = np.stack([m.values[v] for v in V]).astype("float32")
        attrs = {
            "long_name": f"{m.label} over the run",
            "units": _cf_units(m.units),
            "cell_methods": f"time: {'maximum' if m.summary == 'max' else 'minimum'}",
        }
        if not m.on_links:
            attrs["grid_mapping"] = "spatial_ref"
        data[f"{m.name}_{m.summary}"] = (dims, stack, attrs)
        data[f"{m.name}_{m.summary}_change"] = (dims, stack - stack[0], {
            **attrs, "units": _cf_units(change_units(m.units)),
            "long_name": f"change of the {m.label.lower()} from the {comp.baseline} "
                         "(variant minus baseline)"})  # fmt: skip
    if comp.changes:
        data["intervention"] = (("variant", "y", "x"), np.stack([comp.changes[v] for v in V]), {
            "long_name": "what the variant changes in the cell", "units": "1",
            "flag_values": np.arange(len(comp.change_labels) + 1, dtype="int8"),
            "flag_meanings": " ".join(["unchanged", *[lab.split(" (")[0].replace(" ", "_")
                                                      for lab in comp.change_labels]]),
            "grid_mapping": "spatial_ref"})  # fmt: skip
    if "district" in grid and "y" in coords:
        data["district"] = (
            ("y", "x"),
            grid["district"].values,
            {k: v for k, v in grid["district"].attrs.items() if k != "grid_mapping"}
            | {"grid_mapping": "spatial_ref"},
        )
    ds = xr.Dataset({k: xr.Variable(*v) for k, v in data.items()},
                    coords={k: xr.Variable(*c) for k, c in coords.items()})  # fmt: skip
    if GRID_MAPPING in grid.coords or GRID_MAPPING in grid:
        # a coordinate, listed in the gridded variables' ``coordinates``: a plain
        # ``xr.open_dataset`` then finds the CRS (``ds.rio.crs``)
        ds = ds.assign_coords({GRID_MAPPING: xr.Variable((), 0, dict(grid[GRID_MAPPING].attrs))})
        for var in ds.data_vars.values():
            attrs = georeferenced(var.dims, var.attrs)
            var.encoding["coordinates"] = attrs.pop("coordinates", None) or None
            var.attrs = attrs
    ds.attrs = {
        "Conventions": CF_VERSION,
        "title": f"metrotwin comparison of scenario {comp.scenario}: {', '.join(V)}",
        "source": f"metrotwin {__version__}",
        "baseline": comp.baseline,
        "comment": "changes are variant minus baseline; units of the indicator_* variables "
                   "are in the indicator_units coordinate",
    }  # fmt: skip
    return ds


def _f(v) -> float:
    return np.nan if v is None else float(v)


def _cf_units(units: str) -> str:
    return {"°C": "degree_C", "km/h": "km h-1", "m/s": "m s-1", "W/m²": "W m-2",
            "vehicles/h": "h-1", "K": "K"}.get(units, units)  # fmt: skip


def write_netcdf(comp: Comparison, path: Path) -> None:
    ds = to_dataset(comp)
    encoding = {
        name: {"zlib": True, "complevel": 4} for name, v in ds.data_vars.items() if v.ndim >= 2
    }
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
