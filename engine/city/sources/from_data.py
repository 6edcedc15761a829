"""The city of a data domain: every source of the scenario's ``domain.data`` section read onto
the scenario grid (one rank's window of it under MPI) into one state, with the road network.
The sections' schema is ``metrotwin.scenario.data``."""

from __future__ import annotations

import numpy as np

from metrotwin.city import landcover, tiling
from metrotwin.city.layer_bounds import check_bounds, check_land_cover
from metrotwin.city.network import drop_bridged_water
from metrotwin.city.sources import buildings as sources_buildings
from metrotwin.city.sources import districts as sources_districts
from metrotwin.city.sources import landcover as sources_landcover
from metrotwin.city.sources import raster as sources_raster
from metrotwin.city.sources import roads as sources_roads
from metrotwin.scenario.data import ConstantElevation, DataDomain, DrainageByDistrict
from metrotwin.city.state import empty_state, subset_state
from metrotwin.errors import DataSourceError


def build_city_from_data(domain: DataDomain, seed: int = 0, decomposition=None):
    """The city state of a data domain: every standard static layer on
    ``Grid(crs=domain.crs, resolution, extent)``, plus the road network when ``roads`` is
    given and ``closed_cell`` when elevation no-data cells are closed.

    With a ``decomposition`` split over ranks, the state of this rank's window only: each
    rank reads its own window of the rasters (see ``metrotwin.city.tiling``); a DSM is still read
    whole, since its buildings (connected patches, footprint medians) span the tiles.

    Raises :class:`~metrotwin.errors.DataSourceError` naming the file, the value and what
    would be valid when a source cannot be read or does not fit the domain. ``seed`` is
    accepted for symmetry with the generator; loading data draws no random numbers.
    """
    domain_grid = sources_raster.domain_grid(domain)
    tile = None
    if decomposition is not None and decomposition.is_parallel and domain.dsm is None:
        tile = tiling.Tile(domain_grid, decomposition.local_window, decomposition)
    with tiling.reading_tile(tile):
        state = _read_layers(domain, domain_grid if tile is None else domain_grid.window(*tile.window))
        if domain.roads is not None:
            _add_roads(state, domain, domain_grid, tile)
    return state


def _read_layers(domain: DataDomain, grid):
    """Every static layer of the data domain on ``grid`` (the domain, or a tile of it)."""
    state = empty_state(grid)
    layers: dict[str, np.ndarray] = {}
    attrs: dict[str, dict] = {}

    # ground
    if isinstance(domain.elevation, ConstantElevation):
        layers["surface_altitude"] = np.full(grid.shape, float(domain.elevation.constant))
        attrs["surface_altitude"] = _provenance(f"constant {domain.elevation.constant:g} m", grid)
    else:
        ground, closed, info = sources_raster.read_elevation(domain.elevation, grid)
        layers["surface_altitude"] = ground
        attrs["surface_altitude"] = info
        if closed is not None:
            layers["closed_cell"] = closed
            attrs["closed_cell"] = {
                "units": "1",
                "long_name": "cell excluded from flow (1), e.g. no elevation data",
                "flag_values": np.array([0, 1], dtype="uint8"),
                "flag_meanings": "open closed",
                "source": str(domain.elevation.path),
            }

    # land cover (before buildings: roofs are typed on top of it)
    cover, attrs["land_cover"] = sources_landcover.read_land_cover(
        domain.land_cover, grid, default=domain.default_land_cover
    )

    # buildings: footprints, else DSM - DEM
    dsm_height = None
    if domain.dsm is not None:
        dsm_height, dsm_info = sources_raster.read_dsm_height(
            domain.dsm, grid, layers["surface_altitude"], ground_source=_name(domain.elevation)
        )
    if domain.buildings is not None:
        b = sources_buildings.rasterize_buildings(domain.buildings, grid, dsm_height=dsm_height)
    elif dsm_height is not None:
        b = sources_buildings.buildings_from_height(dsm_height, domain.dsm, dsm_info)
    else:
        b = sources_buildings.no_buildings(grid)
    layers.update(building_height=b.height, building_id=b.id, building_use=b.use)
    for name in ("building_height", "building_id", "building_use"):
        attrs[name] = dict(b.info)
    on_building = b.id > 0
    keep_roof = on_building & np.isin(cover, [landcover.code_of(c) for c in landcover.ROOF_CLASSES])
    cover[on_building & ~keep_roof] = b.roof[on_building & ~keep_roof]
    layers["land_cover"] = cover

    # trees
    if domain.tree_canopy is not None:
        canopy, attrs["tree_canopy_height"] = sources_raster.read_canopy(domain.tree_canopy, grid)
    else:
        canopy, attrs["tree_canopy_height"] = np.zeros(grid.shape), _provenance("default", grid)
    layers["tree_canopy_height"] = canopy

    # districts and drainage
    district, names, attrs["district"] = sources_districts.read_districts(domain.districts, grid)
    layers["district"] = district
    layers["drainage_capacity"], attrs["drainage_capacity"] = _drainage(
        domain.drainage_capacity, district, names, grid
    )

    _check_layers(layers, attrs, grid)
    for name, values in layers.items():
        state.add_layer(name, values, attrs.get(name))
    state.ds["land_cover"].attrs.update(landcover.cf_flag_attrs())
    state.ds["district"].attrs.update(
        flag_values=np.array(list(names), dtype="int16"), flag_meanings=" ".join(names.values())
    )
    return state


