"""Stand-in flood, heat and mobility models that write the contract's coupling variables
with simple, known formulas, so that the pictures and the comparison are tested through the
real runner without depending on the physical models (which are tested on their own).

The formulas respond to the interventions the way the real models should (bigger drains hold
less water, cool roofs and trees cool), so that variants differ.
"""

from __future__ import annotations

import numpy as np

from metrotwin import Indicator, Model, VarSpec
from metrotwin.results.indicators import reduce_by_district, sum_by_district
from metrotwin.city.landcover import CODE
from metrotwin.city.network import max_along_links

RAIN_PEAK = 7200.0  # s: the fake flood is deepest here


class FakeFlood(Model):
    """Water ponds in the lowest 15 % of the town, up to ``1.2 m x (1 - drainage/50)`` at
    ``RAIN_PEAK``, then drains away."""

    name = "flood"
    variables = {
        "surface_altitude": VarSpec("in", "m", "ground", standard_name="surface_altitude"),
        "drainage_capacity": VarSpec("in", "mm h-1", "drains"),
        "district": VarSpec("in", "1", "district"),
        "flood_water_thickness": VarSpec("out", "m", "depth of flood water",
                                         standard_name="flood_water_thickness"),
        "link_max_flood_depth": VarSpec("out", "m", "deepest water on the link", mapping="link"),
    }  # fmt: skip

    def initialize(self, state, ctx):
        z = state["surface_altitude"]
        self.low = np.clip(np.quantile(z, 0.15) - z, 0, None)
        self.drain = np.clip(1 - state["drainage_capacity"] / 50.0, 0, 1)
        self.names = state.district_names
        self.area = state.grid.cell_area
        self.t = 0.0
        self.ds = state.ds

    def advance(self, state, until):
        shape = np.clip(1 - abs(until - RAIN_PEAK) / RAIN_PEAK, 0, 1)
        depth = state["flood_water_thickness"]
        depth[...] = np.where(self.low > 0, (0.3 + self.low) * self.drain * shape, 0.0)
        if "link_cell_start" in self.ds:
            state["link_max_flood_depth"][...] = max_along_links(
                depth, self.ds["link_cell_start"].values, self.ds["link_cell_index"].values
            )
        self.t = until

    def indicators(self, state):
        depth = state["flood_water_thickness"]
        wet = (depth > 0.1) * self.area
        return {
            "flooded_area": Indicator(float(wet.sum()), "m2", "area under more than 10 cm of water",
                                      by_district=sum_by_district(wet, state["district"], self.names)),
            "flood_volume": Indicator(float(depth.sum() * self.area), "m3", "water on the streets",
                                      by_district=sum_by_district(depth * self.area,
                                                                  state["district"], self.names)),
        }  # fmt: skip


class FakeHeat(Model):
    """UTCI = 24 + 10 sin(pi t / 12 h) + 3 on sealed ground, -3 under cool surfaces, -5 under
    trees (degree_C); the surface temperature is UTCI + 8 K."""

    name = "heat"
    variables = {
        "land_cover": VarSpec("in", "1", "land cover"),
        "tree_canopy_height": VarSpec("in", "m", "trees"),
        "district": VarSpec("in", "1", "district"),
        "universal_thermal_comfort_index": VarSpec("out", "degree_C", "UTCI",
                                                   standard_name="universal_thermal_comfort_index"),
        "surface_temperature": VarSpec("out", "K", "surface temperature",
                                       standard_name="surface_temperature"),
    }  # fmt: skip

    def initialize(self, state, ctx):
        lc = state["land_cover"]
        sealed = np.isin(lc, [CODE[c] for c in ("roof", "road", "paved")])
        cool = np.isin(lc, [CODE[c] for c in ("cool_roof", "cool_pavement", "green_roof")])
        self.offset = 3.0 * sealed - 3.0 * cool - 5.0 * (state["tree_canopy_height"] > 0)
        self.names = state.district_names

    def advance(self, state, until):
        base = 24 + 10 * np.sin(np.pi * min(until, 43200) / 43200)
        state["universal_thermal_comfort_index"][...] = base + self.offset
        state["surface_temperature"][...] = base + self.offset + 8 + 273.15

    def indicators(self, state):
        utci = state["universal_thermal_comfort_index"]
        d = state["district"]
        hot = (utci > 32).astype(float) * 100.0  # 1 ha = 10 000 m2; cells of 10 m = 0.01 ha
        return {
            "mean_utci": Indicator(float(utci.mean()), "degree_C", "mean felt temperature",
                                   by_district=reduce_by_district(utci, d, self.names, np.mean)),
            "hot_area": Indicator(float(hot.sum()), "m2", "area with strong heat stress",
                                  by_district=sum_by_district(hot, d, self.names)),
        }  # fmt: skip


