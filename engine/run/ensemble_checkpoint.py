"""What a checkpoint of an assimilating coupler keeps besides the variant's own fields and
models (``metrotwin.results.checkpoint`` asks the coupler for these):

* every member's and the control's fields (``member<i>/<field>``, ``control/<field>``) and
  each member's rain multiplier field (``member<i>/log_rain``), blocks per rank like any
  field;
* every member's models (``member<i>.<model>``; the control's are the variant's models);
* the filter's own state (``assimilation``): each member's air-temperature offset, demand
  factor and rain bias, the increment account, the cycle counts and the model values kept at
  every reading.

The filter draws no random numbers after set-up: the members' priors come from
``SeedSequence([scenario seed, assimilation seed])``, drawn again identically at a restart
(the checkpoint refuses a changed scenario), and the members' models keep their own random
generators in their checkpoints, so nothing else of the streams needs saving.
"""

from __future__ import annotations

import numpy as np


def run_arrays(prefix: str, coupler) -> dict[str, tuple[np.ndarray, bool]]:
    """The fields ``coupler``'s models write, as ``prefix/<name>``: (array, is a grid field)."""
    state, out = coupler.state, {}
    for model in coupler.models:
        for name in model.writes():
            if name in state.ds:
                out[f"{prefix}/{name}"] = (state[name], state.ds[name].dims == ("y", "x"))
    return out


class FilterState:
    """The assimilating coupler ``owner``'s own state, saved and restored like a model's."""

    def __init__(self, owner):
        self.owner = owner

    def checkpoint(self) -> dict:
        c = self.owner
        saved = {"cycles": c.cycles, "assimilated": c.assimilated, "t": float(c._t),
                 "increment_volume": c.increment_volume.copy(),
                 "air_temperature_offset": np.array([f.air_temperature_offset
                                                     for f in c.forcings]),
                 "rain_bias": np.array([f.rain_bias for f in c.forcings]),
                 "log_demand": np.array([f.log_demand for f in c.forcings])}  # fmt: skip
        for kind, values in c.values.items():
            saved[f"values/{kind}"] = values.copy()
        return saved

    def restore(self, saved: dict) -> None:
        """Take back ``checkpoint()`` once the members' fields are restored; the variant's
        state then holds their mean again (the output at the restart time is written anew)."""
        c = self.owner
        c.cycles, c.assimilated = int(saved["cycles"]), int(saved["assimilated"])
        c._t = float(saved["t"])
        c.increment_volume[...] = saved["increment_volume"]
        for i, forcing in enumerate(c.forcings):
            forcing.air_temperature_offset = float(saved["air_temperature_offset"][i])
            forcing.rain_bias = float(saved["rain_bias"][i])
            forcing.log_demand = float(saved["log_demand"][i])
        for kind, values in c.values.items():
            values[...] = saved[f"values/{kind}"]
        c.refresh_after_restore()
