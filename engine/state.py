"""The shared city state: one xarray.Dataset on a Grid, with CF attributes.

Static layers (elevation, buildings, land cover, districts, road network) and the dynamic
fields that models declare live in the same Dataset. Models receive numpy views of its
variables (``state["flood_water_thickness"]``) and update them in place: nothing is copied per
step.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from metrotwin.grid import Grid
from metrotwin.variables import VarSpec

#: CF metadata of the layers every city has (generated or loaded from data).
STATIC_LAYERS: dict[str, dict] = {
    "surface_altitude": {
        "units": "m",
        "standard_name": "surface_altitude",
        "long_name": "ground elevation (digital terrain model)",
    },
    "building_height": {
        "units": "m",
        "long_name": "height of the building above ground (0 where there is none)",
    },
    "building_id": {"units": "1", "long_name": "building identifier (0 where there is none)"},
    "land_cover": {"units": "1", "long_name": "land-cover class"},
    "tree_canopy_height": {
        "units": "m",
        "long_name": "height of the tree canopy above ground (0 where there is none)",
    },
    "district": {"units": "1", "long_name": "municipality / district the cell belongs to"},
    "building_use": {
        "units": "1",
        "long_name": "use of the building: 0 none, 1 residential, 2 commercial/office, 3 industrial, 4 public",
    },
    "drainage_capacity": {
        "units": "mm h-1",
        "long_name": "capacity of the storm-water drainage inlets (rain rate they remove)",
    },
}


class CityState:
    """The city's gridded state and its road network, in one ``xarray.Dataset``.

    ``state[name]`` returns the numpy array behind a variable (a view: writes go to the
    dataset). ``state.ds`` is the Dataset itself, with CF attributes and the CRS.
    """

    def __init__(self, grid: Grid, ds: xr.Dataset):
        self.grid = grid
        self.ds = ds

    # -- access --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.ds[name].data
        except KeyError:
            raise KeyError(
                f"the city state has no variable {name!r}; it has: {', '.join(sorted(self.ds.data_vars))}"
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self.ds.data_vars

    @property
    def district_names(self) -> dict[int, str]:
        """District code -> name, from the ``district`` layer's flag attributes."""
        attrs = self.ds["district"].attrs
        return dict(zip((int(v) for v in attrs["flag_values"]), attrs["flag_meanings"].split()))

    @property
    def n_links(self) -> int:
        return int(self.ds.sizes.get("link", 0))

    def link_cells(self, link: int) -> np.ndarray:
        """Flat grid indices of the cells that road link ``link`` crosses."""
        start = self.ds["link_cell_start"].data
        return self.ds["link_cell_index"].data[start[link] : start[link + 1]]

    # -- creation ------------------------------------------------------------------------
    def add_layer(self, name: str, values: np.ndarray, attrs: Mapping | None = None) -> None:
        """Add or replace a grid layer; attributes default to ``STATIC_LAYERS[name]``."""
        values = np.asarray(values)
        if values.shape != self.grid.shape:
            raise ValueError(
                f"layer {name!r} has shape {values.shape}, the grid is {self.grid.shape}"
            )
        merged = dict(STATIC_LAYERS.get(name, {}))
        merged.update(attrs or {})
        merged["grid_mapping"] = "spatial_ref"
        self.ds[name] = xr.Variable(("y", "x"), values, merged)

    def add_variable(self, name: str, spec: VarSpec) -> np.ndarray:
        """Allocate the variable a model writes (if absent) and return its array."""
        if name not in self.ds:
            shape = tuple(self.ds.sizes[d] for d in spec.dims)
            attrs = spec.cf_attrs()
            if spec.mapping == "grid":
                attrs["grid_mapping"] = "spatial_ref"
            self.ds[name] = xr.Variable(
                spec.dims, np.full(shape, spec.fill, dtype=spec.dtype), attrs
            )
        return self[name]


def empty_state(grid: Grid) -> CityState:
    """A state with only the grid's coordinates and its CF grid mapping."""
    x = xr.Variable(
        "x",
        grid.x,
        {
            "units": "m",
            "standard_name": "projection_x_coordinate",
            "long_name": "easting of the cell centre",
            "axis": "X",
        },
    )
    y = xr.Variable(
        "y",
        grid.y,
        {
            "units": "m",
            "standard_name": "projection_y_coordinate",
            "long_name": "northing of the cell centre",
            "axis": "Y",
        },
    )
    crs_attrs = grid.pyproj_crs.to_cf()
    crs_attrs["spatial_ref"] = crs_attrs["crs_wkt"]  # what GDAL and rioxarray also look for
    crs_attrs["GeoTransform"] = (
        f"{grid.west} {grid.resolution} 0 {grid.north} 0 {-grid.resolution}"
    )
    ds = xr.Dataset(coords={"x": x, "y": y, "spatial_ref": xr.Variable((), 0, crs_attrs)})
    return CityState(grid, ds)