class FakeMobility(Model):
    """Links slow down linearly with the water on them and close above 0.3 m."""

    name = "mobility"
    variables = {
        "link_max_flood_depth": VarSpec("in", "m", "water on the link", mapping="link",
                                        optional=True),
        "link_free_speed": VarSpec("in", "m s-1", "free speed", mapping="link"),
        "link_speed": VarSpec("out", "m s-1", "speed", mapping="link"),
        "link_closed": VarSpec("out", "1", "closed", mapping="link", dtype="int8"),
    }  # fmt: skip

    def initialize(self, state, ctx):
        self.has_flood = "link_max_flood_depth" in state

    def advance(self, state, until):
        depth = state["link_max_flood_depth"] if self.has_flood else 0.0
        state["link_speed"][...] = state["link_free_speed"] * np.clip(1 - depth / 0.3, 0.05, 1)
        state["link_closed"][...] = depth > 0.3 if self.has_flood else 0

    def indicators(self, state):
        closed = float(state["link_closed"].sum())
        delay = (
            float(np.mean(state["link_free_speed"] / np.maximum(state["link_speed"], 0.1)) - 1)
            * 600
        )
        return {
            "closed_links": Indicator(closed, "1", "road links closed by water"),
            "mean_delay": Indicator(delay, "s", "mean delay of a trip",
                                    by_group={"walk": delay * 0.2, "car": delay,
                                              "bike": delay * 0.5}),
            "trips_completed": Indicator(1000 - closed, "1", "trips that arrived",
                                         better="higher"),
        }  # fmt: skip


FAKE_MODELS = {"flood": FakeFlood, "heat": FakeHeat, "mobility": FakeMobility}


def small_scenario(models=("flood", "heat", "mobility")) -> dict:
    """A small generated town (60 x 48 cells of 20 m), 3 h, with the demo's two variants."""
    return {
        "name": "small",
        "description": "A small test town.",
        "seed": 3,
        "domain": {"generated": {"size_x": 1200, "size_y": 960, "resolution": 20}},
        "period": {"start": "2026-07-15T06:00:00", "duration": "3 h",
                   "coupling_interval": "30 min", "output_interval": "30 min"},
        "models": {m: {} for m in models},
        "variants": {
            "green_blue": {
                "description": "Green roofs and bigger drains in the old town.",
                "interventions": [{"type": "green_roof", "where": {"district": "Oldtown"}},
                                  {"type": "drainage_upgrade", "where": {"district": "Oldtown"},
                                   "capacity": 40}]},
            "cool_city": {
                "description": "Cool roofs everywhere.",
                "interventions": [{"type": "cool_roof"}]},
        },
    }  # fmt: skip


def make_fake_run(out, models=("flood", "heat", "mobility"), scenario: dict | None = None):
    """Run ``scenario`` (default ``small_scenario(models)``) with the fake models into
    ``out``; returns the run directory."""
    import pytest

    import metrotwin.run.registry as registry
    import metrotwin.viz.report as viz_report
    from metrotwin.run.runner import run_scenario
    from metrotwin.run.scenario import parse_scenario

    fakes = {name: FAKE_MODELS[name] for name in models}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "list_models", lambda: dict(fakes))
        run_scenario(parse_scenario(scenario or small_scenario(models)), out, progress=False,
                     report=viz_report.compare_runs)  # fmt: skip
    return out
