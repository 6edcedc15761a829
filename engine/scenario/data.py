"""The schema of a scenario's ``domain.data`` section: a city built from data files. The
readers in ``metrotwin.city.sources`` (``from_data.build_city_from_data``) put every source on
the scenario grid (one CRS, one resolution, one extent) and fill the standard static layers of
the city state.

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
                                       # (any path may be pkg://PACKAGE/PATH: a file inside an
                                       # installed package, e.g. pkg://momepy/datasets/bubenec.gpkg)
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

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from metrotwin.scenario import landcover
from metrotwin.scenario.files import check_file
from metrotwin.scenario.messages import short_repr
from metrotwin.scenario.schema import StrictModel

#: Most cells a data domain may have (as for a generated city).
MAX_CELLS = 50_000_000
RESAMPLING = Literal["nearest", "bilinear", "cubic", "average", "mode", "min", "max"]


class Strict(StrictModel):
    """Unknown keys and NaN/inf are errors (see ``metrotwin.scenario.schema``)."""


def normalise_name(value) -> str:
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
        return check_file(value, info)

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
            out[lookup_key(key)] = str(name)
        return out

    @property
    def table(self) -> dict[str, str]:
        return LAND_COVER_PRESETS[self.mapping] if isinstance(self.mapping, str) else self.mapping


def lookup_key(value) -> str:
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
        return {lookup_key(k): v for k, v in value.items()} if isinstance(value, dict) else value


class RoadClass(Strict):
    """Defaults of one road class (OSM ``highway`` value) where the tags say nothing."""

    lanes: int = Field(ge=1, le=12, description="lanes per direction")
    speed: float = Field(gt=0, le=200, description="free-flow speed (km/h)")
    lane_capacity: float = Field(gt=0, le=4000, description="capacity per lane (veh/h)")


#: class -> defaults (lanes per direction, km/h, veh/h per lane); MATSim OsmNetworkReader.
ROAD_CLASS_DEFAULTS: dict[str, RoadClass] = {
    name: RoadClass(lanes=lanes, speed=speed, lane_capacity=cap)
    for name, (lanes, speed, cap) in {
        "motorway": (2, 120.0, 2000.0),
        "motorway_link": (1, 80.0, 1500.0),
        "trunk": (1, 80.0, 2000.0),
        "trunk_link": (1, 50.0, 1500.0),
        "primary": (1, 80.0, 1500.0),
        "primary_link": (1, 60.0, 1500.0),
        "secondary": (1, 60.0, 1000.0),
        "secondary_link": (1, 60.0, 1000.0),
        "tertiary": (1, 45.0, 600.0),
        "tertiary_link": (1, 45.0, 600.0),
        "unclassified": (1, 45.0, 600.0),
        "residential": (1, 30.0, 600.0),
        "living_street": (1, 15.0, 300.0),
    }.items()
}


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
        return None if value is None else check_file(value, info)

    @model_validator(mode="after")
    def _classes(self):
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
        return normalise_name(value)


class DrainageByDistrict(Strict):
    """Storm-drain capacity per district (mm/h)."""

    default: float = Field(0.0, ge=0, le=1000, description="districts not listed (mm/h)")
    by_district: dict[str, Annotated[float, Field(ge=0, le=1000)]] = Field(default_factory=dict)

    @field_validator("by_district", mode="before")
    @classmethod
    def _names(cls, value):
        return (
            {normalise_name(k): v for k, v in value.items()} if isinstance(value, dict) else value
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


__all__ = [
    "LAND_COVER_PRESETS",
    "ROAD_CLASS_DEFAULTS",
    "BuildingsSource",
    "ConstantElevation",
    "DataDomain",
    "DistrictsSource",
    "DrainageByDistrict",
    "DsmSource",
    "ElevationSource",
    "FileSource",
    "LandCoverSource",
    "RasterSource",
    "RoadClass",
    "RoadsSource",
    "VectorSource",
    "check_projected_crs",
    "lookup_key",
    "normalise_name",
]
