"""The one reader of run folders: variants, their fields, indicators and times.

A *run directory* holds one folder per variant (``baseline/``, ``green_blue/``, ...), each
with ``fields.nc`` and ``indicators.json`` (``metrotwin.results.layout``; written by
``metrotwin.results.output``). Functions here find the variants, open their fields (refusing
a decomposed run whose tile files are not all there: the grid would read as fill values),
and turn a user's ``--time`` into an output-time index. ``open_runs`` gives the variants as
one dataset with a ``variant`` dimension; ``open_variants`` one ``VariantRun`` each.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from metrotwin.errors import DataSourceError
from metrotwin.hpc.parallel_output import missing_tiles
from metrotwin.results.layout import BASELINE, FIELDS_FILE, INDICATORS_FILE, RESOLVED_FILE


def variant_dirs(paths) -> list[Path]:
    """The variant folders named by ``paths`` (a run directory, a variant folder, or a list of
    either), baseline first. Raises DataSourceError naming the path when there is none."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for p in map(Path, paths):
        found.extend(_folders_of(p))
    seen: dict[str, Path] = {}
    for p in found:
        if p.name in seen and seen[p.name].resolve() != p.resolve():
            raise DataSourceError(
                f"two variants are both named {p.name!r} ({seen[p.name]} and {p}); "
                "compare variants with distinct folder names"
            )
        seen[p.name] = p
    return sorted(seen.values(), key=lambda f: (f.name != BASELINE, 0))


def _folders_of(path: Path) -> list[Path]:
    """``path`` itself when it is a variant folder, else the variant folders in it."""
    if not path.exists():
        raise DataSourceError(f"{path}: no such run directory")
    if (path / FIELDS_FILE).is_file():
        return [path]
    inner = sorted(q.parent for q in path.glob(f"*/{FIELDS_FILE}"))
    if not inner:
        raise DataSourceError(
            f"{path}: not a metrotwin run directory (no {FIELDS_FILE} in it or in its "
            "sub-folders); give the folder `metrotwin run` wrote, e.g. runs/demo"
        )
    return inner


def open_fields(folder: Path, *, decode_coords: bool | str = "all") -> xr.Dataset:
    """The ``fields.nc`` of variant folder ``folder``, with its CRS decoded (``ds.rio.crs``).

    Raises DataSourceError naming the file when it cannot be read, and when it is the master
    of a decomposed run whose tile files are not all there (the grid would read as fill
    values, NaN in a comparison, without a word).
    """
    path = Path(folder) / FIELDS_FILE
    try:
        missing = missing_tiles(path)
    except OSError as err:
        raise DataSourceError(f"{path}: cannot be read ({err})") from None
    if missing:
        raise DataSourceError(
            f"{path}: {len(missing)} tile file(s) missing ({', '.join(missing)}, beside it); "
            "the grid would read as fill values there: restore the tiles, or run the variant "
            "again"
        )
    try:
        return xr.open_dataset(path, decode_coords=decode_coords)
    except (OSError, ValueError) as err:
        raise DataSourceError(f"{path}: cannot be read ({err})") from None


def open_runs(paths, *, variants: list[str] | None = None) -> xr.Dataset:
    """Open the ``fields.nc`` of several variants as one dataset with a ``variant`` dimension
    (baseline first, then by name).

    ``paths`` is a run directory holding one folder per variant, a variant folder, or a list
    of either; ``variants`` keeps only the variants of those names. The CRS is decoded
    (``decode_coords="all"``), so ``ds.rio.crs`` works.
    """
    folders = variant_dirs(paths)
    if variants is not None:
        folders = [f for f in folders if f.name in variants]
    if not folders:
        raise DataSourceError(
            f"{paths}: none of the variants {', '.join(variants or [])} is there; it holds "
            + ", ".join(f.name for f in variant_dirs(paths))
        )
    folders.sort(key=lambda f: (f.name != BASELINE, f.name))
    datasets = [open_fields(f) for f in folders]
    names = [f.name for f in folders]
    return xr.concat(datasets, dim=xr.Variable("variant", names), join="exact",
                     coords="minimal", compat="override",
                     combine_attrs="drop_conflicts")  # fmt: skip


