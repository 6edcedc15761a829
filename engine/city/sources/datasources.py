"""City data from files: the ``domain.data`` section of a scenario, and
``build_city_from_data``, which puts every source on the scenario grid (one CRS, one
resolution, one extent) and fills the standard static layers of the city state.

A ``domain: data:`` section, with every option (only ``crs``, ``resolution`` and
``elevation`` are required)::

    domain:
      data:
        crs: EPSG:2100                 # projected CRS of the grid
        resolution: 2.0                # cell size (m)
        extent: [476800, 4205850, 477200, 4206250]   # west, south, east, north (m);
                                       # default: the elevation raster's (inner) extent
        elevation:                     # ground (DEM): a raster ...
          path: ${METROTWIN_REFDATA}/heat/solweig_demo_rasters/athens_1m/DEM.tif
          variable: null               # netCDF: the variable (default: the only 2-D one)
          band: 1                      # GeoTIFF band
          crs: null                    # CRS of a file that has none (ESRI ASCII grid)
          resampling: bilinear         # nearest | bilinear | cubic | average | mode | min | max
          nodata: error                # error | fill (nearest valid) | close (closed_cell = 1)
        # elevation: {constant: 0.0}   # ... or flat ground (then 'extent' is required)
        dsm:                           # ground + buildings; buildings = DSM - DEM where no
          path: DSM.tif                # footprints are given (same keys as a raster, plus:)
          min_building_height: 2.5     # m; lower DSM - DEM is ground clutter, not a building
          below_dem_tolerance: 0.5     # m; DSM below DEM by more than this is suspicious ...
          max_below_fraction: 0.05     # ... and refused when it is more than this share
        tree_canopy:                   # tree canopy height above ground (m), e.g. a UMEP CDSM
          path: CDSM.tif
        land_cover:                    # a raster, or polygons (.gpkg, .geojson, .shp)
          path: landcover.tif
          mapping: umep                # umep | esa_worldcover | {file value: metrotwin class}
          attribute: null              # polygons: the column holding the class value
          unmapped: error              # error | default: values with no class in 'mapping'
        default_land_cover: grass      # class where no land cover is given
        buildings:                     # footprints (.gpkg, .geojson, .shp, ...)
          path: buildings.gpkg
          layer: null                  # layer of a multi-layer file
          height_attribute: height     # m above ground
          storeys_attribute: null      # used where there is no height ...
          storey_height: 3.0           # ... times this (m)
          default_height: null         # m, for footprints with neither; null = refuse them
          use_attribute: null          # building use column ...
          use_mapping: {}              # ... value -> residential | commercial | industrial | public
          default_use: residential
          roof_attribute: null         # roof type column ...
          roof_mapping: {}             # ... value -> roof | green_roof | cool_roof
          default_roof: roof
        roads:                         # OpenStreetMap (.osm, .osm.bz2, .osm.gz, .osm.pbf),
          path: city.osm.pbf           # lines (.geojson, .gpkg, .shp), or TNTP (_net.tntp)
          nodes: null                  # TNTP: the _node.tntp file (lon/lat are projected)
          highway_types: null          # default: the drivable classes of ROAD_CLASS_DEFAULTS
          class_defaults: {residential: {lanes: 1, speed: 30, lane_capacity: 600}}
          component: strong            # strong | weak | all: which connected part to keep
          default_class: unclassified  # lines without a class attribute
          class_attribute: highway     # lines: column names ...
          lanes_attribute: lanes
          speed_attribute: maxspeed    # km/h, or OSM syntax ("30 mph")
          capacity_attribute: capacity # veh/h per direction
          oneway_attribute: oneway
          snap_tolerance: 0.5          # m; line ends closer than this are one node
        districts:                     # municipalities / districts, polygons
          path: districts.geojson
          name_attribute: name
          outside_name: outside        # name of the cells in no polygon
        drainage_capacity: 0.0         # mm/h; or {default: 10, by_district: {Oldtown: 15}}

Layers without a source get documented defaults: ``default_land_cover`` everywhere, no
buildings, no tree canopy, one district named ``domain``, ``drainage_capacity`` as given.
Building cells always get a roof class (``roof`` unless the footprint or the land cover says
``green_roof`` / ``cool_roof``), so roof interventions find them.

Every layer carries its provenance in its attributes: ``source`` (the file, or
``"default"``), ``resampling``, ``nodata_cells`` and ``coverage`` (share of the domain the
source covers); ``metrotwin inspect`` prints them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from metrotwin.city import landcover
from metrotwin.errors import DataSourceError
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.schema import StrictModel

#: Building use codes of the ``building_use`` layer.
BUILDING_USES = {"residential": 1, "commercial": 2, "industrial": 3, "public": 4}
#: Most cells a data domain may have (as for a generated city).
MAX_CELLS = 50_000_000
RESAMPLING = Literal["nearest", "bilinear", "cubic", "average", "mode", "min", "max"]


class DataSourceWarning(UserWarning):
    """A data file was used, but something in it was repaired or left out (counts given)."""


class Strict(StrictModel):
    """Unknown keys and NaN/inf are errors (see ``metrotwin.scenario.schema``)."""


def _check_file(value, info):
    from metrotwin.scenario.scenario import _check_file as check

    return check(value, info)


def _normalise_name(value) -> str:
    """A district name as a single token (CF flag_meanings): spaces become '_'."""
    return "_".join(str(value).split())


# -- sources ---------------------------------------------------------------------------------
class FileSource(Strict):
    """A file the scenario names (``${METROTWIN_REFDATA}`` expanded, relative to the scenario)."""

    path: Annotated[Path, Field(description="the file")]
    crs: str | None = Field(
        None, description="CRS of a file that carries none (e.g. an ESRI ASCII grid, a CSV)"
    )

    @field_validator("path", mode="before")
    @classmethod
    def _exists(cls, value, info):
        return _check_file(value, info)

    @field_validator("crs")
    @classmethod
    def _crs(cls, value):
        if value is not None:
            _parse_crs(value)
        return value


class RasterSource(FileSource):
    """A raster layer read from a GeoTIFF (any GDAL raster) or netCDF file."""

    path: Annotated[Path, Field(description="GeoTIFF (.tif), netCDF (.nc) or other GDAL raster")]
    variable: str | None = Field(None, description="variable name in a netCDF file")
    band: int = Field(1, ge=1, description="band of a multi-band GeoTIFF")
    resampling: RESAMPLING | None = Field(
        None, description="default: bilinear for heights, mode for classes"
    )


class ElevationSource(RasterSource):
    """The ground elevation (DEM) raster."""

    nodata: Literal["error", "fill", "close"] = Field(
        "error",
        description="no-data cells in the domain: refuse the file, fill them from the nearest "
        "valid cell, or fill and close them (closed_cell = 1, excluded from flow)",
    )


class ConstantElevation(Strict):
    """Flat ground at one altitude (an analytic test such as EA Test 4); needs ``extent``."""

    constant: float = Field(ge=-500, le=9000, description="ground altitude everywhere (m)")


class DsmSource(RasterSource):
    """A digital surface model (ground + buildings)."""

    min_building_height: float = Field(
        2.5, gt=0, description="DSM - DEM at or above this is a building (m)"
    )
    below_dem_tolerance: float = Field(
        0.5, ge=0, description="DSM below the DEM by up to this is noise, clipped to 0 (m)"
    )
    max_below_fraction: float = Field(
        0.05, ge=0, le=1, description="share of cells where the DSM may be further below the DEM"
    )


class LandCoverSource(FileSource):
    """A land-cover raster or polygons, mapped onto metrotwin's classes."""

    mapping: str | dict[str, str] = Field(
        description="preset name (umep, esa_worldcover) or {file value: metrotwin class}"
    )
    attribute: str | None = Field(None, description="polygons: the column holding the class")
    layer: str | None = Field(None, description="layer of a multi-layer vector file")
    variable: str | None = None
    band: int = Field(1, ge=1)
    resampling: RESAMPLING | None = Field(None, description="default: mode")
    unmapped: Literal["error", "default"] = Field(
        "error", description="file values without a class: refuse, or use default_land_cover"
    )

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping(cls, value):
        if isinstance(value, str):
            if value not in LAND_COVER_PRESETS:
                raise ValueError(
                    f"unknown land-cover mapping preset {value!r}; presets: "
                    f"{', '.join(LAND_COVER_PRESETS)}, or give a table {{file value: class}}"
                )
            return value
        if not isinstance(value, dict) or not value:
            raise ValueError(
                "mapping must be a preset name or a non-empty {file value: class} table"
            )
        out = {}
        for key, name in value.items():
            landcover.code_of(str(name))  # ValueError lists the valid classes
            out[_key(key)] = str(name)
        return out

    @property
    def table(self) -> dict[str, str]:
        return LAND_COVER_PRESETS[self.mapping] if isinstance(self.mapping, str) else self.mapping


