"""CSV readings and the sensor table: units, times, every quality-control reason counted."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.errors import DataSourceError, ScenarioError
from metrotwin.observe.flags import FLAG
from metrotwin.observe.load import load_observations
from metrotwin.observe.qc import ObservationsUnusable, require_usable
from metrotwin.scenario.observations import ObservationsSection

from .conftest import cell_centre, write


def _section(withhold=(), **extra):
    return ObservationsSection.model_validate(
        {"sources": [{"format": "csv", "path": "obs.csv", "sensors": "sensors.csv", **extra}],
         "withhold": list(withhold)})


def _sensors(tmp_path, rows: str):
    write(tmp_path / "sensors.csv", "sensor_id,variable,x,y,error_std,interval\n" + rows)


def test_units_converted_to_model_units(tmp_path, city):
    x, y = cell_centre(2, 2)
    _sensors(tmp_path, f"t1,air_temperature,{x},{y},0.5,\nd1,water_depth,{x},{y},0.01,\n"
                       f"r1,rain_rate,{x},{y},1.0,\n")
    write(tmp_path / "obs.csv", """
sensor_id,time,variable,value,units
t1,2024-06-01T12:00:00Z,air_temperature,25.0,degC
t1,2024-06-01T12:10:00Z,air_temperature,77.0,degF
d1,2024-06-01T12:00:00Z,water_depth,1.0,ft
d1,2024-06-01T12:10:00Z,water_depth,12.0,cm
r1,2024-06-01T12:00:00Z,rain_rate,0.5,mm/min
r1,2024-06-01T12:10:00Z,rain_rate,3.0,mm h-1
""")
    obs = load_observations(_section(), city, tmp_path)
    assert obs.counts()["good"] == 6
    # exact conversions: 25 degC = 298.15 K, 77 degF = 25 degC, 1 ft = 0.3048 m,
    # 0.5 mm/min = 30 mm/h
    np.testing.assert_allclose(obs.value, [298.15, 298.15, 0.3048, 0.12, 30.0, 3.0], rtol=1e-12)


def test_times_to_utc_naive_in_declared_zone(tmp_path, city):
    x, y = cell_centre(2, 2)
    _sensors(tmp_path, f"t1,air_temperature,{x},{y},0.5,\n")
    write(tmp_path / "obs.csv", """
sensor_id,time,variable,value
t1,2024-06-01T14:00:00+02:00,air_temperature,290
t1,2024-06-01T14:30:00,air_temperature,291
""")
    obs = load_observations(_section(naive_timezone="Europe/Berlin"), city, tmp_path)
    # Berlin is UTC+2 in June (CEST): both readings are at 12:00 and 12:30 UTC
    assert list(obs.time) == [np.datetime64("2024-06-01T12:00", "ns"),
                              np.datetime64("2024-06-01T12:30", "ns")]
    obs = load_observations(_section(), city, tmp_path)  # naive read as UTC by default
    assert obs.time[1] == np.datetime64("2024-06-01T14:30", "ns")


def test_every_reason_rejected_with_its_count(tmp_path, city):
    ok_x, ok_y = cell_centre(2, 2)
    bx, by = cell_centre(6, 6)  # in the building
    road_x, road_y = 500_100.0, 4_999_903.0  # 3 m from the east-west road
    far_x, far_y = 500_100.0, 4_999_960.0  # 60 m from any road
    _sensors(tmp_path, f"""d1,water_depth,{ok_x},{ok_y},0.01,
d2,water_depth,{ok_x},{ok_y},0.01,
out,water_depth,499000,4999900,0.01,
bld,water_depth,{bx},{by},0.01,
c1,vehicle_count,{road_x},{road_y},5,15 min
cfar,vehicle_count,{far_x},{far_y},5,15 min
""")
    write(tmp_path / "obs.csv", """
