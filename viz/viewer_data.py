"""What the browser viewer shows, read lazily from the variants' ``fields.nc``.

One output time of one variable is read at a time (``frame``, ``link_values``), block-averaged
to the 3D scene's cells as soon as it is read; the decimated frames are kept (a few hundred
kilobytes each), so a variant seen again, the baseline of a difference or the maximum depth
so far read nothing twice. A clicked cell's time series is one column of the file per variant
(``series``). Values are in the display units of the field's style (°C, m, km/h); the fields
are those of ``metrotwin.viz.viewer_fields``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from metrotwin.results.rundata import BASELINE, VariantRun, open_variants
from metrotwin.viz.viewer_fields import VIEW_FIELDS, ViewField, view_field

NETWORK = ("node_x", "node_y", "link_from", "link_to")
CACHE_FRAMES = 256  # decimated frames kept (40 000 cells: 0.3 MB each)


class ViewerData:
    """The variants of one or more run folders, opened lazily (nothing is read until asked).

    ``reads`` lists every (variant, variable, output index) read from a file, in order.
    """

    def __init__(self, paths):
        runs = open_variants(paths)
        runs.sort(key=lambda r: (r.name != BASELINE, r.name))
        self.runs: dict[str, VariantRun] = {r.name: r for r in runs}
        self.baseline = next(iter(self.runs))
        first = self.runs[self.baseline]
        self.fields = [f.name for f in VIEW_FIELDS if _offered(first, f)]
        self.n_times = len(first.times)
        self.reads: list[tuple[str, str, int]] = []
        self._frames: OrderedDict = OrderedDict()

    @property
    def variants(self) -> list[str]:
        return list(self.runs)

    def kind(self, field: str) -> str:
        """How ``field`` is drawn: "grid", "peak", "link" or "district"."""
        return view_field(field).kind

    def label(self, field: str, *, difference: bool = False) -> str:
        """The legend's title: what the field is, with its units."""
        style = view_field(field).style
        return f"{'change in ' if difference else ''}{style.label} ({style.units})"

    # -- grids -----------------------------------------------------------------------------
    def frame(self, variant: str, field: str, index: int, step: int, *,
              difference: bool = False) -> np.ndarray:  # fmt: skip
        """A draped field at output ``index`` (display units), block-averaged by ``step``;
        with ``difference``, the variant's value minus the baseline's. Grid fields only ("grid",
        "peak"): a road field has ``link_values``, a district field ``district_values``."""
        vf = view_field(field)
        if vf.kind not in ("grid", "peak"):
            raise ValueError(f"field {field!r} is a {vf.kind} field, not a grid")
        values = self._draped(variant, vf, index, step)
        if difference:
            values = values - self._draped(self.baseline, vf, index, step)
        return values

    def _draped(self, variant: str, vf: ViewField, index: int, step: int) -> np.ndarray:
        if vf.kind == "peak" and _is_grid(self.runs[variant], vf.stored):
            return vf.style.display(self._grid(variant, vf.stored, index, step))
        if vf.kind == "peak":  # the largest of the frames from the start up to ``index``
            frames = [self._grid(variant, vf.source, i, step) for i in range(index + 1)]
            return vf.style.display(np.fmax.reduce(frames))
        return vf.style.display(self._grid(variant, vf.source, index, step))

    def _grid(self, variant: str, name: str, index: int, step: int) -> np.ndarray:
        """The stored values of ``name`` at ``index``, block-averaged (cached)."""
        key = (variant, name, index, step)
        if key in self._frames:
            self._frames.move_to_end(key)
            return self._frames[key]
        self.reads.append((variant, name, index))
        values = block_mean(self.runs[variant].ds[name].isel(time=index).values, step)
        self._frames[key] = values
        if len(self._frames) > CACHE_FRAMES:
            self._frames.popitem(last=False)
        return values

    # -- roads and districts ---------------------------------------------------------------
    def link_values(self, variant: str, field: str, index: int, *,
                    difference: bool = False) -> np.ndarray:  # fmt: skip
        """A link field at output ``index`` per directed link (display units); with
        ``difference``, minus the baseline's."""
        vf = view_field(field)
        values = vf.style.display(self._links(variant, vf.source, index))
        if difference:
            values = values - vf.style.display(self._links(self.baseline, vf.source, index))
        return values

    def _links(self, variant: str, name: str, index: int) -> np.ndarray:
        self.reads.append((variant, name, index))
        return self.runs[variant].ds[name].isel(time=index).values

    def district_values(self, variant: str, field: str, *,
                        difference: bool = False) -> dict[str, float]:  # fmt: skip
        """District name -> the indicator's value (NaN where missing); with ``difference``,
        the variant's minus the baseline's."""
        values = self._by_district(variant, view_field(field))
        if difference:
            base = self._by_district(self.baseline, view_field(field))
            values = {d: v - base.get(d, np.nan) for d, v in values.items()}
        return values

    def _by_district(self, variant: str, vf: ViewField) -> dict[str, float]:
        model, name = vf.source.split(".", 1)
        entry = self.runs[variant].indicators.get("models", {}).get(model, {}).get(name, {})
        return {d: np.nan if v is None else float(v)
                for d, v in (entry.get("by_district") or {}).items()}  # fmt: skip

    # -- time series -----------------------------------------------------------------------
    def series(self, field: str, row: int, col: int) -> dict[str, np.ndarray]:
        """Variant -> the cell's values over time (display units); (row, col) of the full
        grid. Road fields give the road nearest the cell, district fields its district's
        value (the same at every time: the indicator is the run's total)."""
        vf = view_field(field)
        return {name: self._series(run, vf, row, col) for name, run in self.runs.items()}

    def _series(self, run: VariantRun, vf: ViewField, row: int, col: int) -> np.ndarray:
        if vf.kind == "link":
            return vf.style.display(run.ds[vf.source].isel(link=self.link_near(row, col)).values)
        if vf.kind == "district":
            value = self._by_district(run.name, vf).get(self.district_at(row, col), np.nan)
            return np.full(self.n_times, value)
        if vf.kind == "peak" and _is_grid(run, vf.stored):
            return vf.style.display(run.ds[vf.stored].isel(y=row, x=col).values)
        values = vf.style.display(run.ds[vf.source].isel(y=row, x=col).values)
        return np.fmax.accumulate(values) if vf.kind == "peak" else values

    def link_near(self, row: int, col: int) -> int:
        """The directed link whose middle is nearest the centre of cell (row, col)."""
        ds = self.runs[self.baseline].ds
        x, y = float(ds["x"][col]), float(ds["y"][row])
        a, b = ds["link_from"].values.astype(int), ds["link_to"].values.astype(int)
        nx_, ny_ = ds["node_x"].values, ds["node_y"].values
        mx, my = (nx_[a] + nx_[b]) / 2, (ny_[a] + ny_[b]) / 2
        return int(np.argmin((mx - x) ** 2 + (my - y) ** 2))

    def district_at(self, row: int, col: int) -> str:
        """The name of the district of cell (row, col) ("" outside every district)."""
        da = self.runs[self.baseline].ds["district"]
        names = dict(zip(np.atleast_1d(da.attrs.get("flag_values", [])).tolist(),
                         str(da.attrs.get("flag_meanings", "")).split()))  # fmt: skip
        return names.get(int(da.isel(y=row, x=col).values), "")

    def minutes(self) -> np.ndarray:
        """Output times in minutes since the start."""
        return self.runs[self.baseline].seconds / 60.0

    def close(self) -> None:
        for run in self.runs.values():
            run.close()