def _key(value) -> str:
    """Mapping keys: numbers compare as numbers (1, 1.0 and "1" are the same class value)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else repr(number)


class VectorSource(FileSource):
    path: Annotated[Path, Field(description="GeoPackage, GeoJSON, Shapefile (any OGR format)")]
    layer: str | None = Field(None, description="layer of a multi-layer file")


class BuildingsSource(VectorSource):
    """Building footprints with heights (or storeys), use and roof type."""

    height_attribute: str | None = Field("height", description="height above ground (m)")
    storeys_attribute: str | None = Field(None, description="number of storeys (where no height)")
    storey_height: float = Field(3.0, gt=0, le=20, description="height of one storey (m)")
    default_height: float | None = Field(
        None, gt=0, description="height (m) of footprints with no height; null = refuse them"
    )
    use_attribute: str | None = None
    use_mapping: dict[str, Literal["residential", "commercial", "industrial", "public"]] = Field(
        default_factory=dict, description="attribute value -> building use"
    )
    default_use: Literal["residential", "commercial", "industrial", "public"] = "residential"
    roof_attribute: str | None = None
    roof_mapping: dict[str, Literal["roof", "green_roof", "cool_roof"]] = Field(
        default_factory=dict, description="attribute value -> roof class"
    )
    default_roof: Literal["roof", "green_roof", "cool_roof"] = "roof"

    @field_validator("use_mapping", "roof_mapping", mode="before")
    @classmethod
    def _keys(cls, value):
        return {_key(k): v for k, v in value.items()} if isinstance(value, dict) else value


class RoadClass(Strict):
    """Defaults of one road class (OSM ``highway`` value) where the tags say nothing."""

    lanes: int = Field(ge=1, le=12, description="lanes per direction")
    speed: float = Field(gt=0, le=200, description="free-flow speed (km/h)")
    lane_capacity: float = Field(gt=0, le=4000, description="capacity per lane (veh/h)")


class RoadsSource(FileSource):
    """A road network from an OpenStreetMap extract (read locally, never downloaded) or
    lines; lanes, speed and capacity from tags/attributes, else from the class defaults."""

    path: Annotated[
        Path,
        Field(
            description=".osm/.osm.bz2/.osm.gz/.osm.pbf, line features, or a TNTP _net.tntp file"
        ),
    ]
    nodes: Path | None = Field(None, description="TNTP: the _node.tntp coordinates file")
    layer: str | None = None
    highway_types: list[str] | None = Field(
        None, description="road classes kept (default: every class in the defaults table)"
    )
    class_defaults: dict[str, RoadClass] = Field(
        default_factory=dict, description="overrides/additions to ROAD_CLASS_DEFAULTS"
    )
    component: Literal["strong", "weak", "all"] = Field(
        "strong", description="keep the largest strongly / weakly connected part, or all"
    )
    default_class: str = Field("unclassified", description="class of lines without one")
    class_attribute: str = "highway"
    lanes_attribute: str = "lanes"
    speed_attribute: str = "maxspeed"
    capacity_attribute: str = "capacity"
    oneway_attribute: str = "oneway"
    snap_tolerance: float = Field(0.5, gt=0, description="line ends closer than this meet (m)")

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes_exist(cls, value, info):
        return None if value is None else _check_file(value, info)

    @model_validator(mode="after")
    def _classes(self):
        from metrotwin.city.sources.roads import ROAD_CLASS_DEFAULTS

        known = {**ROAD_CLASS_DEFAULTS, **self.class_defaults}
        unknown = [c for c in (self.highway_types or []) if c not in known]
        if unknown:
            raise ValueError(
                f"highway_types {unknown} have no defaults; add them to class_defaults or use "
                f"one of {', '.join(known)}"
            )
        if self.default_class not in known:
            raise ValueError(
                f"default_class {self.default_class!r} is not a road class ({', '.join(known)})"
            )
        return self


class DistrictsSource(VectorSource):
    """Districts / municipalities as polygons, for indicators per jurisdiction."""

    name_attribute: str = Field("name", description="column with the district name")
    outside_name: str = Field("outside", description="name of the cells in no polygon")

    @field_validator("outside_name")
    @classmethod
    def _token(cls, value):
        return _normalise_name(value)


class DrainageByDistrict(Strict):
    """Storm-drain capacity per district (mm/h)."""

    default: float = Field(0.0, ge=0, le=1000, description="districts not listed (mm/h)")
    by_district: dict[str, Annotated[float, Field(ge=0, le=1000)]] = Field(default_factory=dict)

    @field_validator("by_district", mode="before")
    @classmethod
    def _names(cls, value):
        return (
            {_normalise_name(k): v for k, v in value.items()} if isinstance(value, dict) else value
        )


# -- the domain ------------------------------------------------------------------------------
class DataDomain(Strict):
    """A city built from data files, on a grid of the given resolution, extent and CRS."""

    crs: str = Field(description="projected CRS of the grid, e.g. EPSG:27700")
    resolution: float = Field(gt=0, le=1000, description="cell size (m)")
    extent: tuple[float, float, float, float] | None = Field(
        None, description="west, south, east, north (m); default: the elevation raster's"
    )
    elevation: ElevationSource | ConstantElevation = Field(
        description="ground elevation (DEM raster), or {constant: m}"
    )
    dsm: DsmSource | None = Field(None, description="surface model with buildings")
    tree_canopy: RasterSource | None = Field(None, description="canopy height above ground (m)")
    land_cover: LandCoverSource | None = None
    default_land_cover: str = Field("grass", description="class where no land cover is given")
    buildings: BuildingsSource | None = None
    roads: RoadsSource | None = None
    districts: DistrictsSource | None = None
    drainage_capacity: float | DrainageByDistrict = Field(
        0.0, description="storm-drain capacity (mm/h), one value or per district"
    )

    @field_validator("crs")
    @classmethod
    def _projected(cls, value):
        return check_projected_crs(value)

    @field_validator("drainage_capacity")
    @classmethod
    def _drainage(cls, value):
        if isinstance(value, float) and not 0 <= value <= 1000:
            raise ValueError(f"drainage_capacity must be 0-1000 mm/h, got {value:g}")
        return value

    @field_validator("default_land_cover")
    @classmethod
    def _class(cls, value):
        landcover.code_of(value)
        return value

    @field_validator("extent")
    @classmethod
    def _extent(cls, value):
        if value is not None and not (value[0] < value[2] and value[1] < value[3]):
            raise ValueError(
                f"extent {list(value)} must be [west, south, east, north] with west<east, south<north"
            )
        return value

    @model_validator(mode="after")
    def _grid(self):
        if self.extent is None:
            if isinstance(self.elevation, ConstantElevation):
                raise ValueError(
                    "elevation {constant: ...} has no extent of its own; give "
                    "extent: [west, south, east, north]"
                )
            return self
        w, s, e, n = self.extent
        for name, size in (("west-east", e - w), ("south-north", n - s)):
            cells = size / self.resolution
            if abs(cells - round(cells)) > 1e-6 * max(1.0, cells):
                raise ValueError(
                    f"the extent's {name} size {size:g} m is not a multiple of the resolution "
                    f"{self.resolution:g} m ({cells:.3f} cells)"
                )
        nx, ny = round((e - w) / self.resolution), round((n - s) / self.resolution)
        if nx * ny > MAX_CELLS:
            raise ValueError(f"{ny}x{nx} cells is more than the {MAX_CELLS:.0e} a domain allows")
        return self


def _parse_crs(value: str):
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError):
        raise ValueError(
            f"unknown CRS {short_repr(value)}; give e.g. 'EPSG:27700' or a WKT"
        ) from None


def check_projected_crs(value: str) -> str:
    """``value`` if it names a projected CRS in metres (the grid's cells are square metres);
    ValueError naming it otherwise."""
    crs = _parse_crs(value)
    if not crs.is_projected:
        raise ValueError(
            f"CRS {short_repr(value)} is not projected; the grid needs a projected CRS in "
            f"metres, e.g. the UTM zone EPSG:326xx (north) or EPSG:327xx (south)"
        )
    units = {axis.unit_name for axis in crs.axis_info}
    if not units <= {"metre", "meter"}:
        raise ValueError(
            f"CRS {short_repr(value)} has axes in {', '.join(sorted(units))}; the grid needs "
            f"metres, e.g. the UTM zone EPSG:326xx"
        )
    return value


#: Land-cover presets: file value -> metrotwin class.
LAND_COVER_PRESETS: dict[str, dict[str, str]] = {
    # UMEP/SOLWEIG land cover (Lindberg et al. 2018, doi:10.1016/j.envsoft.2017.09.020)
    "umep": {
        "1": "paved",
        "2": "roof",
        "3": "trees",
        "4": "trees",
        "5": "grass",
        "6": "bare_soil",
        "7": "water",
    },
    # ESA WorldCover 10 m (Zanaga et al. 2022, doi:10.5281/zenodo.7254221), product legend
    "esa_worldcover": {
        "10": "trees",
        "20": "grass",
        "30": "grass",
        "40": "cropland",
        "50": "paved",
        "60": "bare_soil",
        "70": "bare_soil",
        "80": "water",
        "90": "grass",
        "95": "trees",
        "100": "grass",
    },
}


# -- building the city -----------------------------------------------------------------------
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
    from metrotwin.city.sources import raster as sources_raster
    from metrotwin.city import tiling

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
    from metrotwin.city.sources import buildings as sources_buildings
    from metrotwin.city.sources import districts as sources_districts
    from metrotwin.city.sources import landcover as sources_landcover
    from metrotwin.city.sources import raster as sources_raster
    from metrotwin.city.state import empty_state

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
    from metrotwin.city.layer_bounds import check_bounds, check_land_cover

    for name in ("building_height", "tree_canopy_height"):
        source = attrs.get(name, {}).get("source", "default")
        check_bounds(layers[name], grid, layer=name, source=f"{name} from {source}")
    cover_source = attrs.get("land_cover", {}).get("source", "default")
    check_land_cover(layers["land_cover"], grid, source=f"land_cover from {cover_source}")


def _add_roads(state, domain: DataDomain, domain_grid, tile) -> None:
    """The road network (small: every rank holds all of it), its cells cut to the tile."""
    from metrotwin.city.sources import roads as sources_roads

    if tile is None:
        sources_roads.add_roads(state, domain.roads)
        return
    from metrotwin.city.network import drop_bridged_water
    from metrotwin.city.state import empty_state, subset_state

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


def warn(message: str) -> None:
    """Report a repair made to the data (a count of cells, features...), once per domain."""
    from metrotwin.city import tiling

    if tiling.reporting():
        warnings.warn(message, DataSourceWarning, stacklevel=3)


def fmt_bounds(bounds) -> str:
    return "[" + ", ".join(f"{v:.6g}" if abs(v) < 1e3 else f"{v:.1f}" for v in bounds) + "]"


def share(n: int, total: int) -> str:
    return f"{n} of {total} cells ({100.0 * n / max(total, 1):.3g}%)"


__all__ = [
    "BUILDING_USES",
    "LAND_COVER_PRESETS",
    "BuildingsSource",
    "ConstantElevation",
    "DataDomain",
    "DataSourceWarning",
    "DistrictsSource",
    "DrainageByDistrict",
    "DsmSource",
    "ElevationSource",
    "LandCoverSource",
    "RasterSource",
    "RoadClass",
    "RoadsSource",
    "build_city_from_data",
]