@dataclass
class VariantRun:
    """One variant's outputs, opened lazily."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def ds(self) -> xr.Dataset:
        return open_fields(self.path)

    @cached_property
    def indicators(self) -> dict:
        path = self.path / INDICATORS_FILE
        if not path.is_file():
            return {"models": {}, "time_series": {"time": [], "values": {}}}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataSourceError(f"{path}: not valid JSON ({err})") from None

    @cached_property
    def resolved(self) -> dict:
        path = self.path / RESOLVED_FILE
        if not path.is_file():
            return {}
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    @property
    def scenario_name(self) -> str:
        return str(self.ds.attrs.get("scenario") or self.indicators.get("scenario") or "run")

    @property
    def interventions(self) -> list[dict]:
        """The interventions this variant applied (from its resolved scenario)."""
        return list((self.resolved.get("scenario") or {}).get("interventions") or [])

    @property
    def variant_descriptions(self) -> dict[str, str]:
        """Variant name -> description, as the scenario gives them (the baseline's resolved
        scenario keeps the ``variants`` section)."""
        variants = (self.resolved.get("scenario") or {}).get("variants") or {}
        return {k: str((v or {}).get("description") or "") for k, v in variants.items()}

    @property
    def times(self) -> np.ndarray:
        """Output times as numpy datetime64 (empty when the run wrote no output field)."""
        return self.ds["time"].values if "time" in self.ds.dims else np.array([], "M8[ns]")

    @property
    def seconds(self) -> np.ndarray:
        """Output times in seconds since the start."""
        t = self.times
        return (t - t[0]) / np.timedelta64(1, "s") if len(t) else np.array([])

    def has(self, name: str) -> bool:
        return name in self.ds.data_vars

    def close(self) -> None:
        if "ds" in self.__dict__:
            self.ds.close()


def open_variants(paths) -> list[VariantRun]:
    return [VariantRun(p) for p in variant_dirs(paths)]


# -- time -----------------------------------------------------------------------------------
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(s|sec|min|h|hours?)?\s*$", re.I)


def time_index(
    run: VariantRun, spec: str | float | int | None, *, peak_field: str | None = None
) -> int:
    """The output-time index that ``spec`` names.

    ``spec`` may be ``"peak"`` (the time when ``peak_field`` is largest, summed over the
    grid; the last time without one), ``"end"``, ``"start"``, a clock time ``"08:30"``, an
    ISO date-time, or a time since the start (``"5400"`` s, ``"90 min"``, ``"1.5 h"``).
    The nearest output time is taken. Raises DataSourceError listing the valid times.
    """
    times = run.times
    if len(times) == 0:
        return 0
    if spec is None or spec == "peak":
        return _peak_index(run, peak_field)
    if spec in ("end", "start"):
        return len(times) - 1 if spec == "end" else 0
    text = str(spec).strip()
    target = _parse_time(text, times[0].astype("M8[s]").astype(datetime))
    valid = f"{_clock(times[0])} to {_clock(times[-1])}"
    if target is None:
        raise DataSourceError(
            f"--time {text!r} is not a time; give 'peak', 'end', a clock time like 08:30, an "
            f"ISO date-time, or seconds since the start (this run has outputs from {valid})"
        )
    t64 = np.datetime64(target, "ns")
    if t64 < times[0] - np.timedelta64(1, "s") or t64 > times[-1] + np.timedelta64(1, "s"):
        raise DataSourceError(f"--time {text!r} is outside the run; outputs are from {valid}")
    return int(np.argmin(np.abs(times - t64)))


def _peak_index(run: VariantRun, peak_field: str | None) -> int:
    """The output index where ``peak_field`` summed over the grid is largest; the last
    without such a field."""
    if peak_field and run.has(peak_field) and "time" in run.ds[peak_field].dims:
        da = run.ds[peak_field]
        totals = np.nan_to_num(da.sum(dim=[d for d in da.dims if d != "time"]).values)
        return int(np.argmax(totals))
    return len(run.times) - 1


def _parse_time(text: str, start: datetime) -> datetime | None:
    """The time ``text`` names (a clock time on the start's day, a time since ``start``, or
    an ISO date-time); None when it names none (a clock time of 25:00 included)."""
    try:
        if m := re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text):
            return start.replace(hour=int(m[1]), minute=int(m[2]), second=int(m[3] or 0))
        if m := _DURATION.match(text):
            unit = (m[2] or "s").lower()
            factor = 60 if unit == "min" else 3600 if unit.startswith("h") else 1
            return start + timedelta(seconds=float(m[1]) * factor)
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _clock(t) -> str:
    return np.datetime_as_string(t, unit="m").replace("T", " ")


def time_label(run: VariantRun, index: int) -> str:
    """``2026-07-15 07:30`` for an output index; ``static`` when the run has no outputs."""
    times = run.times
    return _clock(times[index]) if len(times) else "static layers"


def informative(values: np.ndarray) -> np.ndarray:
    """The time slices of a (time, ...) field that are not spatially constant (the first
    output is often the models' untouched fill value); all of it when none is."""
    values = np.asarray(values)
    if values.ndim < 2 or values.shape[0] < 2:
        return values
    flat = values.reshape(values.shape[0], -1)
    with np.errstate(invalid="ignore"):
        keep = np.nanmax(flat, axis=1) > np.nanmin(flat, axis=1)
    return values[keep] if keep.any() else values
