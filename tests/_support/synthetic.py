"""A tiny run folder with known geometry, written without the runner: flat ground, one tall
building, water in a known rectangle, a heat field with a known gradient, two roads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metrotwin.city.landcover import CODE, cf_flag_attrs
from metrotwin.city.network import add_network
from metrotwin.run.testing import make_grid, make_state

NY, NX, RES = 40, 50, 10.0
BUILDING = (slice(18, 24), slice(30, 36))  # rows, cols of the building
BUILDING_HEIGHT = 60.0
WATER = (slice(5, 15), slice(5, 20))  # rows, cols under water
DEPTH = 0.8
TIMES = [0.0, 600.0, 1200.0]


def write_synthetic_run(folder: Path, *, with_outputs: bool = True) -> Path:
    """Write ``folder/fields.nc`` (and an empty indicators.json); returns the folder."""
    import json

    grid = make_grid(NY, NX, resolution=RES)
    height = np.zeros(grid.shape)
    height[BUILDING] = BUILDING_HEIGHT
    lc = np.full(grid.shape, CODE["grass"], dtype="int16")
    lc[BUILDING] = CODE["roof"]
    district = np.ones(grid.shape, dtype="int16")
    district[:, NX // 2 :] = 2
    state = make_state(grid, building_height=height, land_cover=lc, district=district,
                       building_id=(height > 0).astype("int32"))  # fmt: skip
    state.ds["land_cover"].attrs.update(cf_flag_attrs())
    state.ds["district"].attrs.update(flag_values=np.array([1, 2], "int16"),
                                      flag_meanings="West East")  # fmt: skip
    x, y = grid.x, grid.y
    add_network(state, [x[2], x[-3], x[-3]], [y[30], y[30], y[3]], [0, 1, 1, 2], [1, 0, 2, 1],
                lanes=[1, 1, 1, 1], free_speed=[10.0] * 4, capacity=[900.0] * 4)  # fmt: skip
    ds = state.ds.copy()
    if with_outputs:
        t = np.array(TIMES)
        depth = np.zeros((len(t), NY, NX), "float32")
        depth[1:, WATER[0], WATER[1]] = DEPTH  # dry at the start, wet afterwards
        utci = (20.0 + np.linspace(0, 10, NX)[None, None, :] + 2 * np.arange(len(t))[:, None, None]
                ) * np.ones((len(t), NY, NX))  # fmt: skip
        ds["flood_water_thickness"] = (
            ("time", "y", "x"),
            depth,
            {"units": "m", "standard_name": "flood_water_thickness"},
        )
        ds["universal_thermal_comfort_index"] = (("time", "y", "x"), utci.astype("float32"),
                                                 {"units": "degree_C"})  # fmt: skip
        ds["link_speed"] = (("time", "link"), np.array([[10, 10, 10, 10], [10, 10, 2, 2],
                                                        [10, 10, 5, 5]], "float32"),
                            {"units": "m s-1"})  # fmt: skip
        ds["link_closed"] = (
            ("time", "link"),
            np.array([[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]], "int8"),
            {"units": "1"},
        )
        ds = ds.assign_coords(time=("time", t, {"units": "seconds since 2026-07-15 06:00:00",
                                                "calendar": "proleptic_gregorian"}))  # fmt: skip
    ds.attrs.update(scenario="synthetic", variant=folder.name, Conventions="CF-1.13")
    folder.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(folder / "fields.nc")
    (folder / "indicators.json").write_text(json.dumps(
        {"scenario": "synthetic", "variant": folder.name, "models": {},
         "time_series": {"time": TIMES if with_outputs else [], "values": {}}}))  # fmt: skip
    return folder
