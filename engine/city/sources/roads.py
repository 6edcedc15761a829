"""Road networks from files: an OpenStreetMap extract read locally with osmnx (``.osm``,
``.osm.bz2``, ``.osm.gz``; ``.osm.pbf`` through pyosmium), line features (GeoJSON,
GeoPackage, Shapefile), or a TNTP ``_net.tntp`` test network (``metrotwin.city.sources.tntp``).
Nothing is downloaded.

Link lengths are geodesic (on the WGS 84 ellipsoid), not grid distances. The network is
clipped to the domain (links whose two end nodes lie in it), reduced to its
largest strongly connected part (``component``), simplified to links between junctions
(OSM), and put into the state with :func:`metrotwin.city.network.add_network`; the cells each
link crosses follow the link's real geometry, not the chord between its nodes.

Lanes, speed and capacity come from the tags (``lanes``, ``maxspeed``) where they are given
and from the class defaults otherwise. Defaults are MATSim's ``OsmNetworkReader`` highway
defaults (lanes per direction, free speed, capacity per lane; Horni, Nagel & Axhausen (eds.)
2016, *The Multi-Agent Transport Simulation MATSim*, doi:10.5334/baw). As there, the
``lanes`` tag of a two-way road counts both directions, so each direction gets half (at
least 1); capacity = lanes per direction x lane capacity.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.city.network import NETWORK_VARIABLES, add_network, drop_bridged_water
from metrotwin.city.sources.datasources import fmt_bounds, warn
from metrotwin.scenario.data import ROAD_CLASS_DEFAULTS, RoadClass, RoadsSource
from metrotwin.city.sources.tntp import read_tntp
from metrotwin.city.sources.vector import LINES, read_vector
from metrotwin.errors import DataSourceError

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".xml")
_TRUE = {"yes", "true", "1", "t"}
_REVERSE = {"-1", "reverse"}
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$")


class _Network:
    """Node coordinates, links and per-link attributes, before they go into the state."""

    def __init__(self):
        self.node_x, self.node_y, self.frm, self.to = [], [], [], []
        self.lanes, self.speed, self.capacity, self.length, self.geometry = [], [], [], [], []


# -- public ----------------------------------------------------------------------------------
def add_roads(state, source: RoadsSource) -> dict:
    """Read the roads of ``source``, put them into ``state`` and return a summary."""
    grid = state.grid
    classes = road_classes(source)
    name = Path(source.path).name.lower()
    if name.endswith(".tntp"):
        return _from_tntp(state, source)
    if name.endswith(OSM_SUFFIXES):
        net, summary = _from_osm(source, grid, classes)
    else:
        net, summary = _from_lines(source, grid, classes)
    add_network(
        state,
        np.asarray(net.node_x),
        np.asarray(net.node_y),
        np.asarray(net.frm),
        np.asarray(net.to),
        lanes=np.asarray(net.lanes),
        free_speed=np.asarray(net.speed),
        capacity=np.asarray(net.capacity),
        length=np.asarray(net.length),
    )
    start, index = drop_bridged_water(state, *cells_along_geometries(grid, net.geometry))
    state.ds = state.ds.drop_vars(["link_cell_start", "link_cell_index"])
    import xarray as xr

    state.ds["link_cell_start"] = xr.Variable(
        "link_bound", start, NETWORK_VARIABLES["link_cell_start"]
    )
    state.ds["link_cell_index"] = xr.Variable(
        "link_cell", index, NETWORK_VARIABLES["link_cell_index"]
    )
    summary.update(source=str(source.path), nodes=len(net.node_x), links=len(net.frm))
    state.ds["link_length"].attrs.update(
        {
            "source": str(source.path),
            "component": source.component,
            "road_classes": " ".join(classes),
        }
    )
    return summary


def _from_tntp(state, source: RoadsSource) -> dict:
    """A TNTP network (the classic test networks); the mobility model checks its links when
    it builds its routing graph from the state."""
    if source.nodes is None:
        raise DataSourceError(
            f"roads file {source.path}: a TNTP network needs its node "
            f"coordinates; give roads.nodes: <name>_node.tntp"
        )
    net = read_tntp(source.path, source.nodes, crs=state.grid.crs)
    grid = state.grid
    outside = [
        int(i) for i, x, y in zip(net.node_ids, net.node_x, net.node_y) if not _inside(grid, x, y)
    ]
    if outside:
        raise DataSourceError(
            f"roads file {source.nodes}: nodes {outside[:8]} lie outside the domain "
            f"{fmt_bounds(grid.bounds)} in {grid.crs} (nodes span "
            f"{fmt_bounds((net.node_x.min(), net.node_y.min(), net.node_x.max(), net.node_y.max()))}"
            f"); widen the extent"
        )
    add_network(state, net.node_x, net.node_y, net.link_from, net.link_to, lanes=net.lanes,
                free_speed=net.free_speed, capacity=net.capacity, length=net.length)
    state.ds["link_length"].attrs.update(source=str(source.path), format="tntp")
    return {
        "format": "tntp",
        "source": str(source.path),
        "nodes": int(net.node_x.size),
        "links": int(net.link_from.size),
    }


def road_classes(source: RoadsSource) -> dict[str, RoadClass]:
    table = {**ROAD_CLASS_DEFAULTS, **source.class_defaults}
    kept = source.highway_types or list(table)
    return {c: table[c] for c in kept}


def parse_speed(value) -> float | None:
    """A ``maxspeed`` value in km/h ("50", "30 mph", "50;70" -> 50), or None."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.number)):
        return float(value) if value > 0 and np.isfinite(value) else None
    m = _SPEED.match(str(value).split(";")[0])
    if not m:
        return None
    speed = float(m.group(1)) * {"mph": 1.609344, "knots": 1.852}.get(m.group(2) or "", 1.0)
    return speed if speed > 0 else None


