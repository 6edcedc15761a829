"""A 3-building city written as risk members' run folders, small enough to compute by hand.

Grid 6 x 8 cells of 10 m (100 m² each). Building 1: residential, cells (1,1) and (1,2),
6 m high (2 storeys of 3 m), district West; building 2: commercial, cell (1,5), 3 m
(1 storey), East; building 3: public, cell (4,2), 9 m (3 storeys), West. Districts: columns
0-3 West (1), 4-7 East (2). Road nodes 0 (next to building 3), 1, 2, 3 in a line, links
0-1, 1-2, 2-3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
import yaml
from pyproj import CRS

from metrotwin.results.risk.members import RiskMember, member_id

NY, NX, RES = 6, 8, 10.0
WEST, NORTH = 500_000.0, 5_000_000.0
TIMES = np.array(["2026-07-15T10:00", "2026-07-15T11:00", "2026-07-15T12:00"], "M8[ns]")


def static_layers() -> dict:
    bid = np.zeros((NY, NX), np.int32)
    use = np.zeros((NY, NX), np.int8)
    height = np.zeros((NY, NX))
    for cells, b, u, h in ((((1, 1), (1, 2)), 1, 1, 6.0), (((1, 5),), 2, 2, 3.0),
                           (((4, 2),), 3, 4, 9.0)):  # fmt: skip
        for r, c in cells:
            bid[r, c], use[r, c], height[r, c] = b, u, h
    district = np.where(np.arange(NX)[None, :] < 4, 1, 2).astype(np.int16).repeat(NY, 0)
    return {"building_id": bid, "building_use": use, "building_height": height,
            "district": district}  # fmt: skip


def dataset(depth, *, utci_hours=None, air_c=27.0, closed=None, layers=None,
            utci=None) -> xr.Dataset:  # fmt: skip
    """A member's fields: ``depth`` (y, x) the peak depth (m), reached at the second of
    three outputs; ``utci_hours`` {32: (y, x), 38: (y, x)} hours above (all day hours);
    ``air_c`` the air temperature (°C, uniform); ``closed`` (time, link) closed flags;
    ``utci`` the peak UTCI (°C, uniform off the buildings)."""
    layers = {**static_layers(), **(layers or {})}
    x = WEST + RES * (np.arange(NX) + 0.5)
    y = NORTH - RES * (np.arange(NY) + 0.5)
    grid, tgrid = ("y", "x"), ("time", "y", "x")
    depth = np.asarray(depth, float)
    thickness = np.stack([0.5 * depth, depth, 0.8 * depth]).astype(np.float32)
    data = {name: (grid, v) for name, v in layers.items()}
    data["district"] = (grid, layers["district"],
                        {"flag_values": np.array([1, 2], np.int16), "flag_meanings": "West East"})
    data["flood_water_thickness"] = (tgrid, thickness, {"units": "m"})
    data["flood_depth_max"] = (tgrid, np.maximum.accumulate(thickness, axis=0), {"units": "m"})
    data["air_temperature"] = (tgrid, np.full((3, NY, NX), air_c + 273.15, np.float32),
                               {"units": "K"})  # fmt: skip
    if utci is not None:  # the peak at the second output, NaN on the buildings
        peak = np.where(layers["building_id"] > 0, np.nan, float(utci))
        data["universal_thermal_comfort_index"] = (tgrid, np.stack(
            [peak - 2.0, peak, peak - 1.0]).astype(np.float32), {"units": "degree_C"})
    for t, h in (utci_hours or {}).items():
        zeros = np.zeros((3, NY, NX), np.float32)
        data[f"utci_hours_above_{t:g}_day"] = (tgrid, zeros + np.asarray(h, np.float32))
        data[f"utci_hours_above_{t:g}_night"] = (tgrid, zeros)
    data["node_x"] = ("node", WEST + np.array([25.0, 45.0, 65.0, 75.0]))
    data["node_y"] = ("node", NORTH - np.array([45.0, 45.0, 45.0, 5.0]))
    data["link_from"] = ("link", np.array([0, 1, 2], np.int32))
    data["link_to"] = ("link", np.array([1, 2, 3], np.int32))
    closed = np.zeros((3, 3), np.int8) if closed is None else np.asarray(closed, np.int8)
    data["link_closed"] = (("time", "link"), closed)
    coords = {"x": ("x", x, {"units": "m", "standard_name": "projection_x_coordinate"}),
              "y": ("y", y, {"units": "m", "standard_name": "projection_y_coordinate"}),
              "time": TIMES,
              "spatial_ref": ((), 0, {"crs_wkt": CRS("EPSG:32632").to_wkt(),
                                      "grid_mapping_name": "transverse_mercator"})}  # fmt: skip
    return xr.Dataset(data, coords=coords)


#: the members' design day and the weather's air temperature (°C) at the three outputs
DESIGN_DAY = {"air_temperature_max": 30.0, "air_temperature_min": 18.0, "relative_humidity": 40.0}
WEATHER_AIR = [25.0, 25.0, 25.0]


def write_member(root: Path, period: float, sample: int, ds: xr.Dataset,
                 indicators: dict | None = None, parameters=None) -> RiskMember:  # fmt: skip
    """Write ``ds`` as member (period, sample) under ``root/members`` and return it, with
    its indicators (their time series: the weather's air temperature ``WEATHER_AIR``) and
    its resolved scenario (the design day ``DESIGN_DAY``)."""
    name = member_id(period, sample)
    folder = Path(root) / "members" / name
    folder.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(folder / "fields.nc")
    series = {"time": [0.0, 3600.0, 7200.0],
              "values": {"heat.weather_air_temperature": list(WEATHER_AIR)}}  # fmt: skip
    (folder / "indicators.json").write_text(json.dumps(
        {"models": {}, "time_series": series, **(indicators or {})}))
    resolved = {"scenario": {"forcing": {"weather": {"design_day": dict(DESIGN_DAY)}}}}
    (folder / "scenario.resolved.yaml").write_text(yaml.safe_dump(resolved))
    return RiskMember(name, folder, float(period), int(sample), dict(parameters or {}))


def depth_grid(cells: dict) -> np.ndarray:
    """A (y, x) depth grid, 0 but at ``cells`` {(row, col): depth m}."""
    grid = np.zeros((NY, NX))
    for (r, c), d in cells.items():
        grid[r, c] = d
    return grid