def _offered(run: VariantRun, vf: ViewField) -> bool:
    """Whether ``run`` has what ``vf`` needs."""
    ds = run.ds
    if vf.kind in ("grid", "peak"):
        return _is_grid(run, vf.source)
    if vf.kind == "link":
        return (run.has(vf.source) and ds[vf.source].dims == ("time", "link")
                and all(run.has(n) for n in NETWORK))  # fmt: skip
    model, name = vf.source.split(".", 1)
    entry = run.indicators.get("models", {}).get(model, {}).get(name) or {}
    return bool(entry.get("by_district")) and run.has("district")


def _is_grid(run: VariantRun, name: str | None) -> bool:
    """Whether ``run`` has ``name`` as a (time, y, x) variable."""
    return bool(name) and run.has(name) and run.ds[name].dims == ("time", "y", "x")


def block_mean(values: np.ndarray, step: int) -> np.ndarray:
    """The mean of each ``step`` x ``step`` block of a (ny, nx) array, NaN ignored (NaN where
    a block has no value); the last blocks of a row or column are the cells left over.

    The shape is that of ``metrotwin.viz.decimate.block_reduce``; in one pass over the
    array in its own precision (a 10⁷-cell frame in about 0.15 s: no padded float64 copy).
    """
    values = np.asarray(values)
    if step == 1:
        return values.astype("float64")
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0)
    rows = np.arange(0, values.shape[0], step)
    cols = np.arange(0, values.shape[1], step)
    # the first sum in the values' own precision (float32: ~1e-7 relative per added cell,
    # far below what a colour shows), the second over far fewer values in float64
    part = np.add.reduceat(filled, rows, axis=0)
    sums = np.add.reduceat(part, cols, axis=1, dtype="float64")
    counts = np.add.reduceat(np.add.reduceat(finite, rows, axis=0, dtype="int32"), cols, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)