def _check_layers(layers: dict[str, np.ndarray], attrs: dict[str, dict], grid) -> None:
    """The layers built from every source within physical bounds (``metrotwin.city.layer_bounds``):
    footprint heights from attributes, DSM - DEM, canopy, land-cover codes."""
    for name in ("building_height", "tree_canopy_height"):
        source = attrs.get(name, {}).get("source", "default")
        check_bounds(layers[name], grid, layer=name, source=f"{name} from {source}")
    cover_source = attrs.get("land_cover", {}).get("source", "default")
    check_land_cover(layers["land_cover"], grid, source=f"land_cover from {cover_source}")


def _add_roads(state, domain: DataDomain, domain_grid, tile) -> None:
    """The road network (small: every rank holds all of it), its cells cut to the tile."""
    if tile is None:
        sources_roads.add_roads(state, domain.roads)
        return

    whole = empty_state(domain_grid)  # coordinates only: the links' cells on the domain
    sources_roads.add_roads(whole, domain.roads)
    cut = subset_state(whole, tile.window, tile.decomposition).ds
    for name, var in cut.data_vars.items():
        state.ds[name] = var.variable
    if "link_cell_index" in state.ds:  # bridges: the same per-cell rule, on this tile's cover
        start, index = drop_bridged_water(state, state["link_cell_start"], state["link_cell_index"])
        attrs = {k: state.ds[k].attrs for k in ("link_cell_start", "link_cell_index")}
        state.ds = state.ds.drop_vars(["link_cell_start", "link_cell_index"])
        state.ds["link_cell_start"] = ("link_bound", start, attrs["link_cell_start"])
        state.ds["link_cell_index"] = ("link_cell", index, attrs["link_cell_index"])


def _name(source) -> str:
    return str(source.path) if hasattr(source, "path") else "constant elevation"


def _provenance(source: str, grid, *, nodata: int = 0, coverage: float | None = None, **extra):
    info = {"source": source, "nodata_cells": int(nodata)}
    info["coverage"] = float(1.0 - nodata / grid.size if coverage is None else coverage)
    info.update(extra)
    return info


def _drainage(spec, district, names, grid):
    if not isinstance(spec, DrainageByDistrict):
        return np.full(grid.shape, float(spec)), _provenance(f"constant {float(spec):g} mm/h", grid)
    unknown = [n for n in spec.by_district if n not in names.values()]
    if unknown:
        raise DataSourceError(
            f"drainage_capacity.by_district names {', '.join(unknown)}, which are not districts "
            f"of the domain; districts: {', '.join(names.values())}"
        )
    values = np.full(grid.shape, spec.default)
    for code, name in names.items():
        if name in spec.by_district:
            values[district == code] = spec.by_district[name]
    return values, _provenance("per district (drainage_capacity.by_district)", grid)