sensor_id,time,variable,value,units
d1,2024-06-01T12:00:00Z,water_depth,0.10,m
d1,not a time,water_depth,0.10,m
d1,2024-06-01T12:02:00Z,water_depth,abc,m
d1,2024-06-01T12:03:00Z,water_depth,nan,m
d1,2024-06-01T12:04:00Z,water_depth,0.2,furlongs per fortnight
d1,2024-06-01T12:05:00Z,soil_moisture,0.2,1
ghost,2024-06-01T12:06:00Z,water_depth,0.2,m
out,2024-06-01T12:07:00Z,water_depth,0.2,m
bld,2024-06-01T12:08:00Z,water_depth,0.2,m
cfar,2024-06-01T12:09:00Z,vehicle_count,10,1
d1,2024-06-01T12:10:00Z,water_depth,-3.0,m
d1,2024-06-01T12:11:00Z,water_depth,0.3,m
d1,2024-06-01T12:11:00Z,water_depth,0.3,m
d1,2024-06-01T12:01:00Z,water_depth,0.3,m
d1,2024-06-01T12:12:00Z,water_depth,0.3,m,extra
c1,2024-06-01T12:15:00Z,vehicle_count,42,veh
d2,2024-06-01T12:00:00Z,water_depth,0.5,m
""")
    obs = load_observations(_section(withhold=["d2"]), city, tmp_path)
    expected = {"good": 3, "withheld": 1, "malformed": 3, "non_finite": 1, "bad_units": 1,
                "unknown_variable": 1, "unknown_sensor": 1, "outside_domain": 1,
                "inside_building": 1, "far_from_link": 1, "out_of_range": 1, "duplicate": 1,
                "non_monotonic": 1}
    assert obs.counts() == expected
    assert obs.summary().startswith("3 good, 1 withheld, 13 rejected (malformed: 3")
    c1 = list(obs.sensor_id).index("c1")
    assert obs.link[c1] == 0 and obs.distance[c1] == pytest.approx(3.0, abs=1e-9)
    # the duplicate is the second of the two equal times; the first stays good
    assert list(obs.flag[11:14]) == [FLAG["good"], FLAG["duplicate"], FLAG["non_monotonic"]]


def test_all_unusable_is_refused(tmp_path, city):
    x, y = cell_centre(2, 2)
    _sensors(tmp_path, f"d1,water_depth,{x},{y},0.01,\n")
    write(tmp_path / "obs.csv", "sensor_id,time,variable,value\n"
                                "d1,2024-06-01T12:00:00Z,water_depth,-1\n"
                                "zz,2024-06-01T12:00:00Z,water_depth,1\n")
    obs = load_observations(_section(), city, tmp_path)
    reasons = r"2 rejected \(unknown_sensor: 1, out_of_range: 1\)"
    with pytest.raises(ObservationsUnusable, match=reasons):
        require_usable(obs)


def test_withhold_fraction_is_seeded(tmp_path, city):
    rows = "".join(f"s{i},water_depth,{cell_centre(1, i)[0]},{cell_centre(1, i)[1]},0.01,\n"
                   for i in range(10))
    _sensors(tmp_path, rows)
    write(tmp_path / "obs.csv", "sensor_id,time,variable,value\n" + "".join(
        f"s{i},2024-06-01T12:00:00Z,water_depth,0.1\n" for i in range(10)))
    section = ObservationsSection.model_validate({"sources": [
        {"format": "csv", "path": "obs.csv", "sensors": "sensors.csv"}],
        "withhold": 0.3, "seed": 7})
    first = load_observations(section, city, tmp_path)
    again = load_observations(section, city, tmp_path)
    assert first.counts()["withheld"] == 3
    np.testing.assert_array_equal(first.flag, again.flag)
    with pytest.raises(ScenarioError, match="withhold names sensor 'nope'"):
        load_observations(_section(withhold=["nope"]), city, tmp_path)


def test_sensor_table_errors_name_line_and_column(tmp_path, city):
    _sensors(tmp_path, "d1,water_depth,500010,4999990,zero,\n")
    write(tmp_path / "obs.csv", "sensor_id,time,variable,value\n")
    with pytest.raises(DataSourceError, match="line 2, column error_std: 'zero' is not a num"):
        load_observations(_section(), city, tmp_path)


def test_fifo_and_oversized_files_refused(tmp_path):
    import os

    from metrotwin.observe.files import read_bytes

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataSourceError, match="not a regular file"):
        read_bytes(fifo, what="observations source 1")
    big = write(tmp_path / "big.csv", "x" * 100)
    with pytest.raises(DataSourceError, match="100 bytes, more than the 50"):
        read_bytes(big, what="observations source 1", max_bytes=50)


def test_lonlat_sensor_table_and_rain_gauge_on_a_roof(tmp_path, city):
    from pyproj import Transformer

    to_geo = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    x, y = cell_centre(6, 6)  # a building cell
    lon, lat = to_geo.transform(x + 3.0, y - 4.0)  # 5 m from the cell centre
    write(tmp_path / "sensors.csv", "sensor_id,variable,lon,lat,error_std\n"
                                   f"r1,rain_rate,{lon!r},{lat!r},0.5\n"
                                   f"d1,water_depth,{lon!r},{lat!r},0.01\n")
    write(tmp_path / "obs.csv", "sensor_id,time,variable,value\n"
                                "r1,2024-06-01T12:00:00Z,rain_rate,3\n"
                                "d1,2024-06-01T12:00:00Z,water_depth,0.1\n")
    obs = load_observations(_section(), city, tmp_path)
    assert list(obs.cell) == [6 * 30 + 6, 6 * 30 + 6]
    np.testing.assert_allclose(obs.distance, 5.0, atol=1e-6)  # pyproj round trip << 1 mm
    # a rain gauge may stand on a roof; a depth gauge in a building is rejected
    assert list(obs.flag) == [FLAG["good"], FLAG["inside_building"]]


def test_observe_imports_point_one_way():
    """observe may use the city-level modules, never the runner, the models or viz."""
    import ast
    from pathlib import Path

    import metrotwin.observe

    forbidden = ("metrotwin.run.runner", "metrotwin.run.coupler", "metrotwin.models", "metrotwin.viz",
                 "metrotwin.scenario.scenario", "metrotwin.cli")  # fmt: skip
    folder = Path(metrotwin.observe.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in forbidden), (
                    f"{path.name} imports {name}")
