"""What the browser viewer shows, read lazily from the variants' ``fields.nc``.

One output time of one field is read at a time (``frame``), decimated to the 3D scene's cells;
a clicked cell's time series is one column of the file per variant (``series``). Values are in
the display units of ``metrotwin.results.fields.FIELDS`` (°C, m).
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.fields import FIELDS
from metrotwin.results.rundata import BASELINE, VariantRun, open_variants
from metrotwin.viz.decimate import block_reduce

#: The grid fields the viewer offers, in the order of the picker (those the run wrote).
VIEW_FIELDS = (
    "flood_water_thickness",
    "universal_thermal_comfort_index",
    "air_temperature",
    "surface_temperature",
    "mean_radiant_temperature",
)


class ViewerData:
    """The variants of one or more run folders, opened lazily (nothing is read until asked)."""

    def __init__(self, paths):
        runs = open_variants(paths)
        runs.sort(key=lambda r: (r.name != BASELINE, r.name))
        self.runs: dict[str, VariantRun] = {r.name: r for r in runs}
        self.baseline = next(iter(self.runs))
        first = self.runs[self.baseline]
        self.fields = [
            n for n in VIEW_FIELDS
            if first.has(n) and first.ds[n].dims[-2:] == ("y", "x") and "time" in first.ds[n].dims
        ]  # fmt: skip
        self.n_times = len(first.times)

    @property
    def variants(self) -> list[str]:
        return list(self.runs)

    def label(self, field: str, *, difference: bool = False) -> str:
        """The legend's title: what the field is, with its units."""
        style = FIELDS[field]
        return f"{'change in ' if difference else ''}{style.label} ({style.units})"

    def frame(self, variant: str, field: str, index: int, step: int, *,
              difference: bool = False) -> np.ndarray:  # fmt: skip
        """The field at output ``index`` (display units), block-averaged by ``step``; with
        ``difference``, the variant's value minus the baseline's."""
        values = self._grid(variant, field, index)
        if difference:
            values = values - self._grid(self.baseline, field, index)
        return block_reduce(values, step, "mean")

    def _grid(self, variant: str, field: str, index: int) -> np.ndarray:
        da = self.runs[variant].ds[field]
        return FIELDS[field].display(da.isel(time=index).values)

    def series(self, field: str, row: int, col: int) -> dict[str, np.ndarray]:
        """Variant -> the cell's values over time (display units); (row, col) of the full grid."""
        return {
            name: FIELDS[field].display(run.ds[field].isel(y=row, x=col).values)
            for name, run in self.runs.items()
        }

    def minutes(self) -> np.ndarray:
        """Output times in minutes since the start."""
        return self.runs[self.baseline].seconds / 60.0

    def close(self) -> None:
        for run in self.runs.values():
            run.close()
