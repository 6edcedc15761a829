"""Declarations of the fields a model reads and writes (landlab's ``_info`` in spirit).

Every model lists each variable once, with its intent, units and CF naming; the coupler
creates the arrays, checks that every read is satisfied, and writes the CF attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Intent = Literal["in", "out", "inout"]
#: where a variable lives: on the grid (y, x), on road links, on network nodes, or a scalar.
Mapping = Literal["grid", "link", "node", "scalar"]

DIMS: dict[str, tuple[str, ...]] = {
    "grid": ("y", "x"),
    "link": ("link",),
    "node": ("node",),
    "scalar": (),
}


#: attribute marking a variable as a model's internal state (see ``VarSpec.internal``)
INTERNAL_ATTR = "metrotwin_internal"


@dataclass(frozen=True)
class VarSpec:
    """One variable a model reads (``in``), writes (``out``) or both (``inout``).

    Attributes
    ----------
    intent : "in", "out" or "inout".
    units : UDUNITS string (``"m"``, ``"m s-1"``, ``"K"``, ``"degree_C"``, ``"1"``).
    doc : a CF ``long_name``: what the value is, in words.
    standard_name : the CF standard name where the table has one.
    mapping : ``"grid"`` (y, x), ``"link"``, ``"node"`` or ``"scalar"``.
    dtype : numpy dtype name of the array the coupler allocates for ``out`` variables.
    optional : a read that may be absent (the model copes without it).
    output : an ``out``/``inout`` variable written to ``fields.nc`` at every output time.
    fill : initial value of an ``out`` variable the coupler allocates.
    attrs : further CF attributes (``flag_values``, ``cell_methods``, ...).
    internal : a model's own per-cell state, kept in the state so that checkpoints save it by
        tile; never written to ``fields.nc``.
    valid_range : (lowest, highest) value that can be true (units as ``units``); a run whose
        output leaves it is not published. Whatever the range, an output may hold NaN only
        if its ``fill`` is NaN (no value there, e.g. UTCI inside buildings) and never +-inf.
    """

    intent: Intent
    units: str
    doc: str
    standard_name: str | None = None
    mapping: Mapping = "grid"
    dtype: str = "float64"
    optional: bool = False
    output: bool = True
    fill: float = 0.0
    attrs: dict = field(default_factory=dict)
    internal: bool = False
    valid_range: tuple[float, float] | None = None

    def untrusted(self, values: np.ndarray) -> str | None:
        """Why ``values`` of this variable cannot be published (count and kind of the bad
        values), or None if they can."""
        if not np.issubdtype(values.dtype, np.floating):
            return None
        finite = np.isfinite(values)
        if not finite.all():
            bad = np.isinf(values) if np.isnan(self.fill) else ~finite
            if bad.any():
                return f"{int(bad.sum())} non-finite value(s)"
        if self.valid_range is not None:
            low, high = self.valid_range
            with np.errstate(invalid="ignore"):
                out = (values < low) | (values > high)
            if out.any():
                return (f"{int(out.sum())} value(s) outside {low:g}..{high:g} {self.units} "
                        f"(from {np.nanmin(values):.6g} to {np.nanmax(values):.6g})")
        return None

    @property
    def reads(self) -> bool:
        return self.intent in ("in", "inout")

    @property
    def writes(self) -> bool:
        return self.intent in ("out", "inout")

    @property
    def dims(self) -> tuple[str, ...]:
        return DIMS[self.mapping]

    def cf_attrs(self) -> dict:
        """The CF attributes this declaration gives its variable."""
        attrs = {"units": self.units, "long_name": self.doc}
        if self.standard_name:
            attrs["standard_name"] = self.standard_name
        attrs.update(self.attrs)
        if self.internal:
            attrs[INTERNAL_ATTR] = 1
        return attrs
