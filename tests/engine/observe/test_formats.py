"""netCDF (CF timeSeries) and SensorThings readers, lon/lat snapping, observations.nc."""

from __future__ import annotations

import json

import netCDF4
import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from metrotwin.errors import DataSourceError
from metrotwin.observe.flags import FLAG_MEANINGS
from metrotwin.observe.load import load_observations
from metrotwin.scenario.observations import ObservationsSection
from metrotwin.observe.write import write_observations

from .conftest import cell_centre, write

TO_GEO = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)


def _ragged_file(path, lon, lat):
    """Two stations, contiguous ragged array, temperature in degC, time with a +01:00 offset."""
    with netCDF4.Dataset(path, "w") as nc:
        nc.featureType = "timeSeries"
        nc.Conventions = "CF-1.11"
        nc.createDimension("station", 2)
        nc.createDimension("obs", 5)
        sid = nc.createVariable("station_name", str, ("station",))
        sid.cf_role = "timeseries_id"
        sid[:] = np.array(["met1", "met2"], object)
        for name, std, values in (("lon", "longitude", lon), ("lat", "latitude", lat)):
            v = nc.createVariable(name, "f8", ("station",))
            v.standard_name = std
            v[:] = values
        rs = nc.createVariable("row_size", "i4", ("station",))
        rs.sample_dimension = "obs"
        rs[:] = [3, 2]
        t = nc.createVariable("time", "f8", ("obs",))
        t.standard_name = "time"
        t.units = "minutes since 2024-06-01 13:00:00 +01:00"
        t[:] = [0, 10, 20, 0, 10]
        ta = nc.createVariable("ta", "f4", ("obs",), fill_value=-999.0)
        ta.standard_name = "air_temperature"
        ta.units = "degree_C"
        ta[:] = np.ma.masked_values([20.0, 21.0, -999.0, 19.5, 99.0], -999.0)


def test_netcdf_ragged_timeseries(tmp_path, city):
    xa, ya = cell_centre(3, 4)
    xb, yb = cell_centre(15, 20)
    lon, lat = TO_GEO.transform([xa, xb], [ya, yb])
    _ragged_file(tmp_path / "met.nc", lon, lat)
    section = ObservationsSection.model_validate({"sources": [
        {"format": "netcdf", "path": "met.nc", "error_std": {"air_temperature": 0.5}}]})
    obs = load_observations(section, city, tmp_path)
    # the fill value is no reading (CF); 99 degC is out of range
    assert obs.n_obs == 4
    assert obs.counts()["good"] == 3 and obs.counts()["out_of_range"] == 1
    np.testing.assert_allclose(obs.value[:3], [293.15, 294.15, 292.65], atol=1e-4)  # float32
    assert obs.time[0] == np.datetime64("2024-06-01T12:00", "ns")  # 13:00 +01:00
    # lon/lat snapped back onto the cells they came from, at their centres (to within the
    # pyproj round trip, far below a millimetre)
    assert list(obs.cell) == [3 * 30 + 4, 15 * 30 + 20]
    assert np.all(obs.distance < 1e-6)


def test_netcdf_multidimensional_with_mapping(tmp_path, city):
    x, y = cell_centre(10, 12)
    with netCDF4.Dataset(tmp_path / "traffic.nc", "w") as nc:
        nc.featureType = "timeSeries"
        nc.createDimension("station", 1)
        nc.createDimension("time", 3)
        sid = nc.createVariable("id", str, ("station",))
        sid.cf_role = "timeseries_id"
        sid[:] = np.array(["loop7"], object)
        for name, std, value in (("x", "projection_x_coordinate", x),
                                 ("y", "projection_y_coordinate", y)):
            v = nc.createVariable(name, "f8", ("station",))
            v.standard_name = std
            v[:] = [value]
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "seconds since 2024-06-01 00:00:00"
        t[:] = [0, 900, 1800]
        speed = nc.createVariable("spd", "f8", ("station", "time"))
        speed.units = "km/h"
        speed[:] = [[36.0, 54.0, 72.0]]
    section = ObservationsSection.model_validate({"sources": [
        {"format": "netcdf", "path": "traffic.nc", "variables": {"spd": "vehicle_speed"},
         "error_std": {"vehicle_speed": 1.0}}]})
    obs = load_observations(section, city, tmp_path)
    np.testing.assert_allclose(obs.value, [10.0, 15.0, 20.0], rtol=1e-12)  # km/h -> m/s
    assert obs.link[0] == 0 and obs.distance[0] == pytest.approx(5.0)  # row 10 centre: 5 m