def parse_int(value) -> int | None:
    if value is None:
        return None
    try:
        number = float(str(value).split(";")[0])
    except ValueError:
        return None
    return int(number) if number >= 1 and np.isfinite(number) else None


def geodesic_lengths(geometries, crs: str) -> list[float]:
    """True (WGS 84 ellipsoid) lengths (m) of polylines given in the grid CRS: not the grid
    distance, which a projection stretches (UTM by up to ~0.1 %, Web Mercator by 1/cos(lat))."""
    from pyproj import Geod, Transformer

    to_geo = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    geod = Geod(ellps="WGS84")
    out = []
    for coords in geometries:
        lon, lat = to_geo.transform(coords[:, 0], coords[:, 1])
        out.append(float(geod.line_length(lon, lat)))
    return out


def cells_along_geometries(grid: Grid, geometries) -> tuple[np.ndarray, np.ndarray]:
    """CSR (start, flat index) of the in-grid cells each polyline crosses, in order along it,
    sampled every quarter cell so that no crossed cell is skipped."""
    starts, chunks = [0], []
    step = grid.resolution / 4
    for coords in geometries:
        xy = np.asarray(coords, dtype=float)
        seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        s = np.concatenate([[0.0], np.cumsum(seg)])
        n = max(2, int(np.ceil(s[-1] / step)) + 1)
        t = np.linspace(0.0, s[-1], n)
        x, y = np.interp(t, s, xy[:, 0]), np.interp(t, s, xy[:, 1])
        row, col = grid.index_of(x, y)
        inside = (row >= 0) & (row < grid.ny) & (col >= 0) & (col < grid.nx)
        flat = row[inside] * grid.nx + col[inside]
        _, first = np.unique(flat, return_index=True)
        flat = flat[np.sort(first)].astype("int64")
        chunks.append(flat)
        starts.append(starts[-1] + flat.size)
    index = np.concatenate(chunks) if chunks else np.zeros(0, "int64")
    return np.asarray(starts, dtype="int64"), index


