"""Reading a run directory for pictures: variants, times, fields (no PyVista here).

A *run directory* holds one folder per variant (``baseline/``, ``green_blue/``, ...), each
with ``fields.nc`` and ``indicators.json`` (engine/results/output.py). Functions here find the
variants, open their fields, turn a user's ``--time`` into an output-time index, and
decimate grids to a cell budget for 3D.
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

from metrotwin.errors import DataSourceError
from metrotwin.results.output import FIELDS_FILE, INDICATORS_FILE, RESOLVED_FILE

BASELINE = "baseline"


def variant_dirs(paths) -> list[Path]:
    """The variant folders named by ``paths`` (a run directory, a variant folder, or a list of
    either), baseline first. Raises DataSourceError naming the path when there is none."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise DataSourceError(f"{p}: no such run directory")
        if (p / FIELDS_FILE).is_file():
            found.append(p)
            continue
        inner = sorted(q.parent for q in p.glob(f"*/{FIELDS_FILE}"))
        if not inner:
            raise DataSourceError(
                f"{p}: not a metrotwin run directory (no {FIELDS_FILE} in it or in its "
                "sub-folders); give the folder `metrotwin run` wrote, e.g. runs/demo"
            )
        found.extend(inner)
    seen: dict[str, Path] = {}
    for p in found:
        if p.name in seen and seen[p.name].resolve() != p.resolve():
            raise DataSourceError(
                f"two variants are both named {p.name!r} ({seen[p.name]} and {p}); "
                "compare variants with distinct folder names"
            )
        seen[p.name] = p
    return sorted(seen.values(), key=lambda f: (f.name != BASELINE, 0))


@dataclass
class VariantRun:
    """One variant's outputs, opened lazily."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def ds(self) -> xr.Dataset:
        try:
            return xr.open_dataset(self.path / FIELDS_FILE, decode_coords="all")
        except (OSError, ValueError) as err:
            raise DataSourceError(f"{self.path / FIELDS_FILE}: cannot be read ({err})") from None

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
        import yaml

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
        if peak_field and run.has(peak_field) and "time" in run.ds[peak_field].dims:
            da = run.ds[peak_field]
            totals = np.nan_to_num(da.sum(dim=[d for d in da.dims if d != "time"]).values)
            return int(np.argmax(totals))
        return len(times) - 1
    if spec == "end":
        return len(times) - 1
    if spec == "start":
        return 0
    text = str(spec).strip()
    start = times[0].astype("M8[s]").astype(datetime)
    target: datetime | None = None
    if m := re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text):
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        target = start.replace(hour=h, minute=mi, second=s)
    elif m := _DURATION.match(text):
        unit = (m[2] or "s").lower()
        factor = 60 if unit == "min" else 3600 if unit.startswith("h") else 1
        target = start + timedelta(seconds=float(m[1]) * factor)
    else:
        try:
            target = datetime.fromisoformat(text)
        except ValueError:
            target = None
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


# -- decimation ----------------------------------------------------------------------------
def decimation_factor(shape: tuple[int, int], budget: int) -> int:
    """The smallest integer step that brings ``shape`` to at most ``budget`` cells."""
    ny, nx = shape
    step = 1
    while (-(-ny // step)) * (-(-nx // step)) > budget:
        step += 1
    return step


def block_reduce(values: np.ndarray, step: int, how: str = "mean") -> np.ndarray:
    """Reduce a (ny, nx) array over ``step`` x ``step`` blocks ("mean", "max", "min" or
    "first"), padding the last row and column blocks with edge values. NaN-aware."""
    values = np.asarray(values)
    if step == 1:
        return values
    ny, nx = values.shape
    py, px = (-ny) % step, (-nx) % step
    padded = np.pad(values, ((0, py), (0, px)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // step, step, padded.shape[1] // step, step)
    if how == "first":
        return blocks[:, 0, :, 0]
    func = {"mean": np.nanmean, "max": np.nanmax, "min": np.nanmin}[how]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return func(blocks.astype("float64"), axis=(1, 3))
