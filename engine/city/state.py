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

from metrotwin.city.grid import Grid
from metrotwin.city.variables import VarSpec
from metrotwin.hpc.decomposition import serial_decomposition

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

    def __init__(self, grid: Grid, ds: xr.Dataset, decomposition=None, seed: int = 0):
        self.grid = grid
        self.ds = ds
        #: the scenario seed (for cell-keyed random choices of interventions)
        self.seed = seed
        #: the rank's place in the global grid (serial: the whole grid, no halo)
        self.decomposition = decomposition or serial_decomposition(grid.shape)

    def copy(self) -> CityState:
        """A deep copy (a variant's own state, built from the shared city)."""
        return CityState(self.grid, self.ds.copy(deep=True), self.decomposition, self.seed)

    def global_cell_index(self) -> np.ndarray:
        """Flat global index (row * global nx + col) of every local cell: a key that is the
        same for a cell whichever rank holds it (for cell-keyed random choices)."""
        rows, cols = self.decomposition.local_window
        nx = self.decomposition.global_shape[1]
        r, c = np.meshgrid(np.arange(rows.start, rows.stop), np.arange(cols.start, cols.stop),
                           indexing="ij")  # fmt: skip
        return (r * nx + c).astype(np.int64)

    @property
    def global_grid(self) -> Grid:
        """The whole domain's grid (this rank's ``grid`` is its window of it)."""
        return self.decomposition.global_grid(self.grid)

    def owned(self, values: np.ndarray) -> np.ndarray:
        """The part of a local grid array that this rank owns (halo cells left out)."""
        return values[self.decomposition.owned]

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


def filter_csr(start: np.ndarray, index: np.ndarray, keep: np.ndarray):
    """The CSR lists (start, index) with only the entries where ``keep`` is true."""
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    return kept_before[start].astype("int64"), index[keep]


def subset_state(state: CityState, window: tuple[slice, slice], decomposition) -> CityState:
    """The part of a whole-city state inside ``window`` (global rows, cols), with the road
    network's cell lists re-indexed onto the window's grid."""
    rows, cols = window
    g = state.grid
    grid = g.window(rows, cols)
    ds = state.ds.isel(y=rows, x=cols)
    if "link_cell_index" in ds:
        start = ds["link_cell_start"].values
        index = ds["link_cell_index"].values
        r, c = np.divmod(index, g.nx)
        inside = (r >= rows.start) & (r < rows.stop) & (c >= cols.start) & (c < cols.stop)
        local = (r - rows.start) * grid.nx + (c - cols.start)
        new_start, kept = filter_csr(start, local, inside)
        ds = ds.drop_vars(["link_cell_start", "link_cell_index"])
        ds["link_cell_start"] = xr.Variable("link_bound", new_start, state.ds["link_cell_start"].attrs)
        ds["link_cell_index"] = xr.Variable("link_cell", kept, state.ds["link_cell_index"].attrs)
    return CityState(grid, ds.copy(deep=True), decomposition, state.seed)