# -- OpenStreetMap ---------------------------------------------------------------------------
def _from_osm(source: RoadsSource, grid: Grid, classes: dict[str, RoadClass]):
    import osmnx as ox
    from pyproj import Transformer

    path = Path(source.path)
    with tempfile.TemporaryDirectory(prefix="metrotwin-osm-") as tmp:
        xml = path
        if path.name.lower().endswith(".pbf"):
            xml = _pbf_to_xml(path, grid, classes, Path(tmp) / "roads.osm")
        try:
            G = ox.graph_from_xml(xml, simplify=False, retain_all=True)
        except Exception as err:  # noqa: BLE001 - osmnx: InsufficientResponseError, XML parse errors
            raise DataSourceError(
                f"roads file {path}: cannot read it as an OpenStreetMap XML extract ({err})"
            ) from None
    found = {}
    drop = []
    for u, v, k, d in G.edges(keys=True, data=True):
        hw = d.get("highway")
        found[hw] = found.get(hw, 0) + 1
        if hw not in classes or d.get("area") == "yes":
            drop.append((u, v, k))
    G.remove_edges_from(drop)
    if G.number_of_edges() == 0:
        seen = ", ".join(sorted(str(h) for h in found if h is not None)[:15]) or "none"
        raise DataSourceError(
            f"roads file {path}: no roads of the classes kept ({', '.join(classes)}); "
            f"highway values in the file: {seen}; set roads.highway_types / class_defaults"
        )
    lon_lat = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)])
    span = (*lon_lat.min(axis=0), *lon_lat.max(axis=0))
    to_grid = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    px, py = to_grid.transform(lon_lat[:, 0], lon_lat[:, 1])
    for (node, d), x, y in zip(G.nodes(data=True), px, py):
        d["lon"], d["lat"], d["x"], d["y"] = d["x"], d["y"], float(x), float(y)
    G.graph["crs"] = grid.crs
    inside = {n for n, d in G.nodes(data=True) if _inside(grid, d["x"], d["y"])}
    n_roads = G.number_of_edges()
    G.remove_nodes_from([n for n in list(G.nodes) if n not in inside])
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise DataSourceError(
            f"roads file {path}: none of its {n_roads} road segments lies in the domain; the "
            f"roads span {fmt_bounds(span)} (lon/lat), the domain is {fmt_bounds(grid.bounds)} "
            f"in {grid.crs}; check the extent, the CRS and the extract"
        )
    if source.component != "all":
        G = ox.truncate.largest_component(G, strongly=source.component == "strong")
    G = ox.simplify_graph(G, edge_attrs_differ=["highway", "lanes", "maxspeed"])
    G.remove_edges_from([(u, v, k) for u, v, k in G.edges(keys=True) if u == v])
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise DataSourceError(
            f"roads file {path}: no {source.component}ly connected roads remain in the domain; "
            f"set roads.component: all"
        )

    net = _Network()
    index = {}
    for i, (node, d) in enumerate(G.nodes(data=True)):
        index[node] = i
        net.node_x.append(d["x"])
        net.node_y.append(d["y"])
    for u, v, d in G.edges(data=True):
        cls = _first_known(d.get("highway"), classes)
        defaults = classes[cls]
        oneway = any(bool(o) for o in _as_list(d.get("oneway", False)))
        lanes_tag = _min_or_none(parse_int(x) for x in _as_list(d.get("lanes")))
        lanes = (
            defaults.lanes
            if lanes_tag is None
            else (lanes_tag if oneway else max(1, lanes_tag // 2))
        )
        speed = _min_or_none(parse_speed(x) for x in _as_list(d.get("maxspeed"))) or defaults.speed
        geom = d.get("geometry")
        coords = (
            np.asarray(geom.coords)
            if geom is not None
            else np.array([[G.nodes[u]["x"], G.nodes[u]["y"]], [G.nodes[v]["x"], G.nodes[v]["y"]]])
        )
        net.frm.append(index[u])
        net.to.append(index[v])
        net.lanes.append(lanes)
        net.speed.append(speed / 3.6)
        net.capacity.append(lanes * defaults.lane_capacity)
        net.geometry.append(coords)
    net.length = geodesic_lengths(net.geometry, grid.crs)
    return net, {"format": "osm", "segments_in_file": n_roads}


def _pbf_to_xml(path: Path, grid: Grid, classes, out: Path) -> Path:
    """The road ways of ``classes`` near the domain (and their nodes) from an ``.osm.pbf``
    file, written as OSM XML for osmnx."""
    try:
        import osmium
    except ImportError:  # pragma: no cover - osmium is a dependency
        raise DataSourceError(
            f"roads file {path}: reading .osm.pbf needs pyosmium (pip install osmium); or "
            f"convert it to .osm XML (osmium cat in.osm.pbf -o out.osm)"
        ) from None
    from pyproj import Transformer

    to_geo = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    w, s, e, n = to_geo.transform_bounds(*grid.bounds, densify_pts=21)
    pad = 0.01  # degrees (~1 km): ways that leave the domain and come back stay whole
    ways: dict[int, list[int]] = {}  # way id -> the node refs kept
    nodes, cut = set(), 0
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations():
            if not obj.is_way() or obj.tags.get("highway") not in classes:
                continue
            kept = _kept_nodes(obj.nodes, (w - pad, s - pad, e + pad, n + pad))
            cut += len(kept) < len(obj.nodes) if kept is not None else 0
            if kept is not None and len(kept) >= 2:
                ways[obj.id] = kept
                nodes.update(kept)
        with osmium.SimpleWriter(str(out), overwrite=True) as writer:
            for obj in osmium.FileProcessor(str(path)):
                if obj.is_node() and obj.id in nodes:
                    writer.add_node(obj)
                elif obj.is_way() and obj.id in ways:
                    writer.add_way(obj.replace(nodes=ways[obj.id]))
    except RuntimeError as err:
        raise DataSourceError(f"roads file {path}: cannot read it as .osm.pbf ({err})") from None
    if cut:
        warn(f"roads file {path}: {cut} road ways cut by the extract's edge: their part inside "
             f"it is kept (none where it is a single node)")  # fmt: skip
    if not ways:
        raise DataSourceError(
            f"roads file {path}: no road ways of the classes kept ({', '.join(classes)}) near "
            f"the domain {fmt_bounds((w, s, e, n))} (lon/lat); check the extent, CRS and extract"
        )
    return out


def _kept_nodes(refs, box) -> list[int] | None:
    """The node ids of the longest run of a way's nodes that the extract holds, or None when
    no node lies in ``box`` (west, south, east, north; lon/lat). A clipped extract (cut along
    a box) keeps ways whose nodes beyond the cut are missing, which osmnx refuses; the part
    inside is the road the extract has."""
    w, s, e, n = box
    near = any(r.location.valid() and w <= r.location.lon <= e and s <= r.location.lat <= n
               for r in refs)  # fmt: skip
    if not near:
        return None
    best: list[int] = []
    run: list[int] = []
    for ref in refs:
        if ref.location.valid():
            run.append(ref.ref)
            best = run if len(run) > len(best) else best
        else:
            run = []
    return list(best)


def _inside(grid: Grid, x: float, y: float) -> bool:
    return grid.west <= x <= grid.east and grid.south <= y <= grid.north


def _as_list(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def _min_or_none(values):
    values = [v for v in values if v is not None]
    return min(values) if values else None


def _first_known(value, classes) -> str:
    for v in _as_list(value):
        if v in classes:
            return v
    return next(iter(classes))  # pragma: no cover - edges were filtered on their class


# -- lines -----------------------------------------------------------------------------------
def _from_lines(source: RoadsSource, grid: Grid, classes: dict[str, RoadClass]):
    """A network from line features whose ends meet at junctions (a routable export).

    Attributes (all optional): class (``class_attribute``), lanes (both directions on a two-way
    line, as in OSM), speed (km/h or OSM syntax), capacity (veh/h per direction), oneway
    (yes/true/1, or -1/reverse). A line without oneway is two links, one each way."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    gdf = read_vector(source, grid, what="roads", kinds=LINES)
    gdf = gdf.explode(index_parts=False)
    col = {
        a: (a if a in gdf.columns else None)
        for a in (
            source.class_attribute,
            source.lanes_attribute,
            source.speed_attribute,
            source.capacity_attribute,
            source.oneway_attribute,
        )
    }

    def attr(row, name):
        key = col[name]
        if key is None:
            return None
        value = row[key]
        return None if value is None or (isinstance(value, float) and np.isnan(value)) else value

    keys: dict[tuple[int, int], int] = {}
    xs, ys, links = [], [], []
    skipped_class = outside = 0

    def node(x, y):
        key = (round(x / source.snap_tolerance), round(y / source.snap_tolerance))
        if key not in keys:
            keys[key] = len(xs)
            xs.append(x)
            ys.append(y)
        return keys[key]

    for _, row in gdf.iterrows():
        cls = attr(row, source.class_attribute)
        cls = source.default_class if cls is None else str(cls)
        if cls not in classes:
            skipped_class += 1
            continue
        coords = np.asarray(row.geometry.coords)[:, :2]
        if len(coords) < 2 or not (_inside(grid, *coords[0]) and _inside(grid, *coords[-1])):
            outside += 1
            continue
        oneway = str(attr(row, source.oneway_attribute) or "no").strip().lower()
        if oneway in _REVERSE:
            coords = coords[::-1]
        d = classes[cls]
        lanes_tag = parse_int(attr(row, source.lanes_attribute))
        one = oneway in _TRUE or oneway in _REVERSE
        lanes = d.lanes if lanes_tag is None else (lanes_tag if one else max(1, lanes_tag // 2))
        speed = parse_speed(attr(row, source.speed_attribute)) or d.speed
        cap = attr(row, source.capacity_attribute)
        capacity = float(cap) if cap is not None else lanes * d.lane_capacity
        a, b = node(*coords[0]), node(*coords[-1])
        if a == b:
            continue
        length = geodesic_lengths([coords], grid.crs)[0]
        links.append((a, b, lanes, speed / 3.6, capacity, length, coords))
        if not one:
            links.append((b, a, lanes, speed / 3.6, capacity, length, coords[::-1]))
    if not links:
        raise DataSourceError(
            f"roads file {source.path}: no road line lies in the domain {fmt_bounds(grid.bounds)} "
            f"({outside} lines cross its edge or lie outside, {skipped_class} are of other "
            f"classes than {', '.join(classes)}); lines are kept when both ends are in the domain"
        )
    frm = np.array([lk[0] for lk in links])
    to = np.array([lk[1] for lk in links])
    keep = np.ones(len(links), bool)
    if source.component != "all":
        graph = coo_matrix((np.ones(len(frm)), (frm, to)), shape=(len(xs), len(xs)))
        _, label = connected_components(graph, directed=True, connection=source.component)
        within = label[frm] == label[to]  # links inside one connected part
        biggest = np.bincount(label[frm][within], minlength=label.max() + 1).argmax()
        keep = within & (label[frm] == biggest)
    used = np.unique(np.concatenate([frm[keep], to[keep]]))
    renumber = -np.ones(len(xs), int)
    renumber[used] = np.arange(used.size)
    net = _Network()
    net.node_x = [xs[i] for i in used]
    net.node_y = [ys[i] for i in used]
    for lk, k in zip(links, keep):
        if k:
            net.frm.append(renumber[lk[0]])
            net.to.append(renumber[lk[1]])
            net.lanes.append(lk[2])
            net.speed.append(lk[3])
            net.capacity.append(lk[4])
            net.length.append(lk[5])
            net.geometry.append(lk[6])
    if outside:
        warn(
            f"roads file {source.path}: {outside} lines cross the domain's edge or lie outside "
            f"it and are left out"
        )
    return net, {"format": "lines", "lines_outside": outside, "lines_other_class": skipped_class}