def test_netcdf_not_timeseries_refused(tmp_path, city):
    with netCDF4.Dataset(tmp_path / "grid.nc", "w") as nc:
        nc.featureType = "trajectory"
    section = ObservationsSection.model_validate({"sources": [
        {"format": "netcdf", "path": "grid.nc"}]})
    with pytest.raises(DataSourceError, match="featureType 'trajectory'"):
        load_observations(section, city, tmp_path)


def test_sensorthings_export(tmp_path, city):
    x, y = cell_centre(12, 2)
    lon, lat = TO_GEO.transform(x, y)
    document = {"value": [{
        "@iot.id": 1, "name": "gauge-A",
        "Locations": [{"encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [lon, lat]}}],
        "Datastreams": [
            {"name": "depth", "unitOfMeasurement": {"name": "foot", "symbol": "[ft_i]"},
             "ObservedProperty": {"name": "Water depth"},
             "Observations": [
                 {"phenomenonTime": "2024-06-01T12:00:00Z", "result": 2.0},
                 {"phenomenonTime": "2024-06-01T11:55:00Z/2024-06-01T12:05:00Z", "result": 1.0},
                 {"phenomenonTime": "2024-06-01T12:10:00Z", "result": "high"}]},
            {"name": "rain", "unitOfMeasurement": {"symbol": "mm/min"},
             "ObservedProperty": {"name": "rain_rate"},
             "Observations": [{"phenomenonTime": "2024-06-01T12:00:00Z", "result": 0.1}]},
            {"name": "wind", "unitOfMeasurement": {"symbol": "m/s"},
             "ObservedProperty": {"name": "Wind speed"},
             "Observations": [{"phenomenonTime": "2024-06-01T12:00:00Z", "result": 3}]}]}]}
    (tmp_path / "sta.json").write_text(json.dumps(document))
    section = ObservationsSection.model_validate({"sources": [
        {"format": "sensorthings", "path": "sta.json",
         "variables": {"Water depth": "water_depth"},
         "error_std": {"water_depth": 0.02, "rain_rate": 0.5}}]})
    obs = load_observations(section, city, tmp_path)
    assert obs.counts()["good"] == 3
    assert obs.counts()["malformed"] == 1 and obs.counts()["unknown_variable"] == 1
    np.testing.assert_allclose(obs.value[:2], [0.6096, 0.3048], rtol=1e-12)  # UCUM [ft_i]
    assert obs.value[3] == pytest.approx(6.0)  # 0.1 mm/min = 6 mm/h
    assert obs.time[1] == np.datetime64("2024-06-01T12:05", "ns")  # an interval's end


def test_observations_nc_is_cf_timeseries(tmp_path, city):
    cf_xarray = pytest.importorskip("cf_xarray")  # noqa: F841 (registers the .cf accessor)
    x, y = cell_centre(2, 2)
    write(tmp_path / "sensors.csv", f"sensor_id,variable,x,y,error_std\n"
                                   f"d1,water_depth,{x},{y},0.01\nt1,air_temperature,{x},{y},0.3\n")
    write(tmp_path / "obs.csv", "sensor_id,time,variable,value\n"
          "d1,2024-06-01T12:00:00Z,water_depth,0.1\nt1,2024-06-01T12:00:00Z,air_temperature,300\n"
          "d1,2024-06-01T12:05:00Z,water_depth,-5\nzz,2024-06-01T12:00:00Z,water_depth,1\n"
          "d1,2024-06-01T12:10:00Z,water_depth,0.2\n")
    section = ObservationsSection.model_validate({"sources": [
        {"format": "csv", "path": "obs.csv", "sensors": "sensors.csv"}]})
    obs = load_observations(section, city, tmp_path)
    path = tmp_path / "run" / "observations.nc"
    write_observations(path, obs, crs_wkt=city.grid.pyproj_crs.to_wkt())
    assert [p.name for p in path.parent.iterdir()] == ["observations.nc"]  # no temporary left
    with xr.open_dataset(path) as ds:
        assert ds.attrs["featureType"] == "timeSeries"
        assert ds.cf.cf_roles == {"timeseries_id": ["station_id"]}
        assert ds["row_size"].attrs["sample_dimension"] == "obs"
        assert ds["flag"].attrs["flag_meanings"].split() == list(FLAG_MEANINGS)
        assert ds.attrs["count_out_of_range"] == 1 and ds.attrs["count_unknown_sensor"] == 1
        assert ds.attrs["count_good"] == 3
        # readings grouped by station: d1's three, then t1's, then the unknown sensor's
        assert list(ds["row_size"].values) == [3, 1, 1]
        np.testing.assert_allclose(ds["water_depth"].values[:3], [0.1, -5.0, 0.2])
        assert np.isnan(ds["water_depth"].values[3])
        assert ds["lon"].values[0] == pytest.approx(TO_GEO.transform(x, y)[0], abs=1e-9)
        assert ds["time"].values[0] == np.datetime64("2024-06-01T12:00", "ns")


def test_netcdf_indexed_ragged_and_for_analysis(tmp_path, city):
    xa, ya = cell_centre(1, 1)
    xb, yb = cell_centre(18, 28)
    with netCDF4.Dataset(tmp_path / "gauges.nc", "w") as nc:
        nc.featureType = "timeSeries"
        nc.createDimension("station", 2)
        nc.createDimension("obs", 4)
        sid = nc.createVariable("gauge", str, ("station",))
        sid.cf_role = "timeseries_id"
        sid[:] = np.array(["g1", "g2"], object)
        for name, std, values in (("x", "projection_x_coordinate", [xa, xb]),
                                  ("y", "projection_y_coordinate", [ya, yb])):
            v = nc.createVariable(name, "f8", ("station",))
            v.standard_name = std
            v[:] = values
        idx = nc.createVariable("station_index", "i4", ("obs",))
        idx.instance_dimension = "station"
        idx[:] = [1, 0, 1, 0]  # interleaved, as a logger appends them
        t = nc.createVariable("time", "f8", ("obs",))
        t.standard_name = "time"
        t.units = "hours since 2024-06-01 00:00:00Z"
        t[:] = [12, 12, 13, 13]
        h = nc.createVariable("stage", "f8", ("obs",))
        h.standard_name = "water_surface_height_above_reference_datum"
        h.units = "ft"
        h[:] = [100.0, 10.0, 101.0, 11.0]
    section = ObservationsSection.model_validate({"sources": [
        {"format": "netcdf", "path": "gauges.nc", "error_std": {"water_level": 0.05}}]})
    obs = load_observations(section, city, tmp_path)
    assert list(obs.sensor_id[obs.station]) == ["g2", "g1", "g2", "g1"]
    np.testing.assert_allclose(obs.value, [30.48, 3.048, 30.7848, 3.3528], rtol=1e-12)
    target, values, std, rows = obs.for_analysis(np.datetime64("2024-06-01T12:30"),
                                                 np.datetime64("2024-06-01T14:00"), "water_level")
    assert list(rows) == [2, 3]
    assert list(target) == [18 * 30 + 28, 1 * 30 + 1] and list(std) == [0.05, 0.05]


def test_sensorthings_not_json_refused(tmp_path, city):
    (tmp_path / "sta.json").write_text("<html>not json</html>")
    section = ObservationsSection.model_validate({"sources": [
        {"format": "sensorthings", "path": "sta.json"}]})
    with pytest.raises(DataSourceError, match=r"sta.json is not JSON \(line 1\)"):
        load_observations(section, city, tmp_path)


def test_netcdf_row_sizes_that_do_not_add_up_refused(tmp_path, city):
    xa, ya = cell_centre(3, 4)
    lon, lat = TO_GEO.transform([xa, xa], [ya, ya])
    _ragged_file(tmp_path / "met.nc", lon, lat)
    with netCDF4.Dataset(tmp_path / "met.nc", "a") as nc:
        nc["row_size"][:] = [3, 3]  # 6 readings claimed, 5 stored
    section = ObservationsSection.model_validate({"sources": [
        {"format": "netcdf", "path": "met.nc", "error_std": {"air_temperature": 0.5}}]})
    with pytest.raises(DataSourceError, match="adds up to 6 readings, the sample dimension has 5"):
        load_observations(section, city, tmp_path)
