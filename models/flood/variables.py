"""The state variables the flood model reads and writes (``FloodModel.variables``): the
coupler allocates every one it writes before the model initialises."""

from __future__ import annotations

import numpy as np

from metrotwin.city.variables import VarSpec
from metrotwin.models.flood.accounts import CELL_ACCOUNTS
from metrotwin.models.flood.boundaries import SIDES

_STAT = {"dtype": "float32", "output": True}
#: depths a published run may hold (m): the input bound of any water layer (layer_bounds)
DEPTH_RANGE = (0.0, 100.0)
#: speeds a published run may hold (m/s): 10 times the fastest urban flood currents reported
#: (~5 m/s in steep streets); a larger one is a blow-up, not a flood
SPEED_RANGE = (0.0, 50.0)

VARIABLES: dict[str, VarSpec] = {
    "surface_altitude": VarSpec("in", "m", "ground elevation", "surface_altitude"),
    "building_height": VarSpec("in", "m", "height of the building above ground"),
    "building_id": VarSpec("in", "1", "building identifier", dtype="int32"),
    "land_cover": VarSpec("in", "1", "land-cover class", dtype="int16"),
    "district": VarSpec("in", "1", "district of the cell", dtype="int16"),
    "drainage_capacity": VarSpec("in", "mm h-1", "drainage inlet capacity"),
    "closed_cell": VarSpec("in", "1", "cell excluded from flow", dtype="uint8", optional=True),
    "flood_water_thickness": VarSpec("out", "m", "depth of flood water", "flood_water_thickness",
                                     valid_range=DEPTH_RANGE),
    "flood_water_speed": VarSpec("out", "m s-1", "speed of flood water", "flood_water_speed",
                                 valid_range=SPEED_RANGE),
    "link_max_flood_depth": VarSpec(
        "out", "m", "maximum flood water depth along the road link", mapping="link"
    ),
    "flood_depth_max": VarSpec(
        "out", "m", "maximum depth of flood water since the start", "flood_water_thickness",
        attrs={"cell_methods": "time: maximum"}, valid_range=DEPTH_RANGE, **_STAT,
    ),
    "flood_speed_max": VarSpec(
        "out", "m s-1", "maximum speed of flood water since the start", "flood_water_speed",
        attrs={"cell_methods": "time: maximum"}, valid_range=SPEED_RANGE, **_STAT,
    ),
    "time_of_maximum_flood_depth": VarSpec(
        "out", "s", "time of the maximum depth, seconds since the start of the period",
        "time_of_maximum_flood_depth", fill=np.nan, **_STAT,
    ),
    "flood_duration_above_threshold": VarSpec(
        "out", "s", "time the depth exceeded the duration threshold",
        "flood_water_duration_above_threshold", **_STAT,
    ),
    # per-cell solver state kept in the state so that checkpoints carry it (any layout)
    **{f"flood_unit_discharge_{side}_face": VarSpec(
        "out", "m2 s-1", f"unit discharge across the {side} face of the cell "
        f"({'positive east' if side in ('west', 'east') else 'positive south'})", output=False,
    ) for side in SIDES},
    **{f"flood_{key}_depth": VarSpec(
        "out", "m", f"cumulative depth of water {text} since the start", output=False,
    ) for key, text in CELL_ACCOUNTS.items()},
}
