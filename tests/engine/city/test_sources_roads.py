"""Road networks from a hand-written OpenStreetMap XML extract (and its .osm.pbf twin) and
from GeoJSON lines, onto a UTM 33N grid: topology, clipping, lanes/speed/capacity from tags
and class defaults, lengths and the cells each link crosses."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import osmium
import pytest
from pyproj import Transformer
from shapely.geometry import LineString

from metrotwin.city.sources.datasources import DataSourceWarning
from metrotwin.scenario.data import DataDomain
from metrotwin.city.sources.from_data import build_city_from_data
from metrotwin.errors import DataSourceError
from metrotwin.city.sources.roads import ROAD_CLASS_DEFAULTS, parse_speed

CRS_DOMAIN = "EPSG:32633"
W, S, E, N = 500_000.0, 4_982_840.0, 500_200.0, 4_983_000.0
TO_GEO = Transformer.from_crs(CRS_DOMAIN, "EPSG:4326", always_xy=True)
K0 = 0.9996  # UTM scale factor on the central meridian

#: node id -> UTM 33N position (m)
NODES = {
    1: (500_030.0, 4_982_950.0),  # A
    2: (500_100.0, 4_982_950.0),  # B
    3: (500_170.0, 4_982_950.0),  # C
    4: (500_100.0, 4_982_870.0),  # D
    5: (500_150.0, 4_982_910.0),  # M: bend of the primary B-M-D
    6: (500_170.0, 4_983_100.0),  # E: north of the domain (footway)
    7: (500_300.0, 4_982_950.0),  # F: east of the domain (residential, clipped)
    8: (500_020.0, 4_982_860.0),  # H  } an isolated street inside the domain
    9: (500_040.0, 4_982_860.0),  # I  }
    11: (500_050.0, 4_982_980.0),  # building corners
    12: (500_060.0, 4_982_980.0),
    13: (500_060.0, 4_982_990.0),
}
WAYS = [
    (101, [1, 2, 3], {"highway": "residential", "lanes": "2", "maxspeed": "30"}),
    (102, [2, 5, 4], {"highway": "primary", "oneway": "yes", "lanes": "2", "maxspeed": "30 mph"}),
    (103, [4, 1], {"highway": "tertiary", "oneway": "yes"}),
    (104, [3, 6], {"highway": "footway"}),
    (105, [3, 7], {"highway": "residential"}),
    (106, [8, 9], {"highway": "residential"}),
    (107, [11, 12, 13, 11], {"building": "yes"}),
]


def osm_xml(path, nodes=NODES, shift=0.0):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (x, y) in nodes.items():
        lon, lat = TO_GEO.transform(x + shift, y)
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for wid, refs, tags in WAYS:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def domain(roads: dict, tmp_path, extent=(W, S, E, N)) -> DataDomain:
    return DataDomain.model_validate(
        {
            "crs": CRS_DOMAIN,
            "resolution": 10.0,
            "extent": list(extent),
            "elevation": {"constant": 10.0},
            "roads": roads,
        },
        context={"base_dir": tmp_path},
    )


def build(d):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataSourceWarning)
        return build_city_from_data(d, 0)


def links_by_ends(state):
    """{(from xy, to xy): link index}, positions rounded to 0.1 m."""
    ds = state.ds
    x, y = ds["node_x"].values, ds["node_y"].values
    key = lambda i: (round(float(x[i]), 1), round(float(y[i]), 1))
    return {
        (key(a), key(b)): k
        for k, (a, b) in enumerate(zip(ds["link_from"].values, ds["link_to"].values))
    }


def check_network(state):
    ds = state.ds
    assert ds.sizes["node"] == 4 and state.n_links == 6
    nodes = sorted(zip(np.round(ds["node_x"].values, 2), np.round(ds["node_y"].values, 2)))
    assert nodes == sorted(NODES[i] for i in (1, 2, 3, 4))  # projected back to within 5 mm
    links = links_by_ends(state)
    A, B, C, D = (NODES[i] for i in (1, 2, 3, 4))
    assert set(links) == {(A, B), (B, A), (B, C), (C, B), (B, D), (D, A)}
    ab, bd, da = links[(A, B)], links[(B, D)], links[(D, A)]
    # lanes: a two-way way's lanes tag counts both directions; oneway: all lanes one way
    assert [int(ds["link_lanes"][k]) for k in (ab, bd, da)] == [1, 2, 1]
    np.testing.assert_allclose(
        ds["link_free_speed"].values[[ab, bd, da]] * 3.6, [30.0, 30 * 1.609344, 45.0]
    )
    np.testing.assert_allclose(ds["link_capacity"].values[[ab, bd, da]], [600.0, 3000.0, 600.0])
    # lengths are geodesic; on UTM 33N's central meridian (x = 500 km) grid distances are
    # K0 = 0.9996 of them, to within 1e-5 over these 200 m (scale varies as (dx/R)^2).
    # 2.5 cm: a .osm.pbf stores coordinates to 1e-7 degree (<= 1.1 cm per node)
    bend = np.hypot(50, 40) + np.hypot(50, 40)  # B-M-D, not the 80 m chord B-D
    np.testing.assert_allclose(
        ds["link_length"].values[[ab, bd, da]],
        np.array([70.0, bend, np.hypot(70, 80)]) / K0,
        atol=0.025,
    )
    # the cells of B->D follow the bend through M, in order
    cells = state.link_cells(bd)
    row, col = state.grid.index_of(*NODES[5])
    assert row * state.grid.nx + col in cells
    at = lambda i: np.ravel_multi_index(  # B lies on a cell edge: use the node read
        state.grid.index_of(ds["node_x"].values[i], ds["node_y"].values[i]), state.grid.shape
    )
    assert cells[0] == at(ds["link_from"].values[bd]) and cells[-1] == at(ds["link_to"].values[bd])
    assert len(cells) >= 10  # ~128 m through 10 m cells
    assert ds["link_cell_start"].values[-1] == ds.sizes["link_cell"]


def test_osm_xml_extract(tmp_path):
    state = build(domain({"path": str(osm_xml(tmp_path / "city.osm"))}, tmp_path))
    check_network(state)
    assert state.ds["link_length"].attrs["source"] == str(tmp_path / "city.osm")


def test_osm_pbf_extract(tmp_path):
    xml = osm_xml(tmp_path / "city.osm")
    with osmium.SimpleWriter(str(tmp_path / "city.osm.pbf")) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    state = build(domain({"path": str(tmp_path / "city.osm.pbf")}, tmp_path))
    check_network(state)


def test_weakly_connected_and_all_components(tmp_path):
    path = str(osm_xml(tmp_path / "city.osm"))
    everything = build(domain({"path": path, "component": "all"}, tmp_path))
    assert everything.n_links == 8  # + the isolated street H-I, both ways
    weak = build(domain({"path": path, "component": "weak"}, tmp_path))
    assert weak.n_links == 6


def test_class_defaults_and_kept_classes(tmp_path):
    path = str(osm_xml(tmp_path / "city.osm"))
    d = domain(
        {
            "path": path,
            "component": "all",
            "highway_types": ["residential", "footway"],
            "class_defaults": {"footway": {"lanes": 1, "speed": 5, "lane_capacity": 100}},
        },
        tmp_path,
        extent=(W, S, E, N + 200),
    )
    state = build(d)
    speeds = sorted(set(np.round(state.ds["link_free_speed"].values * 3.6, 3)))
    assert speeds == [5.0, 30.0]  # footway C-E (now in the domain) and the residential streets


def test_osm_file_with_no_roads_in_the_domain(tmp_path):
    path = osm_xml(tmp_path / "elsewhere.osm", shift=20_000.0)
    with pytest.raises(DataSourceError) as err:
        build(domain({"path": str(path)}, tmp_path))
    message = str(err.value)
    assert str(path) in message and "lies in the domain" in message and "EPSG:32633" in message


def test_osm_file_with_no_roads_at_all(tmp_path):
    path = tmp_path / "buildings.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="45.0" lon="15.0"/><node id="2" lat="45.0001" lon="15.0"/>'
        '<node id="3" lat="45.0001" lon="15.0001"/>'
        '<way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>'
        "</osm>"
    )
    with pytest.raises(DataSourceError, match=r"buildings\.osm: no roads of the classes kept"):
        build(domain({"path": str(path)}, tmp_path))


def test_geojson_lines(tmp_path):
    A, B, C = (500_020.0, 4_982_900.0), (500_120.0, 4_982_900.0), (500_120.0, 4_982_980.0)
    gdf = gpd.GeoDataFrame(
        {
            "highway": ["secondary", "residential", "residential"],
            "lanes": [4, None, None],
            "maxspeed": ["50", None, None],
            "oneway": ["no", "yes", None],
            "capacity": [None, 450.0, None],
        },
        geometry=[
            LineString([A, B]),
            LineString([B, C]),
            LineString([C, (500_020.0, 4_982_980.0), A]),
        ],
        crs=CRS_DOMAIN,
    ).to_crs("EPSG:4326")
    gdf.to_file(tmp_path / "roads.geojson")
    state = build(domain({"path": str(tmp_path / "roads.geojson")}, tmp_path))
    ds = state.ds
    assert ds.sizes["node"] == 3 and state.n_links == 5  # A<->B, B->C, C<->A
    links = links_by_ends(state)
    ab, bc, ca = links[(A, B)], links[(B, C)], links[(C, A)]
    assert [int(ds["link_lanes"][k]) for k in (ab, bc, ca)] == [2, 1, 1]
    np.testing.assert_allclose(ds["link_free_speed"].values[[ab, bc, ca]] * 3.6, [50, 30, 30])
    np.testing.assert_allclose(ds["link_capacity"].values[[ab, bc, ca]], [2000, 450, 600])
    np.testing.assert_allclose(
        ds["link_length"].values[[ab, bc, ca]], np.array([100, 80, 180]) / K0, rtol=1e-5
    )


def test_lines_outside_the_domain(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"highway": ["primary"]},
        geometry=[LineString([(W - 500, S), (W - 100, S)])],
        crs=CRS_DOMAIN,
    )
    gdf.to_file(tmp_path / "far.gpkg")
    with pytest.raises(DataSourceError, match=r"far\.gpkg: no feature lies over the domain"):
        build(domain({"path": str(tmp_path / "far.gpkg")}, tmp_path))


@pytest.mark.parametrize(
    ("tag", "kmh"),
    [("50", 50.0), ("30 mph", 48.28032), ("50;70", 50.0), ("walk", None), (None, None), (80, 80.0)],
)
def test_parse_speed(tag, kmh):
    assert parse_speed(tag) == (pytest.approx(kmh) if kmh else None)


def test_defaults_table_is_matsims():
    # MATSim OsmNetworkReader: motorway 2 lanes, 120 km/h, 2000 veh/h/lane; residential 1, 30, 600
    assert ROAD_CLASS_DEFAULTS["motorway"].model_dump() == {
        "lanes": 2,
        "speed": 120.0,
        "lane_capacity": 2000.0,
    }
    assert ROAD_CLASS_DEFAULTS["residential"].model_dump() == {
        "lanes": 1,
        "speed": 30.0,
        "lane_capacity": 600.0,
    }
