"""The volume accounts of the flood model: what came in (rain, inflows), what went out
(boundaries, infiltration, drainage, green-roof retention) and what is stored, so that a run
can show that its water balance closes (to round-off: every total is an exact sum over the
owned cells, the same on any number of ranks)."""

from __future__ import annotations

import numpy as np

#: volume accounts kept per cell (state variables ``flood_<key>_depth``, m): their totals are
#: exact sums over the owned cells, so they do not depend on the decomposition
CELL_ACCOUNTS = {
    "gridded_rain": "of gridded rain fallen on the cell",
    "boundary_out": "that left the domain through the boundary faces of the cell (net)",
    "infiltration": "infiltrated into the soil of the cell",
    "drainage": "taken by the drainage inlets of the cell",
    "retention": "retained by the green roof of the cell",
}
#: the accounts summed over the owned cells of their state variables
_SUMMED = ("boundary_out", "infiltration", "drainage", "retention")


class CompensatedSum:
    """A running float64 total with Neumaier's compensated summation."""

    def __init__(self, value=0.0, comp=0.0):
        self.value, self.comp = float(value), float(comp)

    def add(self, x: float) -> None:
        x = float(x)
        t = self.value + x
        if abs(self.value) >= abs(x):
            self.comp += (self.value - t) + x
        else:
            self.comp += (x - t) + self.value
        self.value = t

    @property
    def total(self) -> float:
        return self.value + self.comp


class VolumeAccounts:
    """The water volumes (m3) of a run since its start, over the cells this rank owns.

    ``state`` holds the per-cell accounts (``CELL_ACCOUNTS``, zeroed here), ``ctx`` gives the
    global sums, ``active`` (uint8) the cells open to flow and ``own_active`` those of them
    this rank owns; ``area`` the cell area (m2)."""

    def __init__(self, state, ctx, active, own_active, area: float):
        self.state, self.ctx = state, ctx
        self.own_active, self.area = own_active, area
        self.cells = {k: state[f"flood_{k}_depth"] for k in CELL_ACCOUNTS}
        for values in self.cells.values():
            values[...] = 0.0
        # rain: the uniform depth (m) fallen on every active cell; inflow: volume (m3)
        self.sums = {k: CompensatedSum() for k in ("rain", "inflow")}
        self.n_active = ctx.global_sum(state.owned(active).astype(float))
        self.storage0 = 0.0

    def start(self, h) -> None:
        """Take the water on the surface now, depths ``h`` (m), as the initial storage."""
        self.storage0 = self.storage(h)

    def storage(self, h) -> float:
        """The water on the owned active cells of depths ``h`` (m), in m3."""
        return self.ctx.global_sum(h[self.own_active]) * self.area

    def add_rain(self, rain, active) -> None:
        """Count a step's rain: a uniform depth (m) or a (ny, nx) array of depths (m) that
        falls on the ``active`` cells."""
        if isinstance(rain, np.ndarray):
            self.cells["gridded_rain"] += np.where(active > 0, rain, 0.0)
        elif rain > 0:
            self.sums["rain"].add(rain)

    def add_inflow(self, volume: float) -> None:
        """Count an inflow volume (m3)."""
        self.sums["inflow"].add(volume)

    def balance(self, h) -> dict[str, float]:
        """Volumes (m3) since the start: every account, the storage of depths ``h`` (m), and
        the relative error of the balance."""
        gsum, a, owned = self.ctx.global_sum, self.area, self.state.owned
        sums = {key: gsum(owned(self.cells[key])) * a for key in _SUMMED}
        sums["rain"] = (self.n_active * self.sums["rain"].total
                        + gsum(owned(self.cells["gridded_rain"]))) * a  # fmt: skip
        sums["inflow"] = self.sums["inflow"].total
        storage = self.storage(h)
        gain = sums["rain"] + sums["inflow"]
        loss = sums["boundary_out"] + sums["infiltration"] + sums["drainage"] + sums["retention"]
        error = abs(storage - self.storage0 - (gain - loss))
        scale = max(gain, storage, self.storage0, abs(sums["boundary_out"]), 1e-300)
        return {**sums, "storage": storage, "storage_initial": self.storage0,
                "relative_error": error / scale}

    def checkpoint(self) -> dict:
        """The reduced totals (the per-cell accounts are state variables)."""
        saved = {"storage0": self.storage0}
        for k, s in self.sums.items():
            saved[f"sum_{k}"] = np.array([s.value, s.comp])
        return saved

    def restore(self, saved: dict) -> None:
        self.storage0 = float(saved["storage0"])
        for k in self.sums:
            self.sums[k] = CompensatedSum(*np.asarray(saved[f"sum_{k}"], dtype=float))
